// Every example in docs/usage.md is run against the real binary and its output compared, so
// the documentation cannot drift from what poolcalc prints.
//
// An example is a ```console block: the first line is "$ COMMAND" (run by /bin/sh in the
// source directory, with `poolcalc` on PATH), the lines after it are the exact standard output,
// and an optional last line "[exit N]" is the expected exit code (0 when absent).
// POOLCALC_UPDATE_DOCS=1 rewrites the file with the real outputs instead of comparing.

#include "process.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Example
{
  std::size_t line = 0; // 1-based line of the "$ " command
  std::string command;
  std::string expected;
  int expected_exit = 0;
  std::size_t begin = 0; // byte range of the block's body (after the command line)
  std::size_t end = 0;
};

std::string read_all(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Example> examples(const std::string& text)
{
  std::vector<Example> found;
  const std::string open = "```console\n";
  std::size_t pos = 0;
  while ((pos = text.find(open, pos)) != std::string::npos) {
    const std::size_t body = pos + open.size();
    const std::size_t close = text.find("\n```", body - 1);
    REQUIRE_MESSAGE(close != std::string::npos, "unclosed ```console block");
    const std::size_t command_end = text.find('\n', body);
    Example example;
    example.line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(body), '\n')) + 1;
    const std::string first = text.substr(body, command_end - body);
    REQUIRE_MESSAGE(first.rfind("$ ", 0) == 0, "a console block must start with '$ '");
    example.command = first.substr(2);
    example.begin = command_end + 1;
    example.end = close + 1;
    std::string expected = example.begin <= example.end ? text.substr(example.begin, example.end - example.begin) : "";
    const std::size_t last_line = expected.rfind('\n', expected.size() >= 2 ? expected.size() - 2 : 0);
    const std::string tail = expected.substr(last_line == std::string::npos ? 0 : last_line + 1);
    if (tail.rfind("[exit ", 0) == 0) {
      example.expected_exit = std::atoi(tail.c_str() + 6);
      expected.erase(last_line == std::string::npos ? 0 : last_line + 1);
    }
    example.expected = expected;
    found.push_back(example);
    pos = close + 4;
  }
  return found;
}

} // namespace

TEST_CASE("docs/usage.md examples")
{
  const std::string path = std::string(POOLCALC_SOURCE_DIR) + "/docs/usage.md";
  std::string text = read_all(path);
  const std::vector<Example> list = examples(text);
  REQUIRE(list.size() >= 10);
  const bool update = std::getenv("POOLCALC_UPDATE_DOCS") != nullptr;

  std::string updated;
  std::size_t copied = 0;
  for (const Example& example : list) {
    const auto result = poolcalc::test::shell("cd '" + std::string(POOLCALC_SOURCE_DIR) + "' && " + example.command);
    if (update) {
      updated += text.substr(copied, example.begin - copied);
      updated += result.out;
      if (!result.out.empty() && result.out.back() != '\n') {
        updated += '\n';
      }
      if (result.exit_code != 0) {
        updated += "[exit " + std::to_string(result.exit_code) + "]\n";
      }
      copied = example.end;
      continue;
    }
    INFO("docs/usage.md:" << example.line << ": $ " << example.command << "\nstderr: " << result.err);
    CHECK(result.out == example.expected);
    CHECK(result.exit_code == example.expected_exit);
  }
  if (update) {
    updated += text.substr(copied);
    std::ofstream(path, std::ios::binary) << updated;
  }
}

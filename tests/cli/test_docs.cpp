// Every example in docs/*.md is run against the real binary and its output compared, so the
// documentation cannot drift from what poolcalc prints.
//
// An example is a ```console block: the first line is "$ COMMAND" (run by /bin/sh in the
// source directory, with `poolcalc` on PATH), the lines after it are the exact standard output,
// and an optional last line "[exit N]" is the expected exit code (0 when absent). A block may be
// indented (in a list item): its lines carry the fence's indentation, which is not part of the
// command or the output. Any other fenced block must not show a "$ " command line, so that no
// example escapes the test.
// No example may make poolcalc report an internal error, even where a pipeline hides its exit code.
// POOLCALC_UPDATE_DOCS=1 rewrites the files with the real outputs instead of comparing.

#include "process.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Example
{
  std::size_t line = 0; // 1-based line of the "$ " command
  std::string indent;   // the fence's indentation
  std::string command;
  std::string expected;
  int expected_exit = 0;
  std::size_t begin = 0; // byte range of the block's body after the command line, up to the closing fence
  std::size_t end = 0;
};

// One line of a file, without its '\n', and the byte offset it starts at.
struct Line
{
  std::size_t begin = 0;
  std::string text;
};

std::string read_all(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Line> split_lines(const std::string& text)
{
  std::vector<Line> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    lines.push_back({ pos, text.substr(pos, end - pos) });
    pos = end + 1;
  }
  return lines;
}

bool starts_with(const std::string& text, const std::string& prefix)
{
  return text.rfind(prefix, 0) == 0;
}

std::string unindented(const std::string& line)
{
  return line.substr(std::min(line.find_first_not_of(' '), line.size()));
}

// Prefixes every non-empty line of `text` with `indent`.
std::string indented(const std::string& text, const std::string& indent)
{
  std::string result;
  for (const Line& line : split_lines(text)) {
    result += (line.text.empty() ? "" : indent) + line.text + "\n";
  }
  return result;
}

// The ```console examples of the Markdown `text` of the file `name`.
std::vector<Example> examples(const std::string& name, const std::string& text)
{
  std::vector<Example> found;
  const std::vector<Line> lines = split_lines(text);
  for (std::size_t open = 0; open < lines.size(); ++open) {
    const std::string fence = unindented(lines[open].text);
    if (!starts_with(fence, "```")) {
      continue;
    }
    std::size_t close = open + 1;
    while (close < lines.size() && unindented(lines[close].text) != "```") {
      ++close;
    }
    REQUIRE_MESSAGE(close < lines.size(), name << ":" << open + 1 << ": unclosed ``` block");
    if (fence != "```console") {
      for (std::size_t i = open + 1; i < close; ++i) {
        if (starts_with(unindented(lines[i].text), "$ ")) {
          FAIL_CHECK(name << ":" << i + 1 << ": a block that shows a command must be a ```console block, which is tested");
        }
      }
      open = close;
      continue;
    }
    Example example;
    example.line = open + 2;
    example.indent = lines[open].text.substr(0, lines[open].text.size() - fence.size());
    std::vector<std::string> body; // the block's lines without the indentation
    for (std::size_t i = open + 1; i < close; ++i) {
      const std::string& line = lines[i].text;
      REQUIRE_MESSAGE((line.empty() || starts_with(line, example.indent)), name << ":" << i + 1 << ": indented less than its ``` fence");
      body.push_back(line.substr(line.empty() ? 0 : example.indent.size()));
    }
    REQUIRE_MESSAGE((!body.empty() && starts_with(body.front(), "$ ")),
                    name << ":" << example.line << ": a console block must start with '$ '");
    example.command = body.front().substr(2);
    if (body.size() > 1 && starts_with(body.back(), "[exit ")) {
      example.expected_exit = std::atoi(body.back().c_str() + 6);
      body.pop_back();
    }
    for (std::size_t i = 1; i < body.size(); ++i) {
      example.expected += body[i] + "\n";
    }
    example.begin = lines[open + 1].begin + lines[open + 1].text.size() + 1;
    example.end = lines[close].begin;
    found.push_back(example);
    open = close;
  }
  return found;
}

// Runs the examples of the file `path`, called `name` in messages, and compares their outputs,
// or with POOLCALC_UPDATE_DOCS rewrites the file with them.
void check_examples(const std::filesystem::path& path, const std::string& name)
{
  const std::string text = read_all(path);
  const std::vector<Example> list = examples(name, text);
  if (name == "docs/usage.md") {
    REQUIRE_FALSE(list.empty());
  }
  const bool update = std::getenv("POOLCALC_UPDATE_DOCS") != nullptr;

  std::string updated;
  std::size_t copied = 0;
  for (const Example& example : list) {
    const auto result = poolcalc::test::shell("cd '" + std::string(POOLCALC_SOURCE_DIR) + "' && " + example.command);
    if (update) {
      updated += text.substr(copied, example.begin - copied);
      updated += indented(result.out, example.indent);
      if (result.exit_code != 0) {
        updated += example.indent + "[exit " + std::to_string(result.exit_code) + "]\n";
      }
      copied = example.end;
      continue;
    }
    INFO(name << ":" << example.line << ": $ " << example.command << "\nstderr: " << result.err);
    CHECK(result.out == example.expected);
    CHECK(result.exit_code == example.expected_exit);
    // A pipeline's status is its last command's: a poolcalc that failed inside it shows on stderr.
    CHECK(result.err.find("internal error") == std::string::npos);
  }
  if (update) {
    updated += text.substr(copied);
    if (updated != text) {
      std::ofstream(path, std::ios::binary) << updated;
    }
  }
}

} // namespace

TEST_CASE("docs examples")
{
  const std::filesystem::path docs = std::filesystem::path(POOLCALC_SOURCE_DIR) / "docs";
  std::vector<std::filesystem::path> files;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(docs)) {
    if (entry.path().extension() == ".md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  REQUIRE(std::find(files.begin(), files.end(), docs / "usage.md") != files.end());
  for (const std::filesystem::path& file : files) {
    const std::string name = "docs/" + file.filename().string();
    SUBCASE(name.c_str())
    {
      check_examples(file, name);
    }
  }
}

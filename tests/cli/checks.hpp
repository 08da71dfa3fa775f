#pragma once
// Checks the CLI test files share.

#include "process.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace poolcalc::test {

// The lines of a command's output, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text)
{
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

inline bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

// Bad input: exit 2, nothing on stdout, exactly "poolcalc: error: MESSAGE" on stderr.
inline void check_usage_error(const std::vector<std::string>& args,
                              const std::string& message,
                              const std::map<std::string, std::string>& env = {})
{
  const Result r = run_poolcalc(args, env);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "poolcalc: error: " + message + "\n");
}

} // namespace poolcalc::test

#pragma once
// What every subcommand receives once the flags, the --config file, the environment and the
// rules are read: the rules in force, the scenario inputs by key, and the output choices.

#include "poolcalc/findings.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc::cli {

// What a command prints; which ones a command accepts is in its entry of the command table.
enum class Format
{
  text,
  json,
  markdown,
  env,
  csv,
  svg,
};

// "text", "json", ...: the --format value.
std::string_view format_name(Format format);
std::optional<Format> parse_format(std::string_view name);

// A failure on its way to the one top-level handler: exit code and message (masked there).
struct Failure
{
  int code;
  std::string message;
};

struct Loaded
{
  Rules rules;
  std::string rules_text;
  std::string rules_source;
  RawInputs inputs;
  Format format = Format::text;
  bool explain = false;
};

// Names each `fail` finding on stderr ("poolcalc: fail: ID: MESSAGE", masked), for the outputs
// that print no findings (the .env snippet, the curve, config snippets, pgbouncer.ini).
void report_failures(std::ostream& err, const std::vector<Finding>& findings);

// Prints the failure as one "poolcalc: error: MESSAGE" line (masked, escaped) and returns its
// exit code: the one place an error is printed.
int report_failure(std::ostream& err, const Failure& failure);

// Writes `output` to stdout and returns `code`, or k_exit_runtime (with one line on stderr) when
// stdout cannot be written.
int write_output(std::ostream& out, std::ostream& err, std::string_view output, int code);

} // namespace poolcalc::cli

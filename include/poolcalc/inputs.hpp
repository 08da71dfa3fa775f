#pragma once
// The inputs of a sizing: one table, one row per input, in the order `poolcalc --help` shows
// them. Everything that names an input is produced from it or checked against it: the flags and
// their help (src/cli/options.cpp), the keys and value types of a `--config` file
// (input_keys(), parse_scenario_toml), the keys a fleet's [[service]] may set, the bounds of the
// rules' defaults (rules.cpp) and the range checks of build_scenario. tests/unit/test_inputs.cpp
// holds `poolcalc --help`, docs/usage.md's inputs table and the rules' bounds against it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

struct Rules;

// How an input's value is written, on the command line and in a TOML file.
enum class InputType
{
  integer,    // a whole number (TOML: an integer)
  number,     // a decimal number (TOML: an integer or a float)
  numbers,    // decimal numbers: a comma list or a repeated flag (TOML: a number or an array)
  integers,   // whole numbers, likewise (TOML: an integer or an array of integers)
  operations, // NAME:SHARE:MS, repeated (TOML: a string or an array of strings)
  reserve,    // NAME=N, repeated or a comma list (TOML: a table of NAME = N)
  text,       // one string
  boolean,    // a switch (TOML: true or false)
};

// The section of `poolcalc --help` an input is listed in.
enum class InputGroup
{
  workload,
  sizing,
  database,
  timeouts,
  output,
  files,
};

// A closed range; for a list, each item's (for --reserve, each N's).
struct InputRange
{
  double min = 0;
  double max = 0;
};

struct InputSpec
{
  std::string_view key;        // snake_case: the TOML key and the RawInputs key ("query_ms")
  std::string_view flag;       // "--query-ms"
  std::string_view value_name; // "MS[,MS...]"; empty for a switch
  InputType type = InputType::number;
  std::string_view unit;           // "ms", "s", "connections"; empty when the value has none
  std::optional<InputRange> range; // what build_scenario accepts; none for text and switches
  InputGroup group = InputGroup::workload;
  bool in_file = true;        // a --config file may set it (all but --config itself)
  bool fleet_service = false; // a fleet's [[service]] may set it (the rest is the fleet's)
  std::string_view rules_key; // the rules key holding its default ("sizing.burst"), bounded by `range`
  // The default in force under `rules`, as --help and docs/usage.md show it.
  std::string (*default_text)(const Rules& rules) = nullptr;
  // The --help text; `self` is this row, so a range printed there is the row's own.
  std::string (*help)(const InputSpec& self, const Rules& rules) = nullptr;
};

// Every input, in the order `poolcalc --help` shows them.
const std::vector<InputSpec>& inputs();

// The row of `key`. Throws std::out_of_range for a key that is not in the table (a programming
// error: keys in the code are literals).
const InputSpec& input(std::string_view key);

// The --help section title: "Workload", "Sizing", "Database", "Timeouts", "Output", "Files".
std::string_view group_name(InputGroup group);

// Whether the row is one of the sizing options (Workload to Timeouts), which every sizing
// subcommand takes; the others (--format, --explain, --config, --rules) are the CLI's own.
bool is_sizing_input(const InputSpec& spec);

// The row's range as --help writes it, "MIN-MAX" ("1-1000000000", "0.001-3600000"); empty
// without a range.
std::string range_text(const InputSpec& spec);

// How the value is written in a TOML file: "a whole number", "a number or an array of numbers".
std::string_view toml_type_text(InputType type);

} // namespace poolcalc

#pragma once
// The command table: every subcommand of poolcalc as one entry that declares its name, summary,
// the options it takes (exactly those: its --help lists them, the parser refuses the others),
// the formats it prints, what it needs loaded, the examples of its --help and its run function.
// The parser (command_line.cpp), the loader (load.cpp), --help and `poolcalc completion` all
// read this table; no other place names a command or a format.

#include "context.hpp"
#include "options.hpp"
#include "run.hpp"

#include "poolcalc/expected.hpp"
#include "poolcalc/rules.hpp"

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc::cli {

enum class Command
{
  size, // the default: `poolcalc --vus ...` is `poolcalc size --vus ...`
  env,
  report,
  rules,
  curve,
  inspect,
  pgbouncer,
  config,
  fleet,
  k6,
  alerts,
  doctor,
  gate,
  completion,
};

// What a command needs before it runs; the loader reads exactly these.
enum Need : unsigned
{
  k_need_rules = 1,        // the rules in force: built in, --rules FILE or the --config file's `rules`
  k_need_config_file = 2,  // --config FILE: a scenario file's inputs, format and explain
  k_need_database_url = 4, // $DATABASE_URL as the database_url input
  k_need_plan = 8,         // a sized plan from the workload (the run function asks for it: make_plan)
};

// One option (or positional argument) as the table declares it.
struct OptionDecl
{
  std::string flag;      // "--for"; a positional argument's name ("FILE")
  std::string type_name; // "TARGET"; FILE and PATH are completed as file names; empty for a switch
  std::string help;
  OptionKind kind = OptionKind::value;
  std::string group;                // the --help section ("" for the command's own)
  std::string key;                  // the scenario key of a sizing option ("vus"); empty otherwise
  std::vector<std::string> choices; // the values completion offers (--for's targets, --format's formats)
  bool positional = false;
  bool hidden = false;   // accepted for old command lines (it has no effect here), not listed
  std::string elsewhere; // why the commands that do not take it refuse it ("only with --write PATH ...")
};

struct Example
{
  std::string command; // "poolcalc env --vus 120 --query-ms 150"
  std::string what;    // one line: what it prints
};

// Why a command refuses an option other commands take: the message after "FLAG: ".
struct Refusal
{
  std::string flag;
  std::string why;
};

// The options as given on the command line, by flag: a value's items, a switch as {"true"}.
class Given
{
public:
  // A list adds its items to those given before; a value or a switch replaces them.
  void add(const OptionDecl& option, std::vector<std::string> items);
  bool has(std::string_view flag) const { return m_values.find(flag) != m_values.end(); }
  std::optional<std::string> value(std::string_view flag) const;
  const std::vector<std::string>& items(std::string_view flag) const;
  // The options given, in the order of the table (those before the subcommand's name first).
  const std::vector<const OptionDecl*>& order() const { return m_order; }

private:
  std::map<std::string, std::vector<std::string>, std::less<>> m_values;
  std::vector<const OptionDecl*> m_order;
};

struct CommandSpec;

// What a run function receives: its entry, the options given, what was loaded, the process.
struct Invocation
{
  const std::vector<CommandSpec>& table;
  const CommandSpec& command;
  const Given& given;
  Loaded& loaded;
  const Environment& env;
  std::ostream& err; // notes and `fail` lines; errors go back as a Failure
};

// A run function's result: stdout's text and the exit code (0, or 3 for a plan that breaks a
// hard limit), or the failure to report. The caller prints both (finish(), run.cpp).
struct Output
{
  std::string text;
  int code = k_exit_ok;
};
using Outcome = poolcalc::expected<Output, Failure>;
using RunFunction = Outcome (*)(Invocation&);

struct CommandSpec
{
  Command id;
  std::string name;
  std::string summary;
  std::vector<OptionDecl> options; // exactly the options it takes, in --help order
  std::vector<Format> formats;     // what --format accepts (none: it takes no --format)
  Format default_format = Format::text;
  unsigned needs = 0;
  std::string notes;             // the text of --help after the options
  std::vector<Example> examples; // for --help, 1-3
  std::vector<Refusal> refusals; // options it refuses with a reason of its own
  std::string refuse_all;        // one message for any option it does not take (fleet)
  RunFunction run = nullptr;
  bool config_format = true; // a --config file's `format` applies (when it has a choice of formats)

  const OptionDecl* option(std::string_view flag) const;
  bool takes(std::string_view flag) const { return option(flag) != nullptr; }
};

// A command's own option (no group: listed first in its --help).
OptionDecl own(std::string flag, std::string type_name, std::string help, OptionKind kind = OptionKind::value);

// A bad input's failure: exit 2 with `message` as the one line.
poolcalc::unexpected<Failure> usage_error(std::string message);

// What `poolcalc gate` returns when a check fails (docs/gate.md).
inline constexpr int k_exit_gate_failed = 4;

// The table, its help texts with the defaults of `rules` (the built-in ones). The first entry is
// the default command.
std::vector<CommandSpec> command_table(const Rules& rules);

const CommandSpec* find_command(const std::vector<CommandSpec>& table, std::string_view name);

// "text, json, markdown or env": a command's formats for help and messages.
std::string format_list(const std::vector<Format>& formats);

// The line of a --format value a command does not print ("expected ..., got 'x'"), with `origin`
// (--format, or the --config file's position).
std::string format_refusal(const CommandSpec& command, std::string_view origin, std::string_view value);

// The message for `option`, which `command` does not take: the command's own reason, else the
// option's, else the list of what the command takes.
std::string option_refusal(const CommandSpec& command, const OptionDecl& option);

} // namespace poolcalc::cli

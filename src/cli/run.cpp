#include "run.hpp"

#include "command_line.hpp"
#include "commands.hpp"
#include "context.hpp"
#include "load.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/rules.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <exception>

namespace poolcalc::cli {

namespace {

// Parses argv against the command table, loads what the command needs, runs it, prints.
int run_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const Environment& env)
{
  const std::vector<CommandSpec> table = command_table(builtin_rules());
  CommandLine line(table, argc, argv);
  try {
    line.app().parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << line.app().help();
    return k_exit_ok;
  } catch (const CLI::CallForAllHelp&) {
    out << line.app().help("", CLI::AppFormatMode::All);
    return k_exit_ok;
  } catch (const CLI::CallForVersion& version) {
    out << version.what() << '\n';
    return k_exit_ok;
  } catch (const CLI::ParseError& error) {
    std::string message = error.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    // The help that lists what was refused: the named subcommand's, else the front's.
    const std::string help = line.named() != nullptr ? "poolcalc " + line.named()->name + " --help" : "poolcalc --help";
    return report_failure(err, { k_exit_usage, message + " (see " + help + ")" });
  }
  const CommandSpec& command = line.command();
  const Given given = line.given();
  auto loaded = load(command, given, env);
  if (!loaded) {
    return report_failure(err, loaded.error());
  }
  Invocation invocation{ table, command, given, *loaded, env, err };
  const Outcome outcome = command.run(invocation);
  if (!outcome) {
    return report_failure(err, outcome.error());
  }
  return write_output(out, err, outcome->text, outcome->code);
}

// Any exception that escaped: one line, exit 1. Nothing reached stdout: a command's output is
// written whole, after it has run.
int last_resort(std::ostream& err, std::exception_ptr caught)
{
  std::string what = "an unknown exception";
  try {
    std::rethrow_exception(caught);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return report_failure(err, { k_exit_runtime, fmt::format("internal error: {}; please report it", what) });
}

Redactions redactions_of(int argc, const char* const* argv, const Environment& env)
{
  Redactions redactions;
  for (int i = 1; i < argc; ++i) {
    redactions.add(argv[i]);
  }
  if (const auto url = env.getenv("DATABASE_URL")) {
    redactions.add(*url);
  }
  return redactions;
}

int run_guarded(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const Environment& env)
{
  try {
    return run_command(argc, argv, out, err, env);
  } catch (...) {
    return last_resort(err, std::current_exception());
  }
}

} // namespace

Environment process_environment()
{
  Environment env;
  env.getenv = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  };
  env.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
  env.stderr_is_terminal = isatty(STDERR_FILENO) == 1;
  return env;
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& raw_err, const Environment& env)
{
  try {
    // Every stderr line goes through the filter: any message may quote an argument or $DATABASE_URL.
    SafeStderr safe_err(raw_err, redactions_of(argc, argv, env));
    return run_guarded(argc, argv, out, safe_err.stream(), env);
  } catch (...) {
    return last_resort(raw_err, std::current_exception()); // the filter itself could not be set up
  }
}

} // namespace poolcalc::cli

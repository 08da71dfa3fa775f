#pragma once
// The command-line front end: argv in, an exit code out. main() only forwards here, so tests
// drive the whole CLI in-process.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace poolcalc::cli {

// Named exit codes (docs/usage.md, "Exit codes").
enum ExitCode : int
{
  k_exit_ok = 0,         // success, warnings allowed
  k_exit_runtime = 1,    // a runtime failure: the output cannot be written, a server cannot be reached
  k_exit_usage = 2,      // bad flag, value or file: one line on stderr, nothing on stdout
  k_exit_plan_fails = 3, // the plan breaks a hard limit (a `fail` finding)
};

// What run() needs from the process: the environment and whether stdout is a terminal.
struct Environment
{
  std::function<std::optional<std::string>(std::string_view)> getenv;
  bool stdout_is_terminal = false;
  bool stderr_is_terminal = false; // progress lines for slow steps (connecting to a server)
};

// The real process environment.
Environment process_environment();

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const Environment& env);

} // namespace poolcalc::cli

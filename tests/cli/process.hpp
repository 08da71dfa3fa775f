#pragma once
// Runs the real poolcalc binary as a child process and captures what it prints.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace poolcalc::test {

struct Result
{
  int exit_code = -1;
  std::string out;
  std::string err;
  bool killed = false; // finish with a limit (run_poolcalc_killed_after): the process outlived it and was killed
  double seconds = 0;  // wall time from start to exit
};

// Runs `args` (args[0] is the program path) with the environment `env` only (plus PATH), and
// `stdin_text` on standard input. Aborts the test on a failure to start the process.
Result run_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// A process started by start_process and not waited for yet.
struct Child
{
  int pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  double started = 0; // steady-clock seconds at its start
};

// Starts `args` as run_process does, without waiting for it.
Child start_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Starts POOLCALC_BINARY with `args`, without waiting for it.
Child start_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Reads what `child` prints until it exits, and its exit code (128 + the signal that ended it).
// With `limit_s`, kills it (SIGKILL) if it has not exited that many seconds after its start.
Result finish(Child& child, std::optional<double> limit_s = std::nullopt);

// Runs POOLCALC_BINARY with `args`.
Result run_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Runs poolcalc's command line inside this process (poolcalc::cli::run, what main() calls), with
// `env` as its whole environment and no terminal: for the matrices that run it hundreds of times,
// where a sanitized binary's start-up (about 0.4 s) would be most of the suite's time.
Result run_poolcalc_in_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Runs a shell command line with /bin/sh -c, `poolcalc` on PATH resolving to the built binary.
Result shell(const std::string& command_line, const std::map<std::string, std::string>& env = {});

// Runs POOLCALC_BINARY with `args`, killing it (SIGKILL) if it has not exited after `limit_s`
// seconds: a test of a hang fails instead of hanging too.
Result run_poolcalc_killed_after(double limit_s, const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

} // namespace poolcalc::test

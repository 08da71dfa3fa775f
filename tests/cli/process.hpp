#pragma once
// Runs the real poolcalc binary as a child process and captures what it prints.

#include <map>
#include <string>
#include <vector>

namespace poolcalc::test {

struct Result
{
  int exit_code = -1;
  std::string out;
  std::string err;
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
};

// Starts `args` as run_process does, without waiting for it.
Child start_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Starts POOLCALC_BINARY with `args`, without waiting for it.
Child start_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Reads what `child` prints until it exits, and its exit code (128 + the signal that ended it).
Result finish(Child& child);

// Runs POOLCALC_BINARY with `args`.
Result run_poolcalc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Runs a shell command line with /bin/sh -c, `poolcalc` on PATH resolving to the built binary.
Result shell(const std::string& command_line, const std::map<std::string, std::string>& env = {});

} // namespace poolcalc::test

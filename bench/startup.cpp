// Start-up benchmark: the main job's whole-process wall time against `true`, as a ratio.
// Target (docs/architecture.md): <= 3x. Runs each command `rounds` times, interleaved so that
// machine noise hits both alike, and reports medians.
//
//   poolcalc_bench_startup [ROUNDS]     (default 300)

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace {

double run_once(const std::vector<std::string>& args)
{
  std::vector<char*> argv;
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", argv[0]);
    std::exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const auto end = std::chrono::steady_clock::now();
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s exited with %d\n", argv[0], WEXITSTATUS(status));
    std::exit(1);
  }
  return std::chrono::duration<double, std::micro>(end - start).count();
}

double median(std::vector<double> values)
{
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
  const int rounds = argc > 1 ? std::max(11, std::atoi(argv[1])) : 300;
  const std::vector<std::string> main_job = { POOLCALC_BINARY, "--vus", "120", "--query-ms", "150" };
  const std::vector<std::string> baseline = { TRUE_BINARY };
  for (int i = 0; i < 10; ++i) { // warm the page cache
    run_once(main_job);
    run_once(baseline);
  }
  std::vector<double> poolcalc_us;
  std::vector<double> true_us;
  for (int i = 0; i < rounds; ++i) {
    poolcalc_us.push_back(run_once(main_job));
    true_us.push_back(run_once(baseline));
  }
  const double p = median(poolcalc_us);
  const double t = median(true_us);
  std::printf("rounds: %d\n", rounds);
  std::printf("poolcalc --vus 120 --query-ms 150: median %.0f us\n", p);
  std::printf("true:                              median %.0f us\n", t);
  std::printf("ratio: %.2f (target <= 3.00)\n", p / t);
  return 0;
}

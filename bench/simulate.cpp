// Pool simulation speed (include/poolcalc/simulate.hpp), on the seed's closed load: 84 users,
// a pool of 13, 150 ms holds, 850 ms think. Targets: at least 10 million events per second on one
// core; a mean wait to +-5 % (95 % interval) within 100 ms on one thread. And the same model in
// SimPy (bench/simpy_pool.py, Debian's python3-simpy3 under /usr/bin/python3) side by side.
//
// Rates are events per second of the process's CPU time (one thread works), so that other jobs on
// a shared machine do not count against them; wall-clock times are printed beside them.
//
//   poolcalc_bench_simulate [--events N] [--simpy-seconds D] [--no-simpy]

#include "poolcalc/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace poolcalc;

double cpu_seconds()
{
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

SimModel seed_model(Distribution think, Distribution hold)
{
  SimGroup g;
  g.name = "app";
  g.users = 84;
  g.pool = 13;
  g.think = std::move(think);
  g.hold = std::move(hold);
  SimModel m;
  m.groups.push_back(std::move(g));
  return m;
}

struct Timed
{
  SimResult result;
  double cpu_s = 0;
  double wall_s = 0;
};

Timed timed_simulate(const SimModel& model, const SimOptions& options)
{
  Timed t;
  const double cpu0 = cpu_seconds();
  const double wall0 = wall_seconds();
  t.result = simulate(model, options);
  t.cpu_s = cpu_seconds() - cpu0;
  t.wall_s = wall_seconds() - wall0;
  return t;
}

// (a) Events per second on one thread: a precision never met, so the run spends the budget.
double event_rate(const char* name, const SimModel& model, std::int64_t events)
{
  SimOptions o;
  o.threads = 1;
  o.max_events = events;
  o.precision = SimPrecision{ 0, 0, 0, 0 };
  const Timed t = timed_simulate(model, o);
  const double rate = static_cast<double>(t.result.events) / t.cpu_s / 1e6;
  std::printf("simulate: %.1f M events/s on one core (target >= 10), %s; %lld events in %.3f s CPU, %.3f s wall\n",
              rate,
              name,
              static_cast<long long>(t.result.events),
              t.cpu_s,
              t.wall_s);
  return rate;
}

// (b) The time to an answer: the default precision (every figure to +-5 %, throughput to +-1 %),
// one thread; the median of five runs (each the same run: the seed is fixed).
void time_to_answer()
{
  const SimModel model = seed_model(constant_distribution(0.85), exponential_distribution(0.15));
  SimOptions o;
  o.threads = 1;
  std::vector<Timed> runs;
  for (int i = 0; i < 5; ++i) {
    runs.push_back(timed_simulate(model, o));
  }
  std::sort(runs.begin(), runs.end(), [](const Timed& a, const Timed& b) { return a.cpu_s < b.cpu_s; });
  const Timed& t = runs[2];
  const Estimate w = t.result.total.mean_wait_ms;
  std::printf("simulate: mean wait %.2f ms +- %.2f (%.1f %%, 95 %%) in %.1f ms CPU, %.1f ms wall (target < 100 ms), %lld events, "
              "%lld replications, converged %s; 84 users, pool 13, exponential 150 ms hold, constant 850 ms think, one thread\n",
              w.value,
              w.half_width,
              100.0 * w.half_width / w.value,
              1000.0 * t.cpu_s,
              1000.0 * t.wall_s,
              static_cast<long long>(t.result.events),
              static_cast<long long>(t.result.replications),
              t.result.converged ? "yes" : "no");
}

// (c) SimPy on the same model (exponential think and hold) for `seconds` simulated seconds.
void against_simpy(double poolcalc_rate, double seconds)
{
  const std::string command = fmt::format("{} {}/bench/simpy_pool.py --users 84 --pool 13 --hold 0.15 --think 0.85 --duration {}",
                                          POOLCALC_SYSTEM_PYTHON,
                                          POOLCALC_SOURCE_DIR,
                                          seconds);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::printf("SimPy: could not run %s\n", command.c_str());
    return;
  }
  std::array<char, 512> line{};
  long long events = 0;
  double simulated = 0;
  double cpu = 0;
  double mean_wait = 0;
  const bool read =
    std::fgets(line.data(), line.size(), pipe) != nullptr &&
    std::sscanf(line.data(), "events %lld simulated_s %lf cpu_s %lf mean_wait_ms %lf", &events, &simulated, &cpu, &mean_wait) == 4;
  const int status = pclose(pipe);
  if (!read || status != 0 || cpu <= 0) {
    std::printf("SimPy: no result from %s (is python3-simpy3 installed?)\n", command.c_str());
    return;
  }
  const double simpy_rate = static_cast<double>(events) / cpu / 1e6;
  std::printf("SimPy: %.3f M events/s on one core; %lld events over %g simulated s in %.3f s CPU (mean wait %.1f ms; exact 46.5)\n",
              simpy_rate,
              events,
              simulated,
              cpu,
              mean_wait);
  std::printf("simulate vs SimPy: %.0f times SimPy's event rate (%.1f M against %.3f M events/s, exponential think and hold)\n",
              poolcalc_rate / simpy_rate,
              poolcalc_rate,
              simpy_rate);
}

} // namespace

int main(int argc, char** argv)
{
  std::int64_t events = 20'000'000;
  double simpy_seconds = 3000;
  bool simpy = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--events" && i + 1 < argc) {
      events = std::atoll(argv[++i]);
    } else if (arg == "--simpy-seconds" && i + 1 < argc) {
      simpy_seconds = std::atof(argv[++i]);
    } else if (arg == "--no-simpy") {
      simpy = false;
    } else {
      std::fprintf(stderr, "usage: poolcalc_bench_simulate [--events N] [--simpy-seconds D] [--no-simpy]\n");
      return 2;
    }
  }
  const double exponential =
    event_rate("exponential think and hold", seed_model(exponential_distribution(0.85), exponential_distribution(0.15)), events);
  event_rate("constant think and hold", seed_model(constant_distribution(0.85), constant_distribution(0.15)), events);
  time_to_answer();
  if (simpy) {
    against_simpy(exponential, simpy_seconds);
  }
  return 0;
}

// The speed targets that a timed main reports (docs/architecture.md): `poolcalc curve` over
// 1,000 saturated pools for 10,000 VUs, and `poolcalc fleet` on a file of 1,000 services. Each
// prints its median over a few runs and its target; the figures are read, not failed on (a
// shared CI machine is noisy).
//
//   poolcalc_bench_targets [RUNS]     (default 7)

#include "poolcalc/fleet.hpp"
#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace poolcalc;

template<typename Job>
double median_ms(int runs, const Job& job)
{
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    job();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// 1,000 services of 1,000,000 VUs each (700,000 active), on three instances each, one
// (database, user) pool per service: the largest loads a fleet file takes, each sized alone.
std::string large_fleet()
{
  std::string text = "[database]\nmax_connections = 262143\nversion = 15\nurl = \"postgresql://app@db.internal:5432/main\"\n";
  for (int i = 0; i < 1000; ++i) {
    text += "\n[[service]]\nname = \"svc-" + std::to_string(i) + "\"\nuser = \"u" + std::to_string(i) +
            "\"\ninstances = 3\nvus = 1000000\nquery_ms = 150\n";
  }
  return text;
}

} // namespace

int main(int argc, char** argv)
{
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;

  // poolcalc curve --vus 10000 --activity 1 --query-ms 150 --pool 1-1000: 10,000 VUs holding
  // 150 ms then thinking 850 ms (1,500 busy on average), so every pool of the curve is saturated.
  const ClosedLoad load{ 10'000, 0.15, 0.85 };
  std::vector<std::int64_t> pools(1000);
  std::iota(pools.begin(), pools.end(), 1);
  std::size_t points = 0;
  const double curve_ms = median_ms(runs, [&] { points += closed_curve(load, pools, 30).size(); });
  std::printf("curve 1000 pools x 10000 VUs: %.1f ms (target <= 20)\n", curve_ms);

  // poolcalc fleet FILE: read, size, judge and print.
  const std::string text = large_fleet();
  const Rules& rules = builtin_rules();
  std::size_t bytes = 0;
  const double fleet_ms = median_ms(runs, [&] {
    const auto file = parse_fleet_toml(text, "fleet.toml", rules);
    if (!file) {
      std::fprintf(stderr, "the benchmark's fleet file is refused: %s\n", file.error().c_str());
      std::exit(1);
    }
    const Fleet fleet = size_fleet(*file, rules);
    bytes += render_fleet_text(fleet, evaluate_fleet(fleet, rules)).size();
  });
  std::printf("fleet of 1000 services: %.1f ms (target < 500)\n", fleet_ms);
  return points > 0 && bytes > 0 ? 0 : 1;
}

// Queueing model speed (Google Benchmark). Targets (docs/architecture.md): the smallest pool for
// 100,000 Erlangs and for 100,000 closed-loop VUs within 5 ms each; a curve of 1,000 pool sizes
// within 20 ms.
//
//   poolcalc_bench_queueing [--benchmark_filter=...]

#include "poolcalc/queueing.hpp"

#include <benchmark/benchmark.h>

#include <numeric>

namespace {

using namespace poolcalc;

// 1,000,000 queries/s x 100 ms = 100,000 Erlangs; the smallest pool where under 5 % wait.
void open_smallest_pool_100k_erlangs(benchmark::State& state)
{
  const OpenLoad load{ 1'000'000, 0.1, 1.0 };
  const Target target = *parse_target("p_wait<0.05");
  for (auto _ : state) {
    benchmark::DoNotOptimize(open_smallest_pool(load, target, 30, 262'143));
  }
}
BENCHMARK(open_smallest_pool_100k_erlangs)->Unit(benchmark::kMillisecond);

// 100,000 VUs, each holding 100 ms then thinking 900 ms (10,000 busy on average): the smallest
// pool where under 5 % wait, by bisection over the exact closed model.
void closed_smallest_pool_100k_vus(benchmark::State& state)
{
  const ClosedLoad load{ 100'000, 0.1, 0.9 };
  const Target target = *parse_target(state.range(0) == 0 ? "p_wait<0.05" : "p99_wait<50ms");
  for (auto _ : state) {
    benchmark::DoNotOptimize(
      smallest_pool([&](std::int64_t c) { return closed_metrics(load, c, 30, needs_percentiles(target)); }, target, 1, 100'000));
  }
}
BENCHMARK(closed_smallest_pool_100k_vus)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// `poolcalc curve` over 1,000 pool sizes for the seed's load (84 active VUs, 150 ms holds).
void closed_curve_1000_pools(benchmark::State& state)
{
  const ClosedLoad load{ 84, 0.15, 0.85 };
  for (auto _ : state) {
    for (std::int64_t c = 1; c <= 1000; ++c) {
      benchmark::DoNotOptimize(closed_metrics(load, c, 30));
    }
  }
}
BENCHMARK(closed_curve_1000_pools)->Unit(benchmark::kMillisecond);

// The same for 10,000 active VUs, where the pools of the curve are all busy (closed_curve, as
// `poolcalc curve` computes it).
void closed_curve_1000_pools_10k_vus(benchmark::State& state)
{
  const ClosedLoad load{ 10'000, 0.15, 0.85 };
  std::vector<std::int64_t> pools(1000);
  std::iota(pools.begin(), pools.end(), 1000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(closed_curve(load, pools, 30));
  }
}
BENCHMARK(closed_curve_1000_pools_10k_vus)->Unit(benchmark::kMillisecond);

// An open curve over 1,000 pool sizes around 1,000 Erlangs.
void open_curve_1000_pools(benchmark::State& state)
{
  const OpenLoad load{ 10'000, 0.1, 1.0 };
  std::vector<std::int64_t> pools(1000);
  std::iota(pools.begin(), pools.end(), 1000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(open_curve(load, pools, 30));
  }
}
BENCHMARK(open_curve_1000_pools)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();

#pragma once
// What the fuzz targets share: a failed property stops the run (libFuzzer saves the input), and
// the finite-number checks of a plan and a fleet.

#include "poolcalc/fleet.hpp"
#include "poolcalc/sizing.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace poolcalc::fuzz {

[[noreturn]] inline void fail(std::string_view what)
{
  std::fprintf(stderr, "fuzz property failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void check(bool ok, std::string_view what)
{
  if (!ok) {
    fail(what);
  }
}

inline void check_finite(double value, std::string_view what)
{
  check(std::isfinite(value), what);
}

inline void check_metrics(const QueueMetrics& m)
{
  check_finite(m.throughput_rps, "throughput is not finite");
  check_finite(m.p_wait, "P(wait) is not finite");
  check_finite(m.utilization, "utilization is not finite");
  check(m.p_wait >= 0 && m.p_wait <= 1 + 1e-9, "P(wait) outside [0, 1]");
  if (m.stable) {
    check_finite(m.mean_wait_ms, "mean wait is not finite");
    check_finite(m.p95_wait_ms, "p95 wait is not finite");
    check_finite(m.p99_wait_ms, "p99 wait is not finite");
    check_finite(m.timeout_rate, "timeout rate is not finite");
    check(m.mean_wait_ms >= 0 && m.p95_wait_ms >= 0 && m.p99_wait_ms >= 0, "a negative wait");
  }
}

// No NaN, no infinity, no negative count anywhere a plan's renderers read.
inline void check_plan(const Plan& plan)
{
  check(!plan.scenarios.empty(), "a plan without scenarios");
  for (const ScenarioResult& s : plan.scenarios) {
    check_finite(s.peak_concurrent, "peak is not finite");
    check_finite(s.per_instance_peak, "per-instance peak is not finite");
    check(s.peak_concurrent >= 0 && s.pool_size >= 1 && s.total_connections >= s.pool_size, "a scenario's counts are inconsistent");
  }
  check_finite(plan.peak_concurrent, "the plan's peak is not finite");
  check_finite(plan.utilization, "utilization is not finite");
  check(plan.pool_size >= 1 && plan.server_connections >= 0 && plan.total_connections >= plan.pool_size, "the plan's counts are off");
  for (const QueueMetrics& m : plan.queueing.pools) {
    check_metrics(m);
  }
  if (plan.queueing.recommended) {
    check_metrics(*plan.queueing.recommended);
  }
}

inline void check_fleet(const Fleet& fleet)
{
  check_finite(fleet.utilization, "fleet utilization is not finite");
  check_finite(fleet.capacity.peak, "fleet peak is not finite");
  check(fleet.total_connections >= 0 && fleet.surge_connections >= fleet.total_connections, "fleet counts are off");
  for (const FleetService& service : fleet.services) {
    check_plan(service.plan);
  }
}

} // namespace poolcalc::fuzz

#pragma once
// The queueing model of one pool, whichever way it is computed: the exact analytic models
// (M/M/c//N, Erlang C) when the holds are exponential, else the simulation (simulate.hpp). The
// rest of the core asks here and does not care which.

#include "poolcalc/queueing.hpp"
#include "poolcalc/simulate.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>

namespace poolcalc::detail {

// A simulation's figures (one group's, or one PgBouncer pool's) as a QueueMetrics row, with their
// 95 % half-widths.
QueueMetrics queue_metrics_of(const SimMetrics& figures, const SimResult& result, QueueModel model, std::int64_t pool);

// Whether the analytic model is exact for the load: exponential holds (closed: whatever the think
// time; open: Poisson arrivals).
bool analytic_exact(const QueueingPlan& q);

// What a pool of `pool` connections does under the load. Without `percentiles` an analytic
// closed model skips its p95 and p99 (NaN); a simulation always has them.
// With `focus`, a simulation needs only that figure within the precision (a search for a target).
QueueMetrics pool_metrics(const QueueingPlan& q,
                          std::int64_t pool,
                          double timeout_s,
                          bool percentiles = true,
                          std::optional<Target::Metric> focus = std::nullopt);

// The smallest pool up to `limit` meeting the target; none when `limit` does not.
std::optional<std::int64_t> smallest_pool_for(const QueueingPlan& q, const Target& target, double timeout_s, std::int64_t limit);

} // namespace poolcalc::detail

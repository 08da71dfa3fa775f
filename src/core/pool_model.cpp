#include "pool_model.hpp"

#include "poolcalc/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc::detail {

namespace {

constexpr double k_wait_precision_floor_ms = 0.5;
constexpr std::int64_t k_pools_per_budget = 8;

QueueMetrics analytic(const QueueingPlan& q, std::int64_t pool, double timeout_s, bool percentiles)
{
  return q.model == QueueModel::closed ? closed_metrics(q.closed, pool, timeout_s, percentiles) : open_metrics(q.open, pool, timeout_s);
}

// The one instance's pool as a simulation model: instances without PgBouncer do not interact.
SimModel single_pool(const QueueingPlan& q, std::int64_t pool, double timeout_s)
{
  SimGroup group;
  group.name = "pool";
  if (q.model == QueueModel::closed) {
    group.users = q.closed.users;
    group.think = q.think;
  } else {
    group.arrival_rps = q.open.arrival_rps;
  }
  group.hold = q.hold;
  group.pool = pool;
  group.pool_timeout_s = timeout_s;
  SimModel model;
  model.groups.push_back(std::move(group));
  return model;
}

// The figure a search for the smallest pool meeting a target needs precise; all for a shown pool.
unsigned gate_for(std::optional<Target::Metric> focus)
{
  if (!focus) {
    return k_sim_all;
  }
  switch (*focus) {
  case Target::Metric::p_wait:
    return k_sim_p_wait;
  case Target::Metric::mean_wait:
    return k_sim_mean_wait;
  case Target::Metric::p95_wait:
    return k_sim_p95_wait;
  case Target::Metric::p99_wait:
    return k_sim_p99_wait;
  case Target::Metric::timeout_rate:
    return k_sim_timeout_rate;
  }
  return k_sim_all;
}

QueueMetrics simulated(const QueueingPlan& q, std::int64_t pool, double timeout_s, std::optional<Target::Metric> focus)
{
  SimOptions options;
  options.gate = gate_for(focus);
  options.seed = q.stream; // the same for every pool: curves compare like with like
  options.precision.relative = q.simulation_precision;
  // A wait within half a millisecond is a quarter of the validation's 2 ms band (docs/model.md,
  // "How close it is"): chasing a near-zero tail further only spends the budget.
  options.precision.absolute_wait_ms = k_wait_precision_floor_ms;
  // One pool gets at most an eighth of the run's budget, so a search over several pools (the knee,
  // --target) still has some for each.
  const std::int64_t left = q.simulation_events_left ? *q.simulation_events_left : q.simulation_max_events;
  options.max_events = std::max<std::int64_t>({ 1, q.simulation_min_events, std::min(left, q.simulation_max_events / k_pools_per_budget) });
  if (q.progress) {
    options.progress = [&](double share) { q.progress(fmt::format("pool {}", pool), share); };
  }
  const SimResult result = simulate(single_pool(q, pool, timeout_s), options);
  if (q.simulation_events_left) {
    *q.simulation_events_left = std::max<std::int64_t>(0, *q.simulation_events_left - result.events);
  }
  QueueMetrics m = queue_metrics_of(result.groups.front(), result, q.model, pool);
  if (timeout_s <= 0) {
    m.timeout_rate = 0;
    m.intervals->timeout_rate = 0;
  }
  return m;
}

} // namespace

QueueMetrics queue_metrics_of(const SimMetrics& g, const SimResult& result, QueueModel model, std::int64_t pool)
{
  QueueMetrics m;
  m.pool = pool;
  m.model = model;
  m.throughput_rps = g.throughput_rps.value;
  m.p_wait = g.p_wait.value;
  m.mean_wait_ms = g.mean_wait_ms.value;
  m.p95_wait_ms = g.p95_wait_ms.value;
  m.p99_wait_ms = g.p99_wait_ms.value;
  m.timeout_rate = g.timeout_rate.value;
  m.utilization = g.utilization.value;
  m.intervals = MetricIntervals{ g.throughput_rps.half_width,
                                 g.p_wait.half_width,
                                 g.mean_wait_ms.half_width,
                                 g.p95_wait_ms.half_width,
                                 g.p99_wait_ms.half_width,
                                 g.timeout_rate.half_width,
                                 g.utilization.half_width,
                                 result.replications,
                                 result.events,
                                 result.converged };
  return m;
}

bool analytic_exact(const QueueingPlan& q)
{
  return q.hold.family == Distribution::Family::exponential;
}

QueueMetrics pool_metrics(const QueueingPlan& q, std::int64_t pool, double timeout_s, bool percentiles, std::optional<Target::Metric> focus)
{
  if (!q.simulated) {
    return analytic(q, pool, timeout_s, percentiles);
  }
  // Exact whatever the distributions: a closed pool with a connection for every user never makes
  // anyone wait; an open load at or above the pool's capacity grows without bound.
  if (q.model == QueueModel::closed ? pool >= q.closed.users : q.open.arrival_rps * q.open.hold_s >= static_cast<double>(pool)) {
    return analytic(q, pool, timeout_s, percentiles);
  }
  if (q.simulated_cache) {
    // A fully precise answer serves a search too; a search's serves only the same search.
    for (const unsigned gate : { k_sim_all, gate_for(focus) }) {
      if (const auto it = q.simulated_cache->find({ pool, timeout_s, gate }); it != q.simulated_cache->end()) {
        return it->second;
      }
    }
    return q.simulated_cache->emplace(SimulatedKey{ pool, timeout_s, gate_for(focus) }, simulated(q, pool, timeout_s, focus)).first->second;
  }
  return simulated(q, pool, timeout_s, focus);
}

std::optional<std::int64_t> smallest_pool_for(const QueueingPlan& q, const Target& target, double timeout_s, std::int64_t limit)
{
  if (!q.simulated && q.model == QueueModel::open) {
    return open_smallest_pool(q.open, target, timeout_s, limit);
  }
  const auto evaluate = [&](std::int64_t pool) { return pool_metrics(q, pool, timeout_s, needs_percentiles(target), target.metric); };
  if (q.model == QueueModel::closed) {
    return smallest_pool(evaluate, target, 1, limit);
  }
  // Open and simulated: below the offered load nothing is stable; above it, double until a pool
  // meets the target, then bisect (each simulation costs the same whatever the pool).
  const double offered = q.open.arrival_rps * q.open.hold_s;
  const std::int64_t low = std::min(limit, static_cast<std::int64_t>(std::floor(offered)) + 1);
  std::int64_t high = low;
  std::int64_t step = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(std::sqrt(offered))));
  while (!meets(evaluate(high), target)) {
    if (high >= limit) {
      return std::nullopt;
    }
    high = std::min(limit, high + step);
    step *= 2;
  }
  return smallest_pool(evaluate, target, low, high);
}

} // namespace poolcalc::detail

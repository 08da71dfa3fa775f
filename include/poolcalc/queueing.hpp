#pragma once
// Queueing models of a connection pool (docs/model.md, "Queueing"): what a pool of c
// connections does under a load, beyond the rule of thumb. Pure functions, no I/O.
//
// - Closed loop, M/M/c//N (the machine-repairman model): N users each hold a connection for an
//   exponential time of mean S, then think for an exponential time of mean Z before the next
//   query. k6 VU executors are closed: a slow response delays that VU's next request.
// - Open loop, M/M/c (Erlang C): queries arrive at rate lambda whatever the response time
//   (k6 arrival-rate executors, production traffic), with the Allen-Cunneen correction for
//   service-time variability.
//
// Numerics: the closed model's state probabilities are computed outward from their mode, so no
// term overflows and the cost is proportional to where the probability mass lies (about the
// square root of N), not to N; the open model uses the Erlang B recursion, stable for any c. No
// factorials, no power series; an overloaded open queue is reported unstable, not as a number.

#include "poolcalc/expected.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

enum class QueueModel
{
  closed,
  open,
};

std::string_view to_string(QueueModel model);

// The 95 % confidence half-widths of simulated figures (docs/model.md, "Simulation"): each figure
// is its value +- this.
struct MetricIntervals
{
  double throughput_rps = 0;
  double p_wait = 0;
  double mean_wait_ms = 0;
  double p95_wait_ms = 0;
  double p99_wait_ms = 0;
  double timeout_rate = 0;
  double utilization = 0;
  std::int64_t replications = 0;
  std::int64_t events = 0;
  bool converged = true; // false: the event budget ran out before the precision was reached
};

// What a pool of `pool` connections does under the load.
struct QueueMetrics
{
  std::int64_t pool = 0;
  QueueModel model = QueueModel::closed;
  double throughput_rps = 0; // queries per second served
  double p_wait = 0;         // share of queries that wait for a connection
  double mean_wait_ms = 0;   // over all queries, waiting or not
  double p95_wait_ms = 0;
  double p99_wait_ms = 0;
  double timeout_rate = 0;                  // P(wait > pool_timeout); 0 when the timeout is disabled
  double utilization = 0;                   // busy connections / pool
  bool stable = true;                       // false: open load at or above the pool's capacity (waits grow without bound)
  std::optional<MetricIntervals> intervals; // set when the figures were simulated
};

// A closed load: `users` each cycling through a hold of `hold_s` and a think of `think_s`.
struct ClosedLoad
{
  std::int64_t users = 0;
  double hold_s = 0;
  double think_s = 0;
};

// An open load: queries arriving at `arrival_rps`, each holding a connection `hold_s` on average
// with squared coefficient of variation `hold_cv2` (1 for exponential).
struct OpenLoad
{
  double arrival_rps = 0;
  double hold_s = 0;
  double hold_cv2 = 1;
};

// Erlang B blocking probability for offered load `erlangs` on `servers`, by the recursion
// B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) (stable for any size), or above 100,000 servers as
// the Poisson ratio P(X = c) / P(X <= c) through the incomplete gamma function.
double erlang_b(double erlangs, std::int64_t servers);

// Erlang C probability of waiting (M/M/c), from Erlang B. Returns 1 when erlangs >= servers.
double erlang_c(double erlangs, std::int64_t servers);

// Closed model metrics for a pool. `timeout_s` <= 0 means no pool timeout. Without
// `percentiles` the p95 and p99 waits (the costly part: a root search on the tail) are NaN.
QueueMetrics closed_metrics(const ClosedLoad& load, std::int64_t pool, double timeout_s, bool percentiles = true);

// closed_metrics (with the percentiles) for each of `pools`, the memory of one pool's
// distribution reused for the next: for `poolcalc curve`.
std::vector<QueueMetrics> closed_curve(const ClosedLoad& load, const std::vector<std::int64_t>& pools, double timeout_s);

// Open model metrics for a pool (Erlang C; waits scaled by (1 + cv^2) / 2, Allen-Cunneen).
QueueMetrics open_metrics(const OpenLoad& load, std::int64_t pool, double timeout_s);

// Open model metrics for ascending pool sizes in one pass of the Erlang B recursion:
// O(largest pool) in all, however many pools.
std::vector<QueueMetrics> open_curve(const OpenLoad& load, const std::vector<std::int64_t>& pools, double timeout_s);

// The probability that a query waits longer than `t_s` for a connection, in the closed model.
double closed_wait_tail(const ClosedLoad& load, std::int64_t pool, double t_s);

// A target for the smallest pool: one metric below a bound.
struct Target
{
  enum class Metric
  {
    p_wait,
    mean_wait,
    p95_wait,
    p99_wait,
    timeout_rate,
  };
  Metric metric = Metric::p_wait;
  double bound = 0; // ms for waits, a ratio (0..1) for p_wait and timeout_rate
  std::string text; // as given, for messages
};

// The bounds a target accepts: a wait from a microsecond to an hour, a share from one in a
// million to 1 (a smaller one is below what the model's doubles and the output resolve).
inline constexpr double k_min_target_wait_ms = 0.001;
inline constexpr double k_max_target_wait_ms = 3'600'000.0;
inline constexpr double k_min_target_share = 0.000001;

// Parses "p99_wait<50ms", "mean_wait<10ms", "p95_wait<0.2s", "p_wait<0.05" (or "p_wait<5%"),
// "timeout_rate<0.001". Returns an error string naming the accepted forms or range.
poolcalc::expected<Target, std::string> parse_target(std::string_view text);

// The target's metric of `m` (ms for waits, a ratio otherwise); infinity for an unstable queue.
double target_value(const QueueMetrics& m, Target::Metric metric);

// True when the target's metric is a wait percentile (p95_wait, p99_wait).
bool needs_percentiles(const Target& target);

// True when `m` meets the target (strictly below the bound, and stable).
bool meets(const QueueMetrics& m, const Target& target);

// The smallest pool in [low, high] whose metrics meet the target, by bisection (every metric
// falls as the pool grows); none when `high` does not meet it.
std::optional<std::int64_t> smallest_pool(const std::function<QueueMetrics(std::int64_t)>& evaluate,
                                          const Target& target,
                                          std::int64_t low,
                                          std::int64_t high);

// The smallest pool up to `limit` whose open-model metrics meet the target, scanning up the
// Erlang B recursion (O(answer)); none when no pool up to `limit` does.
std::optional<std::int64_t> open_smallest_pool(const OpenLoad& load, const Target& target, double timeout_s, std::int64_t limit);

} // namespace poolcalc

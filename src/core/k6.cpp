#include "poolcalc/k6.hpp"

#include "poolcalc/distribution.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/scenario.hpp"

#include "pool_model.hpp"
#include "sizing_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace poolcalc {

namespace {

// "Light load" -> "light_load": a tag value k6's threshold syntax takes as it is.
std::string phase_id(std::string_view name)
{
  std::string id;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      id += static_cast<char>(std::tolower(u));
    } else if (!id.empty() && id.back() != '_') {
      id += '_';
    }
  }
  while (!id.empty() && id.back() == '_') {
    id.pop_back();
  }
  return id.empty() ? "phase" : id;
}

// What queries wait for under `phase`'s load: the plan's pool, or PgBouncer's server pool.
QueueMetrics at_load(const Plan& plan, const Scenario& phase)
{
  return plan_waits(plan, phase);
}

} // namespace

std::optional<double> k6_duration_seconds(std::string_view text)
{
  double total = 0;
  std::size_t i = 0;
  if (text.empty()) {
    return std::nullopt;
  }
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0 || text[i] == '.')) {
      ++i;
    }
    const std::string_view number = text.substr(start, i - start);
    if (number.empty() || number.size() > 9 || std::count(number.begin(), number.end(), '.') > 1 || number.front() == '.' ||
        number.back() == '.') {
      return std::nullopt;
    }
    double unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 0.001;
      i += 2;
    } else if (i < text.size() && (text[i] == 'h' || text[i] == 'm' || text[i] == 's')) {
      unit = text[i] == 'h' ? 3600.0 : text[i] == 'm' ? 60.0 : 1.0;
      ++i;
    } else {
      return std::nullopt;
    }
    total += std::stod(std::string(number)) * unit;
  }
  return total;
}

K6Plan plan_k6(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  K6Plan test;
  test.open = s.rps.has_value();
  test.ramp = rules.k6.ramp;
  test.abort_delay = rules.k6.abort_delay;
  test.ramp_seconds = k6_duration_seconds(rules.k6.ramp).value_or(0);
  test.surge = rules.advisor.surge;
  test.pool =
    plan.recommendation == Recommendation::pgbouncer && plan.pgbouncer ? plan.pgbouncer->pools.front().default_pool_size : plan.pool_size;
  test.instances = s.instances;
  test.queries_per_request = s.queries_per_request;
  test.request_timeout_s = s.request_timeout_s;
  test.failed_warn = rules.monitoring.timeout_error_warn_rate;
  test.failed_abort = rules.monitoring.timeout_error_critical_rate;
  const Distribution& hold = plan.queueing.hold;
  test.own_p95_ms = round_decimal(s.queries_per_request * quantile(hold, 0.95) * 1000.0);
  test.own_p99_ms = round_decimal(s.queries_per_request * quantile(hold, 0.99) * 1000.0);
  test.hold_text = describe(hold);
  if (!test.open) {
    // Each of the VUs offers activity x its active rate of queries; a request carries
    // queries_per_request of them.
    test.pace_s = s.queries_per_request / (s.activity * vu_query_rate(s, plan.queueing.hold_ms / 1000.0));
  }

  const double design_ms = plan.scenarios[plan.design_index].query_ms;
  const auto add_phase = [&](std::string name, double load, std::string duration, bool stress) {
    Scenario phase = s;
    if (test.open) {
      phase.rps = load;
    } else {
      phase.vus = static_cast<std::int64_t>(load);
    }
    K6Phase p;
    p.id = stress ? "stress" : phase_id(name);
    p.name = std::move(name);
    p.load = load;
    p.seconds = k6_duration_seconds(duration).value_or(0);
    p.duration = std::move(duration);
    p.expected_peak = round_decimal(offered_concurrency(phase, design_ms));
    p.stress = stress;
    p.at_load = at_load(plan, phase);
    // A planned phase may fail no more requests than the monitoring's warning rate; the stress
    // phase no more than the pool timeouts the model predicts there.
    p.failed_threshold = stress ? std::max(test.failed_warn, p.at_load.timeout_rate) : test.failed_warn;
    test.phases.push_back(std::move(p));
  };
  for (const LoadPhase& phase : progressive_phases(plan)) {
    add_phase(phase.name, phase.load, phase.duration, false);
  }
  const double target = test.open ? *s.rps : static_cast<double>(s.vus);
  const double stress_load =
    test.open ? round_decimal(target * test.surge) : static_cast<double>(std::llround(round_decimal(target * test.surge)));
  add_phase(fmt::format("Stress ({}x the target)", format_number(test.surge)), stress_load, rules.k6.stress_duration, true);

  for (const K6Phase& p : test.phases) {
    test.total_seconds += test.ramp_seconds + p.seconds;
  }
  test.total_seconds += test.ramp_seconds; // the ramp down to 0

  if (test.open) {
    // ramping-arrival-rate starts each iteration on a free VU: enough for the stress phase's rate
    // over its slowest expected request (the endpoint's p99 and the pool's p99 wait there), and
    // rules k6.max_vus_ratio times that before k6 drops iterations.
    const K6Phase& stress = test.phases.back();
    const double wait_ms =
      stress.at_load.stable && std::isfinite(stress.at_load.p99_wait_ms) ? stress.at_load.p99_wait_ms : test.request_timeout_s * 1000.0;
    const double seconds = (test.own_p99_ms + wait_ms) / 1000.0;
    const double needed = std::min(1e6, std::ceil(stress.load * std::max(seconds, 0.001)));
    test.pre_allocated_vus = std::max<std::int64_t>(1, static_cast<std::int64_t>(needed));
    test.max_vus = static_cast<std::int64_t>(std::ceil(static_cast<double>(test.pre_allocated_vus) * rules.k6.max_vus_ratio));
  }
  return test;
}

} // namespace poolcalc

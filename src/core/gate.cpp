#include "poolcalc/gate.hpp"

#include "poolcalc/numbers.hpp"

#include "toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc {

using detail::InputError;
using detail::TableReader;

GatePolicy default_gate_policy(const Rules& rules)
{
  GatePolicy policy;
  policy.source = "the defaults";
  // rules advisor.objective ("p99_wait<100ms"): its bound when it is a p99 wait.
  if (rules.advisor.objective.metric == Target::Metric::p99_wait) {
    policy.max_p99_wait_ms = rules.advisor.objective.bound;
  }
  policy.max_failed_rate = rules.monitoring.timeout_error_warn_rate;
  return policy;
}

poolcalc::expected<GatePolicy, std::string> parse_gate_policy(std::string_view toml_text, std::string_view source_name, const Rules& rules)
{
  try {
    const toml::table table = detail::parse_toml(toml_text, source_name);
    TableReader reader(table, "", source_name);
    GatePolicy policy = default_gate_policy(rules);
    policy.source = std::string(source_name);
    if (reader.has("max_p99_wait_ms")) {
      policy.max_p99_wait_ms = reader.number("max_p99_wait_ms", 0.0, 3'600'000.0);
    }
    if (reader.has("max_mean_wait_ms")) {
      policy.max_mean_wait_ms = reader.number("max_mean_wait_ms", 0.0, 3'600'000.0);
    }
    if (reader.has("baseline_pool")) {
      policy.baseline_pool = reader.integer("baseline_pool", 1, 262'143);
    }
    if (reader.has("max_pool_growth")) {
      policy.max_pool_growth = reader.number("max_pool_growth", 1.0, 1000.0);
    }
    if (reader.has("must_fit")) {
      policy.must_fit = reader.boolean("must_fit");
    }
    if (reader.has("must_fit_deploy_surge")) {
      policy.must_fit_deploy_surge = reader.boolean("must_fit_deploy_surge");
    }
    if (reader.has("max_failed_rate")) {
      policy.max_failed_rate = reader.number("max_failed_rate", 0.0, 1.0);
    }
    if (reader.has("k6_thresholds_pass")) {
      policy.k6_thresholds_pass = reader.boolean("k6_thresholds_pass");
    }
    if (reader.has("allowed_causes")) {
      for (const toml::node& item : reader.array("allowed_causes")) {
        const auto* text = item.as_string();
        if (text == nullptr || !text->get().starts_with("doctor.")) {
          reader.fail(item, "allowed_causes", "expected cause ids such as \"doctor.connections_held_idle\"");
        }
        policy.allowed_causes.push_back(text->get());
      }
    }
    if (policy.max_pool_growth && !policy.baseline_pool) {
      reader.fail(reader.node("max_pool_growth"), "max_pool_growth", "needs baseline_pool, the pool it grows from");
    }
    reader.finish();
    return policy;
  } catch (const InputError& error) {
    return poolcalc::unexpected(error.message);
  }
}

namespace {

std::string ms(double value)
{
  return std::isfinite(value) ? format_number(round_decimal(value), 1) + " ms" : std::string("unbounded");
}

} // namespace

GateReport run_gate(const GatePolicy& policy,
                    const Plan* plan,
                    const std::vector<Finding>* findings,
                    const Diagnosis* diagnosis,
                    const std::optional<K6Figures>& k6)
{
  GateReport report;
  const auto add = [&](GateCheck check) {
    report.passed = report.passed && check.passed;
    report.checks.push_back(std::move(check));
  };
  if (plan != nullptr && findings != nullptr) {
    std::string failed;
    for (const Finding& f : *findings) {
      if (f.level == Level::fail) {
        failed += (failed.empty() ? "" : ", ") + f.id;
      }
    }
    add({ "gate.plan_findings",
          "the plan breaks no hard limit (no `fail` finding)",
          failed.empty() ? "none" : failed,
          "none",
          failed.empty() });
  }
  if (plan != nullptr) {
    if (policy.must_fit) {
      const bool bouncer = plan->recommendation == Recommendation::pgbouncer;
      add({ "gate.plan_fits",
            "the plan fits the server's connection budget",
            bouncer ? fmt::format("peak {} on {} server connections", format_number(plan->peak_concurrent), plan->server_connections)
                    : fmt::format("{} server connections", plan->server_connections),
            fmt::format("{} available", plan->available),
            plan->fits });
    }
    if (policy.must_fit_deploy_surge) {
      const auto surge = std::find_if(plan->moments.begin(), plan->moments.end(), [](const Moment& m) { return m.id == "rolling_deploy"; });
      if (surge != plan->moments.end()) {
        add({ "gate.deploy_surge_fits",
              fmt::format("{} fits too", surge->what),
              fmt::format("{} server connections", surge->connections),
              fmt::format("{} available", plan->available),
              surge->fits });
      } else {
        add({ "gate.deploy_surge_fits",
              "a deploy adds no instances (maxSurge 0)",
              fmt::format("{} server connections", plan->server_connections),
              fmt::format("{} available", plan->available),
              plan->fits });
      }
    }
    if (policy.max_p99_wait_ms) {
      const QueueMetrics m = plan_waits(*plan, plan->scenario);
      const double p99 = m.stable ? m.p99_wait_ms : INFINITY;
      add({ "gate.p99_wait",
            fmt::format("the {} of {} keeps the predicted p99 wait within the policy",
                        plan->recommendation == Recommendation::pgbouncer ? "PgBouncer server pool" : "plan's pool",
                        m.pool),
            ms(p99),
            "at most " + ms(*policy.max_p99_wait_ms),
            std::isfinite(p99) && p99 <= *policy.max_p99_wait_ms });
    }
    if (policy.max_pool_growth && policy.baseline_pool) {
      const double growth = static_cast<double>(plan->pool_size) / static_cast<double>(*policy.baseline_pool);
      add({ "gate.pool_growth",
            fmt::format("the pool grows at most {}x over the baseline {}", format_number(*policy.max_pool_growth), *policy.baseline_pool),
            fmt::format("{} ({}x)", plan->pool_size, format_number(round_decimal(growth), 2)),
            fmt::format("at most {}",
                        static_cast<std::int64_t>(std::floor(*policy.max_pool_growth * static_cast<double>(*policy.baseline_pool)))),
            growth <= *policy.max_pool_growth + 1e-9 });
    }
  }
  if (diagnosis != nullptr) {
    if (policy.max_mean_wait_ms && diagnosis->measured.mean_wait_ms) {
      add({ "gate.measured_wait",
            "the measured mean wait for a connection (PgBouncer) is within the policy",
            ms(*diagnosis->measured.mean_wait_ms),
            "at most " + ms(*policy.max_mean_wait_ms),
            *diagnosis->measured.mean_wait_ms <= *policy.max_mean_wait_ms });
    }
    std::vector<std::string> named;
    for (const Cause& cause : diagnosis->causes) {
      if (std::find(policy.allowed_causes.begin(), policy.allowed_causes.end(), cause.id) == policy.allowed_causes.end()) {
        named.push_back(cause.id);
      }
    }
    std::string found;
    for (const std::string& id : named) {
      found += (found.empty() ? "" : ", ") + id;
    }
    add({ "gate.causes",
          "doctor names no cause the policy does not allow",
          found.empty() ? "none" : found,
          policy.allowed_causes.empty() ? "none" : fmt::format("{}", fmt::join(policy.allowed_causes, ", ")),
          named.empty() });
  }
  if (k6 && policy.max_failed_rate) {
    add({ "gate.k6_failed",
          "k6's failed requests are within the policy",
          format_percent(round_decimal(k6->failed_rate)),
          "at most " + format_percent(*policy.max_failed_rate),
          k6->failed_rate <= *policy.max_failed_rate });
  }
  if (k6 && policy.k6_thresholds_pass) {
    std::string failed;
    for (const std::string& t : k6->failed_thresholds) {
      failed += (failed.empty() ? "" : ", ") + t;
    }
    add({ "gate.k6_thresholds",
          "k6's own thresholds passed",
          failed.empty() ? "all passed" : "failed: " + failed,
          "none failed",
          failed.empty() });
  }
  return report;
}

} // namespace poolcalc

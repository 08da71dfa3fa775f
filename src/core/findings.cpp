#include "poolcalc/findings.hpp"

#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace poolcalc {

namespace {

using Findings = std::vector<Finding>;

std::string available_phrase(const Plan& plan)
{
  return fmt::format("{} available (max_connections {} - reserved {})", plan.available, plan.scenario.max_connections, plan.reserved_total);
}

// pool.exceeds_available: the application's connections do not fit the server
// (docs/model.md, section 3).
void pool_exceeds_available(const Plan& plan, const Rules&, Findings& out)
{
  if (plan.recommendation != Recommendation::pool || plan.total_connections <= plan.available) {
    return;
  }
  const std::string fleet =
    plan.scenario.instances == 1
      ? fmt::format("a pool of {}", plan.pool_size)
      : fmt::format("{} instances x a pool of {} = {} connections", plan.scenario.instances, plan.pool_size, plan.total_connections);
  out.push_back({ "pool.exceeds_available",
                  Level::fail,
                  fmt::format("{} exceeds the {}", fleet, available_phrase(plan)),
                  "database.max_connections, database.reserved" });
}

// capacity.exceeds_server: PgBouncer multiplexes clients, but cannot run more queries at once
// than it has server connections.
void capacity_exceeds_server(const Plan& plan, const Rules&, Findings& out)
{
  if (!plan.pgbouncer) {
    return;
  }
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  if (design.peak_total_ceil <= plan.pgbouncer->server_connections) {
    return;
  }
  out.push_back({ "capacity.exceeds_server",
                  Level::fail,
                  fmt::format("the peak of {} concurrent queries needs {} server connections at once, more than PgBouncer's {} ({}): "
                              "PgBouncer queues clients but cannot run more queries at once than it has server connections; raise "
                              "max_connections, shorten queries or add capacity",
                              format_number(design.peak_concurrent),
                              design.peak_total_ceil,
                              plan.pgbouncer->server_connections,
                              plan.pgbouncer->server_connections < plan.available
                                ? fmt::format("kept inside the safe band; {} are available", plan.available)
                                : fmt::format("all of the {} available", plan.available)),
                  "database.max_connections, database.reserved, database.safe_utilization_max" });
}

// pgbouncer.pool_reduced: the sizing of default_pool_size + reserve_pool_size did not fit.
void pgbouncer_pool_reduced(const Plan& plan, const Rules& rules, Findings& out)
{
  if (!plan.pgbouncer || plan.pgbouncer->default_pool_size == plan.pgbouncer->default_pool_size_wanted) {
    return;
  }
  const PgBouncerPlan& p = *plan.pgbouncer;
  const auto wanted_reserve =
    static_cast<std::int64_t>(std::llround(rules.pgbouncer_settings.reserve_pool_ratio * static_cast<double>(p.default_pool_size_wanted)));
  const std::string budget = p.server_budget < plan.available
                               ? fmt::format("the {} server connections inside the safe band ({} of max_connections {}; {} are available)",
                                             p.server_budget,
                                             format_percent(rules.database.safe_utilization_max),
                                             plan.scenario.max_connections,
                                             plan.available)
                               : fmt::format("the {}", available_phrase(plan));
  out.push_back({ "pgbouncer.pool_reduced",
                  Level::warn,
                  fmt::format("default_pool_size {} + reserve_pool_size {} would exceed {}; reduced to {} + {}",
                              p.default_pool_size_wanted,
                              wanted_reserve,
                              budget,
                              p.default_pool_size,
                              p.reserve_pool_size),
                  "pgbouncer.settings.reserve_pool_ratio, database.safe_utilization_max" });
}

// pgbouncer.recommended: one of the PgBouncer triggers (rules pgbouncer.triggers), or the scaling table.
void pgbouncer_recommended(const Plan& plan, const Rules&, Findings& out)
{
  if (plan.triggers.empty()) {
    return;
  }
  std::vector<std::string> keys;
  for (const Trigger& trigger : plan.triggers) {
    keys.push_back(trigger.rule);
  }
  out.push_back({ "pgbouncer.recommended",
                  Level::warn,
                  fmt::format("use PgBouncer: {}", plan.recommendation_reason),
                  fmt::format("{}", fmt::join(keys, ", ")) });
}

// utilization.*: the safe band, 50-70 % of max_connections by default.
void utilization_band(const Plan& plan, const Rules& rules, Findings& out)
{
  const DatabaseRules& db = rules.database;
  const std::string used =
    fmt::format("{} of max_connections {} = {}", plan.server_connections, plan.scenario.max_connections, format_percent(plan.utilization));
  const std::string band = fmt::format("{}-{}", format_number(db.safe_utilization_min * 100.0, 1), format_percent(db.safe_utilization_max));
  const std::string source = "database.safe_utilization_min, database.safe_utilization_max";
  const double u = round_decimal(plan.utilization);
  if (u > db.safe_utilization_max) {
    out.push_back({ "utilization.above_safe", Level::warn, fmt::format("{}, above the safe band of {}", used, band), source });
  } else if (u >= db.safe_utilization_min) {
    out.push_back({ "utilization.within_safe", Level::info, fmt::format("{}, within the safe band of {}", used, band), source });
  } else {
    out.push_back(
      { "utilization.below_safe",
        Level::info,
        fmt::format("{}, below the safe band of {}{}", used, band, plan.server_connections < plan.available ? ": room to spare" : ""),
        source });
  }
}

// scenario.does_not_fit: another scenario of the list would not fit (the worked example's own 200 ms case).
void scenario_does_not_fit(const Plan& plan, const Rules&, Findings& out)
{
  for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
    const ScenarioResult& r = plan.scenarios[i];
    if (i == plan.design_index || r.fits) {
      continue;
    }
    std::string message;
    if (plan.pgbouncer) {
      message = fmt::format("the {} scenario ({} ms) peaks at {} concurrent queries, more than PgBouncer's {} server connections",
                            r.label,
                            format_number(r.query_ms),
                            format_number(r.peak_concurrent),
                            plan.pgbouncer->server_connections);
    } else {
      const std::string needs =
        plan.scenario.instances == 1
          ? fmt::format("a pool of {}", r.pool_size)
          : fmt::format("{} instances x {} = {} connections", plan.scenario.instances, r.pool_size, r.total_connections);
      message = fmt::format("the {} scenario ({} ms, peak {}) needs {}, more than the {} available",
                            r.label,
                            format_number(r.query_ms),
                            format_number(r.peak_concurrent),
                            needs,
                            plan.available);
    }
    out.push_back({ "scenario.does_not_fit", Level::warn, message, "query_ms (the scenarios)" });
  }
}

// scaling.band_disagrees: the scaling table and the rule of thumb give different pools.
void scaling_band_disagrees(const Plan& plan, const Rules&, Findings& out)
{
  const ScalingRow* row = plan.scaling_row;
  if (row == nullptr || row->pgbouncer || (plan.rule_of_thumb_pool >= row->pool_min && plan.rule_of_thumb_pool <= row->pool_max)) {
    return;
  }
  const std::string users = row->users_max ? fmt::format("{}-{}", row->users_min, *row->users_max) : fmt::format("{}+", row->users_min);
  out.push_back({ "scaling.band_disagrees",
                  Level::info,
                  fmt::format("the scaling table puts {} users ({}) at a pool of {}-{} with max_connections {}; the formula gives {}",
                              plan.scenario.vus,
                              users,
                              row->pool_min,
                              row->pool_max,
                              row->max_connections,
                              plan.rule_of_thumb_pool),
                  "scaling" });
}

// timeout.pool_at_or_above_request: a pool wait that outlasts the client's own timeout is never
// seen as a pool error (k6's default request timeout is 60 s).
void timeout_pool_at_or_above_request(const Plan& plan, const Rules&, Findings& out)
{
  const Scenario& s = plan.scenario;
  if (s.pool_timeout_s == 0 || s.pool_timeout_s < s.request_timeout_s) {
    return;
  }
  out.push_back({ "timeout.pool_at_or_above_request",
                  Level::warn,
                  fmt::format("pool_timeout {} s is at or above the client's request timeout of {} s: requests time out first and "
                              "pool exhaustion shows up as client timeouts; keep pool_timeout below it",
                              format_number(s.pool_timeout_s),
                              format_number(s.request_timeout_s)),
                  "timeouts.client_request_timeout_s" });
}

// timeout.pool_disabled: Prisma's pool_timeout=0 waits for a connection forever.
void timeout_pool_disabled(const Plan& plan, const Rules&, Findings& out)
{
  if (plan.scenario.pool_timeout_s != 0) {
    return;
  }
  out.push_back({ "timeout.pool_disabled",
                  Level::warn,
                  "pool_timeout 0 disables the timeout: a request waits for a connection forever and an exhausted pool never "
                  "shows up as an error",
                  "timeouts.pool_timeout_s" });
}

// reserve.replication_not_counted: since PostgreSQL 12 WAL senders have their own slots.
void reserve_replication_not_counted(const Plan& plan, const Rules& rules, Findings& out)
{
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    if (entry.connections > 0 && entry.name.find("replication") != std::string::npos) {
      out.push_back({ "reserve.replication_not_counted",
                      Level::info,
                      fmt::format("the reserve '{}' ({}) is only needed before PostgreSQL {}: since then WAL senders "
                                  "(max_wal_senders) have slots of their own outside max_connections",
                                  entry.name,
                                  entry.connections,
                                  rules.postgres.wal_senders_separate_since),
                      "postgres.wal_senders_separate_since" });
    }
  }
}

// reserve.superuser_not_default: the budget's superuser reserve differs from what PostgreSQL
// itself reserves (superuser_reserved_connections, default 3).
void reserve_superuser_not_default(const Plan& plan, const Rules& rules, Findings& out)
{
  const std::int64_t pg_default = rules.postgres.superuser_reserved_connections_default;
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    if (entry.name == "superuser" && entry.connections != pg_default) {
      out.push_back({ "reserve.superuser_not_default",
                      Level::info,
                      fmt::format("the reserve 'superuser' is {}, but PostgreSQL reserves superuser_reserved_connections = {} "
                                  "by default; check SHOW superuser_reserved_connections on the server",
                                  entry.connections,
                                  pg_default),
                      "postgres.superuser_reserved_connections_default" });
    }
  }
}

// queueing.unstable: an open load at or above what the pool can serve: the queue grows without bound.
void queueing_unstable(const Plan& plan, const Rules&, Findings& out)
{
  const auto& m = plan.queueing.recommended;
  if (!m || m->stable) {
    return;
  }
  const OpenLoad& load = plan.queueing.open;
  out.push_back({ "queueing.unstable",
                  Level::fail,
                  fmt::format("{} queries/s x {} s = {} Erlangs per instance on a pool of {}: the queue grows without bound; the "
                              "pool serves at most {} queries/s",
                              format_number(load.arrival_rps, 3),
                              format_number(load.hold_s, 3),
                              format_number(round_decimal(load.arrival_rps * load.hold_s), 3),
                              m->pool,
                              format_number(m->throughput_rps, 1)),
                  "queueing model (Erlang C)" });
}

// queueing.timeouts: the queueing model predicts pool timeouts above the monitoring warning rate.
void queueing_timeouts(const Plan& plan, const Rules& rules, Findings& out)
{
  const auto& m = plan.queueing.recommended;
  if (!m || !m->stable || m->timeout_rate <= rules.monitoring.timeout_error_warn_rate) {
    return;
  }
  out.push_back({ "queueing.timeouts",
                  Level::warn,
                  fmt::format("the queueing model predicts {} % of queries waiting longer than pool_timeout {} s on the pool of {} "
                              "(the warning level is {} %)",
                              format_number(m->timeout_rate * 100.0, 2),
                              format_number(plan.scenario.pool_timeout_s),
                              m->pool,
                              format_number(rules.monitoring.timeout_error_warn_rate * 100.0, 2)),
                  "monitoring.timeout_error_warn_rate" });
}

// target.far_from_rule_of_thumb: the rule of thumb and the --target's pool differ widely.
void target_far_from_rule_of_thumb(const Plan& plan, const Rules& rules, Findings& out)
{
  const QueueingPlan& q = plan.queueing;
  if (!q.target || !q.target_pool) {
    return;
  }
  const double ratio = static_cast<double>(plan.rule_of_thumb_pool) / static_cast<double>(plan.pool_size);
  const double far = rules.queueing.rule_of_thumb_far_ratio;
  if (ratio < far && ratio > 1.0 / far) {
    return;
  }
  out.push_back(
    { "target.far_from_rule_of_thumb",
      Level::info,
      fmt::format("the rule of thumb gives a pool of {}, {} the {} that meets {} ({} + {} overhead, rounded)",
                  plan.rule_of_thumb_pool,
                  ratio >= far ? fmt::format("{}x", format_number(ratio, 1)) : fmt::format("1/{} of", format_number(1.0 / ratio, 1)),
                  plan.pool_size,
                  q.target->text,
                  *q.target_pool,
                  plan.scenario.overhead),
      "queueing.rule_of_thumb_far_ratio" });
}

struct Rule
{
  RuleInfo info;
  std::function<void(const Plan&, const Rules&, Findings&)> check;
};

const std::vector<Rule>& rules_list()
{
  static const std::vector<Rule> list = {
    { { "pool.exceeds_available", "the application's connections exceed max_connections less the reserved budget" },
      pool_exceeds_available },
    { { "capacity.exceeds_server", "with PgBouncer, the peak concurrency exceeds the server connections available" },
      capacity_exceeds_server },
    { { "pgbouncer.recommended", "a PgBouncer trigger or the scaling table's top row applies" }, pgbouncer_recommended },
    { { "pgbouncer.pool_reduced", "PgBouncer's server pool was reduced to fit the connections available" }, pgbouncer_pool_reduced },
    { { "utilization.above_safe", "utilization of max_connections above the safe band" }, utilization_band },
    { { "scenario.does_not_fit", "another query-time scenario would not fit" }, scenario_does_not_fit },
    { { "queueing.unstable", "an open load at or above the pool's capacity" }, queueing_unstable },
    { { "queueing.timeouts", "predicted pool timeouts above the monitoring warning rate" }, queueing_timeouts },
    { { "target.far_from_rule_of_thumb", "the rule of thumb's pool and the --target's differ by the far ratio or more" },
      target_far_from_rule_of_thumb },
    { { "timeout.pool_at_or_above_request", "pool_timeout at or above the client's request timeout" }, timeout_pool_at_or_above_request },
    { { "timeout.pool_disabled", "pool_timeout 0 waits forever" }, timeout_pool_disabled },
    { { "scaling.band_disagrees", "the scaling table's pool band and the formula disagree" }, scaling_band_disagrees },
    { { "reserve.replication_not_counted", "a replication reserve on PostgreSQL 12+, where WAL senders have their own slots" },
      reserve_replication_not_counted },
    { { "reserve.superuser_not_default", "a superuser reserve other than PostgreSQL's default" }, reserve_superuser_not_default },
  };
  return list;
}

} // namespace

std::string_view to_string(Level level)
{
  switch (level) {
  case Level::info:
    return "info";
  case Level::warn:
    return "warn";
  case Level::fail:
    return "fail";
  }
  return "info";
}

const std::vector<RuleInfo>& rule_catalogue()
{
  static const std::vector<RuleInfo> catalogue = [] {
    std::vector<RuleInfo> result;
    for (const Rule& rule : rules_list()) {
      result.push_back(rule.info);
    }
    // utilization_band also reports these two outcomes.
    result.push_back({ "utilization.within_safe", "utilization of max_connections inside the safe band" });
    result.push_back({ "utilization.below_safe", "utilization of max_connections below the safe band" });
    return result;
  }();
  return catalogue;
}

std::vector<Finding> evaluate(const Plan& plan, const Rules& rules)
{
  Findings findings;
  for (const Rule& rule : rules_list()) {
    rule.check(plan, rules, findings);
  }
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) { return a.level > b.level; });
  return findings;
}

bool has_failure(const std::vector<Finding>& findings)
{
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Level::fail; });
}

} // namespace poolcalc

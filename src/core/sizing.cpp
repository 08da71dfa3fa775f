#include "poolcalc/sizing.hpp"

#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc {

namespace {

// ceil() of a product of decimal inputs, after removing floating-point noise (see
// round_decimal). Inputs are bounded (scenario.hpp) so the result fits easily.
std::int64_t ceil_count(double value)
{
  const auto count = static_cast<std::int64_t>(std::ceil(round_decimal(value)));
  // Any load at all needs a connection, however small rounding made it.
  return value > 0 && count == 0 ? 1 : count;
}

const ScalingRow* scaling_row_for(const std::vector<ScalingRow>& rows, std::int64_t users)
{
  for (const ScalingRow& row : rows) {
    if (users >= row.users_min && (!row.users_max || users <= *row.users_max)) {
      return &row;
    }
  }
  return nullptr;
}

std::string plural(std::int64_t n, std::string_view one, std::string_view many)
{
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::vector<Trigger> find_triggers(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  const PgBouncerTriggers& t = rules.pgbouncer_triggers;
  std::vector<Trigger> triggers;
  if (plan.scaling_row != nullptr && plan.scaling_row->pgbouncer) {
    triggers.push_back({ "scaling_table",
                         fmt::format("{} concurrent users is in the scaling table's {}+ row, which says \"Use PgBouncer\"",
                                     s.vus,
                                     plan.scaling_row->users_min - 1),
                         "scaling" });
  }
  if (s.instances > t.instances_above) {
    triggers.push_back({ "instances",
                         fmt::format("{} application instances (more than {})", s.instances, t.instances_above),
                         "pgbouncer.triggers.instances_above" });
  }
  if (plan.total_connections > t.total_connections_above) {
    triggers.push_back({ "total_connections",
                         fmt::format("{} connections in total (more than {})", plan.total_connections, t.total_connections_above),
                         "pgbouncer.triggers.total_connections_above" });
  }
  if (s.services > t.services_above) {
    triggers.push_back({ "services",
                         fmt::format("{} services share the database (more than {})", s.services, t.services_above),
                         "pgbouncer.triggers.services_above" });
  }
  if (s.transaction_pooling && t.transaction_pooling) {
    triggers.push_back({ "transaction_pooling", "transaction-level pooling is wanted", "pgbouncer.triggers.transaction_pooling" });
  }
  if (plan.remote_database && t.remote_database) {
    triggers.push_back({ "remote_database", "the database is remote (a high-latency network)", "pgbouncer.triggers.remote_database" });
  }
  return triggers;
}

std::string no_trigger_reason(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  const PgBouncerTriggers& t = rules.pgbouncer_triggers;
  std::string where = !plan.remote_database_known ? "database location not given" : "database is local";
  return fmt::format("no PgBouncer trigger applies: {} (at most {}), {} in total (at most {}), {}, {}",
                     plural(s.instances, "instance", "instances"),
                     t.instances_above,
                     plural(plan.total_connections, "connection", "connections"),
                     t.total_connections_above,
                     plural(s.services, "service", "services"),
                     where);
}

PgBouncerPlan plan_pgbouncer(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  const PgBouncerSettingsRules& r = rules.pgbouncer_settings;
  PgBouncerPlan p;
  p.listen_port = r.listen_port;
  p.listen_addr = r.listen_addr;
  p.auth_type = r.auth_type;
  p.auth_file = r.auth_file;
  p.pool_mode = r.pool_mode;
  p.reserve_pool_timeout_s = r.reserve_pool_timeout_s;

  // The server pool serves the whole fleet's concurrency, buffered like one pool: for one
  // instance this is the pool itself (the seed's default_pool_size = 50).
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  const std::int64_t fleet_peak = ceil_count(design.peak_concurrent * static_cast<double>(s.instances));
  p.default_pool_size_wanted = round_up(ceil_count(static_cast<double>(fleet_peak) * s.burst) + s.overhead, s.round_to);
  p.default_pool_size = p.default_pool_size_wanted;
  p.reserve_pool_size = static_cast<std::int64_t>(std::llround(r.reserve_pool_ratio * static_cast<double>(p.default_pool_size)));
  // PgBouncer's server connections are ours to choose: keep them inside the safe band as well
  // as inside the connections available.
  p.server_budget = std::min(
    plan.available,
    static_cast<std::int64_t>(std::floor(round_decimal(rules.database.safe_utilization_max * static_cast<double>(s.max_connections)))));
  if (p.default_pool_size + p.reserve_pool_size > p.server_budget) {
    // Fit default + reserve into the budget, keeping their ratio.
    p.default_pool_size = static_cast<std::int64_t>(std::floor(static_cast<double>(p.server_budget) / (1.0 + r.reserve_pool_ratio)));
    p.reserve_pool_size = p.server_budget - p.default_pool_size;
  }
  p.min_pool_size = static_cast<std::int64_t>(std::llround(r.min_pool_ratio * static_cast<double>(p.default_pool_size)));
  p.max_client_conn = std::max(r.max_client_conn, plan.total_connections);
  p.server_connections = p.default_pool_size + p.reserve_pool_size;
  return p;
}

std::vector<Threshold> monitoring_for(std::int64_t pool, const MonitoringRules& m)
{
  const auto share = [pool](double ratio) {
    return static_cast<std::int64_t>(std::floor(round_decimal(ratio * static_cast<double>(pool))));
  };
  return {
    { "active connections",
      fmt::format("> {}", share(m.active_warn_ratio)),
      fmt::format("> {}", share(m.active_critical_ratio)),
      "increase the pool or optimise queries" },
    { "idle connections",
      fmt::format("< {}", m.idle_warn_below),
      fmt::format("< {}", m.idle_critical_below),
      "check for connection leaks" },
    { "pending requests",
      fmt::format("> {}", m.pending_warn_above),
      fmt::format("> {}", m.pending_critical_above),
      "pool exhausted, requests queuing" },
    { "pool timeout errors",
      fmt::format("> {} %", format_number(m.timeout_error_warn_rate * 100.0)),
      fmt::format("> {} %", format_number(m.timeout_error_critical_rate * 100.0)),
      "increase pool_timeout or connection_limit" },
  };
}

} // namespace

std::int64_t round_up(std::int64_t value, std::int64_t step)
{
  if (step <= 1) {
    return value;
  }
  const std::int64_t remainder = value % step;
  return remainder == 0 ? value : value + (step - remainder);
}

ScenarioResult size_one(const Scenario& scenario, double query_ms, std::int64_t available)
{
  ScenarioResult r;
  r.query_ms = query_ms;
  // Little's law: concurrency = arrival rate x time in system, with the arrival rate the
  // seed assumes (one query per active VU per second).
  const double peak = static_cast<double>(scenario.vus) * scenario.activity * scenario.vu_rate_per_s * (query_ms / 1000.0);
  r.peak_concurrent = round_decimal(peak);
  r.peak_ceil = ceil_count(peak);
  r.buffered = ceil_count(static_cast<double>(r.peak_ceil) * scenario.burst);
  r.pool_size_unrounded = r.buffered + scenario.overhead;
  r.pool_size = round_up(r.pool_size_unrounded, scenario.round_to);
  r.total_connections = r.pool_size * scenario.instances;
  r.fits = r.total_connections <= available;
  return r;
}

Plan size(const Scenario& scenario, const Rules& rules)
{
  Plan plan;
  plan.scenario = scenario;
  for (const ReserveEntry& entry : scenario.reserved) {
    plan.reserved_total += entry.connections;
  }
  plan.available = scenario.max_connections - plan.reserved_total;

  const std::vector<std::string> labels = scenario_labels(scenario.query_ms.size());
  for (std::size_t i = 0; i < scenario.query_ms.size(); ++i) {
    ScenarioResult r = size_one(scenario, scenario.query_ms[i], plan.available);
    r.label = labels[i];
    plan.scenarios.push_back(r);
  }
  plan.design_index = scenario.design_index;
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  plan.peak_concurrent = design.peak_concurrent;
  plan.pool_size = design.pool_size;
  plan.pool_size_unrounded = design.pool_size_unrounded;
  plan.total_connections = design.total_connections;

  plan.remote_database_known = scenario.remote_database.has_value() || scenario.database_url.has_value();
  plan.remote_database = scenario.remote_database.value_or(scenario.database_url && !scenario.database_url->is_local());

  plan.scaling_row = scaling_row_for(rules.scaling, scenario.vus);
  plan.triggers = find_triggers(plan, rules);
  if (plan.triggers.empty()) {
    plan.recommendation = Recommendation::pool;
    plan.recommendation_reason = no_trigger_reason(plan, rules);
    plan.server_connections = plan.total_connections;
  } else {
    plan.recommendation = Recommendation::pgbouncer;
    std::vector<std::string> reasons;
    for (const Trigger& trigger : plan.triggers) {
      reasons.push_back(trigger.reason);
    }
    plan.recommendation_reason = fmt::format("{}", fmt::join(reasons, "; "));
    plan.pgbouncer = plan_pgbouncer(plan, rules);
    plan.server_connections = plan.pgbouncer->server_connections;
  }
  plan.utilization = static_cast<double>(plan.server_connections) / static_cast<double>(scenario.max_connections);
  plan.fits = plan.server_connections <= plan.available;
  if (plan.pgbouncer) {
    // Through PgBouncer a scenario fits when the fleet's peak fits PgBouncer's server pool:
    // it queues clients, it cannot run more queries at once than it has server connections.
    for (ScenarioResult& r : plan.scenarios) {
      r.fits = ceil_count(r.peak_concurrent * static_cast<double>(scenario.instances)) <= plan.pgbouncer->server_connections;
    }
    plan.fits = plan.fits && plan.scenarios[plan.design_index].fits;
  }
  if (!plan.fits && plan.recommendation == Recommendation::pool) {
    plan.recommendation_reason = fmt::format("it does not fit: {} connections > {} available; raise max_connections, trim the "
                                             "reserved budget or shorten the queries; {}",
                                             plan.server_connections,
                                             plan.available,
                                             plan.recommendation_reason);
  }
  plan.safe_utilization_min = rules.database.safe_utilization_min;
  plan.safe_utilization_max = rules.database.safe_utilization_max;

  plan.settings = { plan.pool_size, scenario.pool_timeout_s, scenario.connect_timeout_s };
  plan.prisma_default_connection_limit_per_cpu = rules.prisma_defaults.connection_limit_per_physical_cpu;
  plan.prisma_default_connection_limit_add = rules.prisma_defaults.connection_limit_add;
  plan.prisma_default_pool_timeout_s = rules.prisma_defaults.pool_timeout_s;
  plan.prisma_default_connect_timeout_s = rules.prisma_defaults.connect_timeout_s;
  plan.monitoring = monitoring_for(plan.pool_size, rules.monitoring);
  return plan;
}

} // namespace poolcalc

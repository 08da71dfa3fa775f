#include "poolcalc/alerts.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include "common.hpp"

#include <fmt/format.h>

namespace poolcalc {

using namespace detail;

namespace {

struct Alert
{
  std::string name;
  std::string expr;
  std::string duration; // `for:`
  std::string severity; // warning or critical
  std::string summary;
};

// A PromQL string literal's contents: `"` and `\` escaped.
std::string promql_string(std::string_view text)
{
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A YAML single-quoted scalar: `'` doubled; one line.
std::string yaml_quoted(std::string_view text)
{
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

// `{datname="app"}` and the like: the matchers, or nothing when poolcalc has no database name.
std::string selector(std::vector<std::pair<std::string, std::string>> matchers)
{
  std::string out;
  for (const auto& [label, value] : matchers) {
    if (value.empty()) {
      continue;
    }
    out += fmt::format("{}{}{}\"{}\"",
                       out.empty() ? "{" : ",",
                       label,
                       value.front() == '~' ? "=~" : "=",
                       promql_string(value.front() == '~' ? value.substr(1) : value));
  }
  return out.empty() ? out : out + "}";
}

void write_group(std::string& out, std::string_view name, const std::vector<Alert>& alerts)
{
  out += fmt::format("  - name: {}\n    rules:\n", name);
  for (const Alert& a : alerts) {
    out += fmt::format("      - alert: {}\n", a.name);
    out += fmt::format("        expr: {}\n", yaml_quoted(a.expr));
    out += fmt::format("        for: {}\n", a.duration);
    out += fmt::format("        labels:\n          severity: {}\n", a.severity);
    out += fmt::format("        annotations:\n          summary: {}\n", yaml_quoted(a.summary));
  }
}

// The wait objective in seconds when the advisor's objective bounds a wait (mean, p95, p99).
std::optional<double> objective_wait_s(const Plan& plan)
{
  const Target& t = plan.advice.objective;
  if (t.metric == Target::Metric::mean_wait || t.metric == Target::Metric::p95_wait || t.metric == Target::Metric::p99_wait) {
    return t.bound / 1000.0;
  }
  return std::nullopt;
}

std::vector<Alert> postgresql_alerts(const Plan& plan, const Rules& rules, const std::string& db)
{
  const MonitoringRules& m = rules.monitoring;
  const std::int64_t server = plan.server_connections;
  const std::string on_db = db.empty() ? "" : fmt::format(" on {}", user_text(db));
  const std::string active = selector({ { "datname", db }, { "state", "active" } });
  std::vector<Alert> alerts;
  alerts.push_back({ "PoolcalcPostgresExporterDown",
                     "pg_up == 0",
                     "1m",
                     "critical",
                     "postgres_exporter cannot reach PostgreSQL: the other PostgreSQL alerts see nothing" });
  alerts.push_back(
    { "PoolcalcServerConnectionsAboveSafeBand",
      fmt::format("sum(pg_stat_activity_count) / max(pg_settings_max_connections) > {}", format_number(plan.safe_utilization_max, 6)),
      "5m",
      "warning",
      fmt::format("more than {} of max_connections in use (the safe band is {}-{}); the plan uses {} of {}",
                  format_percent(plan.safe_utilization_max),
                  format_percent(plan.safe_utilization_min),
                  format_percent(plan.safe_utilization_max),
                  server,
                  plan.scenario.max_connections) });
  alerts.push_back({ "PoolcalcServerConnectionsExhausted",
                     "sum(pg_stat_activity_count) >= max(pg_settings_max_connections) - max(pg_settings_superuser_reserved_connections)",
                     "1m",
                     "critical",
                     "only superuser slots are left: PostgreSQL refuses new connections (\"remaining connection slots are reserved\")" });
  alerts.push_back({ "PoolcalcActiveConnectionsHigh",
                     fmt::format("sum(pg_stat_activity_count{}) > {}", active, monitoring_share(m.active_warn_ratio, server)),
                     "5m",
                     "warning",
                     fmt::format("more than {} connections{} are running queries ({} of the plan's {} server connections): "
                                 "increase the pool or optimise queries",
                                 monitoring_share(m.active_warn_ratio, server),
                                 on_db,
                                 format_percent(m.active_warn_ratio),
                                 server) });
  alerts.push_back({ "PoolcalcActiveConnectionsCritical",
                     fmt::format("sum(pg_stat_activity_count{}) > {}", active, monitoring_share(m.active_critical_ratio, server)),
                     "2m",
                     "critical",
                     fmt::format("more than {} connections{} are running queries ({} of the plan's {}): the pool is nearly exhausted",
                                 monitoring_share(m.active_critical_ratio, server),
                                 on_db,
                                 format_percent(m.active_critical_ratio),
                                 server) });
  alerts.push_back({ "PoolcalcIdleInTransaction",
                     fmt::format("max(pg_stat_activity_max_tx_duration{}) > {}",
                                 selector({ { "datname", db }, { "state", "~idle in transaction.*" } }),
                                 format_number(rules.inspect.idle_in_transaction_warn_s)),
                     "1m",
                     "warning",
                     fmt::format("a session{} idle in a transaction has had it open for over {} s: it holds its connection (and "
                                 "its locks) for nothing; a leak, or a transaction around slow application work",
                                 on_db,
                                 format_number(rules.inspect.idle_in_transaction_warn_s)) });
  alerts.push_back({ "PoolcalcLongRunningTransaction",
                     fmt::format("max(pg_stat_activity_max_tx_duration{}) > {}", active, format_number(rules.inspect.active_query_warn_s)),
                     "1m",
                     "warning",
                     fmt::format("a transaction{} has been running for over {} s, holding its connection all along",
                                 on_db,
                                 format_number(rules.inspect.active_query_warn_s)) });
  return alerts;
}

std::vector<Alert> pgbouncer_alerts(const Plan& plan, const Rules& rules, const std::string& db)
{
  const MonitoringRules& m = rules.monitoring;
  const PgBouncerPlan& b = *plan.pgbouncer;
  const std::string pool = selector({ { "database", db } });
  std::vector<Alert> alerts;
  alerts.push_back({ "PoolcalcPgBouncerExporterDown",
                     "pgbouncer_up == 0",
                     "1m",
                     "critical",
                     "pgbouncer_exporter cannot reach PgBouncer's admin console: the other PgBouncer alerts see nothing" });
  alerts.push_back({ "PoolcalcPgBouncerClientsWaiting",
                     fmt::format("sum(pgbouncer_pools_client_waiting_connections{}) > {}", pool, m.pending_warn_above),
                     "1m",
                     "warning",
                     fmt::format("clients wait for a server connection in PgBouncer (default_pool_size {}): requests are queuing",
                                 b.pools.front().default_pool_size) });
  alerts.push_back({ "PoolcalcPgBouncerClientsWaitingCritical",
                     fmt::format("sum(pgbouncer_pools_client_waiting_connections{}) > {}", pool, m.pending_critical_above),
                     "1m",
                     "critical",
                     fmt::format("more than {} clients wait in PgBouncer: its pool is exhausted", m.pending_critical_above) });
  alerts.push_back({ "PoolcalcPgBouncerWaitPastReserveTimeout",
                     fmt::format("max(pgbouncer_pools_client_maxwait_seconds{}) >= {}", pool, format_number(b.reserve_pool_timeout_s)),
                     "1m",
                     "critical",
                     fmt::format("a client has waited {} s or more (reserve_pool_timeout): the reserve pool of {} is in use",
                                 format_number(b.reserve_pool_timeout_s),
                                 b.pools.front().reserve_pool_size) });
  if (const auto objective = objective_wait_s(plan)) {
    alerts.push_back({ "PoolcalcPgBouncerMeanWaitAboveObjective",
                       fmt::format("sum(rate(pgbouncer_stats_totals_client_wait_seconds_total{0}[5m])) / "
                                   "sum(rate(pgbouncer_stats_totals_sql_transactions_pooled_total{0}[5m])) > {1}",
                                   pool,
                                   format_number(*objective, 6)),
                       "5m",
                       "warning",
                       fmt::format("the mean wait per transaction is above {}, the bound of the objective {}: waits far beyond the "
                                   "plan's, which predicted {} at its load",
                                   format_number(*objective * 1000.0) + " ms",
                                   plan.advice.objective.text,
                                   plan.advice.model_at_load ? format_number(plan.advice.model_at_load->mean_wait_ms, 1) + " ms"
                                                             : std::string("no wait")) });
  }
  alerts.push_back({ "PoolcalcPgBouncerClientConnectionsHigh",
                     "(sum(pgbouncer_pools_client_active_connections) + sum(pgbouncer_pools_client_waiting_connections)) / "
                     "max(pgbouncer_config_max_client_connections) > " +
                       format_number(m.active_warn_ratio, 6),
                     "5m",
                     "warning",
                     fmt::format("over {} of max_client_conn ({}) in use: past it PgBouncer refuses clients",
                                 format_percent(m.active_warn_ratio),
                                 b.max_client_conn) });
  return alerts;
}

std::vector<Alert> application_alerts(const Plan& plan, const Rules& rules, AlertClient client)
{
  const MonitoringRules& m = rules.monitoring;
  const std::int64_t pool = plan.pool_size;
  const bool hikari = client == AlertClient::hikaricp;
  const std::string by = hikari ? "max by (pool) " : "max ";
  const std::string busy = hikari ? "hikaricp_connections_active" : "prisma_pool_connections_busy";
  const std::string idle = hikari ? "hikaricp_connections_idle" : "prisma_pool_connections_idle";
  const std::string pending = hikari ? "hikaricp_connections_pending" : "prisma_client_queries_wait";
  std::vector<Alert> alerts;
  alerts.push_back({ "PoolcalcAppPoolActiveHigh",
                     fmt::format("{}({}) > {}", by, busy, monitoring_share(m.active_warn_ratio, pool)),
                     "5m",
                     "warning",
                     fmt::format("an instance's pool has more than {} of its {} connections busy: increase the pool or optimise queries",
                                 monitoring_share(m.active_warn_ratio, pool),
                                 pool) });
  alerts.push_back({ "PoolcalcAppPoolActiveCritical",
                     fmt::format("{}({}) > {}", by, busy, monitoring_share(m.active_critical_ratio, pool)),
                     "2m",
                     "critical",
                     fmt::format("an instance's pool has more than {} of its {} connections busy",
                                 monitoring_share(m.active_critical_ratio, pool),
                                 pool) });
  alerts.push_back({ "PoolcalcAppPoolIdleLow",
                     fmt::format("{}({}) < {}", hikari ? "min by (pool) " : "min ", idle, m.idle_warn_below),
                     "5m",
                     "warning",
                     fmt::format("an instance's pool has fewer than {} idle connections: check for connection leaks", m.idle_warn_below) });
  alerts.push_back({ "PoolcalcAppPoolIdleCritical",
                     fmt::format("{}({}) < {}", hikari ? "min by (pool) " : "min ", idle, m.idle_critical_below),
                     "2m",
                     "critical",
                     fmt::format("an instance's pool has fewer than {} idle connections", m.idle_critical_below) });
  alerts.push_back({ "PoolcalcAppPoolPending",
                     fmt::format("{}({}) > {}", by, pending, m.pending_warn_above),
                     "1m",
                     "warning",
                     "requests wait for a connection of the application's pool: it is exhausted" });
  alerts.push_back({ "PoolcalcAppPoolPendingCritical",
                     fmt::format("{}({}) > {}", by, pending, m.pending_critical_above),
                     "1m",
                     "critical",
                     fmt::format("more than {} requests wait for a connection of one instance's pool", m.pending_critical_above) });
  if (hikari) {
    // Prisma's metrics count no acquire timeouts; HikariCP's do.
    for (const auto& [name, rate, severity] :
         { std::tuple{ "PoolcalcAppPoolTimeouts", m.timeout_error_warn_rate, "warning" },
           std::tuple{ "PoolcalcAppPoolTimeoutsCritical", m.timeout_error_critical_rate, "critical" } }) {
      alerts.push_back({ name,
                         fmt::format("sum by (pool) (rate(hikaricp_connections_timeout_total[5m])) / sum by (pool) "
                                     "(rate(hikaricp_connections_acquire_seconds_count[5m])) > {}",
                                     format_number(rate, 6)),
                         "5m",
                         severity,
                         fmt::format("over {} of connection requests time out after connectionTimeout ({} s): increase the pool "
                                     "or connectionTimeout",
                                     format_percent(rate),
                                     format_number(plan.scenario.pool_timeout_s)) });
    }
  }
  return alerts;
}

} // namespace

std::optional<AlertClient> alert_client(std::string_view name)
{
  if (name == "hikaricp") {
    return AlertClient::hikaricp;
  }
  if (name == "prisma6") {
    return AlertClient::prisma6;
  }
  return std::nullopt;
}

std::vector<std::string> alert_client_names()
{
  return { "hikaricp", "prisma6" };
}

std::string render_alert_rules(const Plan& plan, const Rules& rules, AlertClient client)
{
  const std::string db = plan.scenario.database_url ? plan.scenario.database_url->database() : std::string();
  std::string out;
  out += fmt::format("# Prometheus alerting rules for the plan: poolcalc for {}, {} ms per query (docs/alerts.md).\n",
                     load_text(plan),
                     format_number(plan.scenarios[plan.design_index].query_ms));
  out += fmt::format("# The plan: {} server connections of max_connections {}; {}.\n",
                     plan.server_connections,
                     plan.scenario.max_connections,
                     plan.recommendation == Recommendation::pool ? fmt::format("a pool of {} per instance", plan.pool_size)
                                                                 : fmt::format("PgBouncer, application pools of {}", plan.pool_size));
  out += "# Metrics: postgres_exporter (pg_stat_activity_count, pg_stat_activity_max_tx_duration, pg_settings_*)";
  out += plan.pgbouncer ? ", pgbouncer_exporter 0.11 or later (pgbouncer_pools_*, pgbouncer_stats_totals_*)" : "";
  out += client == AlertClient::hikaricp  ? ", HikariCP's Micrometer meters (hikaricp_connections_*)"
         : client == AlertClient::prisma6 ? ", Prisma 6's metrics preview feature (prisma_pool_*, prisma_client_queries_wait)"
                                          : "";
  out += ".\n";
  out += db.empty() ? "# No database name was given (--database-url): the connection alerts count every database.\n"
                    : fmt::format("# The connection alerts count database {} only.\n", user_text(db));
  out += "# Check it with: promtool check rules FILE\ngroups:\n";
  write_group(out, "poolcalc-postgresql", postgresql_alerts(plan, rules, db));
  if (plan.pgbouncer) {
    write_group(out, "poolcalc-pgbouncer", pgbouncer_alerts(plan, rules, db));
  }
  if (client != AlertClient::none) {
    write_group(out, "poolcalc-application", application_alerts(plan, rules, client));
  }
  return out;
}

} // namespace poolcalc

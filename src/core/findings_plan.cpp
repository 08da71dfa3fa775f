// The plan's rules (subject: plan): each a check on the Plan, in the table at the end.

#include "finding_engine.hpp"
#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc::detail {

namespace {

std::string available_phrase(const Plan& plan)
{
  return fmt::format("{} available (max_connections {} - reserved {})", plan.available, plan.scenario.max_connections, plan.reserved_total);
}

// pool.exceeds_available: the application's connections do not fit the server
// (docs/model.md, section 3).
void pool_exceeds_available(const Plan& plan, const Rules&, const Raise& raise)
{
  if (plan.recommendation != Recommendation::pool || plan.total_connections <= plan.available) {
    return;
  }
  const std::string fleet =
    plan.scenario.instances == 1
      ? fmt::format("a pool of {}", plan.pool_size)
      : fmt::format("{} instances x a pool of {} = {} connections", plan.scenario.instances, plan.pool_size, plan.total_connections);
  raise(fmt::format("{} exceeds the {}", fleet, available_phrase(plan)));
}

// advisor.rule_of_thumb_replaced: the plan's first answer did not do and the advisor's option
// replaced it (docs/model.md, "The advisor").
void advisor_replaced(const Plan& plan, const Rules&, const Raise& raise)
{
  const Advice& a = plan.advice;
  if (!a.chosen || a.options[*a.chosen].id == a.first_id) {
    return;
  }
  const auto first = std::find_if(a.options.begin(), a.options.end(), [&a](const AdvisorOption& o) { return o.id == a.first_id; });
  raise(fmt::format("{} does not do ({}); the plan takes the advisor's option, {}",
                    first != a.options.end() ? first->summary : std::string("the first answer"),
                    a.why_searched,
                    a.options[*a.chosen].summary));
}

// advisor.raise_max_connections: the advisor's answer needs a larger server.
void advisor_raise(const Plan& plan, const Rules&, const Raise& raise)
{
  const Advice& a = plan.advice;
  if (!a.chosen || a.options[*a.chosen].id != "raise_max_connections") {
    return;
  }
  raise(a.options[*a.chosen].change);
}

// advisor.no_option: nothing fits and meets the objective; the closest option and its miss.
void advisor_no_option(const Plan& plan, const Rules&, const Raise& raise)
{
  if (!plan.advice.searched || plan.advice.chosen) {
    return;
  }
  raise(plan.advice.reason);
}

// What one instance adds on the server: its pool, or its sidecar PgBouncer's server connections.
std::string per_instance_server(const Plan& plan)
{
  return plan.pgbouncer ? fmt::format("a sidecar's {}", plan.pgbouncer->server_connections_each)
                        : fmt::format("a pool of {}", plan.pool_size);
}

// lifecycle.autoscaled_exceeds_available: at the autoscaler's maximum every instance opens its
// pool (docs/model.md, "The deployment's whole life").
void lifecycle_autoscaled(const Plan& plan, const Rules&, const Raise& raise)
{
  for (const Moment& m : plan.moments) {
    if (m.id == "autoscaled" && !m.fits && !plan.pgbouncer) {
      raise(
        fmt::format("at {} x a pool of {} = {} connections exceeds the {}", m.what, plan.pool_size, m.connections, available_phrase(plan)));
    }
  }
}

// lifecycle.deploy_exceeds_available: a rolling deploy runs old and new instances at once.
void lifecycle_deploy(const Plan& plan, const Rules&, const Raise& raise)
{
  for (const Moment& m : plan.moments) {
    if (m.id == "rolling_deploy" && !m.fits) {
      const std::int64_t each = std::max<std::int64_t>(0, plan.available) / m.instances;
      if (plan.scenario.serverless) {
        raise(fmt::format("{}: {} x {} = {} server connections, more than the {} available; shift traffic to a new version "
                          "gradually, let the old executions' connections close first (idle_session_timeout, PostgreSQL 14+), "
                          "or put {} in front",
                          m.what,
                          m.instances,
                          per_instance_server(plan),
                          m.connections,
                          plan.available,
                          plan.pgbouncer ? "one shared PgBouncer" : "PgBouncer"));
        continue;
      }
      raise(fmt::format("{}: {} x {} = {} server connections, more than the {} available; deploy with maxSurge 0 and "
                        "maxUnavailable 1 or more (--deploy-surge 0), keep each pool to {} ({} / {} instances), or put {} in "
                        "front",
                        m.what,
                        m.instances,
                        per_instance_server(plan),
                        m.connections,
                        plan.available,
                        each,
                        plan.available,
                        m.instances,
                        plan.pgbouncer ? "one shared PgBouncer" : "PgBouncer"));
    }
  }
}

// lifecycle.serverless_warm_connections: a warm execution keeps its pool between requests and
// while the platform has it frozen, so the server holds a connection for every execution, busy or
// not (docs/model.md, "Serverless executions").
void lifecycle_serverless(const Plan& plan, const Rules&, const Raise& raise)
{
  if (!plan.scenario.serverless || plan.pgbouncer) {
    return;
  }
  const Moment& steady = plan.moments.front();
  raise(fmt::format("{} keep {} server connections open whether they serve a request or not, for a load of {} queries at once: a "
                    "frozen execution keeps its connection until the platform reclaims it. PgBouncer in transaction mode lets "
                    "them share a server pool sized for the load (--transaction-pooling), and idle_session_timeout (PostgreSQL "
                    "14+) closes what frozen executions leave open",
                    steady.what,
                    steady.connections,
                    format_number(plan.peak_concurrent)));
}

// lifecycle.serverless_too_few_executions: an execution serves one request at a time, so a load
// that puts more than one at once on each leaves requests waiting for an execution (the
// platform's throttling), not for a connection: the pool's model does not see that wait.
void lifecycle_serverless_short(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (!s.serverless) {
    return;
  }
  const QueueingPlan& q = plan.queueing;
  if (q.model == QueueModel::closed && q.closed.users > 1) {
    raise(fmt::format("{} executions for {} active VUs: each would serve {} at once, but an execution serves one request at a time, "
                      "so requests wait for an execution (the platform's throttling), which the pool's waits do not include; give "
                      "--instances {} or raise the platform's concurrency limit",
                      s.instances,
                      format_number(static_cast<double>(s.vus) * s.activity),
                      q.closed.users,
                      static_cast<std::int64_t>(std::ceil(static_cast<double>(s.vus) * s.activity - 1e-9))));
  } else if (q.model == QueueModel::open && q.open.arrival_rps * q.open.hold_s >= 1.0) {
    raise(fmt::format("{} executions for {} queries/s of {} ms: each would keep {} queries busy at once, but an execution serves one "
                      "request at a time, so requests wait for an execution (the platform's throttling), which the pool's waits do "
                      "not include; give more --instances",
                      s.instances,
                      format_number(q.open.arrival_rps * static_cast<double>(s.instances), 3),
                      format_number(q.open.hold_s * 1000.0, 3),
                      format_number(q.open.arrival_rps * q.open.hold_s, 2)));
  }
}

// pool.above_app_concurrency: an instance never has more requests at once than its concurrency
// cap, each holding at most one connection: the pool above the cap and its overhead stays idle.
void pool_above_app_concurrency(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (!s.app_concurrency || plan.pool_size <= *s.app_concurrency + plan.overhead) {
    return;
  }
  raise(fmt::format("a pool of {} per instance is more than the {} request{} an instance runs at once (--app-concurrency) + overhead "
                    "{}: the other {} connections are never used; {} would do",
                    plan.pool_size,
                    *s.app_concurrency,
                    *s.app_concurrency == 1 ? "" : "s",
                    plan.overhead,
                    plan.pool_size - *s.app_concurrency - plan.overhead,
                    *s.app_concurrency + plan.overhead));
}

// app.concurrency_below_load: an instance keeps more queries busy on average than it runs requests
// at once: it cannot carry its share of the load, whatever the pool.
void app_concurrency_below_load(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  if (!s.app_concurrency || d.per_instance_peak <= static_cast<double>(*s.app_concurrency)) {
    return;
  }
  raise(fmt::format("each instance's share of the load keeps {} queries busy on average, more than the {} request{} an instance runs "
                    "at once (--app-concurrency): the application, not the pool, limits the load, and its own queue grows; raise "
                    "its concurrency or add instances",
                    format_number(d.per_instance_peak),
                    *s.app_concurrency,
                    *s.app_concurrency == 1 ? "" : "s"));
}

// database.active_above_cores: more queries at once than the server's cores serve usefully.
void active_above_cores(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (!s.db_cores) {
    return;
  }
  const double useful = static_cast<double>(*s.db_cores) * rules.advisor.active_per_core;
  const std::int64_t at_once = hardest_connections(plan);
  const double busy = plan.peak_concurrent;
  if (busy > useful) {
    raise(fmt::format("the load keeps {} queries active at once on average, more than the {} a server of {} cores serves usefully "
                      "when its queries use CPU ({} per core, rules advisor.active_per_core): then the server, not the pool, is "
                      "the bottleneck, and its hold times grow past {} ms; shorten the queries, add cores or spread the load",
                      format_number(busy),
                      format_number(useful),
                      *s.db_cores,
                      format_number(rules.advisor.active_per_core),
                      format_number(plan.scenarios[plan.design_index].query_ms)));
  } else if (static_cast<double>(at_once) > useful) {
    raise(fmt::format("the plan lets {} queries run at once on the server, more than the {} a server of {} cores serves usefully ({} "
                      "per core, rules advisor.active_per_core): at a burst past that, more at once add latency, not throughput. "
                      "The load keeps {} busy on average; the model's waits assume each query holds its connection as long however "
                      "many run",
                      at_once,
                      format_number(useful),
                      *s.db_cores,
                      format_number(rules.advisor.active_per_core),
                      format_number(busy)));
  }
}

// capacity.exceeds_server: PgBouncer multiplexes clients, but cannot run more queries at once
// than it has server connections.
void capacity_exceeds_server(const Plan& plan, const Rules&, const Raise& raise)
{
  if (!plan.pgbouncer) {
    return;
  }
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  if (design.peak_total_ceil <= plan.pgbouncer->server_connections) {
    return;
  }
  raise(fmt::format("the peak of {} concurrent queries needs {} server connections at once, more than PgBouncer's {} ({}): "
                    "PgBouncer queues clients but cannot run more queries at once than it has server connections; raise "
                    "max_connections, shorten queries or add capacity",
                    format_number(design.peak_concurrent),
                    design.peak_total_ceil,
                    plan.pgbouncer->server_connections,
                    plan.pgbouncer->server_connections < plan.available
                      ? fmt::format("kept inside the safe band; {} are available", plan.available)
                      : fmt::format("all of the {} available", plan.available)));
}

// pgbouncer.pool_reduced: the sizing of default_pool_size + reserve_pool_size did not fit.
void pgbouncer_pool_reduced(const Plan& plan, const Rules& rules, const Raise& raise)
{
  if (!plan.pgbouncer || plan.pgbouncer->pools.front().default_pool_size == plan.pgbouncer->pools.front().default_pool_size_wanted) {
    return;
  }
  const PgBouncerPool& p = plan.pgbouncer->pools.front();
  const auto wanted_reserve =
    static_cast<std::int64_t>(std::llround(rules.pgbouncer_settings.reserve_pool_ratio * static_cast<double>(p.default_pool_size_wanted)));
  const std::int64_t server_budget = plan.pgbouncer->server_budget;
  std::string budget = server_budget < plan.available
                         ? fmt::format("the {} server connections inside the safe band ({} of max_connections {}; {} are available)",
                                       server_budget,
                                       format_percent(rules.database.safe_utilization_max),
                                       plan.scenario.max_connections,
                                       plan.available)
                         : fmt::format("the {}", available_phrase(plan));
  if (plan.pgbouncer->topology == Topology::sidecar) {
    // --topology sidecar: each PgBouncer gets its share of the budget.
    budget = fmt::format("each sidecar's share of {}, floor({} / {} instances) = {}",
                         budget,
                         server_budget,
                         plan.pgbouncer->pgbouncers,
                         server_budget / plan.pgbouncer->pgbouncers);
  }
  raise(fmt::format("default_pool_size {} + reserve_pool_size {} would exceed {}; reduced to {} + {}",
                    p.default_pool_size_wanted,
                    wanted_reserve,
                    budget,
                    p.default_pool_size,
                    p.reserve_pool_size));
}

// pgbouncer.open_files: PgBouncer needs more open files than the usual limit of 1024.
void pgbouncer_open_files_above(const Plan& plan, const Rules&, const Raise& raise)
{
  if (!plan.pgbouncer) {
    return;
  }
  const PgBouncerPlan& b = *plan.pgbouncer;
  // One login role, the URL's (each further role in the auth_file adds default_pool_size).
  const std::int64_t needed = pgbouncer_open_files(b.max_client_conn, b.pools.front().default_pool_size, 1);
  if (needed <= k_common_open_files_limit) {
    return;
  }
  raise(fmt::format("PgBouncer expects to need {} open files (max_client_conn {} + 12 + default_pool_size {} x 2 users: the login role "
                    "and its admin user), more than the usual limit of {}: set LimitNOFILE={} in its systemd unit or ulimit -n {} "
                    "before it starts, or lower max_client_conn",
                    needed,
                    b.max_client_conn,
                    b.pools.front().default_pool_size,
                    k_common_open_files_limit,
                    needed,
                    needed));
}

// pgbouncer.recommended: one of the PgBouncer triggers (rules pgbouncer.triggers), or the scaling table.
void pgbouncer_recommended(const Plan& plan, const Rules&, const Raise& raise)
{
  if (plan.triggers.empty()) {
    return;
  }
  std::vector<std::string> keys;
  for (const Trigger& trigger : plan.triggers) {
    keys.push_back(trigger.rule);
  }
  raise(fmt::format("use PgBouncer: {}", plan.recommendation_reason), fmt::format("{}", fmt::join(keys, ", ")));
}

// utilization.*: the safe band, 50-70 % of max_connections by default; exactly one of the three
// applies.
struct Utilization
{
  std::string used;
  std::string band;
  double value = 0;
};

Utilization utilization(const Plan& plan, const Rules& rules)
{
  const DatabaseRules& db = rules.database;
  return { fmt::format(
             "{} of max_connections {} = {}", hardest_connections(plan), plan.scenario.max_connections, format_percent(plan.utilization)),
           fmt::format("{}-{}", format_number(db.safe_utilization_min * 100.0, 1), format_percent(db.safe_utilization_max)),
           round_decimal(plan.utilization) };
}

void utilization_above_safe(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const auto [used, band, u] = utilization(plan, rules);
  if (u > rules.database.safe_utilization_max) {
    raise(fmt::format("{}, above the safe band of {}", used, band));
  }
}

void utilization_within_safe(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const auto [used, band, u] = utilization(plan, rules);
  if (u <= rules.database.safe_utilization_max && u >= rules.database.safe_utilization_min) {
    raise(fmt::format("{}, within the safe band of {}", used, band));
  }
}

void utilization_below_safe(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const auto [used, band, u] = utilization(plan, rules);
  if (u < rules.database.safe_utilization_min && !(u > rules.database.safe_utilization_max)) {
    raise(fmt::format("{}, below the safe band of {}{}", used, band, hardest_connections(plan) < plan.available ? ": room to spare" : ""));
  }
}

// scenario.does_not_fit: another scenario of the list would not fit (the worked example's own 200 ms case).
void scenario_does_not_fit(const Plan& plan, const Rules&, const Raise& raise)
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
    raise(message);
  }
}

// scaling.band_disagrees: the scaling table and the rule of thumb give different pools.
void scaling_band_disagrees(const Plan& plan, const Rules&, const Raise& raise)
{
  const ScalingRow* row = plan.scaling_row;
  if (row == nullptr || row->pgbouncer || (plan.rule_of_thumb_pool >= row->pool_min && plan.rule_of_thumb_pool <= row->pool_max)) {
    return;
  }
  const std::string users = row->users_max ? fmt::format("{}-{}", row->users_min, *row->users_max) : fmt::format("{}+", row->users_min);
  raise(fmt::format("the scaling table puts {} users ({}) at a pool of {}-{} with max_connections {}; the formula gives {}",
                    plan.scenario.vus,
                    users,
                    row->pool_min,
                    row->pool_max,
                    row->max_connections,
                    plan.rule_of_thumb_pool));
}

// timeout.pool_at_or_above_request: a pool wait that outlasts the client's own timeout is never
// seen as a pool error (k6's default request timeout is 60 s).
void timeout_pool_at_or_above_request(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (s.pool_timeout_s == 0 || s.pool_timeout_s < s.request_timeout_s) {
    return;
  }
  raise(fmt::format("pool_timeout {} s is at or above the client's request timeout of {} s: requests time out first and "
                    "pool exhaustion shows up as client timeouts; keep pool_timeout below it",
                    format_number(s.pool_timeout_s),
                    format_number(s.request_timeout_s)));
}

// timeout.pool_at_or_above_app: the application gives up on the request before its pool gives
// up on the connection: an exhausted pool shows up as the application's own timeouts.
void timeout_pool_at_or_above_app(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (!s.app_timeout_s || s.pool_timeout_s == 0 || s.pool_timeout_s < *s.app_timeout_s) {
    return;
  }
  raise(fmt::format("pool_timeout {} s is at or above the application's request timeout of {} s (--app-timeout): the application "
                    "times the request out first and pool exhaustion shows up as its timeouts, not as pool errors; keep pool_timeout "
                    "below it{}",
                    format_number(s.pool_timeout_s),
                    format_number(*s.app_timeout_s),
                    plan.pgbouncer ? " (PgBouncer's query_wait_timeout follows pool_timeout)" : ""));
}

// timeout.app_at_or_above_request: the client (k6, a load balancer) gives up before the
// application does: the application keeps working for requests nobody waits for.
void timeout_app_at_or_above_request(const Plan& plan, const Rules&, const Raise& raise)
{
  const Scenario& s = plan.scenario;
  if (!s.app_timeout_s || *s.app_timeout_s < s.request_timeout_s) {
    return;
  }
  raise(fmt::format("the application's request timeout of {} s (--app-timeout) is at or above the client's {} s (--request-timeout): "
                    "the client gives up first, and the application goes on holding connections for requests nobody waits for; "
                    "keep it below the client's",
                    format_number(*s.app_timeout_s),
                    format_number(s.request_timeout_s)));
}

// timeout.pool_disabled: Prisma's pool_timeout=0 waits for a connection forever.
void timeout_pool_disabled(const Plan& plan, const Rules&, const Raise& raise)
{
  if (plan.scenario.pool_timeout_s != 0) {
    return;
  }
  raise("pool_timeout 0 disables the timeout: a request waits for a connection forever and an exhausted pool never "
        "shows up as an error");
}

// reserve.replication_not_counted: since PostgreSQL 12 WAL senders have their own slots.
void reserve_replication_not_counted(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const std::optional<int> version = plan.scenario.postgres_version;
  const std::int64_t since = rules.postgres.wal_senders_separate_since;
  if (version && *version < since) {
    return; // counted, as it should be
  }
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    if (entry.connections > 0 && entry.name.find("replication") != std::string::npos) {
      raise(version ? fmt::format("the reserve '{}' ({}) takes nothing from max_connections on PostgreSQL {}: since {} WAL senders "
                                  "(max_wal_senders) have slots of their own",
                                  entry.name,
                                  entry.connections,
                                  *version,
                                  since)
                    : fmt::format("the reserve '{}' ({}) is counted, as PostgreSQL before {} needs: the version is not known. Since {} "
                                  "WAL senders (max_wal_senders) have slots of their own outside max_connections; with "
                                  "--postgres-version {} or later it takes nothing, and {} are available",
                                  entry.name,
                                  entry.connections,
                                  since,
                                  since,
                                  since,
                                  plan.available + entry.connections));
    }
  }
}

// reserve.superuser_not_default: the budget's superuser reserve differs from what PostgreSQL
// itself reserves (superuser_reserved_connections, default 3).
void reserve_superuser_not_default(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const std::int64_t pg_default = rules.postgres.superuser_reserved_connections_default;
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    if (entry.name == "superuser" && entry.connections != pg_default) {
      raise(fmt::format("the reserve 'superuser' is {}, but PostgreSQL reserves superuser_reserved_connections = {} "
                        "by default; check SHOW superuser_reserved_connections on the server",
                        entry.connections,
                        pg_default));
    }
  }
}

// queueing.unstable: an open load at or above what the pool can serve: the queue grows without bound.
void queueing_unstable(const Plan& plan, const Rules&, const Raise& raise)
{
  const auto& m = plan.queueing.recommended;
  if (!m || m->stable) {
    return;
  }
  const OpenLoad& load = plan.queueing.open;
  raise(fmt::format("{} queries/s x {} s = {} Erlangs per instance on a pool of {}: the queue grows without bound; the "
                    "pool serves at most {} queries/s",
                    format_number(load.arrival_rps, 3),
                    format_number(load.hold_s, 3),
                    format_number(round_decimal(load.arrival_rps * load.hold_s), 3),
                    m->pool,
                    format_number(m->throughput_rps, 1)));
}

// queueing.heavy_tail: simulated holds with a heavy tail, whose waits one run cannot pin down.
// Above rules queueing.heavy_tail_cv the waits of one load-test window scatter far around the
// long-run figures the model gives: on a real PgBouncer, 40 s windows of lognormal holds of cv 1.7
// ranged from a fifth to three times the model's mean wait by chance alone, while the model matched
// the average of such windows (docs/model.md, "How close it is").
void queueing_heavy_tail(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const QueueingPlan& q = plan.queueing;
  const double cv = std::sqrt(cv2(q.hold));
  if (!q.simulated || !(cv > rules.queueing.heavy_tail_cv)) {
    return;
  }
  raise(fmt::format("holds vary more than exponential ones (cv {}): the waits are long-run averages; in a load test of a few "
                    "minutes a handful of long holds decides the waits, which can come out a fifth to three times these "
                    "(docs/model.md, \"How close it is\"): judge a run by several windows, not one",
                    format_number(cv, 3)));
}

// queueing.timeouts: the queueing model predicts pool timeouts above the monitoring warning rate.
void queueing_timeouts(const Plan& plan, const Rules& rules, const Raise& raise)
{
  const auto& m = plan.queueing.recommended;
  if (!m || !m->stable || m->timeout_rate <= rules.monitoring.timeout_error_warn_rate) {
    return;
  }
  raise(fmt::format("the queueing model predicts {} % of queries waiting longer than pool_timeout {} s on the pool of {} "
                    "(the warning level is {} %)",
                    format_number(m->timeout_rate * 100.0, 2),
                    format_number(plan.scenario.pool_timeout_s),
                    m->pool,
                    format_number(rules.monitoring.timeout_error_warn_rate * 100.0, 2)));
}

// target.far_from_rule_of_thumb: the rule of thumb and the --target's pool differ widely.
void target_far_from_rule_of_thumb(const Plan& plan, const Rules& rules, const Raise& raise)
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
  raise(fmt::format("the rule of thumb gives a pool of {}, {} the {} that meets {} ({} + {} overhead, rounded)",
                    plan.rule_of_thumb_pool,
                    ratio >= far ? fmt::format("{}x", format_number(ratio, 1)) : fmt::format("1/{} of", format_number(1.0 / ratio, 1)),
                    plan.pool_size,
                    q.target->text,
                    *q.target_pool,
                    plan.scenario.overhead));
}

} // namespace

const std::vector<Rule<Plan>>& plan_rules()
{
  constexpr FindingSubject plan = FindingSubject::plan;
  static const std::vector<Rule<Plan>> table = {
    { { "pool.exceeds_available",
        Level::fail,
        plan,
        { "instances", "max_connections", "reserve", "database.max_connections", "database.reserved" },
        "database.max_connections, database.reserved",
        "the application's connections exceed max_connections less the reserved budget" },
      pool_exceeds_available },
    { { "capacity.exceeds_server",
        Level::fail,
        plan,
        { "max_connections", "reserve", "database.safe_utilization_max", "pgbouncer.settings.reserve_pool_ratio" },
        "database.max_connections, database.reserved, database.safe_utilization_max",
        "with PgBouncer, the peak concurrency exceeds the server connections available" },
      capacity_exceeds_server },
    { { "pgbouncer.recommended",
        Level::warn,
        plan,
        { "vus", "instances", "services", "transaction_pooling", "remote_database", "database_url", "scaling", "pgbouncer.triggers" },
        "the keys of the triggers that fired: scaling, pgbouncer.triggers.*",
        "a PgBouncer trigger or the scaling table's top row applies" },
      pgbouncer_recommended },
    { { "pgbouncer.pool_reduced",
        Level::warn,
        plan,
        { "max_connections", "reserve", "pgbouncer.settings.reserve_pool_ratio", "database.safe_utilization_max" },
        "pgbouncer.settings.reserve_pool_ratio, database.safe_utilization_max",
        "PgBouncer's server pool was reduced to fit the connections available" },
      pgbouncer_pool_reduced },
    { { "pgbouncer.open_files",
        Level::warn,
        plan,
        { "vus", "instances", "topology", "pgbouncer.settings.max_client_conn" },
        "pgbouncer.settings.max_client_conn; docs/pgbouncer.md, \"Open files\"",
        "PgBouncer needs more open files than the usual limit of 1024" },
      pgbouncer_open_files_above },
    { { "utilization.above_safe",
        Level::warn,
        plan,
        { "max_connections", "database.safe_utilization_min", "database.safe_utilization_max" },
        "database.safe_utilization_min, database.safe_utilization_max",
        "utilization of max_connections above the safe band" },
      utilization_above_safe },
    { { "utilization.within_safe",
        Level::info,
        plan,
        { "max_connections", "database.safe_utilization_min", "database.safe_utilization_max" },
        "database.safe_utilization_min, database.safe_utilization_max",
        "utilization of max_connections inside the safe band" },
      utilization_within_safe },
    { { "utilization.below_safe",
        Level::info,
        plan,
        { "max_connections", "database.safe_utilization_min", "database.safe_utilization_max" },
        "database.safe_utilization_min, database.safe_utilization_max",
        "utilization of max_connections below the safe band" },
      utilization_below_safe },
    { { "scenario.does_not_fit",
        Level::warn,
        plan,
        { "query_ms", "instances", "max_connections", "reserve" },
        "query_ms (the scenarios)",
        "another query-time scenario would not fit" },
      scenario_does_not_fit },
    { { "queueing.unstable",
        Level::fail,
        plan,
        { "rps", "query_ms", "instances" },
        "queueing model (Erlang C)",
        "an open load at or above the pool's capacity" },
      queueing_unstable },
    { { "queueing.heavy_tail",
        Level::info,
        plan,
        { "query_cv", "query_p95_ms", "query_p99_ms", "query_sample", "queueing.heavy_tail_cv" },
        "queueing.heavy_tail_cv",
        "simulated holds with a coefficient of variation above heavy_tail_cv, whose waits one load-test window cannot pin down" },
      queueing_heavy_tail },
    { { "queueing.timeouts",
        Level::warn,
        plan,
        { "pool_timeout", "monitoring.timeout_error_warn_rate" },
        "monitoring.timeout_error_warn_rate",
        "predicted pool timeouts above the monitoring warning rate" },
      queueing_timeouts },
    { { "target.far_from_rule_of_thumb",
        Level::info,
        plan,
        { "target", "queueing.rule_of_thumb_far_ratio" },
        "queueing.rule_of_thumb_far_ratio",
        "the rule of thumb's pool and the --target's differ by the far ratio or more" },
      target_far_from_rule_of_thumb },
    { { "timeout.pool_at_or_above_request",
        Level::warn,
        plan,
        { "pool_timeout", "request_timeout", "timeouts.client_request_timeout_s" },
        "timeouts.client_request_timeout_s",
        "pool_timeout at or above the client's request timeout" },
      timeout_pool_at_or_above_request },
    { { "timeout.pool_at_or_above_app",
        Level::warn,
        plan,
        { "pool_timeout", "app_timeout" },
        "app_timeout",
        "pool_timeout at or above the application's own request timeout" },
      timeout_pool_at_or_above_app },
    { { "timeout.app_at_or_above_request",
        Level::warn,
        plan,
        { "app_timeout", "request_timeout", "timeouts.client_request_timeout_s" },
        "timeouts.client_request_timeout_s",
        "the application's request timeout at or above the client's" },
      timeout_app_at_or_above_request },
    { { "timeout.pool_disabled",
        Level::warn,
        plan,
        { "pool_timeout", "timeouts.pool_timeout_s" },
        "timeouts.pool_timeout_s",
        "pool_timeout 0 waits forever" },
      timeout_pool_disabled },
    { { "scaling.band_disagrees",
        Level::info,
        plan,
        { "vus", "scaling" },
        "scaling",
        "the scaling table's pool band and the formula disagree" },
      scaling_band_disagrees },
    { { "lifecycle.autoscaled_exceeds_available",
        Level::fail,
        plan,
        { "max_instances", "max_connections", "reserve" },
        "max_instances",
        "every instance at the autoscaler's maximum opens its pool, more than the available connections" },
      lifecycle_autoscaled },
    { { "lifecycle.deploy_exceeds_available",
        Level::warn,
        plan,
        { "deploy_surge", "max_instances", "fleet.rolling_max_surge_percent" },
        "fleet.rolling_max_surge_percent",
        "a rolling deploy's surge of instances opens more connections than are available" },
      lifecycle_deploy },
    { { "lifecycle.serverless_warm_connections",
        Level::warn,
        plan,
        { "serverless", "instances", "max_instances" },
        "serverless.pool_per_execution",
        "serverless executions hold a connection each while warm, busy or not" },
      lifecycle_serverless },
    { { "lifecycle.serverless_too_few_executions",
        Level::warn,
        plan,
        { "serverless", "instances", "vus", "rps" },
        "serverless.pool_per_execution",
        "more requests at once per serverless execution than the one it serves" },
      lifecycle_serverless_short },
    { { "database.active_above_cores",
        Level::warn,
        plan,
        { "db_cores", "advisor.active_per_core" },
        "advisor.active_per_core",
        "more queries at once than the database's cores serve usefully" },
      active_above_cores },
    { { "pool.above_app_concurrency",
        Level::info,
        plan,
        { "app_concurrency", "overhead" },
        "app_concurrency",
        "a pool larger than the requests an instance runs at once, plus its overhead" },
      pool_above_app_concurrency },
    { { "app.concurrency_below_load",
        Level::fail,
        plan,
        { "app_concurrency", "vus", "rps", "instances" },
        "app_concurrency",
        "an instance's share of the load keeps more queries busy than it runs requests at once" },
      app_concurrency_below_load },
    { { "advisor.no_option",
        Level::fail,
        plan,
        { "target", "advisor.objective", "advisor.max_connections_max" },
        "advisor.objective",
        "no configuration fits the budget and meets the service objective" },
      advisor_no_option },
    { { "advisor.rule_of_thumb_replaced",
        Level::warn,
        plan,
        { "target", "advisor.objective" },
        "advisor.objective",
        "the rule of thumb's answer did not fit or missed the objective, and the advisor's option replaced it" },
      advisor_replaced },
    { { "advisor.raise_max_connections",
        Level::warn,
        plan,
        { "max_connections", "advisor.max_connections_max", "advisor.backend_memory_mib" },
        "advisor.max_connections_max",
        "the advisor's answer needs a larger max_connections: a restart and more memory" },
      advisor_raise },
    { { "reserve.replication_not_counted",
        Level::info,
        plan,
        { "reserve", "postgres_version", "database.reserved", "postgres.wal_senders_separate_since" },
        "postgres.wal_senders_separate_since",
        "a replication reserve on PostgreSQL 12+, where WAL senders have their own slots" },
      reserve_replication_not_counted },
    { { "reserve.superuser_not_default",
        Level::info,
        plan,
        { "reserve", "database.reserved", "postgres.superuser_reserved_connections_default" },
        "postgres.superuser_reserved_connections_default",
        "a superuser reserve other than PostgreSQL's default" },
      reserve_superuser_not_default },
  };
  return table;
}

} // namespace poolcalc::detail

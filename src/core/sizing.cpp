#include "poolcalc/sizing.hpp"

#include "pool_model.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"
#include "sizing_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

namespace poolcalc {

namespace {

using detail::ceil_count;
using detail::scaling_row_for;

std::string plural(std::int64_t n, std::string_view one, std::string_view many)
{
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::vector<Trigger> find_triggers(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  // The autoscaler's maximum counts: every instance it may run opens its pool.
  return pgbouncer_triggers({ s.vus,
                              plan.scaling_row,
                              s.max_instances,
                              plan.pool_size * s.max_instances,
                              s.services,
                              s.transaction_pooling,
                              plan.remote_database,
                              "",
                              s.max_instances > s.instances },
                            rules.pgbouncer_triggers);
}

std::string no_trigger_reason(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  const PgBouncerTriggers& t = rules.pgbouncer_triggers;
  std::string where = !plan.remote_database_known ? "database location not given" : "database is local";
  const bool scales = s.max_instances > s.instances;
  return fmt::format("no PgBouncer trigger applies: {}{} (at most {}), {} in total{} (at most {}), {}, {}",
                     plural(s.max_instances, "instance", "instances"),
                     scales ? " at the autoscaler's maximum" : "",
                     t.instances_above,
                     plural(plan.pool_size * s.max_instances, "connection", "connections"),
                     scales ? " then" : "",
                     t.total_connections_above,
                     plural(s.services, "service", "services"),
                     where);
}

PgBouncerPlan plan_pgbouncer(const Plan& plan, const Rules& rules)
{
  const Scenario& s = plan.scenario;
  const PgBouncerSettingsRules& r = rules.pgbouncer_settings;
  const bool sidecar = s.topology == Topology::sidecar;
  // A sidecar's clients are its own instance's pool; a shared PgBouncer's, every instance's.
  // Clients at the worst moment: every instance at the autoscaler's maximum and a deploy's surge.
  const std::int64_t clients =
    plan.pool_size * (s.max_instances + detail::rolling_surge_instances(s.max_instances, s.deploy_surge_percent));
  PgBouncerPlan p = detail::pgbouncer_plan_settings(rules, sidecar ? plan.pool_size : clients, plan.available, s.max_connections);
  p.topology = s.topology;
  p.pgbouncers = sidecar ? s.instances : 1;
  p.host = sidecar ? std::string("127.0.0.1") : s.pgbouncer_host;
  p.port = !sidecar && s.pgbouncer_port ? *s.pgbouncer_port : p.listen_port;

  // The shared server pool serves the whole fleet's concurrency, buffered like one pool: for one
  // instance this is the pool itself (the worked example's default_pool_size = 50).
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  const std::int64_t fleet_peak = design.peak_total_ceil;
  PgBouncerPool pool;
  pool.pool_mode = p.pool_mode;
  pool.peak = design.peak_concurrent;
  pool.peak_ceil = fleet_peak;
  pool.client_connections = plan.total_connections;
  detail::size_transaction_pool(pool,
                                plan.queueing.fleet_target_pool
                                  ? round_up(*plan.queueing.fleet_target_pool + s.overhead, s.round_to)
                                  : round_up(ceil_count(static_cast<double>(fleet_peak) * s.burst) + s.overhead, s.round_to),
                                r);
  if (pool.server_connections > p.server_budget) {
    // Fit default + reserve into the budget, keeping their ratio, and at least one connection
    // in the pool itself while there is one to give.
    detail::fit_pool(pool, p.server_budget, std::min<std::int64_t>(1, p.server_budget), r);
    // A pool the model sized (--target, the advisor) keeps what the model needs when the budget
    // has it: the reserve gives way first.
    const std::optional<std::int64_t>& needed = plan.queueing.fleet_target_pool;
    if (needed && pool.default_pool_size < *needed && *needed <= p.server_budget) {
      pool.default_pool_size = *needed;
      pool.reserve_pool_size = p.server_budget - *needed;
      pool.server_connections = p.server_budget;
    }
  }
  if (sidecar) {
    // Each sidecar serves one instance's share of the load, buffered as that instance's own pool
    // (plan.pool_size), and gets an equal share of the server budget.
    p.shared_server_connections = pool.server_connections;
    pool = PgBouncerPool{};
    pool.pool_mode = p.pool_mode;
    pool.peak = design.per_instance_peak;
    pool.peak_ceil = design.peak_ceil;
    pool.client_connections = plan.pool_size;
    detail::size_transaction_pool(pool, plan.pool_size, r);
    // Every sidecar the autoscaler may run gets its share.
    const std::int64_t share = p.server_budget / s.max_instances;
    if (pool.server_connections > share) {
      detail::fit_pool(pool, share, std::min<std::int64_t>(1, share), r);
    }
  }
  detail::set_min_pool_size(pool, r);
  p.server_connections_each = pool.server_connections;
  p.server_connections = pool.server_connections * p.pgbouncers;
  p.pools.push_back(std::move(pool));
  return p;
}

std::vector<Threshold> monitoring_for(std::int64_t pool, const MonitoringRules& m)
{
  const auto share = [pool](double ratio) { return monitoring_share(ratio, pool); };
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

std::int64_t monitoring_share(double ratio, std::int64_t connections)
{
  return static_cast<std::int64_t>(std::floor(round_decimal(ratio * static_cast<double>(connections))));
}

namespace {

// The load one instance's pool sees, in the model that fits how it arrives.
QueueingPlan queueing_load(const Scenario& s, double hold_ms)
{
  QueueingPlan q;
  q.hold_ms = hold_ms;
  q.hold_cv2 = s.hold_cv2;
  q.hold_cv_source = s.hold_cv_source;
  q.target = s.target;
  q.hold = with_mean(s.hold_shape, hold_ms / 1000.0);
  q.think_source = s.think_source;
  q.stream = s.stream;
  q.simulation_precision = s.simulation_precision;
  q.simulation_max_events = s.simulation_max_events;
  q.progress = s.progress;
  const double hold_s = hold_ms / 1000.0;
  const auto instances = static_cast<double>(s.instances);
  if (s.rps) {
    q.model = QueueModel::open;
    q.open = { *s.rps * s.queries_per_request / instances, hold_s, s.hold_cv2 };
  } else {
    // Each active VU is one source: a query, then the rest of its cycle thinking.
    q.model = QueueModel::closed;
    const double users = round_decimal(static_cast<double>(s.vus) * s.activity / instances);
    q.closed.users = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(users)));
    q.closed.hold_s = hold_s;
    q.closed.think_s = 1.0 / vu_query_rate(s, hold_s) - hold_s;
    q.think = with_mean(s.think_shape, q.closed.think_s);
  }
  *q.simulation_events_left = s.simulation_max_events;
  // Past k_max_simulated_users VUs per instance a closed load is not simulated (each replication
  // would cycle every VU): the exponential model's figures, and the output says so.
  q.simulated = !detail::analytic_exact(q) && !(q.model == QueueModel::closed && q.closed.users > k_max_simulated_users);
  return q;
}

QueueMetrics evaluate_pool(const QueueingPlan& q, std::int64_t pool, double timeout_s)
{
  return detail::pool_metrics(q, pool, timeout_s);
}

// --target: the smallest pool that meets it replaces the rule of thumb's, with the overhead and
// the rounding on top, and the database checks then judge that pool.
void apply_target(Plan& plan, const Target& target)
{
  QueueingPlan& q = plan.queueing;
  const Scenario& s = plan.scenario;
  // Closed: a pool as large as the users never makes anyone wait. Open: no pool beyond
  // PostgreSQL's connection limit can be had.
  q.target_search_limit = q.model == QueueModel::closed ? std::min(q.closed.users, k_max_connections_limit) : k_max_connections_limit;
  q.target_pool = detail::smallest_pool_for(q, target, s.pool_timeout_s, q.target_search_limit);
  if (!q.target_pool) {
    return;
  }
  // Through PgBouncer the whole load shares one server pool: its target is the fleet's.
  if (s.instances == 1) {
    q.fleet_target_pool = q.target_pool;
  } else {
    Scenario fleet = s;
    fleet.instances = 1;
    const QueueingPlan whole = queueing_load(fleet, q.hold_ms);
    const std::int64_t limit =
      whole.model == QueueModel::closed ? std::min(whole.closed.users, k_max_connections_limit) : k_max_connections_limit;
    q.fleet_target_pool = detail::smallest_pool_for(whole, target, s.pool_timeout_s, limit);
  }
  // The scenarios keep the rule of thumb's figures; the plan takes the target's.
  plan.pool_size_unrounded = *q.target_pool + s.overhead;
  plan.pool_size = round_up(plan.pool_size_unrounded, s.round_to);
  plan.total_connections = plan.pool_size * s.instances;
}

} // namespace

Curve curve(const Plan& plan, const Rules& rules)
{
  const QueueingPlan& q = plan.queueing;
  std::vector<std::int64_t> pools = plan.scenario.pools;
  if (pools.empty()) {
    // Around where the pool matters: from a little below the busy connections one instance's
    // load needs on average to past the knee and the plan's pool, at most 1000 sizes.
    const double busy = q.model == QueueModel::open
                          ? q.open.arrival_rps * q.open.hold_s
                          : static_cast<double>(q.closed.users) * q.closed.hold_s / (q.closed.hold_s + q.closed.think_s);
    const double spread = std::sqrt(std::max(busy, 1.0));
    std::int64_t first = busy < 30 ? 1 : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(busy - 2 * spread)));
    const std::int64_t width = static_cast<std::int64_t>(k_max_pools);
    if (q.knee && *q.knee - first > width * 4 / 5) {
      first = *q.knee - width * 4 / 5; // keep the knee in view
    }
    const std::int64_t past_knee = q.knee ? *q.knee + std::max<std::int64_t>(5, static_cast<std::int64_t>(std::ceil(spread)))
                                          : static_cast<std::int64_t>(std::ceil(busy + 4 * spread)) + 5;
    // The plan's pool too when it is near enough; the knee first.
    const std::int64_t wanted = plan.pool_size - first < width ? std::max(plan.pool_size, past_knee) : past_knee;
    const std::int64_t last = std::min({ wanted, first + width - 1, k_max_connections_limit });
    for (std::int64_t pool = first; pool <= last; ++pool) {
      pools.push_back(pool);
    }
  }
  Curve result;
  result.knee_p_wait = rules.queueing.knee_p_wait;
  result.knee = q.knee; // found over every pool size, not only the listed ones
  if ((q.simulated || q.model == QueueModel::closed) && !plan.scenario.pools.empty() && q.pools.size() == pools.size()) {
    result.points = q.pools; // size() has evaluated exactly these pools
  } else if (q.simulated) {
    for (std::int64_t pool : pools) {
      result.points.push_back(detail::pool_metrics(q, pool, plan.scenario.pool_timeout_s));
    }
  } else if (q.model == QueueModel::open) {
    result.points = open_curve(q.open, pools, plan.scenario.pool_timeout_s);
  } else {
    result.points = closed_curve(q.closed, pools, plan.scenario.pool_timeout_s);
  }
  return result;
}

std::vector<LoadPhase> progressive_phases(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const double design_ms = plan.scenarios[plan.design_index].query_ms;
  std::vector<LoadPhase> phases;
  for (const LoadTestPhase& rule : plan.load_test_phases) {
    Scenario phase = s;
    LoadPhase step{ rule.name, 0, rule.duration, 0 };
    if (s.rps) {
      step.load = round_decimal(*s.rps * rule.share);
      phase.rps = step.load;
    } else {
      phase.vus = std::max<std::int64_t>(1, std::llround(round_decimal(static_cast<double>(s.vus) * rule.share)));
      step.load = static_cast<double>(phase.vus);
    }
    if (!phases.empty() && step.load <= phases.back().load) {
      continue; // a small load has fewer distinct steps
    }
    step.expected_peak = round_decimal(offered_concurrency(phase, design_ms));
    phases.push_back(step);
  }
  return phases;
}

bool is_pgbouncer_url(const DatabaseUrl& url, std::int64_t listen_port)
{
  if (url.param("pgbouncer") == "true") {
    return true;
  }
  const std::string port = url.effective_port();
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  return !port.empty() && error == std::errc{} && end == port.data() + port.size() &&
         (number == listen_port || number == k_pgbouncer_default_port);
}

std::string url_address(const DatabaseUrl& url)
{
  const std::string host = url.effective_host();
  const std::string port = url.effective_port();
  if (host.empty() || host.starts_with('/')) {
    return printable(host.empty() ? std::string("the local socket") : "the socket in " + host) +
           (port.empty() ? "" : ", port " + printable(port));
  }
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return printable(port.empty() ? shown : shown + ":" + port);
}

namespace {

// The URL the application is given, before poolcalc's parameters.
const std::optional<DatabaseUrl>& given_application_url(const Plan& plan)
{
  return plan.scenario.database_url && plan.scenario.pgbouncer_url ? plan.scenario.pgbouncer_url : plan.scenario.database_url;
}

} // namespace

std::optional<DatabaseUrl> routed_url(const Plan& plan)
{
  const std::optional<DatabaseUrl>& given = given_application_url(plan);
  if (!given) {
    return std::nullopt;
  }
  // Host and port stay the user's, unless PgBouncer's address was given (--pgbouncer-host, or a
  // sidecar's 127.0.0.1) and the URL is the server's: then the application is pointed there.
  if (plan.pgbouncer && !is_pgbouncer_url(*given, plan.pgbouncer_listen_port) && !plan.pgbouncer->host.empty()) {
    return given->with_host(plan.pgbouncer->host).with_port(static_cast<unsigned>(plan.pgbouncer->port));
  }
  return *given;
}

std::optional<DatabaseUrl> application_url(const Plan& plan)
{
  std::optional<DatabaseUrl> routed = routed_url(plan);
  if (!routed) {
    return std::nullopt;
  }
  DatabaseUrl url = *routed;
  // PgBouncer's parameter only on a URL that reaches it.
  if (plan.pgbouncer && (is_pgbouncer_url(url, plan.pgbouncer_listen_port) || !plan.pgbouncer->host.empty())) {
    url = url.with_param("pgbouncer", "true");
  }
  return url.with_param("connection_limit", fmt::format("{}", plan.settings.connection_limit))
    .with_param("pool_timeout", format_number(plan.settings.pool_timeout_s))
    .with_param("connect_timeout", format_number(plan.settings.connect_timeout_s));
}

std::optional<DatabaseUrl> direct_url(const Plan& plan)
{
  const std::optional<DatabaseUrl>& server = plan.scenario.database_url;
  if (!server || (!plan.pgbouncer && !plan.scenario.pgbouncer_url) || is_pgbouncer_url(*server, plan.pgbouncer_listen_port)) {
    return std::nullopt;
  }
  return server->without_param("pgbouncer");
}

std::string pgbouncer_address_note(const Plan& plan)
{
  const std::optional<DatabaseUrl>& given = given_application_url(plan);
  if (!plan.pgbouncer || !given || is_pgbouncer_url(*given, plan.pgbouncer_listen_port) || !plan.pgbouncer->host.empty()) {
    return "";
  }
  return fmt::format("DATABASE_URL still points at the database server ({}), as given: once PgBouncer runs (poolcalc pgbouncer "
                     "writes its pgbouncer.ini), point DATABASE_URL at PgBouncer's host and port (listen_port {} in that file) and, "
                     "for Prisma with PgBouncer older than {}, add pgbouncer=true",
                     url_address(*given),
                     plan.pgbouncer->listen_port,
                     to_string(k_pgbouncer_prepared_statements));
}

std::string direct_url_note(const Plan& plan)
{
  const std::optional<DatabaseUrl>& given = given_application_url(plan);
  if (!plan.pgbouncer || !given || !is_pgbouncer_url(*given, plan.pgbouncer_listen_port) || direct_url(plan)) {
    return "";
  }
  return fmt::format("DATABASE_URL points at PgBouncer ({}), as given: DIRECT_URL, Prisma's direct connection for migrations, must be "
                     "the database server's own address, which poolcalc does not know and does not write",
                     url_address(*given));
}

std::string unmet_target(const Plan& plan)
{
  const QueueingPlan& q = plan.queueing;
  if (!q.target || q.target_pool) {
    return "";
  }
  const std::string why = q.model == QueueModel::open
                            ? fmt::format("the load is {} Erlangs per instance ({} queries/s x {} s)",
                                          format_number(round_decimal(q.open.arrival_rps * q.open.hold_s), 3),
                                          format_number(q.open.arrival_rps, 3),
                                          format_number(q.open.hold_s, 3))
                            : fmt::format("{} VUs per instance need more connections than PostgreSQL can have", q.closed.users);
  return fmt::format(
    "no pool of up to {} connections meets {}: {}; split the load over more --instances", q.target_search_limit, q.target->text, why);
}

std::int64_t hardest_connections(const Plan& plan)
{
  std::int64_t at_once = plan.server_connections;
  for (const Moment& m : plan.moments) {
    at_once = m.hard ? std::max(at_once, m.connections) : at_once;
  }
  return at_once;
}

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
  // rule of thumb assumes (one query per active VU per second).
  const double peak = offered_concurrency(scenario, query_ms);
  r.peak_concurrent = round_decimal(peak);
  // The load spreads over the instances; each instance's pool carries its share.
  const auto instances = static_cast<double>(scenario.instances);
  r.per_instance_peak = round_decimal(peak / instances);
  r.peak_ceil = ceil_count(peak / instances);
  r.peak_total_ceil = ceil_count(peak);
  r.buffered = ceil_count(static_cast<double>(r.peak_ceil) * scenario.burst);
  r.pool_size_unrounded = r.buffered + scenario.overhead;
  r.pool_size = round_up(r.pool_size_unrounded, scenario.round_to);
  r.total_connections = r.pool_size * scenario.instances;
  r.fits = r.total_connections <= available;
  return r;
}

namespace {

// Everything that follows from the plan's pool: the budget, the PgBouncer triggers (or PgBouncer
// regardless, when the advisor chose it), the fit, the settings and the monitoring thresholds.
void finish_plan(Plan& plan, const Rules& rules, bool force_pgbouncer)
{
  const Scenario& s = plan.scenario;
  plan.available = s.max_connections - plan.reserved_total;
  plan.pgbouncer.reset();
  plan.pgbouncer_unneeded.reset();
  plan.remote_database_known = s.remote_database.has_value() || s.database_url.has_value();
  plan.remote_database = s.remote_database.value_or(s.database_url && !s.database_url->is_local());

  plan.pgbouncer_listen_port = rules.pgbouncer_settings.listen_port;
  plan.scaling_row = scaling_row_for(rules.scaling, s.vus);
  plan.triggers = find_triggers(plan, rules);
  if (plan.triggers.empty() && !force_pgbouncer) {
    plan.recommendation = Recommendation::pool;
    plan.recommendation_reason = no_trigger_reason(plan, rules);
    plan.server_connections = plan.total_connections;
    plan.pgbouncer_unneeded = plan_pgbouncer(plan, rules);
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
  plan.utilization = static_cast<double>(plan.server_connections) / static_cast<double>(s.max_connections);
  plan.fits = plan.server_connections <= plan.available;
  // The deployment's whole life: each instance opens its pool, at the autoscaler's maximum too, and
  // a rolling deploy runs its surge on top. Through PgBouncer the server sees its pool whatever the
  // clients do.
  plan.moments.clear();
  const auto moment = [&](std::string id, std::string what, std::int64_t instances, bool hard) {
    Moment m{ std::move(id), std::move(what), instances, 0, plan.pool_size * instances, false, hard };
    // Through one shared PgBouncer the server sees its pool whatever the clients; each sidecar
    // brings its own.
    m.connections = !plan.pgbouncer                                 ? m.client_connections
                    : plan.pgbouncer->topology == Topology::sidecar ? plan.pgbouncer->server_connections_each * instances
                                                                    : plan.server_connections;
    m.fits = m.connections <= plan.available;
    plan.moments.push_back(std::move(m));
  };
  if (s.serverless) {
    moment("steady", plural(s.instances, "warm execution", "warm executions"), s.instances, true);
    if (s.max_instances > s.instances) {
      moment("autoscaled",
             fmt::format("the platform's concurrency limit, {}", plural(s.max_instances, "execution", "executions")),
             s.max_instances,
             true);
    }
  } else {
    moment("steady", plural(s.instances, "instance", "instances"), s.instances, true);
    if (s.max_instances > s.instances) {
      moment(
        "autoscaled", fmt::format("the autoscaler's maximum, {}", plural(s.max_instances, "instance", "instances")), s.max_instances, true);
    }
  }
  const std::int64_t surge = detail::rolling_surge_instances(s.max_instances, s.deploy_surge_percent);
  if (surge > 0) {
    moment("rolling_deploy",
           s.serverless
             ? fmt::format("a new version, {} + {} still warm ({} %)", s.max_instances, surge, format_number(s.deploy_surge_percent))
             : fmt::format("a rolling deploy, {} + {} (max surge {} %)", s.max_instances, surge, format_number(s.deploy_surge_percent)),
           s.max_instances + surge,
           false);
  }
  plan.worst_moment = 0;
  for (std::size_t i = 1; i < plan.moments.size(); ++i) {
    if (plan.moments[i].connections > plan.moments[plan.worst_moment].connections) {
      plan.worst_moment = i;
    }
  }
  for (const Moment& m : plan.moments) {
    plan.fits = plan.fits && (m.fits || !m.hard);
  }
  // Utilization at the hardest moment the plan must fit.
  plan.utilization = static_cast<double>(hardest_connections(plan)) / static_cast<double>(s.max_connections);
  if (plan.pgbouncer) {
    // Through PgBouncer a scenario fits when the fleet's peak fits PgBouncer's server pool:
    // it queues clients, it cannot run more queries at once than it has server connections.
    for (ScenarioResult& r : plan.scenarios) {
      r.fits = r.peak_total_ceil <= plan.pgbouncer->server_connections;
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

  plan.settings = { plan.pool_size, s.pool_timeout_s, s.connect_timeout_s };
  plan.prisma_default_connection_limit_per_cpu = rules.prisma_defaults.connection_limit_per_physical_cpu;
  plan.prisma_default_connection_limit_add = rules.prisma_defaults.connection_limit_add;
  plan.prisma_default_pool_timeout_s = rules.prisma_defaults.pool_timeout_s;
  plan.prisma_default_connect_timeout_s = rules.prisma_defaults.connect_timeout_s;
  plan.monitoring = monitoring_for(plan.pool_size, rules.monitoring);
  plan.consider_pgbouncer_above_pool = rules.report.consider_pgbouncer_above_pool;
  plan.load_test_phases = rules.load_test_phases;
}

} // namespace

Plan size_without_queueing_report(const Scenario& scenario, const Rules& rules)
{
  Plan plan;
  plan.scenario = scenario;
  const detail::CountedReserve counted = detail::count_reserve(scenario.reserved, scenario.postgres_version, rules);
  plan.reserved_total = counted.total;
  plan.reserve_not_counted = counted.not_counted;
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

  plan.rule_of_thumb_pool = design.pool_size;
  plan.queueing = queueing_load(scenario, design.query_ms);
  if (scenario.target) {
    apply_target(plan, *scenario.target);
  }

  plan.overhead = scenario.overhead;
  if (scenario.serverless) {
    // An execution serves one request at a time, its queries one after another: the rules' pool,
    // with no overhead and no rounding. A --target is the objective it is judged by; a larger
    // pool would not help an execution that never runs two queries at once.
    plan.pool_size = rules.serverless.pool_per_execution;
    plan.pool_size_unrounded = plan.pool_size;
    plan.total_connections = plan.pool_size * scenario.instances;
    plan.overhead = 0;
  }
  finish_plan(plan, rules, false);
  return plan;
}

namespace detail {

CountedReserve count_reserve(const std::vector<ReserveEntry>& entries, std::optional<int> version, const Rules& rules)
{
  CountedReserve counted;
  for (const ReserveEntry& entry : entries) {
    if (version && *version >= rules.postgres.wal_senders_separate_since && entry.name.find("replication") != std::string::npos) {
      counted.not_counted.push_back(entry.name);
    } else {
      counted.total += entry.connections;
    }
  }
  return counted;
}

void finish_plan(Plan& plan, const Rules& rules, bool force_pgbouncer)
{
  poolcalc::finish_plan(plan, rules, force_pgbouncer);
}

QueueingPlan queueing_load(const Scenario& scenario, double hold_ms)
{
  return poolcalc::queueing_load(scenario, hold_ms);
}

PgBouncerPlan plan_pgbouncer(const Plan& plan, const Rules& rules)
{
  return poolcalc::plan_pgbouncer(plan, rules);
}

} // namespace detail

Plan size(const Scenario& scenario, const Rules& rules)
{
  Plan plan = size_without_queueing_report(scenario, rules);
  if (scenario.pools.empty()) {
    plan.queueing.pools.push_back(evaluate_pool(plan.queueing, plan.pool_size, scenario.pool_timeout_s));
  } else if (plan.queueing.model == QueueModel::closed && !plan.queueing.simulated) {
    plan.queueing.pools = closed_curve(plan.queueing.closed, scenario.pools, scenario.pool_timeout_s);
  } else {
    for (std::int64_t pool : scenario.pools) {
      plan.queueing.pools.push_back(evaluate_pool(plan.queueing, pool, scenario.pool_timeout_s));
    }
  }
  plan.queueing.recommended = evaluate_pool(plan.queueing, plan.pool_size, scenario.pool_timeout_s);
  plan.queueing.knee_p_wait = rules.queueing.knee_p_wait;
  Target knee;
  knee.metric = Target::Metric::p_wait;
  knee.bound = rules.queueing.knee_p_wait;
  const QueueingPlan& q = plan.queueing;
  plan.queueing.knee = detail::smallest_pool_for(
    q, knee, 0, q.model == QueueModel::open ? k_max_connections_limit : std::min(q.closed.users, k_max_connections_limit));
  detail::advise(plan, rules);
  return plan;
}

std::vector<Trigger> pgbouncer_triggers(const TriggerInputs& in, const PgBouncerTriggers& t)
{
  std::vector<Trigger> triggers;
  if (in.scaling_row != nullptr && in.scaling_row->pgbouncer) {
    triggers.push_back({ "scaling_table",
                         fmt::format("{} concurrent users{} is in the scaling table's {}+ row, which says \"Use PgBouncer\"",
                                     in.users,
                                     in.in_all,
                                     in.scaling_row->users_min - 1),
                         "scaling" });
  }
  if (in.instances > t.instances_above) {
    triggers.push_back({ "instances",
                         fmt::format("{} application instances{}{} (more than {})",
                                     in.instances,
                                     in.autoscaled ? " at the autoscaler's maximum" : "",
                                     in.in_all,
                                     t.instances_above),
                         "pgbouncer.triggers.instances_above" });
  }
  if (in.total_connections > t.total_connections_above) {
    triggers.push_back({ "total_connections",
                         fmt::format("{} connections in total (more than {})", in.total_connections, t.total_connections_above),
                         "pgbouncer.triggers.total_connections_above" });
  }
  if (in.services > t.services_above) {
    triggers.push_back({ "services",
                         fmt::format("{} services share the database (more than {})", in.services, t.services_above),
                         "pgbouncer.triggers.services_above" });
  }
  if (in.transaction_pooling && t.transaction_pooling) {
    triggers.push_back({ "transaction_pooling", "transaction-level pooling is wanted", "pgbouncer.triggers.transaction_pooling" });
  }
  if (in.remote_database && t.remote_database) {
    triggers.push_back({ "remote_database", "the database is remote (a high-latency network)", "pgbouncer.triggers.remote_database" });
  }
  return triggers;
}

QueueMetrics plan_waits(const Plan& plan, const Scenario& load)
{
  Scenario s = load;
  std::int64_t pool = plan.pool_size;
  const bool bouncer = plan.recommendation == Recommendation::pgbouncer && plan.pgbouncer && !plan.pgbouncer->pools.empty() &&
                       plan.pgbouncer->pools.front().pool_mode == PoolMode::transaction;
  if (bouncer) {
    pool = plan.pgbouncer->pools.front().default_pool_size;
    if (s.topology == Topology::shared) {
      s.instances = 1; // one server pool for every instance's queries
    }
  }
  const QueueingPlan q = queueing_load(s, plan.queueing.hold_ms);
  return evaluate_pool(q, std::max<std::int64_t>(1, pool), s.pool_timeout_s);
}

} // namespace poolcalc

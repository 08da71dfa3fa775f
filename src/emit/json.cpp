#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"
#include "json_common.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace poolcalc {

namespace {

using Json = nlohmann::ordered_json;

// Whole numbers as JSON integers, the rest as the shortest decimal that round-trips.
Json number(double value)
{
  if (value == static_cast<double>(static_cast<std::int64_t>(value)) && std::fabs(value) < 9e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

Json reserved(const Plan& plan)
{
  Json object = Json::object();
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    object[entry.name] = entry.connections;
  }
  return object;
}

Json inputs(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  Json query_ms = Json::array();
  for (double ms : s.query_ms) {
    query_ms.push_back(number(ms));
  }
  Json j;
  j["vus"] = s.rps ? Json(nullptr) : Json(s.vus);
  j["rps"] = s.rps ? number(*s.rps) : Json(nullptr);
  j["query_ms"] = query_ms;
  j["design_ms"] = number(s.query_ms[s.design_index]);
  j["activity"] = s.rps ? Json(nullptr) : number(s.activity);
  j["vu_rate_per_s"] = s.rps || s.think_ms ? Json(nullptr) : number(s.vu_rate_per_s);
  j["think_ms"] = s.think_ms ? number(*s.think_ms) : Json(nullptr);
  j["queries_per_request"] = number(s.queries_per_request);
  Json operations = Json::array();
  for (const Operation& op : s.operations) {
    operations.push_back({ { "name", op.name }, { "share", number(op.share) }, { "hold_ms", number(op.hold_ms) } });
  }
  j["operations"] = operations;
  Json pools = Json::array();
  for (std::int64_t pool : s.pools) {
    pools.push_back(pool);
  }
  j["pools"] = pools;
  j["target"] = s.target ? Json(s.target->text) : Json(nullptr);
  j["burst"] = number(s.burst);
  j["overhead"] = s.overhead;
  j["round_to"] = s.round_to;
  j["max_connections"] = plan.advice.given_max_connections > 0 ? plan.advice.given_max_connections : s.max_connections;
  j["reserved"] = reserved(plan);
  j["postgres_version"] = s.postgres_version ? Json(*s.postgres_version) : Json(nullptr);
  j["instances"] = s.instances;
  j["max_instances"] = s.max_instances;
  j["deploy_surge_percent"] = number(s.deploy_surge_percent);
  j["serverless"] = s.serverless;
  j["app_concurrency"] = s.app_concurrency ? Json(*s.app_concurrency) : Json(nullptr);
  j["db_cores"] = s.db_cores ? Json(*s.db_cores) : Json(nullptr);
  j["services"] = s.services;
  j["transaction_pooling"] = s.transaction_pooling;
  j["remote_database"] = plan.remote_database_known ? Json(plan.remote_database) : Json(nullptr);
  j["pool_timeout_s"] = number(s.pool_timeout_s);
  j["connect_timeout_s"] = number(s.connect_timeout_s);
  j["request_timeout_s"] = number(s.request_timeout_s);
  j["app_timeout_s"] = s.app_timeout_s ? number(*s.app_timeout_s) : Json(nullptr);
  j["database_url"] = s.database_url ? Json(s.database_url->masked()) : Json(nullptr);
  return j;
}

Json scenarios(const Plan& plan)
{
  Json list = Json::array();
  for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
    const ScenarioResult& r = plan.scenarios[i];
    Json j;
    j["label"] = r.label;
    j["query_ms"] = number(r.query_ms);
    j["peak_concurrent"] = number(r.peak_concurrent);
    j["peak_concurrent_per_instance"] = number(r.per_instance_peak);
    j["peak_concurrent_ceil"] = r.peak_ceil;
    j["buffered"] = r.buffered;
    j["pool_size_unrounded"] = r.pool_size_unrounded;
    j["pool_size"] = r.pool_size;
    j["total_connections"] = r.total_connections;
    j["fits"] = r.fits;
    j["design"] = i == plan.design_index;
    list.push_back(j);
  }
  return list;
}

Json settings(const Plan& plan)
{
  Json j;
  j["connection_limit"] = plan.settings.connection_limit;
  j["pool_timeout_s"] = number(plan.settings.pool_timeout_s);
  j["connect_timeout_s"] = number(plan.settings.connect_timeout_s);
  const auto url = application_url(plan);
  j["database_url"] = url ? Json(url->masked()) : Json(nullptr);
  const std::string note = pgbouncer_address_note(plan);
  j["database_url_note"] = note.empty() ? Json(nullptr) : Json(note);
  Json prisma;
  prisma["connection_limit"] = detail::prisma_default_limit(plan);
  prisma["pool_timeout_s"] = number(plan.prisma_default_pool_timeout_s);
  prisma["connect_timeout_s"] = number(plan.prisma_default_connect_timeout_s);
  j["prisma_defaults"] = prisma;
  if (plan.pgbouncer) {
    const PgBouncerPlan& b = *plan.pgbouncer;
    Json p;
    p["listen_addr"] = b.listen_addr;
    p["listen_port"] = b.listen_port;
    p["auth_type"] = b.auth_type;
    p["auth_file"] = b.auth_file;
    p["pool_mode"] = to_string(b.pool_mode);
    p["max_client_conn"] = b.max_client_conn;
    p["default_pool_size"] = b.pools.front().default_pool_size;
    p["min_pool_size"] = b.pools.front().min_pool_size;
    p["reserve_pool_size"] = b.pools.front().reserve_pool_size;
    p["reserve_pool_timeout_s"] = number(b.reserve_pool_timeout_s);
    j["pgbouncer"] = p;
  } else {
    j["pgbouncer"] = nullptr;
  }
  return j;
}

// A wait or other figure that is infinite for an unstable queue: null then.
Json finite(double value)
{
  return std::isfinite(value) ? number(round_decimal(value)) : Json(nullptr);
}

// Waits to the microsecond: the percentiles are found to a relative 1e-7, so finer digits would
// only carry the root search's noise.
Json wait_ms(double value)
{
  return std::isfinite(value) ? number(std::round(value * 1000.0) / 1000.0) : Json(nullptr);
}

Json queue_metrics(const QueueMetrics& m)
{
  Json j;
  j["pool"] = m.pool;
  j["model"] = std::string(to_string(m.model));
  j["throughput_rps"] = finite(m.throughput_rps);
  j["p_wait"] = finite(m.p_wait);
  j["mean_wait_ms"] = wait_ms(m.mean_wait_ms);
  j["p95_wait_ms"] = wait_ms(m.p95_wait_ms);
  j["p99_wait_ms"] = wait_ms(m.p99_wait_ms);
  j["timeout_rate"] = finite(m.timeout_rate);
  j["utilization"] = finite(m.utilization);
  j["stable"] = m.stable;
  // A simulated row's 95 % half-widths: each figure is its value +- these (docs/json.md).
  if (m.intervals) {
    const MetricIntervals& ci = *m.intervals;
    Json i;
    i["throughput_rps"] = finite(ci.throughput_rps);
    i["p_wait"] = finite(ci.p_wait);
    i["mean_wait_ms"] = wait_ms(ci.mean_wait_ms);
    i["p95_wait_ms"] = wait_ms(ci.p95_wait_ms);
    i["p99_wait_ms"] = wait_ms(ci.p99_wait_ms);
    i["timeout_rate"] = finite(ci.timeout_rate);
    i["utilization"] = finite(ci.utilization);
    i["replications"] = ci.replications;
    i["events"] = ci.events;
    i["converged"] = ci.converged;
    j["interval95"] = i;
  } else {
    j["interval95"] = nullptr;
  }
  return j;
}

// How a duration is modelled: its family, mean, coefficient of variation and where it comes from.
Json distribution_json(const Distribution& d, const std::string& source)
{
  Json j;
  j["family"] = std::string(to_string(d.family));
  j["mean_ms"] = number(d.mean_s * 1000.0);
  j["cv"] = finite(std::sqrt(cv2(d)));
  j["source"] = source;
  return j;
}

Json queueing_model(const Plan& plan)
{
  const QueueingPlan& q = plan.queueing;
  Json j;
  j["model"] = std::string(to_string(q.model));
  j["per_instance_users"] = q.model == QueueModel::closed ? Json(q.closed.users) : Json(nullptr);
  j["think_ms"] = q.model == QueueModel::closed ? finite(q.closed.think_s * 1000.0) : Json(nullptr);
  j["per_instance_arrival_rps"] = q.model == QueueModel::open ? finite(q.open.arrival_rps) : Json(nullptr);
  j["hold_ms"] = number(q.hold_ms);
  j["hold_cv2"] = finite(q.hold_cv2);
  j["hold_cv_source"] = q.hold_cv_source;
  j["hold"] = distribution_json(q.hold, q.hold_cv_source);
  j["think"] = q.model == QueueModel::closed ? distribution_json(q.think, q.think_source) : Json(nullptr);
  j["method"] = q.simulated ? "simulation" : "analytic";
  j["stream"] = q.simulated ? Json(q.stream) : Json(nullptr);
  j["recommended"] = q.recommended ? queue_metrics(*q.recommended) : Json(nullptr);
  j["knee"] = q.knee ? Json(*q.knee) : Json(nullptr);
  j["knee_p_wait"] = number(q.knee_p_wait);
  if (q.target) {
    Json t;
    t["goal"] = q.target->text;
    t["smallest_pool"] = q.target_pool ? Json(*q.target_pool) : Json(nullptr);
    t["fleet_smallest_pool"] = q.fleet_target_pool ? Json(*q.fleet_target_pool) : Json(nullptr);
    t["pool_size"] = plan.pool_size;
    t["rule_of_thumb_pool_size"] = plan.rule_of_thumb_pool;
    j["target"] = t;
  } else {
    j["target"] = nullptr;
  }
  return j;
}

Json optional_metrics(const std::optional<QueueMetrics>& m)
{
  return m ? queue_metrics(*m) : Json(nullptr);
}

// The advisor (docs/json.md, "advice").
Json advice_json(const Plan& plan)
{
  const Advice& a = plan.advice;
  Json j;
  j["objective"] = a.objective.text;
  j["objective_source"] = a.objective_source;
  j["given_max_connections"] = a.given_max_connections;
  j["rule_through_pgbouncer"] = a.rule_through_pgbouncer;
  j["rule_of_thumb_pool"] = a.rule_pool;
  j["model_pool"] = a.model_pool ? Json(*a.model_pool) : Json(nullptr);
  j["search_limit"] = a.search_limit;
  j["rule_of_thumb_at_load"] = optional_metrics(a.rule_at_load);
  j["model_at_load"] = optional_metrics(a.model_at_load);
  j["db_ceiling"] = a.db_ceiling ? Json(*a.db_ceiling) : Json(nullptr);
  j["surge"] = number(a.surge);
  j["surge_load"] = a.surge_load;
  j["rule_of_thumb_at_surge"] = optional_metrics(a.rule_at_surge);
  j["model_at_surge"] = optional_metrics(a.model_at_surge);
  const std::int64_t extra = a.model_pool ? (a.rule_pool - *a.model_pool) * plan.scenario.max_instances : 0;
  j["extra_connections"] = a.model_pool ? Json(extra) : Json(nullptr);
  // Through PgBouncer the extra connections are clients of PgBouncer, not server backends.
  j["extra_memory_mib"] = a.model_pool && !a.rule_through_pgbouncer
                            ? number(std::round(static_cast<double>(std::max<std::int64_t>(0, extra)) * a.backend_memory_mib))
                            : Json(nullptr);
  j["searched"] = a.searched;
  j["why_searched"] = a.searched ? Json(a.why_searched) : Json(nullptr);
  Json options = Json::array();
  for (const AdvisorOption& o : a.options) {
    Json x;
    x["id"] = o.id;
    x["summary"] = o.summary;
    x["change"] = o.change.empty() ? Json(nullptr) : Json(o.change);
    x["pgbouncer"] = o.pgbouncer;
    x["server_pool"] = o.server_pool;
    x["pool_per_instance"] = o.pool_per_instance;
    x["overhead"] = o.overhead;
    x["server_connections"] = o.server_connections;
    x["max_connections"] = o.max_connections;
    x["available"] = o.available;
    x["utilization"] = finite(o.utilization);
    x["waits_on"] = o.waits_on;
    x["at_load"] = optional_metrics(o.at_load);
    x["fits"] = o.fits;
    x["within_safe_band"] = o.within_safe_band;
    x["within_db_ceiling"] = o.within_db_ceiling;
    x["meets_objective"] = o.meets_objective;
    x["offered"] = o.offered;
    x["works"] = o.offered && o.fits && o.meets_objective;
    x["miss"] = o.offered && o.fits && o.meets_objective ? Json(nullptr) : Json(o.miss_text);
    options.push_back(x);
  }
  j["options"] = options;
  j["chosen"] = a.chosen ? Json(a.options[*a.chosen].id) : Json(nullptr);
  j["reason"] = a.reason.empty() ? Json(nullptr) : Json(a.reason);
  return j;
}

} // namespace

std::string render_json(const Plan& plan, const std::vector<Finding>& findings)
{
  Json j;
  j["schema_version"] = 1;
  j["inputs"] = inputs(plan);
  j["scenarios"] = scenarios(plan);
  j["peak_concurrent"] = number(plan.peak_concurrent);
  j["pool_size"] = plan.pool_size;
  j["pool_size_unrounded"] = plan.pool_size_unrounded;
  j["total_connections"] = plan.total_connections;
  j["server_connections"] = plan.server_connections;
  j["max_connections"] = plan.scenario.max_connections;
  j["reserved"] = reserved(plan);
  j["reserved_total"] = plan.reserved_total;
  j["reserve_not_counted"] = plan.reserve_not_counted;
  j["available"] = plan.available;
  j["utilization"] = number(round_decimal(plan.utilization));
  j["fits"] = plan.fits;
  Json moments = Json::array();
  for (const Moment& m : plan.moments) {
    moments.push_back({ { "id", m.id },
                        { "what", m.what },
                        { "instances", m.instances },
                        { "connections", m.connections },
                        { "client_connections", m.client_connections },
                        { "fits", m.fits },
                        { "hard", m.hard } });
  }
  j["moments"] = moments;
  j["worst_moment"] = plan.moments.empty() ? Json(nullptr) : Json(plan.moments[plan.worst_moment].id);
  if (const ScalingRow* row = plan.scaling_row) {
    Json band;
    band["users_min"] = row->users_min;
    band["users_max"] = row->users_max ? Json(*row->users_max) : Json(nullptr);
    band["pool_min"] = row->pgbouncer ? Json(nullptr) : Json(row->pool_min);
    band["pool_max"] = row->pgbouncer ? Json(nullptr) : Json(row->pool_max);
    band["max_connections"] = row->max_connections;
    band["pgbouncer"] = row->pgbouncer;
    j["scaling_band"] = band;
  } else {
    j["scaling_band"] = nullptr;
  }
  j["recommendation"] = plan.recommendation == Recommendation::pool ? "pool" : "pgbouncer";
  j["recommendation_reason"] = plan.recommendation_reason;
  Json triggers = Json::array();
  for (const Trigger& t : plan.triggers) {
    triggers.push_back({ { "id", t.id }, { "reason", t.reason }, { "rule", t.rule } });
  }
  j["pgbouncer_triggers"] = triggers;
  j["findings"] = detail::findings_json(findings);
  j["settings"] = settings(plan);
  Json monitoring = Json::array();
  for (const Threshold& t : plan.monitoring) {
    monitoring.push_back({ { "metric", t.metric }, { "warning", t.warning }, { "critical", t.critical }, { "action", t.action } });
  }
  j["monitoring"] = monitoring;
  Json queueing = Json::array();
  for (const QueueMetrics& m : plan.queueing.pools) {
    queueing.push_back(queue_metrics(m));
  }
  j["queueing"] = queueing;
  j["queueing_model"] = queueing_model(plan);
  j["advice"] = advice_json(plan);
  Json steps = Json::array();
  for (const ExplainBlock& block : explain(plan)) {
    steps.push_back({ { "heading", block.heading }, { "lines", block.lines } });
  }
  j["steps"] = steps;
  // Replace rather than throw on invalid UTF-8: inputs are validated, but a renderer must not fail.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace poolcalc

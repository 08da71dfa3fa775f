#include "json_common.hpp"
#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/numbers.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace poolcalc {

namespace {

using Json = nlohmann::ordered_json;

// Whole numbers as JSON integers, the rest as the shortest decimal that round-trips; null for
// what is not a number (an unstable queue's wait).
Json number(double value)
{
  if (!std::isfinite(value)) {
    return nullptr;
  }
  if (value == static_cast<double>(static_cast<std::int64_t>(value)) && std::fabs(value) < 9e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

// Waits in ms to the microsecond, as the plan's JSON writes them.
Json wait_ms(const QueueMetrics& m, double value)
{
  return m.stable && std::isfinite(value) ? number(std::round(value * 1000.0) / 1000.0) : Json(nullptr);
}

Json database(const Fleet& fleet)
{
  const FleetDatabase& db = fleet.database;
  Json reserve = Json::object();
  for (const ReserveEntry& entry : db.reserve) {
    reserve[entry.name] = entry.connections;
  }
  Json j;
  j["max_connections"] = db.max_connections;
  j["version"] = db.version;
  j["reserve"] = reserve;
  j["reserve_not_counted"] = db.reserve_not_count;
  j["reserved_connections"] = db.reserved_connections;
  j["reserved_total"] = db.reserved_total;
  j["available"] = db.available;
  j["url"] = db.url ? Json(db.url->masked()) : Json(nullptr);
  j["remote"] = db.remote ? Json(*db.remote) : Json(nullptr);
  return j;
}

Json service(const FleetService& s)
{
  const Scenario& sc = s.input.scenario;
  Json j;
  j["name"] = s.input.name;
  j["client"] = std::string(to_string(s.input.client));
  j["session_features"] = s.input.session_features;
  j["database"] = s.input.database;
  j["user"] = s.input.user;
  j["vus"] = sc.rps ? Json(nullptr) : Json(sc.vus);
  j["rps"] = sc.rps ? number(*sc.rps) : Json(nullptr);
  j["query_ms"] = number(sc.query_ms[sc.design_index]);
  j["activity"] = sc.rps ? Json(nullptr) : number(sc.activity);
  j["instances"] = s.instances;
  j["max_instances"] = s.max_instances;
  j["serverless"] = sc.serverless;
  j["peak_concurrent"] = number(s.peak);
  j["peak_ceil"] = s.peak_ceil;
  j["buffered"] = s.buffered;
  j["pool_per_instance"] = s.pool;
  j["connections"] = s.connections;
  j["surge_instances"] = s.surge_instances;
  j["surge_connections"] = s.surge_connections;
  j["pool_setting"] = s.pool_setting;
  j["pgbouncer_database"] = s.pgbouncer_database.empty() ? Json(nullptr) : Json(s.pgbouncer_database);
  return j;
}

// The 95 % half-widths of a simulated wait (docs/json.md); null for an exact one.
Json intervals(const QueueMetrics& m)
{
  if (!m.intervals) {
    return nullptr;
  }
  const MetricIntervals& ci = *m.intervals;
  Json j;
  j["throughput_rps"] = number(round_decimal(ci.throughput_rps));
  j["p_wait"] = number(round_decimal(ci.p_wait));
  j["mean_wait_ms"] = wait_ms(m, ci.mean_wait_ms);
  j["p95_wait_ms"] = wait_ms(m, ci.p95_wait_ms);
  j["p99_wait_ms"] = wait_ms(m, ci.p99_wait_ms);
  j["timeout_rate"] = number(round_decimal(ci.timeout_rate));
  j["replications"] = ci.replications;
  j["converged"] = ci.converged;
  return j;
}

Json wait_figures(const QueueMetrics& m, const std::string& description)
{
  Json j;
  j["model"] = std::string(to_string(m.model));
  j["method"] = m.intervals ? "simulation" : "analytic";
  j["description"] = description;
  j["servers"] = m.pool;
  j["stable"] = m.stable;
  j["throughput_rps"] = number(round_decimal(m.throughput_rps));
  j["p_wait"] = number(round_decimal(m.p_wait));
  j["mean_wait_ms"] = wait_ms(m, m.mean_wait_ms);
  j["p95_wait_ms"] = wait_ms(m, m.p95_wait_ms);
  j["p99_wait_ms"] = wait_ms(m, m.p99_wait_ms);
  j["timeout_rate"] = number(round_decimal(m.timeout_rate));
  j["utilization"] = number(round_decimal(m.utilization));
  j["interval95"] = intervals(m);
  return j;
}

Json wait(const PgBouncerPool& pool)
{
  return pool.wait ? wait_figures(*pool.wait, pool.wait_model) : Json(nullptr);
}

// Each transaction-pooled service's queries inside PgBouncer.
Json waits(const Fleet& fleet)
{
  Json list = Json::array();
  for (const FleetService& s : fleet.services) {
    if (s.wait) {
      Json j = wait_figures(*s.wait, s.wait_model);
      j["service"] = s.input.name;
      j["database"] = s.pgbouncer_database;
      j["user"] = s.input.user;
      list.push_back(std::move(j));
    }
  }
  return list;
}

Json pgbouncer(const Fleet& fleet)
{
  if (!fleet.pgbouncer) {
    return nullptr;
  }
  const PgBouncerPlan& p = *fleet.pgbouncer;
  Json j;
  j["listen_addr"] = p.listen_addr;
  j["listen_port"] = p.listen_port;
  j["auth_type"] = p.auth_type;
  j["auth_file"] = p.auth_file;
  j["pool_mode"] = to_string(p.pool_mode);
  j["reserve_pool_timeout_s"] = number(p.reserve_pool_timeout_s);
  j["max_client_conn"] = p.max_client_conn;
  j["max_client_conn_minimum"] = p.max_client_conn_minimum;
  j["server_budget"] = p.server_budget;
  j["server_connections"] = p.server_connections;
  j["session_connections"] = p.session_connections;
  Json databases = Json::array();
  for (const PgBouncerEntry& d : p.databases) {
    databases.push_back({ { "name", d.name },
                          { "dbname", d.dbname },
                          { "pool_mode", to_string(d.pool_mode) },
                          { "max_db_connections", d.max_db_connections } });
  }
  j["databases"] = databases;
  Json pools = Json::array();
  for (const PgBouncerPool& pool : p.pools) {
    Json e;
    e["database"] = pool.database;
    e["dbname"] = pool.dbname;
    e["user"] = pool.user;
    e["pool_mode"] = to_string(pool.pool_mode);
    e["services"] = pool.services;
    e["peak_concurrent"] = number(pool.peak);
    e["peak_ceil"] = pool.peak_ceil;
    e["default_pool_size_wanted"] = pool.default_pool_size_wanted;
    e["default_pool_size"] = pool.default_pool_size;
    e["reserve_pool_size"] = pool.reserve_pool_size;
    e["min_pool_size"] = pool.min_pool_size;
    e["server_connections"] = pool.server_connections;
    e["client_connections"] = pool.client_connections;
    e["surge_client_connections"] = pool.surge_client_connections;
    e["wait"] = wait(pool);
    pools.push_back(e);
  }
  j["pools"] = pools;
  return j;
}

} // namespace

std::string render_fleet_json(const Fleet& fleet, const std::vector<Finding>& findings)
{
  Json j;
  j["schema_version"] = 1;
  j["command"] = "fleet";
  j["source"] = fleet.source;
  j["database"] = database(fleet);
  Json deploy;
  deploy["strategy"] = std::string(to_string(fleet.deploy.strategy));
  const bool rolling = fleet.deploy.strategy == DeployStrategy::rolling;
  deploy["max_surge_instances"] = rolling && fleet.deploy.max_surge_instances ? Json(*fleet.deploy.max_surge_instances) : Json(nullptr);
  deploy["max_surge_percent"] = rolling && !fleet.deploy.max_surge_instances ? number(fleet.deploy.max_surge_percent) : Json(nullptr);
  deploy["max_surge_default"] = rolling && fleet.deploy.max_surge_default;
  deploy["simultaneous"] = fleet.deploy.simultaneous;
  j["deploy"] = deploy;
  Json services = Json::array();
  for (const FleetService& s : fleet.services) {
    services.push_back(service(s));
  }
  j["services"] = services;
  j["instances"] = fleet.instances;
  j["max_instances"] = fleet.max_instances;
  j["total_connections"] = fleet.total_connections;
  j["available"] = fleet.database.available;
  j["fits_direct"] = fleet.fits_direct;
  Json surge;
  surge["service"] = fleet.surge_service.empty() ? Json(nullptr) : Json(fleet.surge_service);
  surge["connections"] = fleet.surge_connections;
  surge["extra"] = fleet.surge_connections - fleet.total_connections;
  surge["fits_direct"] = fleet.surge_fits_direct;
  j["surge"] = surge;
  j["vus"] = fleet.vus;
  Json triggers = Json::array();
  for (const Trigger& t : fleet.triggers) {
    triggers.push_back({ { "id", t.id }, { "reason", t.reason }, { "rule", t.rule } });
  }
  j["pgbouncer_triggers"] = triggers;
  j["recommendation"] = fleet.recommendation == Recommendation::pool ? "pool" : "pgbouncer";
  j["pgbouncer"] = pgbouncer(fleet);
  j["waits"] = waits(fleet);
  Json capacity;
  capacity["peak_concurrent"] = number(fleet.capacity.peak);
  capacity["peak_ceil"] = fleet.capacity.peak_ceil;
  capacity["buffered"] = fleet.capacity.buffered;
  capacity["server_connections"] = fleet.capacity.server_connections;
  capacity["fits"] = fleet.capacity.fits;
  j["capacity"] = capacity;
  j["server_connections"] = fleet.server_connections;
  j["utilization"] = number(round_decimal(fleet.utilization));
  j["findings"] = detail::findings_json(findings);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace poolcalc

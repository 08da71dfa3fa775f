#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"
#include "fleet_common.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc {

using namespace detail;

namespace {

// Left-aligned columns except those listed as numeric (right-aligned), two spaces apart.
void columns(std::string& out, const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& numeric)
{
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool right = i < numeric.size() && numeric[i];
      line += right ? fmt::format(" {:>{}}", row[i], width[i]) : fmt::format(" {:<{}}", row[i], width[i]);
      line += i + 1 < row.size() ? " " : "";
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
}

// Each transaction-pooled service's waits inside PgBouncer, with its throughput.
std::string fleet_waits_text(const Fleet& fleet)
{
  std::vector<std::vector<std::string>> rows = {
    { "service", "database", "user", "servers", "throughput", "P(wait)", "mean wait", "p95 wait", "p99 wait" },
  };
  std::vector<std::string> models;
  for (const FleetService& s : fleet.services) {
    if (!s.wait) {
      continue;
    }
    const QueueMetrics& m = *s.wait;
    const MetricIntervals* ci = m.intervals ? &*m.intervals : nullptr;
    const auto wait = [&](double value, double half) {
      if (!m.stable) {
        return std::string("unbounded");
      }
      return ci == nullptr ? wait_text(value) : with_interval(wait_text(value), wait_text(half));
    };
    rows.push_back({ s.input.name,
                     s.pgbouncer_database,
                     s.input.user,
                     fmt::format("{}", m.pool),
                     ci == nullptr ? fmt::format("{:.1f}/s", m.throughput_rps)
                                   : with_interval(fmt::format("{:.1f}/s", m.throughput_rps), fmt::format("{:.1f}/s", ci->throughput_rps)),
                     ci == nullptr ? share_text(m.p_wait) : with_interval(share_text(m.p_wait), share_text(ci->p_wait)),
                     wait(m.mean_wait_ms, ci ? ci->mean_wait_ms : 0),
                     wait(m.p95_wait_ms, ci ? ci->p95_wait_ms : 0),
                     wait(m.p99_wait_ms, ci ? ci->p99_wait_ms : 0) });
    models.push_back(fmt::format("  {}: {}\n", s.input.name, s.wait_model));
  }
  if (rows.size() == 1) {
    return "";
  }
  std::string out = "\nwaits inside PgBouncer (each service's queries; +- a simulated figure's 95 % interval)\n";
  columns(out, rows, { false, false, false, true, true, true, true, true, true });
  for (const std::string& line : models) {
    out += line;
  }
  return out;
}

} // namespace

std::string render_fleet_text(const Fleet& fleet, const std::vector<Finding>& findings)
{
  const FleetDatabase& db = fleet.database;
  std::string out;
  out += fmt::format("fleet {}: {} service{}, {} instance{}, PostgreSQL {}\n\n",
                     fleet.source,
                     fleet.services.size(),
                     fleet.services.size() == 1 ? "" : "s",
                     fleet_instances_text(fleet.instances, fleet.max_instances),
                     fleet.max_instances == 1 ? "" : "s",
                     db.version);

  out += "database\n";
  std::vector<std::vector<std::string>> database_rows = {
    { "max_connections", fmt::format("{}", db.max_connections), "" },
    { "reserved", fmt::format("{}", db.reserved_total), fleet_reserve_list(fleet) },
    { "available", fmt::format("{}", db.available), fmt::format("{} - {}", db.max_connections, db.reserved_total) },
  };
  if (db.url) {
    database_rows.push_back({ "url", "", db.url->masked() });
  }
  columns(out, database_rows, { false, true, false });
  const bool any_serverless =
    std::any_of(fleet.services.begin(), fleet.services.end(), [](const FleetService& s) { return s.input.scenario.serverless; });
  out +=
    fmt::format("\nservices (each sized by the rule of thumb: pool per instance = ceil(peak / instances) x burst + overhead, "
                "rounded{})\n",
                any_serverless ? "; a serverless service's: one request at a time per execution, rules serverless.pool_per_execution" : "");
  std::vector<std::vector<std::string>> rows = {
    { "service", "client", "load", "query", "instances", "peak", "pool", "connections", "setting" },
  };
  for (const FleetService& s : fleet.services) {
    rows.push_back({ s.input.name,
                     std::string(to_string(s.input.client)),
                     fleet_load_text(s),
                     fmt::format("{} ms", format_number(s.input.scenario.query_ms[s.input.scenario.design_index])),
                     fleet_instances_text(s.instances, s.max_instances),
                     format_number(s.peak),
                     fmt::format("{}", s.pool),
                     fmt::format("{}", s.connections),
                     s.pool_setting + (s.input.session_features ? " (session features)" : "") });
  }
  rows.push_back({ "total",
                   "",
                   "",
                   "",
                   fleet_instances_text(fleet.instances, fleet.max_instances),
                   format_number(fleet_peak_sum(fleet)),
                   "",
                   fmt::format("{}", fleet.total_connections),
                   "" });
  columns(out, rows, { false, false, false, true, true, true, true, true, false });

  out += fmt::format("\ndirect to PostgreSQL: {} connections {} {} available: {}\n",
                     fleet.total_connections,
                     fleet.fits_direct ? "<=" : ">",
                     db.available,
                     fleet.fits_direct ? "fits" : "does not fit");
  out += fmt::format("deploy: {}\n", fleet_surge_text(fleet));

  out += "\nPgBouncer triggers (rules pgbouncer.triggers, docs/model.md section 5)\n";
  if (fleet.triggers.empty()) {
    out += "  none applies\n";
  }
  for (const Trigger& t : fleet.triggers) {
    out += fmt::format("  - {} [{}]\n", t.reason, t.rule);
  }

  if (!fleet.pgbouncer) {
    out +=
      fmt::format("\nrecommendation: each service's pool as above, directly to PostgreSQL ({} connections)\n", fleet.total_connections);
  } else {
    const PgBouncerPlan& p = *fleet.pgbouncer;
    // Where PgBouncer listens on its own machine (its pgbouncer.ini), not an address the services know.
    out += fmt::format("\nrecommendation: PgBouncer (its pgbouncer.ini: listen_addr {}, listen_port {}), one pool per (database, user)\n",
                       p.listen_addr,
                       p.listen_port);
    columns(
      out,
      { { "server budget",
          fmt::format("{}", p.server_budget),
          fmt::format(
            "min(available {}, {} of max_connections {})", db.available, format_percent(fleet.safe_utilization_max), db.max_connections) },
        { "max_client_conn",
          fmt::format("{}", p.max_client_conn),
          fmt::format(
            "max(the rules' {}, every instance's pool during the deploy {})", p.max_client_conn_minimum, fleet.surge_connections) } },
      { false, true, false });
    std::vector<std::vector<std::string>> pools = {
      { "database",
        "user",
        "pool_mode",
        "peak",
        "default_pool_size",
        "reserve_pool_size",
        "max_db_connections",
        "clients",
        "wait mean / p95 / p99" },
    };
    for (const PgBouncerPool& pool : p.pools) {
      std::int64_t max_db = 0;
      for (const PgBouncerEntry& d : p.databases) {
        if (d.name == pool.database) {
          max_db = d.max_db_connections;
        }
      }
      pools.push_back({ pool.database,
                        pool.user,
                        std::string(to_string(pool.pool_mode)),
                        format_number(pool.peak),
                        fmt::format("{}", pool.default_pool_size),
                        fmt::format("{}", pool.reserve_pool_size),
                        fmt::format("{}", max_db),
                        fmt::format("{}", pool.surge_client_connections),
                        fleet_wait_text(pool) });
    }
    columns(out, pools, { false, false, false, true, true, true, true, true, false });
    out += fleet_waits_text(fleet);
  }
  out += fmt::format("\ncapacity: {}\n", fleet_capacity_text(fleet));

  out += "\nfindings\n";
  std::size_t id_width = 0;
  for (const Finding& f : findings) {
    id_width = std::max(id_width, f.id.size());
  }
  for (const Finding& f : findings) {
    out += fmt::format("  {:<4}  {:<{}}  {}\n", to_string(f.level), f.id, id_width, f.message);
  }
  return out;
}

} // namespace poolcalc

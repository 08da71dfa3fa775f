#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/numbers.hpp"

#include "fleet_common.hpp"

#include <fmt/format.h>

namespace poolcalc {

using namespace detail;

namespace {

std::string cell(std::string text)
{
  std::string out;
  for (char c : text) {
    out += c == '|' ? std::string("\\|") : std::string(1, c);
  }
  return out;
}

} // namespace

std::string render_fleet_markdown(const Fleet& fleet, const std::vector<Finding>& findings)
{
  const FleetDatabase& db = fleet.database;
  std::string out;
  out += fmt::format("# Connection review: fleet `{}`\n\n", fleet.source);
  if (fleet.pgbouncer) {
    out += fmt::format("**Recommendation:** PgBouncer, one pool per (database, user): {} server connections for {} client connections "
                       "(during the deploy). ",
                       fleet.pgbouncer->server_connections,
                       fleet.surge_connections);
  } else {
    out += fmt::format("**Recommendation:** each service's pool directly to PostgreSQL: {} connections. ", fleet.total_connections);
  }
  out += fmt::format("Capacity: {}.\n\n", fleet_capacity_text(fleet));

  out += "## Database\n\n| | |\n|---|---|\n";
  out += fmt::format("| PostgreSQL | {} |\n| max_connections | {} |\n| reserved | {} ({}) |\n| available | {} |\n",
                     db.version,
                     db.max_connections,
                     db.reserved_total,
                     cell(fleet_reserve_list(fleet)),
                     db.available);
  if (db.url) {
    out += fmt::format("| URL | `{}` |\n", db.url->masked());
  }

  out += "\n## Services\n\n| Service | Client | Load | Query | Instances | Peak | Pool per instance | Connections | Setting | Session "
         "features |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const FleetService& s : fleet.services) {
    out += fmt::format("| {} | {} | {} | {} ms | {} | {} | {} | {} | `{}` | {} |\n",
                       s.input.name,
                       to_string(s.input.client),
                       fleet_load_text(s),
                       format_number(s.input.scenario.query_ms[s.input.scenario.design_index]),
                       fleet_instances_text(s.instances, s.max_instances),
                       format_number(s.peak),
                       s.pool,
                       s.connections,
                       s.pool_setting,
                       s.input.session_features ? "yes" : "no");
  }
  out += fmt::format("| **total** | | | | {} | {} | | **{}** | | |\n\n",
                     fleet_instances_text(fleet.instances, fleet.max_instances),
                     format_number(fleet_peak_sum(fleet)),
                     fleet.total_connections);
  out += fmt::format("Directly to PostgreSQL: {} connections {} {} available: **{}**.\n\n",
                     fleet.total_connections,
                     fleet.fits_direct ? "≤" : ">",
                     db.available,
                     fleet.fits_direct ? "fits" : "does not fit");

  out += fmt::format("## Deploy surge\n\n{}.\n\n", fleet_surge_text(fleet));

  out += "## PgBouncer triggers\n\n";
  if (fleet.triggers.empty()) {
    out += "None of the PgBouncer triggers applies.\n\n";
  }
  for (const Trigger& t : fleet.triggers) {
    out += fmt::format("- {} (`{}`)\n", t.reason, t.rule);
  }
  if (!fleet.triggers.empty()) {
    out += "\n";
  }

  if (fleet.pgbouncer) {
    const PgBouncerPlan& p = *fleet.pgbouncer;
    out += "## PgBouncer plan\n\n";
    out += fmt::format("Listen on `{}:{}`; `max_client_conn = {}` (every instance's pool during the deploy: {}); server budget {} "
                       "= min(available {}, {} of max_connections {}).\n\n",
                       p.listen_addr,
                       p.listen_port,
                       p.max_client_conn,
                       fleet.surge_connections,
                       p.server_budget,
                       db.available,
                       format_percent(fleet.safe_utilization_max),
                       db.max_connections);
    out += "| Database | Server database | User | pool_mode | Services | Peak | default_pool_size | reserve_pool_size | Clients | Wait "
           "(mean / p95 / p99) |\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (const PgBouncerPool& pool : p.pools) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                         pool.database,
                         pool.dbname,
                         pool.user,
                         to_string(pool.pool_mode),
                         fmt::join(pool.services, ", "),
                         format_number(pool.peak),
                         pool.default_pool_size,
                         pool.reserve_pool_size,
                         pool.surge_client_connections,
                         cell(fleet_wait_text(pool)));
    }
    out += "\n| Database | max_db_connections |\n|---|---|\n";
    for (const PgBouncerEntry& d : p.databases) {
      out += fmt::format("| {} | {} |\n", d.name, d.max_db_connections);
    }
    out += "\n";
  }

  out += "## Findings\n\n| Level | Id | Finding | Source |\n|---|---|---|---|\n";
  for (const Finding& f : findings) {
    out += fmt::format("| {} | `{}` | {} | {} |\n", to_string(f.level), f.id, cell(f.message), cell(f.source));
  }
  return out;
}

} // namespace poolcalc

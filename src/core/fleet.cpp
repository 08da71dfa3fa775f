#include "poolcalc/fleet.hpp"

#include "fleet_waits.hpp"
#include "poolcalc/numbers.hpp"
#include "sizing_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace poolcalc {

namespace {

using detail::ceil_count;
using detail::scaling_row_for;

std::int64_t surge_instances(const FleetDeploy& deploy, std::int64_t instances)
{
  switch (deploy.strategy) {
  case DeployStrategy::rolling:
    if (deploy.max_surge_instances) {
      // Kubernetes never runs more new instances than the replicas: the surge is at most them.
      return std::min(*deploy.max_surge_instances, instances);
    }
    return detail::rolling_surge_instances(instances, deploy.max_surge_percent);
  case DeployStrategy::blue_green:
    return instances;
  case DeployStrategy::recreate:
    return 0;
  }
  return 0;
}

std::vector<Trigger> fleet_triggers(const Fleet& fleet, const Rules& rules)
{
  return pgbouncer_triggers({ fleet.vus,
                              fleet.scaling_row,
                              fleet.max_instances,
                              fleet.total_connections,
                              static_cast<std::int64_t>(fleet.services.size()),
                              false,
                              fleet.database.remote.value_or(false),
                              " in all",
                              fleet.max_instances > fleet.instances },
                            rules.pgbouncer_triggers);
}

// The name of each service's PgBouncer database entry. A service that needs session features
// cannot share a transaction-mode database entry: it gets its own session-mode entry for the
// same database, with a name of its own: unique (no service's database, no other database's
// session entry) and within PgBouncer's 63 bytes.
void name_entries(Fleet& fleet)
{
  const auto transaction_db = [&](const std::string& dbname) {
    return std::any_of(fleet.services.begin(), fleet.services.end(), [&](const FleetService& s) {
      return !s.input.session_features && s.input.database == dbname;
    });
  };
  const auto taken = [&](const std::string& name) {
    return std::any_of(fleet.services.begin(), fleet.services.end(), [&](const FleetService& s) { return s.input.database == name; });
  };
  std::map<std::string, std::string> session_entries; // entry name -> dbname
  for (FleetService& s : fleet.services) {
    std::string name = s.input.database;
    if (s.input.session_features && transaction_db(name)) {
      const auto clash = [&](const std::string& candidate) {
        const auto it = session_entries.find(candidate);
        return taken(candidate) || (it != session_entries.end() && it->second != s.input.database);
      };
      for (int n = 1;; ++n) {
        const std::string suffix = n == 1 ? "_session" : fmt::format("_session{}", n);
        name = s.input.database.substr(0, std::min<std::size_t>(s.input.database.size(), 63 - suffix.size())) + suffix;
        if (!clash(name)) {
          break;
        }
      }
      session_entries[name] = s.input.database;
    }
    s.pgbouncer_database = name;
  }
}

// Pools by (PgBouncer database, user), in the services' order; `members` gets each pool's
// services.
std::vector<PgBouncerPool> group_pools(const Fleet& fleet, std::vector<std::vector<const FleetService*>>& members)
{
  std::vector<PgBouncerPool> pools;
  for (const FleetService& s : fleet.services) {
    const std::string& name = s.pgbouncer_database;
    auto it = std::find_if(
      pools.begin(), pools.end(), [&](const PgBouncerPool& pool) { return pool.database == name && pool.user == s.input.user; });
    if (it == pools.end()) {
      PgBouncerPool pool;
      pool.database = name;
      pool.dbname = s.input.database;
      pool.user = s.input.user;
      pool.pool_mode = s.input.session_features ? PoolMode::session : PoolMode::transaction;
      pools.push_back(pool);
      members.emplace_back();
      it = pools.end() - 1;
    }
    const auto index = static_cast<std::size_t>(it - pools.begin());
    it->services.push_back(s.input.name);
    members[index].push_back(&s);
  }
  return pools;
}

// Session pools hold a server connection per client connection: sized to every client
// connection, surge included (a new instance's sessions would otherwise wait for the old
// ones to close). Transaction pools: the rule of thumb over the pair's whole load.
void size_pool(PgBouncerPool& pool, const std::vector<const FleetService*>& members, const PgBouncerSettingsRules& r)
{
  double peak = 0;
  std::int64_t buffered = 0;
  std::int64_t overhead = 0;
  std::int64_t round_to = 1;
  for (const FleetService* s : members) {
    peak += s->peak;
    buffered += s->buffered;
    overhead = std::max(overhead, s->input.scenario.overhead); // one set of health checks per pair
    round_to = s->input.scenario.round_to;
    pool.client_connections += s->connections;
    pool.surge_client_connections += s->connections + s->surge_connections;
  }
  pool.peak = round_decimal(peak);
  pool.peak_ceil = ceil_count(peak);
  if (pool.pool_mode == PoolMode::session) {
    pool.default_pool_size_wanted = pool.surge_client_connections;
    pool.default_pool_size = pool.default_pool_size_wanted;
    pool.server_connections = pool.default_pool_size;
    return;
  }
  detail::size_transaction_pool(pool, round_up(buffered + overhead, round_to), r);
}

// The transaction pools share what the session pools leave of the budget, in proportion to
// what each wants, keeping the reserve's ratio and at least one connection per pool.
void fit_budget(PgBouncerPlan& p, const PgBouncerSettingsRules& r)
{
  std::int64_t wanted_total = 0;
  for (const PgBouncerPool& pool : p.pools) {
    if (pool.pool_mode == PoolMode::session) {
      p.session_connections += pool.server_connections;
    } else {
      wanted_total += pool.server_connections;
    }
  }
  const std::int64_t remaining = std::max<std::int64_t>(0, p.server_budget - p.session_connections);
  if (wanted_total <= remaining) {
    return;
  }
  for (PgBouncerPool& pool : p.pools) {
    if (pool.pool_mode == PoolMode::session) {
      continue;
    }
    const auto share = static_cast<std::int64_t>(
      std::floor(static_cast<double>(remaining) * static_cast<double>(pool.server_connections) / static_cast<double>(wanted_total)));
    detail::fit_pool(pool, share, 1, r);
  }
}

// One [databases] entry per PgBouncer database, capped at its pools' server connections.
void list_entries(PgBouncerPlan& p)
{
  for (const PgBouncerPool& pool : p.pools) {
    p.server_connections += pool.server_connections;
    auto db = std::find_if(p.databases.begin(), p.databases.end(), [&](const PgBouncerEntry& d) { return d.name == pool.database; });
    if (db == p.databases.end()) {
      p.databases.push_back({ pool.database, pool.dbname, pool.pool_mode, 0 });
      db = p.databases.end() - 1;
    }
    db->max_db_connections += pool.server_connections;
  }
}

PgBouncerPlan plan_pgbouncer(Fleet& fleet, const Rules& rules)
{
  const PgBouncerSettingsRules& r = rules.pgbouncer_settings;
  PgBouncerPlan p =
    detail::pgbouncer_plan_settings(rules, fleet.surge_connections, fleet.database.available, fleet.database.max_connections);
  name_entries(fleet);
  std::vector<std::vector<const FleetService*>> members;
  p.pools = group_pools(fleet, members);
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    size_pool(p.pools[i], members[i], r);
  }
  fit_budget(p, r);
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    if (p.pools[i].pool_mode == PoolMode::transaction) {
      detail::set_min_pool_size(p.pools[i], r);
    }
  }
  list_entries(p);
  return p;
}

} // namespace

std::string pool_setting(Client client, std::int64_t pool)
{
  switch (client) {
  case Client::prisma:
    return fmt::format("connection_limit={}", pool);
  case Client::node_postgres:
    return fmt::format("max: {}", pool);
  case Client::hikaricp:
    return fmt::format("maximumPoolSize={}", pool);
  case Client::sqlalchemy:
    return fmt::format("pool_size={}, max_overflow=0", pool);
  case Client::go_database_sql:
    return fmt::format("SetMaxOpenConns({})", pool);
  case Client::pgx:
    return fmt::format("pool_max_conns={}", pool);
  case Client::other:
    break;
  }
  return fmt::format("pool size {}", pool);
}

namespace {

// One service alone, sized by the core as size() sizes it, with its deploy surge. The fleet shows
// no queueing report for a service (the wait it shows is its PgBouncer pool's, pool_wait), so the
// plan is made without one: with a large load the knee's search was most of a fleet's time.
FleetService size_service(const FleetServiceInput& input, const FleetDeploy& deploy, const Rules& rules)
{
  FleetService s;
  s.input = input;
  s.plan = size_without_queueing_report(input.scenario, rules);
  const ScenarioResult& design = s.plan.scenarios[s.plan.design_index];
  s.peak = design.peak_concurrent;
  s.peak_ceil = design.peak_total_ceil;
  s.buffered = ceil_count(static_cast<double>(s.peak_ceil) * input.scenario.burst);
  s.instances = input.scenario.instances;
  s.max_instances = input.scenario.max_instances;
  s.pool = s.plan.pool_size;
  // Every instance the autoscaler may run opens its pool: the fleet must fit then, and a deploy
  // rolls that many.
  s.connections = s.pool * s.max_instances;
  // Every service deploys as [deploy] says; a serverless platform that starts a new version's
  // executions beside the old ones is max_surge = "100%" (docs/fleet.md).
  s.surge_instances = surge_instances(deploy, s.max_instances);
  s.surge_connections = s.surge_instances * s.pool;
  s.pool_setting = pool_setting(input.client, s.pool);
  return s;
}

// The sums over the services and the most connections at once while deploying.
void add_up(Fleet& fleet)
{
  std::int64_t largest_surge = -1;
  std::int64_t surge_sum = 0;
  for (const FleetService& s : fleet.services) {
    fleet.instances += s.instances;
    fleet.max_instances += s.max_instances;
    fleet.total_connections += s.connections;
    surge_sum += s.surge_connections;
    if (s.surge_connections > largest_surge) {
      largest_surge = s.surge_connections;
      fleet.surge_service = s.input.name;
    }
    if (!s.input.scenario.rps) {
      fleet.vus += s.input.scenario.vus;
    }
  }
  // One service deploys at a time unless the file says they all do: the worst one counts.
  fleet.surge_connections = fleet.total_connections + (fleet.deploy.simultaneous ? surge_sum : largest_surge);
  if (fleet.deploy.simultaneous) {
    fleet.surge_service.clear();
  }
  fleet.fits_direct = fleet.total_connections <= fleet.database.available;
  fleet.surge_fits_direct = fleet.surge_connections <= fleet.database.available;
}

// Directly: every service's peak against the pools' connections that PostgreSQL can give.
FleetCapacity capacity_direct(const Fleet& fleet)
{
  FleetCapacity c;
  double peak = 0;
  for (const FleetService& s : fleet.services) {
    peak += s.peak;
    c.buffered += s.buffered;
  }
  c.server_connections = std::min(fleet.total_connections, fleet.database.available);
  c.peak = round_decimal(peak);
  c.peak_ceil = ceil_count(peak);
  c.fits = c.peak_ceil <= c.server_connections;
  return c;
}

// Through PgBouncer: each transaction pool's peak against its server connections (a session
// pool has one per client connection).
FleetCapacity capacity_through_pgbouncer(const Fleet& fleet)
{
  FleetCapacity c;
  double peak = 0;
  for (const PgBouncerPool& pool : fleet.pgbouncer->pools) {
    if (pool.pool_mode != PoolMode::transaction) {
      continue;
    }
    peak += pool.peak;
    c.server_connections += pool.server_connections;
    c.fits = c.fits && pool.peak_ceil <= pool.server_connections;
  }
  for (const FleetService& s : fleet.services) {
    if (!s.input.session_features) {
      c.buffered += s.buffered;
    }
  }
  c.peak = round_decimal(peak);
  c.peak_ceil = peak > 0 ? ceil_count(peak) : 0;
  return c;
}

} // namespace

std::string fleet_base_phrase(const Fleet& fleet)
{
  return fleet.max_instances > fleet.instances ? "at the autoscalers' maximum" : "steady";
}

Fleet size_fleet(const FleetFile& file, const Rules& rules)
{
  Fleet fleet;
  fleet.source = file.source;
  fleet.database = file.database;
  fleet.deploy = file.deploy;
  fleet.safe_utilization_max = rules.database.safe_utilization_max;
  for (const FleetServiceInput& input : file.services) {
    fleet.services.push_back(size_service(input, file.deploy, rules));
  }
  add_up(fleet);
  fleet.scaling_row = fleet.vus > 0 ? scaling_row_for(rules.scaling, fleet.vus) : nullptr;
  fleet.triggers = fleet_triggers(fleet, rules);
  if (fleet.triggers.empty()) {
    fleet.recommendation = Recommendation::pool;
    fleet.server_connections = fleet.total_connections;
    fleet.capacity = capacity_direct(fleet);
  } else {
    fleet.recommendation = Recommendation::pgbouncer;
    fleet.pgbouncer = plan_pgbouncer(fleet, rules);
    detail::model_fleet_waits(fleet, { 1, rules.queueing.simulation_precision, rules.queueing.simulation_max_events, {} });
    fleet.server_connections = fleet.pgbouncer->server_connections;
    fleet.capacity = capacity_through_pgbouncer(fleet);
  }
  fleet.utilization = static_cast<double>(fleet.server_connections) / static_cast<double>(fleet.database.max_connections);
  return fleet;
}

} // namespace poolcalc

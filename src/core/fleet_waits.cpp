// The waits inside a fleet's PgBouncer (docs/fleet.md, "Waits"), modelled on the pgbouncer.ini
// poolcalc writes for it, read back as PgBouncer 1.18 runs it: every (database, user) pair of an
// entry gets the entry's pool_size and reserve_pool, the entry's max_db_connections caps its
// pairs together and a [users] max_user_connections caps a user's pairs together (PgBouncer 1.18
// has no per-user pool size). Each service keeps its own load: VUs stay a closed loop, arrivals an
// open one, each instance behind its own client pool.
#include "fleet_waits.hpp"

#include "pool_model.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/pgbouncer_config.hpp"
#include "poolcalc/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace poolcalc::detail {

namespace {

// PgBouncer's default_pool_size when neither the entry nor [pgbouncer] sets one (PgBouncer
// documentation, "default_pool_size": 20).
constexpr std::int64_t k_pgbouncer_default_pool_size = 20;

// The most VUs a fleet's PgBouncer is simulated with, over every service and instance.
constexpr double k_max_simulated_fleet_users = 1'000'000;

struct ServiceLoad
{
  std::int64_t users_per_instance = 0; // closed
  double arrival_rps_per_instance = 0; // open
  Distribution think;
  Distribution hold;
};

ServiceLoad service_load(const FleetService& s)
{
  const Scenario& sc = s.input.scenario;
  const double hold_s = sc.query_ms[sc.design_index] / 1000.0;
  const auto instances = static_cast<double>(s.instances);
  ServiceLoad load;
  load.hold = with_mean(sc.hold_shape, hold_s);
  if (sc.rps) {
    load.arrival_rps_per_instance = *sc.rps * sc.queries_per_request / instances;
  } else {
    const double users = round_decimal(static_cast<double>(sc.vus) * sc.activity / instances);
    load.users_per_instance = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(users)));
    load.think = with_mean(sc.think_shape, 1.0 / vu_query_rate(sc, hold_s) - hold_s);
  }
  return load;
}

// The PgBouncer of the written pgbouncer.ini, with one server pool per transaction pair of the
// plan (in the plan's order); session pools hold a server per client and make nobody wait.
SimPgBouncer written_pgbouncer(const PgBouncerPlan& plan, const PgBouncerConfig& config, std::vector<int>& server_pool_of)
{
  SimPgBouncer b;
  b.reserve_pool_timeout_s = config.settings.reserve_pool_timeout_s ? config.settings.reserve_pool_timeout_s->value : 5.0;
  b.query_wait_timeout_s = config.settings.query_wait_timeout_s ? config.settings.query_wait_timeout_s->value : 120.0;
  const std::int64_t fallback_size =
    config.settings.default_pool_size ? config.settings.default_pool_size->value : k_pgbouncer_default_pool_size;
  for (const PgBouncerDatabase& db : config.databases) {
    if (db.max_db_connections) {
      b.database_caps[db.name] = *db.max_db_connections;
    }
  }
  for (const PgBouncerUser& user : config.users) {
    if (user.max_user_connections) {
      b.user_caps[user.name] = *user.max_user_connections;
    }
  }
  server_pool_of.assign(plan.pools.size(), -1);
  for (std::size_t i = 0; i < plan.pools.size(); ++i) {
    const PgBouncerPool& pool = plan.pools[i];
    if (pool.pool_mode != PoolMode::transaction) {
      continue;
    }
    const auto entry =
      std::find_if(config.databases.begin(), config.databases.end(), [&](const PgBouncerDatabase& db) { return db.name == pool.database; });
    SimServerPool server;
    server.database = pool.database;
    server.user = pool.user;
    server.pool_size = entry != config.databases.end() ? entry->pool_size.value_or(fallback_size) : pool.default_pool_size;
    server.reserve_pool_size = entry != config.databases.end() ? entry->reserve_pool.value_or(0) : pool.reserve_pool_size;
    server_pool_of[i] = static_cast<int>(b.pools.size());
    b.pools.push_back(std::move(server));
  }
  return b;
}

// The most server connections the pair can ever hold: its entry's pool_size + reserve, within
// the entry's and the user's caps.
std::int64_t effective_servers(const SimPgBouncer& b, const SimServerPool& pool)
{
  std::int64_t servers = pool.pool_size + pool.reserve_pool_size;
  if (const auto cap = b.database_caps.find(pool.database); cap != b.database_caps.end()) {
    servers = std::min(servers, cap->second);
  }
  if (const auto cap = b.user_caps.find(pool.user); cap != b.user_caps.end()) {
    servers = std::min(servers, cap->second);
  }
  return servers;
}

// One closed service alone on its pair, exponential holds, every VU with a client connection of
// its own and the pair's caps out of reach: the exact M/M/c//N, on the pool_size connections
// (the reserve opens only after reserve_pool_timeout).
bool analytic_pair(const FleetService& s, const ServiceLoad& load, const SimPgBouncer& b, const SimServerPool& pool)
{
  return !s.input.scenario.rps && load.hold.family == Distribution::Family::exponential && s.pool >= load.users_per_instance &&
         effective_servers(b, pool) >= pool.pool_size;
}

} // namespace

void model_fleet_waits(Fleet& fleet, const FleetWaitOptions& options)
{
  PgBouncerPlan& plan = *fleet.pgbouncer;
  const auto config = pgbouncer_config_from_fleet(fleet);
  if (!config) {
    return; // the plan cannot be written: nothing to model (the output says why)
  }
  std::vector<int> server_pool_of;
  SimModel model;
  model.pgbouncer = written_pgbouncer(plan, *config, server_pool_of);
  const SimPgBouncer& b = *model.pgbouncer;

  // The services on each transaction pair, and whether every pair has an exact answer.
  std::vector<std::vector<std::size_t>> members(plan.pools.size());
  std::vector<ServiceLoad> loads(fleet.services.size());
  std::vector<int> group_of(fleet.services.size(), -1);
  bool all_analytic = true;
  for (std::size_t i = 0; i < fleet.services.size(); ++i) {
    FleetService& s = fleet.services[i];
    loads[i] = service_load(s);
    for (std::size_t p = 0; p < plan.pools.size(); ++p) {
      const PgBouncerPool& pool = plan.pools[p];
      if (server_pool_of[p] >= 0 && pool.database == s.pgbouncer_database && pool.user == s.input.user) {
        members[p].push_back(i);
      }
    }
  }
  for (std::size_t p = 0; p < plan.pools.size(); ++p) {
    if (server_pool_of[p] >= 0) {
      const SimServerPool& server = b.pools[static_cast<std::size_t>(server_pool_of[p])];
      all_analytic =
        all_analytic && members[p].size() == 1 && analytic_pair(fleet.services[members[p].front()], loads[members[p].front()], b, server);
    }
  }

  if (all_analytic) {
    for (std::size_t p = 0; p < plan.pools.size(); ++p) {
      if (server_pool_of[p] < 0) {
        continue;
      }
      FleetService& s = fleet.services[members[p].front()];
      const SimServerPool& server = b.pools[static_cast<std::size_t>(server_pool_of[p])];
      const ServiceLoad& load = loads[members[p].front()];
      ClosedLoad closed{ load.users_per_instance * s.instances, load.hold.mean_s, load.think.mean_s };
      s.wait = closed_metrics(closed, server.pool_size, 0);
      s.wait_model = fmt::format("closed (M/M/c//N, exact for exponential holds): {} active VUs, each holding {} ms then "
                                 "thinking {} ms, on {} server connections",
                                 closed.users,
                                 format_number(closed.hold_s * 1000.0),
                                 format_number(closed.think_s * 1000.0),
                                 server.pool_size);
      plan.pools[p].wait = s.wait;
      plan.pools[p].wait_model = s.wait_model;
    }
    return;
  }

  for (std::size_t i = 0; i < fleet.services.size(); ++i) {
    const FleetService& s = fleet.services[i];
    const auto pair = std::find_if(
      members.begin(), members.end(), [&](const std::vector<std::size_t>& m) { return std::find(m.begin(), m.end(), i) != m.end(); });
    if (pair == members.end()) {
      continue; // a session pool or no pool: no PgBouncer wait
    }
    SimGroup group;
    group.name = s.input.name;
    group.instances = s.instances;
    group.users = loads[i].users_per_instance;
    group.arrival_rps = loads[i].arrival_rps_per_instance;
    group.think = loads[i].think;
    group.hold = loads[i].hold;
    group.pool = s.pool;
    group.pool_timeout_s = s.input.scenario.pool_timeout_s;
    group.server_pool = server_pool_of[static_cast<std::size_t>(pair - members.begin())];
    group_of[i] = static_cast<int>(model.groups.size());
    model.groups.push_back(std::move(group));
  }
  // Each replication cycles every VU: past a million in all, the waits are not modelled.
  double users = 0;
  for (const SimGroup& g : model.groups) {
    users += static_cast<double>(g.users) * static_cast<double>(g.instances);
  }
  if (users > k_max_simulated_fleet_users) {
    for (std::size_t p = 0; p < plan.pools.size(); ++p) {
      if (server_pool_of[p] >= 0) {
        plan.pools[p].wait_model = fmt::format("not modelled: {} VUs through PgBouncer are more than the {} poolcalc simulates",
                                               format_number(users, 0),
                                               format_number(k_max_simulated_fleet_users, 0));
      }
    }
    return;
  }
  SimOptions sim;
  sim.seed = options.stream;
  sim.precision.relative = options.precision;
  sim.precision.absolute_wait_ms = 0.5; // as a plan's pool (pool_model.cpp)
  sim.max_events = options.max_events;
  if (options.progress) {
    sim.progress = [&](double share) { options.progress("the fleet's PgBouncer", share); };
  }
  const SimResult result = simulate(model, sim);
  for (std::size_t i = 0; i < fleet.services.size(); ++i) {
    if (group_of[i] < 0) {
      continue;
    }
    FleetService& s = fleet.services[i];
    const SimGroup& g = model.groups[static_cast<std::size_t>(group_of[i])];
    const SimServerPool& server = b.pools[static_cast<std::size_t>(g.server_pool)];
    s.wait = queue_metrics_of(result.groups[static_cast<std::size_t>(group_of[i])],
                              result,
                              s.input.scenario.rps ? QueueModel::open : QueueModel::closed,
                              effective_servers(b, server));
    s.wait_model =
      fmt::format("simulated, stream {}: {} on {}/{} (pool_size {} + reserve_pool {}, at most {} server connections as written), "
                  "each instance behind its client pool of {}",
                  options.stream,
                  s.input.scenario.rps ? fmt::format("{} queries/s per instance", format_number(g.arrival_rps, 2))
                                       : fmt::format("{} VUs per instance", g.users),
                  server.database,
                  server.user,
                  server.pool_size,
                  server.reserve_pool_size,
                  effective_servers(b, server),
                  g.pool);
  }
  // An open load at or above the most server connections its pool can hold grows without bound:
  // no wait is a number there, whatever the simulated time showed.
  std::vector<double> open_erlangs(b.pools.size(), 0.0);
  for (const SimGroup& g : model.groups) {
    open_erlangs[static_cast<std::size_t>(g.server_pool)] += g.arrival_rps * static_cast<double>(g.instances) * g.hold.mean_s;
  }
  const auto mark_unstable = [&](QueueMetrics& m, int server_pool) {
    const std::size_t i = static_cast<std::size_t>(server_pool);
    if (open_erlangs[i] > 0 && open_erlangs[i] >= static_cast<double>(effective_servers(b, b.pools[i]))) {
      m.stable = false;
      m.model = QueueModel::open;
    }
  };
  for (std::size_t i = 0; i < fleet.services.size(); ++i) {
    if (group_of[i] >= 0 && fleet.services[i].wait) {
      mark_unstable(*fleet.services[i].wait, model.groups[static_cast<std::size_t>(group_of[i])].server_pool);
    }
  }
  for (std::size_t p = 0; p < plan.pools.size(); ++p) {
    if (server_pool_of[p] < 0) {
      continue;
    }
    const SimServerPool& server = b.pools[static_cast<std::size_t>(server_pool_of[p])];
    if (static_cast<std::size_t>(server_pool_of[p]) >= result.server_pools.size()) {
      continue; // a simulation that ran nothing (no load)
    }
    plan.pools[p].wait = queue_metrics_of(
      result.server_pools[static_cast<std::size_t>(server_pool_of[p])], result, QueueModel::closed, effective_servers(b, server));
    plan.pools[p].wait_model = fmt::format("simulated with every service of the fleet (stream {}): {} service{} on pool_size {} + "
                                           "reserve_pool {}, at most {} server connections as written",
                                           options.stream,
                                           members[p].size(),
                                           members[p].size() == 1 ? "" : "s",
                                           server.pool_size,
                                           server.reserve_pool_size,
                                           effective_servers(b, server));
    mark_unstable(*plan.pools[p].wait, server_pool_of[p]);
  }
}

} // namespace poolcalc::detail

#pragma once
// PgBouncer sized by poolcalc, for one application (a Plan) or a fleet of services (a Fleet):
// the same type and the same arithmetic for both. A plan has one pool, for the whole load; a
// fleet has one per (database, user) pair, PgBouncer's unit (default_pool_size is per pair).
// Written as a pgbouncer.ini by pgbouncer_config_from_plan / pgbouncer_config_from_fleet.

#include "poolcalc/pool_mode.hpp"
#include "poolcalc/queueing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace poolcalc {

// One PgBouncer pool: its server connections and the clients on it.
struct PgBouncerPool
{
  std::string database; // fleet: the name clients connect to at PgBouncer ([databases] entry); plan: empty
  std::string dbname;   // fleet: the server's database; plan: empty
  std::string user;     // fleet: the role; plan: empty (every user of the load)
  PoolMode pool_mode = PoolMode::transaction;
  std::vector<std::string> services;         // fleet: the services on the pair
  double peak = 0;                           // the design peak concurrent queries on the pool
  std::int64_t peak_ceil = 0;                //
  std::int64_t default_pool_size_wanted = 0; // before fitting the server budget
  std::int64_t default_pool_size = 0;        //
  std::int64_t reserve_pool_size = 0;        //
  std::int64_t min_pool_size = 0;            //
  std::int64_t server_connections = 0;       // default + reserve: what PostgreSQL sees of this pool
  std::int64_t client_connections = 0;       // every instance's client pool on it
  std::int64_t surge_client_connections = 0; // fleet: the same while the deploy surges
  std::optional<QueueMetrics> wait;          // fleet, transaction pools: the queueing model on default_pool_size
  std::string wait_model;                    // how the load was modelled, for the output
};

// One [databases] entry of a fleet's PgBouncer.
struct PgBouncerEntry
{
  std::string name;
  std::string dbname;
  PoolMode pool_mode = PoolMode::transaction;
  std::int64_t max_db_connections = 0; // its pools' server connections summed
};

// The [pgbouncer] settings poolcalc sizes or takes from the rules (docs/pgbouncer.md's example),
// and the pools.
struct PgBouncerPlan
{
  std::int64_t listen_port = 0;
  std::string listen_addr;
  std::string auth_type;
  std::string auth_file;
  PoolMode pool_mode = PoolMode::transaction; // the global default (the rules')
  double reserve_pool_timeout_s = 0;
  std::int64_t max_client_conn = 0;         // >= every client connection (a fleet's: during the surge)
  std::int64_t max_client_conn_minimum = 0; // the rules' value
  std::int64_t server_connections = 0;      // the pools' default + reserve summed: what PostgreSQL sees
  std::int64_t server_budget = 0;           // pgbouncer_server_budget()
  std::int64_t session_connections = 0;     // fleet: taken by session pools, sized to their clients
  std::vector<PgBouncerEntry> databases;    // fleet: [databases]; plan: none (written from the URL)
  std::vector<PgBouncerPool> pools;         // plan: exactly one; fleet: one per (database, user)
};

// The server connections PgBouncer may open: min(available, floor(safe_utilization_max x
// max_connections)). They are ours to choose, so they stay inside the safe band as well as inside
// the connections available.
std::int64_t pgbouncer_server_budget(std::int64_t available, std::int64_t max_connections, double safe_utilization_max);

} // namespace poolcalc

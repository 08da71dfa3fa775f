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

// Where PgBouncer runs (--topology): one PgBouncer every application instance connects to
// (shared), or one beside each instance, reached on 127.0.0.1 (sidecar). A sidecar multiplexes
// only its own instance's clients, so every instance needs its own server pool: the server
// budget is divided by the instances.
enum class Topology
{
  shared,
  sidecar,
};

// "shared", "sidecar".
std::string_view to_string(Topology topology);

// The topology the word names; none for any other text.
std::optional<Topology> parse_topology(std::string_view text);

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
  Topology topology = Topology::shared;
  std::int64_t pgbouncers = 1; // how many PgBouncers run: 1 shared, or one per application instance
  // Where the application reaches PgBouncer: --pgbouncer-host for a shared one, 127.0.0.1 for a
  // sidecar; empty when not given (never guessed). `port` is the given one, else listen_port.
  std::string host;
  std::int64_t port = 0;
  std::int64_t listen_port = 0;
  std::string listen_addr;
  std::string auth_type;
  std::string auth_file;
  PoolMode pool_mode = PoolMode::transaction; // the global default (the rules')
  double reserve_pool_timeout_s = 0;
  std::int64_t max_client_conn = 0;         // >= every client connection (a fleet's: during the surge)
  std::int64_t max_client_conn_minimum = 0; // the rules' value
  std::int64_t server_connections = 0;      // the pools' default + reserve summed, over every PgBouncer: what PostgreSQL sees
  // The same for one PgBouncer (a sidecar's share; the shared PgBouncer's is server_connections).
  std::int64_t server_connections_each = 0;
  // One shared PgBouncer's server connections for the same load, beside a sidecar plan's (what the
  // sidecars cost); 0 for a shared plan.
  std::int64_t shared_server_connections = 0;
  std::int64_t server_budget = 0;        // pgbouncer_server_budget()
  std::int64_t session_connections = 0;  // fleet: taken by session pools, sized to their clients
  std::vector<PgBouncerEntry> databases; // fleet: [databases]; plan: none (written from the URL)
  std::vector<PgBouncerPool> pools;      // plan: exactly one; fleet: one per (database, user)
};

// The open files one PgBouncer expects to need, as PgBouncer 1.18 counts them at start and logs
// as "max expected fd use" (src/main.c check_limits()): max_client_conn + 10 "just in case" + 2
// for its admin console's pool + each database's pool_size (default_pool_size unless the entry
// sets one; `pool_sizes` is their sum) for every user it knows: the auth_file's login roles and
// its own "pgbouncer" admin user. PgBouncer's manual gives the same theoretical maximum,
// max_client_conn + max pool_size x databases x users
// (https://www.pgbouncer.org/config.html#max_client_conn). Measured against PgBouncer 1.18 in
// tests/integration/test_pgbouncer.cpp.
std::int64_t pgbouncer_open_files(std::int64_t max_client_conn, std::int64_t pool_sizes, std::int64_t login_roles);

// The soft open-file limit a service gets unless it sets one: systemd's DefaultLimitNOFILE soft
// value 1024 (systemd-system.conf(5)), also the usual `ulimit -n` of a login shell, and the
// value Debian's pgbouncer.service leaves commented out (#LimitNOFILE=1024).
inline constexpr std::int64_t k_common_open_files_limit = 1024;

// The server connections PgBouncer may open: min(available, floor(safe_utilization_max x
// max_connections)). They are ours to choose, so they stay inside the safe band as well as inside
// the connections available.
std::int64_t pgbouncer_server_budget(std::int64_t available, std::int64_t max_connections, double safe_utilization_max);

} // namespace poolcalc

#pragma once
// `poolcalc fleet FILE.toml`: several services sharing one PostgreSQL (docs/fleet.md). Each
// service is a Scenario sized by the core's size(); the fleet adds the shared database, the sums,
// the deploy surge, the PgBouncer triggers (docs/model.md, section 5) for the whole fleet, a PgBouncer plan with one
// pool per (database, user) pair, and the capacity truth: PgBouncer multiplexes clients but
// cannot run more queries at once than it has server connections. Pure: no I/O, no printing.

#include "poolcalc/database_url.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/pgbouncer_plan.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// The most services one fleet file may list: with each service's connections bounded by
// k_max_total_connections, every sum over the fleet stays far inside a 64-bit integer.
inline constexpr std::size_t k_max_fleet_services = 1000;

// The client library a service pools with: decides how its pool size is written.
enum class Client
{
  prisma,
  node_postgres,
  hikaricp,
  sqlalchemy,
  go_database_sql,
  pgx,
  other,
};

// "prisma", "node-postgres", ... as in the fleet file.
std::string_view to_string(Client client);

// The pool size in the library's own terms: "connection_limit=30" (Prisma's URL parameter),
// "max: 30" (pg.Pool), "maximumPoolSize=30", "pool_size=30, max_overflow=0",
// "SetMaxOpenConns(30)", "pool_max_conns=30", "pool size 30".
std::string pool_setting(Client client, std::int64_t pool);

enum class DeployStrategy
{
  rolling,    // old and new instances side by side: up to max_surge extra instances for a while
  blue_green, // the whole new colour beside the old one: every instance doubled
  recreate,   // all old instances stop before the new ones start: no surge, downtime
};

// "rolling", "blue-green", "recreate".
std::string_view to_string(DeployStrategy strategy);

// The shared database: [database] of the fleet file.
struct FleetDatabase
{
  std::int64_t max_connections = 0;
  std::int64_t version = 0;                   // PostgreSQL major version
  std::vector<ReserveEntry> reserve;          // as given ([database.reserve]), or the rules' budget
  std::int64_t reserved_connections = 0;      // PostgreSQL 16+'s reserved_connections setting
  std::vector<std::string> reserve_not_count; // reserve names that take no max_connections slot
  std::int64_t reserved_total = 0;            // the reserve that takes slots, reserved_connections included
  std::int64_t available = 0;                 // max_connections - reserved_total
  std::optional<DatabaseUrl> url;
  std::optional<bool> remote; // [database] remote, else from the URL's host; none when unknown
};

struct FleetDeploy
{
  DeployStrategy strategy = DeployStrategy::rolling;
  std::optional<std::int64_t> max_surge_instances; // rolling, given as a count
  double max_surge_percent = 0;                    // rolling, given as "N%" or the rules' default
  bool max_surge_default = false;                  // the rules' default (Kubernetes' 25 %)
  bool simultaneous = false;                       // every service deploys at once (else one at a time)
};

// One [[service]] as read and validated.
struct FleetServiceInput
{
  std::string name;
  Client client = Client::other;
  bool session_features = false; // LISTEN/NOTIFY, session advisory locks, SET, prepared statements
  std::string database;
  std::string user;
  Scenario scenario; // the workload keys through build_scenario, with the fleet's database
};

struct FleetFile
{
  std::string source; // the file name, for the output
  FleetDatabase database;
  FleetDeploy deploy;
  std::vector<FleetServiceInput> services;
};

// Reads and validates a fleet file (format: docs/fleet.md), building each service's Scenario
// with build_scenario. Returns an error string "FILE:LINE:COLUMN: KEY: what is wrong; what is
// accepted" for a syntax error, an unknown key, a wrong type, a value out of range or a missing
// key.
poolcalc::expected<FleetFile, std::string> parse_fleet_toml(std::string_view toml_text, std::string_view source_name, const Rules& rules);

// One service of the fleet, sized.
struct FleetService
{
  FleetServiceInput input;
  Plan plan;                          // the core's plan for the service alone (size_without_queueing_report)
  double peak = 0;                    // the whole service's design peak concurrent queries
  std::int64_t peak_ceil = 0;         // rounded up
  std::int64_t buffered = 0;          // ceil(peak_ceil x burst): the peak with the rule of thumb's burst
  std::int64_t instances = 0;         // the instances that carry the load
  std::int64_t max_instances = 0;     // the autoscaler's largest count (max_instances, default instances)
  std::int64_t pool = 0;              // per instance (the core's pool)
  std::int64_t connections = 0;       // pool x max_instances: every instance the autoscaler may run opens its pool
  std::int64_t surge_instances = 0;   // extra instances while it deploys
  std::int64_t surge_connections = 0; // surge_instances x pool
  std::string pool_setting;           // the pool in the client library's terms
  std::string pgbouncer_database;     // the PgBouncer database it connects to; empty without PgBouncer
  std::optional<QueueMetrics> wait;   // through PgBouncer's transaction pooling: its queries' waits and throughput
  std::string wait_model;             // how they were modelled, for the output
};

// The fleet's peak concurrent queries against the server connections that can run them.
struct FleetCapacity
{
  double peak = 0;                     // transaction-pooled (or, directly, all) services' peaks summed
  std::int64_t peak_ceil = 0;          //
  std::int64_t buffered = 0;           // the peaks with each service's burst buffer
  std::int64_t server_connections = 0; // through PgBouncer: its transaction pools' default + reserve
  bool fits = true;                    // every pool's peak fits its server connections
};

struct Fleet
{
  std::string source;
  FleetDatabase database;
  FleetDeploy deploy;
  std::vector<FleetService> services;

  std::int64_t instances = 0;              // summed over the services
  std::int64_t max_instances = 0;          // the autoscalers' largest counts, summed
  std::int64_t total_connections = 0;      // every instance's pool, at the autoscalers' maximum
  std::int64_t surge_connections = 0;      // the most at once while deploying
  std::string surge_service;               // one at a time: the service whose deploy needs the most
  bool fits_direct = false;                // total_connections <= available
  bool surge_fits_direct = false;          // surge_connections <= available
  std::int64_t vus = 0;                    // closed-load services' VUs summed (the scaling table's users)
  const ScalingRow* scaling_row = nullptr; // points into the rules

  std::vector<Trigger> triggers;
  Recommendation recommendation = Recommendation::pool;
  std::optional<PgBouncerPlan> pgbouncer; // one pool per (database, user) pair
  FleetCapacity capacity;

  std::int64_t server_connections = 0; // what PostgreSQL sees: the fleet's pools, or PgBouncer's
  double utilization = 0;              // server_connections / max_connections
  double safe_utilization_max = 0;
};

// Sizes every service and the fleet. `rules` must outlive the result (scaling_row).
Fleet size_fleet(const FleetFile& file, const Rules& rules);

// What the fleet's connections before a deploy's surge are, for people: "steady", or "at the
// autoscalers' maximum" when a service's max_instances is above its instances.
std::string fleet_base_phrase(const Fleet& fleet);

// The fleet's findings (ids `fleet.*`, docs/rules.md): fail first, then warn, then info.
std::vector<Finding> evaluate_fleet(const Fleet& fleet, const Rules& rules);

} // namespace poolcalc

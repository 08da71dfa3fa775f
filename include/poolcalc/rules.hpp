#pragma once
// The rules: every default and threshold poolcalc uses (data/rules.toml, documented key by key
// in docs/rules.md). Parsed and validated here; nothing else reads TOML for the rules. Every key
// is required, so the members below are only value-initialized: their values are rules.toml's.

#include "poolcalc/expected.hpp"
#include "poolcalc/pool_mode.hpp"
#include "poolcalc/queueing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// PostgreSQL's most connections (MAX_BACKENDS): no max_connections, reserve or pool goes above.
inline constexpr std::int64_t k_max_connections_limit = 262'143;

// A name poolcalc accepts for a reserve or an operation: letters, digits, '_' or '-'.
bool is_plain_name(std::string_view name);

struct ReserveEntry
{
  std::string name;
  std::int64_t connections = 0;
};

// One row of the scaling table (docs/rules.md, "[[scaling]]").
struct ScalingRow
{
  std::int64_t users_min = 0;
  std::optional<std::int64_t> users_max; // none: open-ended ("500+")
  std::int64_t pool_min = 0;             // 0 with pgbouncer
  std::int64_t pool_max = 0;
  std::int64_t max_connections = 0;
  bool pgbouncer = false; // "Use PgBouncer"
};

struct SizingRules
{
  double activity = 0;
  double vu_rate_per_s = 0;
  double burst = 0;
  std::int64_t overhead = 0;
  std::int64_t round_to{};
};

struct DatabaseRules
{
  std::int64_t max_connections = 0;
  double safe_utilization_min = 0;
  double safe_utilization_max = 0;
  std::vector<ReserveEntry> reserved;
};

struct PostgresFacts
{
  std::int64_t superuser_reserved_connections_default{};
  std::int64_t wal_senders_separate_since{};
};

struct TimeoutRules
{
  double pool_timeout_s = 0;
  double connect_timeout_s = 0;
  double client_request_timeout_s = 0;
};

struct PrismaDefaults
{
  std::int64_t connection_limit_per_physical_cpu = 0;
  std::int64_t connection_limit_add = 0;
  double pool_timeout_s = 0;
  double connect_timeout_s = 0;
};

struct PgBouncerTriggers
{
  std::int64_t instances_above = 0;
  std::int64_t total_connections_above = 0;
  std::int64_t services_above = 0;
  bool transaction_pooling{};
  bool remote_database{};
};

struct PgBouncerSettingsRules
{
  std::int64_t listen_port{};
  std::string listen_addr;
  std::string auth_type;
  std::string auth_file;
  PoolMode pool_mode = PoolMode::transaction;
  std::int64_t max_client_conn = 0;
  double min_pool_ratio = 0;
  double reserve_pool_ratio = 0;
  double reserve_pool_timeout_s = 0;
};

struct MonitoringRules
{
  double active_warn_ratio = 0;
  double active_critical_ratio = 0;
  std::int64_t idle_warn_below = 0;
  std::int64_t idle_critical_below = 0;
  std::int64_t pending_warn_above = 0;
  std::int64_t pending_critical_above = 0;
  double timeout_error_warn_rate = 0;
  double timeout_error_critical_rate = 0;
};

struct LoadTestPhase
{
  std::string name;
  double share = 0;     // of the target load, (0, 1]
  std::string duration; // k6's --duration, e.g. "30s"
};

struct ReportRules
{
  std::int64_t consider_pgbouncer_above_pool{};
};

struct QueueingRules
{
  double rule_of_thumb_far_ratio{};
  double knee_p_wait{};
  double hold_cv{};       // the hold's coefficient of variation when none is given (--query-cv)
  double think_cv{};      // a VU's pause's (--think-cv)
  double heavy_tail_cv{}; // simulated holds more variable than this: finding queueing.heavy_tail
  // The simulation (docs/model.md, "Simulation"): stop when every figure's 95 % interval is
  // within this share of it (or a small absolute floor), or after this many events.
  double simulation_precision{};
  std::int64_t simulation_max_events{};
};

// `poolcalc inspect`: how it talks to a live server and what it flags there.
struct InspectRules
{
  double connect_timeout_s{};          // unless --connect-timeout or the URL's connect_timeout sets it
  std::int64_t statement_timeout_ms{}; // everything after the connection; each query's statement_timeout
  double idle_in_transaction_warn_s{}; // a session idle in transaction this long: a leak
  double active_query_warn_s{};        // a query holding its connection this long
  double connection_age_info_s{};      // old connections: normal for a pool, said once
  double free_slots_warn_ratio{};      // free slots below this share of the ordinary slots
  std::int64_t list_limit{};           // the oldest connections listed
  std::int64_t top_statements{};       // pg_stat_statements rows shown
};

// The advisor (docs/model.md, "The advisor").
struct AdvisorRules
{
  Target objective;                   // what a pool must meet unless --target says otherwise
  double surge{};                     // the rule's extra connections are judged at the load x this
  double backend_memory_mib{};        // one more PostgreSQL connection's memory, before work_mem
  std::int64_t max_connections_max{}; // raising max_connections past this is not offered
  double active_per_core{};           // active queries per database core past which more add latency (--db-cores)
};

// `poolcalc fleet` (docs/fleet.md).
struct FleetRules
{
  double rolling_max_surge_percent{}; // a rolling deploy's max_surge when the fleet file gives none
};

// --serverless (docs/model.md, "Serverless executions").
struct ServerlessRules
{
  std::int64_t pool_per_execution{}; // each execution's pool: it serves one request at a time
  double deploy_surge_percent{};     // a new version's executions beside the old ones still warm
};

// `poolcalc k6` (docs/k6.md).
struct K6Rules
{
  std::string ramp;            // each phase's ramp from the load before ("30s")
  std::string stress_duration; // how long the stress phase holds advisor.surge x the target
  std::string abort_delay;     // delayAbortEval of the whole test's abort on failed requests
  double max_vus_ratio{};      // --rps: maxVUs over the pre-allocated VUs
};

struct Rules
{
  std::int64_t schema_version{};
  SizingRules sizing;
  DatabaseRules database;
  PostgresFacts postgres;
  TimeoutRules timeouts;
  PrismaDefaults prisma_defaults;
  std::vector<ScalingRow> scaling;
  PgBouncerTriggers pgbouncer_triggers;
  PgBouncerSettingsRules pgbouncer_settings;
  MonitoringRules monitoring;
  QueueingRules queueing;
  ReportRules report;
  std::vector<LoadTestPhase> load_test_phases;
  InspectRules inspect;
  FleetRules fleet;
  AdvisorRules advisor;
  ServerlessRules serverless;
  K6Rules k6;
};

// The text of data/rules.toml as embedded in the binary at build time.
std::string_view embedded_rules_toml();

// Parses and validates rules from TOML text. `source_name` names the text in errors
// ("rules.toml", a file path). Every key is required; unknown keys, wrong types and values
// out of range are errors. Returns an error string "NAME:LINE:COLUMN: KEY: what is wrong;
// what is accepted" if the rules are not valid.
poolcalc::expected<Rules, std::string> parse_rules(std::string_view toml_text, std::string_view source_name);

// The rules embedded in the binary (always valid: a unit test parses them).
const Rules& builtin_rules();

} // namespace poolcalc

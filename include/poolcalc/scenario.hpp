#pragma once
// What the user describes: the workload, the database and the pool options. Flags, a
// `--config` TOML file and the environment all fill the same RawInputs (one schema for all,
// keyed by the snake_case name), which build_scenario validates into a Scenario before any
// arithmetic runs.

#include "poolcalc/database_url.hpp"
#include "poolcalc/distribution.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/pgbouncer_plan.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// Accepted ranges: the input table (inputs.hpp) gives each input its range from these, and
// docs/usage.md lists them. Each input alone is bounded; their product is bounded by
// k_max_total_connections, checked before any arithmetic, so no count in the sizing can
// overflow a 64-bit integer or lose precision in a double (< 2^53).
inline constexpr std::int64_t k_max_vus = 1'000'000'000;
// The smallest rate, share or count per request poolcalc takes, and the shortest request timeout
// in seconds: it prints 3 decimals, so anything smaller would show as 0 (and a subnormal double
// would pass a "> 0" check while meaning nothing).
inline constexpr double k_min_fraction = 0.001;
inline constexpr double k_min_ms = 0.001;             // one microsecond: shorter is a unit mistake
inline constexpr double k_max_query_ms = 3'600'000.0; // one hour
inline constexpr std::int64_t k_max_instances = 10'000;
inline constexpr std::int64_t k_max_services = 10'000;
inline constexpr std::int64_t k_max_overhead = 100'000;
inline constexpr double k_max_burst = 100.0;
inline constexpr std::int64_t k_max_timeout_s = 3600;
inline constexpr double k_max_request_timeout_s = 86'400.0;
inline constexpr std::size_t k_max_query_ms_values = 16;
inline constexpr double k_max_total_connections = 1e15;
inline constexpr double k_max_rps = 1e9;
inline constexpr double k_max_vu_rate = 1000.0;
inline constexpr double k_max_queries_per_request = 1000.0;
inline constexpr double k_max_query_cv = 10.0;
inline constexpr double k_max_stream = 4294967295.0; // --stream: a 32-bit unsigned number
inline constexpr std::size_t k_max_operations = 32;
inline constexpr std::size_t k_max_pools = 1000;

// One input as given: one item for a scalar, several for a list or a repeatable flag, "true" /
// "false" for a switch. `origin` names it in an error message: "--vus", "DATABASE_URL",
// "scenario.toml:3:7: vus".
struct RawValue
{
  std::vector<std::string> items;
  std::string origin;
  // A sample file's text (--query-sample, --think-sample), read by the command line from the
  // path in `items`: the core does no I/O.
  std::optional<std::string> contents = std::nullopt;
};

// Inputs by snake_case key. Later sources overwrite earlier ones (config < environment < flags).
using RawInputs = std::map<std::string, RawValue, std::less<>>;

// Every key a scenario file may set: the input table's (inputs.hpp), in the order --help shows them.
const std::vector<std::string_view>& input_keys();

// One operation of a mix (--op NAME:SHARE:MS): the share of VUs (or requests) doing it and how
// long its query holds a connection.
struct Operation
{
  std::string name;
  double share = 0;
  double hold_ms = 0;
};

struct Scenario
{
  std::int64_t vus = 0;              // closed load (k6 VUs); 0 with an open load
  std::optional<double> rps;         // open load: requests per second (--rps)
  std::vector<double> query_ms;      // ascending; with --op, the mix's mean hold alone
  std::vector<Operation> operations; // --op: replaces --activity and --query-ms
  double queries_per_request = 1;
  std::optional<double> think_ms; // --think-ms: replaces the per-VU rate
  double hold_cv2 = 1;            // squared coefficient of variation of the hold time
  std::string hold_cv_source;     // where hold_cv2 comes from, for the output
  // The shapes of the hold and the pause, each with mean 1 (the queueing model scales them to
  // the design hold and the think time), and where each comes from, for the output.
  Distribution hold_shape = exponential_distribution(1.0);
  Distribution think_shape = constant_distribution(1.0);
  std::string think_source;
  std::uint64_t stream = 1; // --stream: the simulation's random-number stream
  // Not an input: the command line's progress line for simulations that take a while, called with
  // what is simulated ("pool 13") and the share of its event budget used so far.
  std::function<void(std::string_view, double)> progress;
  double simulation_precision = 0.05;
  std::int64_t simulation_max_events = 0;
  std::vector<std::int64_t> pools; // --pool: pool sizes to evaluate (ascending)
  std::optional<Target> target;    // --target: the smallest pool that meets it
  std::size_t design_index = 0;    // the scenario the plan is built for
  double activity = 0;
  double vu_rate_per_s = 0;
  double burst = 0;
  std::int64_t overhead = 0;
  std::int64_t round_to = 1;
  std::int64_t max_connections = 0;
  std::vector<ReserveEntry> reserved;
  // --postgres-version: from rules postgres.wal_senders_separate_since (12) on, a replication
  // reserve takes nothing from max_connections. Unknown: every reserve counts, and the plan says so.
  std::optional<int> postgres_version;
  std::int64_t instances = 1;
  std::int64_t max_instances = 1;              // --max-instances: the autoscaler's largest count (instances when not given)
  double deploy_surge_percent = 0;             // --deploy-surge: a rolling deploy's extra instances, % rounded up
  std::optional<std::int64_t> app_concurrency; // --app-concurrency: requests one instance runs at once
  std::optional<std::int64_t> db_cores;        // --db-cores: the database server's cores
  std::int64_t services = 1;
  bool transaction_pooling = false;
  bool serverless = false;             // --serverless: each instance an execution serving one request at a time
  std::optional<bool> remote_database; // --remote-database, or remote_database = true/false in a config file
  double pool_timeout_s = 0;
  double connect_timeout_s = 0;
  double request_timeout_s = 0;
  std::optional<double> app_timeout_s; // --app-timeout: the application's own request timeout
  std::optional<DatabaseUrl> database_url;
  // PgBouncer's address as the user gave it, beside database_url (then the server's): not an
  // input of its own, `env --write` sets it from a file whose DIRECT_URL is the base and whose
  // DATABASE_URL points at PgBouncer (is_pgbouncer_url), so DATABASE_URL keeps its host and port.
  std::optional<DatabaseUrl> pgbouncer_url;
  // Where PgBouncer runs (--topology) and where a shared one is reached (--pgbouncer-host
  // HOST[:PORT]; the port defaults to listen_port). A sidecar is reached on 127.0.0.1.
  Topology topology = Topology::shared;
  std::string pgbouncer_host;
  std::optional<std::int64_t> pgbouncer_port;
};

// Queries per second that one active VU sends when a query holds a connection `hold_s`
// (closed loads): the rate times queries per request, or with a think time, the queries per
// request over one cycle of think plus holds.
double vu_query_rate(const Scenario& scenario, double hold_s);

// The rule of thumb's peak concurrent queries for a hold of `hold_ms`, by Little's law: arrival rate x
// hold. Closed: active VUs x vu_query_rate x hold; open: rps x queries per request x hold.
double offered_concurrency(const Scenario& scenario, double hold_ms);

// Validates the inputs, taking defaults from `rules`. Returns an error string "ORIGIN: what is
// wrong; what is accepted" for the first bad input (`--vus` missing included).
poolcalc::expected<Scenario, std::string> build_scenario(const RawInputs& inputs, const Rules& rules);

// Reads a `--config` scenario file: a TOML table whose keys are input_keys() (except
// `config`). Values keep their origin (file:line:column) for later errors. Returns an error
// string naming file:line:column for a syntax error, an unknown key or a value of the wrong type.
poolcalc::expected<RawInputs, std::string> parse_scenario_toml(std::string_view toml_text, std::string_view source_name);

// The labels of the query-time scenarios: conservative / realistic / pessimistic
// when there are exactly three, otherwise "scenario N".
std::vector<std::string> scenario_labels(std::size_t count);

} // namespace poolcalc

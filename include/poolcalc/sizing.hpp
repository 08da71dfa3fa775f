#pragma once
// The rule of thumb, step by step (docs/model.md, sections 1-4):
//   peak concurrent = VUs x activity x (queries per VU per second) x query seconds  (Little's law)
//   buffered        = ceil(peak / instances) x burst, rounded up to a whole connection
//   pool            = buffered + overhead, rounded up to a multiple of round_to
// then checked against max_connections less the reserved budget, and the scaling table
// and PgBouncer triggers. Pure: no I/O, no printing.

#include "poolcalc/pgbouncer_plan.hpp"
#include "poolcalc/pgbouncer_version.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc {

// One query-time scenario worked through the formula.
struct ScenarioResult
{
  std::string label; // conservative / realistic / pessimistic, or "design"
  double query_ms = 0;
  double peak_concurrent = 0;           // the whole load, exact to 9 decimals: 12.6
  double per_instance_peak = 0;         // peak / instances: what one instance's pool carries
  std::int64_t peak_ceil = 0;           // ceil(per_instance_peak): 13
  std::int64_t peak_total_ceil = 0;     // ceil(peak_concurrent): the whole load's connections at once
  std::int64_t buffered = 0;            // ceil(13 x 3) = 39
  std::int64_t pool_size_unrounded = 0; // 39 + 10 = 49
  std::int64_t pool_size = 0;           // 50
  std::int64_t total_connections = 0;   // pool x instances
  bool fits = false;                    // direct: total <= available; through PgBouncer:
                                        // ceil(peak x instances) <= PgBouncer's server connections
};

// A PgBouncer trigger (docs/model.md, "When poolcalc recommends it"), or the scaling table's.
struct Trigger
{
  std::string id;     // instances, total_connections, services, transaction_pooling, remote_database, scaling_table
  std::string reason; // with its numbers
  std::string rule;   // rules.toml key
};

// What the PgBouncer triggers (and the scaling table) look at, for one
// application or a whole fleet.
struct TriggerInputs
{
  std::int64_t users = 0;                  // concurrent users (VUs), for the scaling table
  const ScalingRow* scaling_row = nullptr; // the row for `users`, if any
  std::int64_t instances = 0;
  std::int64_t total_connections = 0;
  std::int64_t services = 0;
  bool transaction_pooling = false;
  bool remote_database = false;
  std::string_view in_all; // "" for one application, " in all" for a fleet's sums (in the reasons)
  bool autoscaled = false; // `instances` is the autoscaler's maximum (--max-instances)
};

// The triggers that apply, each with its numbers and rules key, in rules.toml's order.
std::vector<Trigger> pgbouncer_triggers(const TriggerInputs& inputs, const PgBouncerTriggers& rules);

// The settings to paste (per application instance).
struct Settings
{
  std::int64_t connection_limit = 0;
  double pool_timeout_s = 0;
  double connect_timeout_s = 0;
};

// One row of the monitoring thresholds (docs/rules.md, "[monitoring]"), evaluated for this pool.
struct Threshold
{
  std::string metric;
  std::string warning;
  std::string critical;
  std::string action;
};

// The most VUs per instance a closed load is simulated with (each replication cycles every VU);
// above, the exponential model's figures, and the output says so.
inline constexpr std::int64_t k_max_simulated_users = 100'000;

struct SimulatedKey
{
  std::int64_t pool = 0;
  double timeout_s = 0;
  unsigned gate = 0;
  auto operator<=>(const SimulatedKey&) const = default;
};

// The queueing model's view of the plan (docs/model.md, "Queueing"): the load one instance's
// pool sees and what each evaluated pool does under it.
struct QueueingPlan
{
  QueueModel model = QueueModel::closed;
  ClosedLoad closed; // per instance (closed model)
  OpenLoad open;     // per instance (open model)
  double hold_ms = 0;
  double hold_cv2 = 1;
  std::string hold_cv_source;
  Distribution hold;  // scaled to hold_ms
  Distribution think; // scaled to the think time (closed loads)
  std::string think_source;
  // Whether the figures are simulated: the analytic models are exact only for exponential holds
  // (whatever the think time, for the closed model: its state probabilities do not depend on the
  // think time's distribution beyond its mean).
  bool simulated = false;
  std::uint64_t stream = 1; // --stream
  double simulation_precision = 0.05;
  std::int64_t simulation_max_events = 0;
  std::function<void(std::string_view, double)> progress;
  // The events every simulation of this run may still spend together (rules
  // queueing.simulation_max_events): a search over many pools stays bounded.
  std::shared_ptr<std::int64_t> simulation_events_left = std::make_shared<std::int64_t>(0);
  // The events a pool gets even when that budget is spent (0: none): the advisor's, so that a
  // figure it prints never comes from a run of a few thousand events from an empty pool.
  std::int64_t simulation_min_events = 0;
  // Simulated pools already evaluated, by (pool, pool_timeout, the figures that had to be precise):
  // the knee and target searches and the listed pools ask for the same sizes, and the answer for
  // one stream never changes.
  std::shared_ptr<std::map<SimulatedKey, QueueMetrics>> simulated_cache = std::make_shared<std::map<SimulatedKey, QueueMetrics>>();
  std::vector<QueueMetrics> pools; // --pool, or the recommended pool
  std::optional<Target> target;
  std::optional<std::int64_t> target_pool;       // the smallest pool meeting the target, per instance
  std::optional<std::int64_t> fleet_target_pool; // the same for the whole load on one pool (PgBouncer's)
  std::int64_t target_search_limit = 0;          // searched up to here
  std::optional<QueueMetrics> recommended;       // the plan's pool
  std::optional<std::int64_t> knee;              // the smallest pool with P(wait) below the rules' knee_p_wait
  double knee_p_wait = 0;
};

// One moment of the deployment's life (docs/model.md, "The deployment's whole life"): how many
// instances run, each with its pool, and what PostgreSQL sees then.
struct Moment
{
  std::string id;   // steady, autoscaled, rolling_deploy
  std::string what; // for people: "3 instances", "the autoscaler's 6", "a rolling deploy: 6 + 2"
  std::int64_t instances = 0;
  std::int64_t connections = 0; // server connections then (through PgBouncer: its server pool, whatever the clients)
  std::int64_t client_connections = 0;
  bool fits = false;
  bool hard = true; // part of the plan's fit; a rolling deploy's surge is a warning (it can be avoided)
};

// The advisor (docs/model.md, "The advisor"): the rule of thumb's answer judged by the queueing
// model against the service objective (rules advisor.objective, or --target), and, when the
// plan's first answer does not fit, fits only above the safe band, or misses the objective, the
// alternatives ranked within the connection budget.
struct AdvisorOption
{
  std::string id;                     // rule_of_thumb, model_pools, model_pools_less_overhead, pgbouncer, raise_max_connections
  std::string summary;                // what it is, with its pool sizes
  std::string change;                 // what the user changes to get it
  bool pgbouncer = false;             // through PgBouncer (pool_per_instance is then the clients' pool)
  std::int64_t server_pool = 0;       // through PgBouncer: the model's server pool it is sized from (per sidecar, for sidecars)
  std::int64_t pool_per_instance = 0; // each instance's client pool
  std::int64_t overhead = 0;          // connections of that pool kept for health checks, migrations, monitoring
  std::int64_t server_connections = 0;
  std::int64_t max_connections = 0; // the server's, raised for raise_max_connections
  std::int64_t available = 0;
  double utilization = 0;              // server_connections / max_connections
  std::int64_t waits_on = 0;           // the connections queries wait for: a pool, or PgBouncer's server pool
  std::optional<QueueMetrics> at_load; // what those connections do under the load
  bool fits = false;
  bool within_safe_band = false; // utilization at most the rules' safe_utilization_max
  bool within_db_ceiling = true; // --db-cores: its server connections at most the database's useful concurrency
  bool meets_objective = false;
  bool offered = true;     // false: outside the rules (a raise past max_connections_max, PgBouncer's triggers)
  std::string not_offered; // why, when not offered
  int rank_cost = 0;       // 0 nothing to change, 1 the pool's size, 2 its overhead too, 3 a new component, 4 a server restart
  double miss = 0;         // how far from working: the larger of the share above the budget and above the objective
  std::string miss_text;   // "misses by ...", empty when it works
};

struct Advice
{
  Target objective;
  std::string objective_source;           // "rules advisor.objective" or "--target"
  std::int64_t given_max_connections = 0; // the server's as given (the plan's is raised when a raise_max_connections option is chosen)
  bool rule_through_pgbouncer = false;    // the first answer goes through PgBouncer: its pools are client connections
  double surge = 0;                       // rules advisor.surge
  double backend_memory_mib = 0;
  // --db-cores x rules advisor.active_per_core, rounded down: the queries at once the database
  // serves usefully. An option whose server connections exceed it is ranked after those within.
  std::optional<std::int64_t> db_ceiling;
  // The model's verdict on the rule of thumb, per instance: the smallest pool meeting the
  // objective under the load (no overhead), and both pools at the load and at the surge.
  std::int64_t rule_pool = 0;
  std::optional<std::int64_t> model_pool;
  std::int64_t search_limit = 0;
  std::optional<QueueMetrics> rule_at_load;
  std::optional<QueueMetrics> model_at_load;
  std::optional<QueueMetrics> rule_at_surge;
  std::optional<QueueMetrics> model_at_surge;
  std::string surge_load; // "168 VUs per instance", "120 queries/s per instance"
  // Whether the plan's first answer was set aside: it does not fit, fits only above the safe
  // band, or misses the objective. Then the options are ranked, best first.
  bool searched = false;
  std::string first_id; // the plan's first answer among the options: rule_of_thumb, target or serverless
  std::string why_searched;
  std::vector<AdvisorOption> options;
  std::optional<std::size_t> chosen; // the option the plan now is; none: nothing works
  std::string reason;                // why it won, or what comes closest and by how much it misses
};

enum class Recommendation
{
  pool,
  pgbouncer,
};

struct Plan
{
  Scenario scenario;
  std::vector<ScenarioResult> scenarios;
  std::size_t design_index = 0;

  // The design scenario's figures.
  double peak_concurrent = 0;
  std::int64_t pool_size = 0;
  std::int64_t pool_size_unrounded = 0;
  std::int64_t total_connections = 0;  // what the application fleet opens: pool x instances
  std::int64_t server_connections = 0; // what PostgreSQL sees: the fleet, or PgBouncer's pool
  std::int64_t reserved_total = 0;
  std::vector<std::string> reserve_not_counted; // reserve entries PostgreSQL's version takes nothing for (replication on 12+)
  std::int64_t available = 0;                   // max_connections - reserved
  double utilization = 0;                       // server_connections / max_connections
  double safe_utilization_min = 0;              // the rules' safe band, for the renderers
  double safe_utilization_max = 0;
  bool fits = false; // server_connections <= available (and, through
                     // PgBouncer, the design scenario's peak fits its pool)

  const ScalingRow* scaling_row = nullptr; // the row for scenario.vus (points into the rules)
  std::vector<Trigger> triggers;
  Recommendation recommendation = Recommendation::pool;
  std::string recommendation_reason;
  std::optional<PgBouncerPlan> pgbouncer;
  // When no trigger applies: PgBouncer sized the same way all the same, for `poolcalc pgbouncer`,
  // which writes its file on request (the plan's figures stay the direct ones).
  std::optional<PgBouncerPlan> pgbouncer_unneeded;

  Settings settings;
  std::int64_t prisma_default_connection_limit_per_cpu = 0;
  std::int64_t prisma_default_connection_limit_add = 0;
  double prisma_default_pool_timeout_s = 0;
  double prisma_default_connect_timeout_s = 0;

  std::vector<Threshold> monitoring;
  std::int64_t consider_pgbouncer_above_pool = 0; // the report's checklist (rules: report)
  std::vector<LoadTestPhase> load_test_phases;    // the report's phases (rules: load_test_phases)
  QueueingPlan queueing;
  std::int64_t rule_of_thumb_pool = 0; // (ceil(peak) x 3 + 10), before a --target replaces it
  bool remote_database = false;        // from the flag, else from the URL's host
  bool remote_database_known = false;
  std::int64_t pgbouncer_listen_port = 0; // rules pgbouncer.settings.listen_port: a URL with this port is PgBouncer's
  std::vector<Moment> moments;            // steady first; the autoscaler's maximum and a rolling deploy when they add instances
  std::size_t worst_moment = 0;           // the moment with the most server connections (the first of equals)
  Advice advice;                          // size() only
  std::int64_t overhead = 0;              // the overhead in the plan's pool (the advisor may trim the rules')
};

// What queries wait for under `load` (the plan's scenario with another --vus or --rps): the
// plan's pool per instance, or, when the plan puts a shared PgBouncer in transaction mode in
// front, PgBouncer's server pool (default_pool_size) under the whole load; per sidecar, each
// instance's load on its sidecar's pool. The model as the plan's own figures use it.
QueueMetrics plan_waits(const Plan& plan, const Scenario& load);

// A monitoring threshold's count: `ratio` (rules monitoring.active_warn_ratio, ...) of
// `connections`, rounded down (the original note's 40 and 48 of 50).
std::int64_t monitoring_share(double ratio, std::int64_t connections);

// Works the rule of thumb for every scenario and builds the plan for the design one.
// `rules` must outlive the plan (scaling_row points into it).
Plan size(const Scenario& scenario, const Rules& rules);

// size() without the queueing model's report on the plan: plan.queueing has the load and a
// --target's pool, but no metrics (pools, recommended) and no knee, the costly part for a large
// load (a search over every pool size up to the users). For callers that show the sizing only:
// each service of a fleet.
Plan size_without_queueing_report(const Scenario& scenario, const Rules& rules);

// One step of the rules' load-test phases (the worked example's 5 -> 10 -> 25 -> 50 -> 100 -> 120 VUs with its
// durations), scaled to the plan's load: VUs for a closed load, requests per second for an open
// one, with the concurrency the formula expects at that step.
struct LoadPhase
{
  std::string name;     // "Baseline", ..., "Stress test"
  double load = 0;      // VUs, or requests per second
  std::string duration; // "30s"
  double expected_peak = 0;
};
std::vector<LoadPhase> progressive_phases(const Plan& plan);

// PgBouncer's own default listen_port (https://www.pgbouncer.org/config.html#listen_port).
inline constexpr std::int64_t k_pgbouncer_default_port = 6432;

// True when `url` is PgBouncer's address as the user gave it: the port libpq would use (a `port`
// parameter, else the authority's) is `listen_port` (rules pgbouncer.settings.listen_port) or
// PgBouncer's default 6432, or the URL carries Prisma's pgbouncer=true.
bool is_pgbouncer_url(const DatabaseUrl& url, std::int64_t listen_port);

// "db.internal:5432": where a URL connects (libpq's host and port, as is_pgbouncer_url reads
// them; "[::1]:5432" for IPv6, "the local socket" without a host), through printable().
std::string url_address(const DatabaseUrl& url);

// The URL Prisma 6 and older should use: routed_url with connection_limit, pool_timeout and
// connect_timeout set. Through PgBouncer, a URL that reaches it (Scenario::pgbouncer_url, a
// database_url that is_pgbouncer_url, or one routed to the PgBouncer address given) gets
// pgbouncer=true as well; otherwise the server's URL stays the server's (pgbouncer_address_note
// says what to do). None when no URL was given.
std::optional<DatabaseUrl> application_url(const Plan& plan);

// The URL the application uses, before any client's parameters: PgBouncer's when the user gave
// one, else --database-url, pointed at PgBouncer's address when --pgbouncer-host or a sidecar
// gives it and the URL is the server's. No URL given: nullopt.
std::optional<DatabaseUrl> routed_url(const Plan& plan);

// DIRECT_URL, the server's own URL for Prisma's migrations, when the application goes through
// PgBouncer (the plan's, or the PgBouncer URL the user kept) and the server's address is known:
// database_url without pgbouncer=true. None otherwise.
std::optional<DatabaseUrl> direct_url(const Plan& plan);

// Through PgBouncer with a URL that still points at the database server: what to do once
// PgBouncer runs, one sentence. Empty otherwise.
std::string pgbouncer_address_note(const Plan& plan);

// Through PgBouncer with PgBouncer's URL and no server URL: DIRECT_URL has to be set by hand, one
// sentence. Empty otherwise.
std::string direct_url_note(const Plan& plan);

// `poolcalc curve`: the queueing metrics for each pool size, and the knee.
struct Curve
{
  std::vector<QueueMetrics> points;
  std::optional<std::int64_t> knee; // the smallest pool with P(wait) below the rules' knee_p_wait (listed or not)
  double knee_p_wait = 0;
};

// The curve over --pool sizes, or by default from a little below the busy connections one
// instance's load needs to past the knee and the plan's pool (at most 1000 sizes).
Curve curve(const Plan& plan, const Rules& rules);

// When a --target was given and no pool can meet it: why, in one sentence ("no pool of up to
// 262143 connections meets p99_wait<1ms: ..."). Empty otherwise.
std::string unmet_target(const Plan& plan);

// Works one query time through the formula (used for each scenario).
ScenarioResult size_one(const Scenario& scenario, double query_ms, std::int64_t available);

// The server connections at the hardest moment the plan must fit: the autoscaler's maximum when
// it is given (a rolling deploy's surge is a warning, not counted).
std::int64_t hardest_connections(const Plan& plan);

// Rounds `value` up to a multiple of `step` (step >= 1): 49 -> 50 for step 10.
std::int64_t round_up(std::int64_t value, std::int64_t step);

} // namespace poolcalc

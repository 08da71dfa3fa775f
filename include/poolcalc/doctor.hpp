#pragma once
// `poolcalc doctor` (docs/doctor.md): what really happened in a load test, and why a pool ran dry.
// A Capture is what was measured over a window: samples of PostgreSQL's pg_stat_activity and
// PgBouncer's SHOW POOLS, and the counters of PgBouncer's SHOW STATS_TOTALS and
// pg_stat_statements at both ends; a k6 end-of-test summary may come with it. diagnose() derives
// the throughput, the hold time (Little's law), the time held without querying and the pool
// wait, and names the causes it finds, each with its evidence and its fix. Pure: no I/O.

#include "poolcalc/expected.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// One moment of the window.
struct DoctorSample
{
  double t_s = 0; // seconds since the window began
  // PostgreSQL: client backends of the database (every database when none is named), the
  // sampler's own left out.
  std::int64_t active = 0;
  std::int64_t idle = 0;
  std::int64_t idle_in_transaction = 0; // both "idle in transaction" states
  std::int64_t waiting_on_lock = 0;     // active with wait_event_type 'Lock'
  double oldest_idle_in_transaction_s = 0;
  // PgBouncer (SHOW POOLS, the pools of the database), when sampled.
  bool pgbouncer = false;
  std::int64_t cl_active = 0;
  std::int64_t cl_waiting = 0;
  std::int64_t sv_active = 0;
  std::int64_t sv_idle = 0; // sv_idle + sv_used: server connections open but not serving
  double maxwait_s = 0;     // maxwait + maxwait_us
};

// SHOW STATS_TOTALS of the database (times in microseconds, as PgBouncer counts them).
struct PgBouncerTotals
{
  std::int64_t xact_count = 0;
  std::int64_t query_count = 0;
  std::int64_t xact_time_us = 0;
  std::int64_t query_time_us = 0;
  std::int64_t wait_time_us = 0;
};

// pg_stat_statements summed over the database (the sampler's own statements left out).
struct StatementTotals
{
  std::int64_t calls = 0;
  double total_ms = 0;
};

struct Capture
{
  std::string source;   // "live: postgresql://app:****@db/chat", or the file it was read from
  std::string database; // the database sampled; "" for all
  double window_s = 0;
  std::int64_t max_connections = 0;
  std::vector<DoctorSample> samples;
  std::optional<PgBouncerTotals> pgbouncer_start, pgbouncer_end;
  std::optional<StatementTotals> statements_start, statements_end;
  // PgBouncer's limits for the database (SHOW DATABASES, SHOW CONFIG), when sampled.
  std::optional<std::int64_t> pool_size;          // the entry's pool_size, else default_pool_size
  std::optional<std::int64_t> max_db_connections; // 0: unlimited
  std::optional<std::int64_t> max_client_conn;
  std::optional<double> query_wait_timeout_s; // 0: PgBouncer lets clients wait forever
};

// What a k6 end-of-test summary says (k6 run --summary-export, or handleSummary's data).
struct K6Figures
{
  double duration_s = 0;      // handleSummary: state.testRunDurationMs; the export has none (0)
  std::int64_t requests = 0;  // http_reqs count
  double request_rate = 0;    // http_reqs rate (per second)
  double failed_rate = 0;     // http_req_failed: the share of failed requests
  double duration_avg_ms = 0; // http_req_duration
  double duration_p95_ms = 0;
  std::optional<double> duration_p99_ms; // only when the test asked for it (summaryTrendStats)
  std::int64_t vus_max = 0;
  std::vector<std::string> failed_thresholds; // "http_req_duration: p(95)<300"
};

// Reads either shape; an error names what is missing or malformed.
poolcalc::expected<K6Figures, std::string> parse_k6_summary(std::string_view json_text);

// The figures derived from a capture. Absent ones were not measured.
struct Measured
{
  std::optional<double> throughput;    // transactions per second
  std::string throughput_source;       // "PgBouncer SHOW STATS_TOTALS", "pg_stat_statements", "k6 http_reqs"
  std::optional<double> busy;          // mean server connections held (active + idle in transaction)
  std::optional<double> hold_ms;       // busy / throughput (Little's law)
  std::optional<double> query_ms;      // mean query time
  std::optional<double> held_idle_ms;  // per transaction: held while no query ran (PgBouncer xact_time - query_time)
  std::optional<double> mean_wait_ms;  // per transaction, in PgBouncer
  double waiting_share = 0;            // samples with clients waiting in PgBouncer
  double max_wait_s = 0;               // the longest wait seen
  double mean_idle_in_transaction = 0; // sessions idle in transaction, on average
  double oldest_idle_in_transaction_s = 0;
  double lock_share = 0; // active sessions waiting on a lock, over all active (summed over samples)
  double mean_active = 0;
  std::int64_t most_server_connections = 0; // PgBouncer's sv_active + sv_idle at most
  std::int64_t most_clients = 0;            // PgBouncer's cl_active + cl_waiting at most
  // The queueing model at the measured load: the closed model (docs/model.md) with PgBouncer's
  // clients as its users, the measured hold, each client's think time by Little's law from the
  // clients between transactions (cl_active less sv_active) over the throughput, on the pool
  // PgBouncer allows (pool_size, capped by max_db_connections). The measured wait is not an input.
  double clients = 0; // PgBouncer's cl_active + cl_waiting, on average
  std::int64_t model_pool = 0;
  std::optional<double> model_mean_wait_ms;
};

struct Cause
{
  std::string id;       // doctor.pool_too_small, doctor.connections_held_idle, doctor.database_bound, doctor.pooler_limit
  std::string title;    // one line
  std::string evidence; // the numbers
  std::string fix;
};

// The plan for the test's workload (doctor given --vus or --rps), beside the measurement.
struct PlannedFigures
{
  double throughput = 0;              // queries per second the workload offers (peak concurrent / hold)
  double hold_ms = 0;                 // per query
  double busy = 0;                    // the rule of thumb's peak concurrent queries
  std::int64_t pool = 0;              // per instance
  std::optional<double> mean_wait_ms; // the queueing model's, for the plan's pool
};

struct Diagnosis
{
  Measured measured;
  std::optional<PlannedFigures> planned;
  std::vector<Cause> causes;      // the strongest first; empty: nothing wrong found
  std::vector<std::string> notes; // what could not be measured, and why
};

// `plan`: the plan for the test's workload, when given: its figures go beside the measured ones,
// and a hold or throughput far from the plan's names doctor.plan_inputs_wrong.
Diagnosis diagnose(const Capture& capture, const std::optional<K6Figures>& k6, const Rules& rules, const Plan* plan = nullptr);

} // namespace poolcalc

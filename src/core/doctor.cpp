#include "poolcalc/doctor.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc {

namespace {

// The shares a diagnosis needs before it names a cause: the evidence must be more than one
// unlucky sample (docs/doctor.md, "The causes").
constexpr double k_waiting_share = 0.10;      // samples with clients waiting in PgBouncer
constexpr double k_mean_wait_ms = 1.0;        // a mean wait per transaction worth naming
constexpr double k_lock_share = 0.25;         // active sessions waiting on a lock
constexpr double k_idle_in_transaction = 0.5; // sessions idle in transaction, on average
constexpr double k_held_idle_share = 0.5;     // of the hold time, held with no query running
constexpr double k_plan_off = 1.5;            // a measured hold or rate this far from the plan's

std::string ms(double value)
{
  return format_number(round_decimal(value), 1) + " ms";
}

// PgBouncer's counters over the window, when both ends were read and they moved forward.
std::optional<PgBouncerTotals> pgbouncer_delta(const Capture& c)
{
  if (!c.pgbouncer_start || !c.pgbouncer_end) {
    return std::nullopt;
  }
  const PgBouncerTotals& a = *c.pgbouncer_start;
  const PgBouncerTotals& b = *c.pgbouncer_end;
  PgBouncerTotals d{ b.xact_count - a.xact_count,
                     b.query_count - a.query_count,
                     b.xact_time_us - a.xact_time_us,
                     b.query_time_us - a.query_time_us,
                     b.wait_time_us - a.wait_time_us };
  if (d.xact_count <= 0 || d.query_count < 0 || d.xact_time_us < 0 || d.query_time_us < 0 || d.wait_time_us < 0) {
    return std::nullopt; // nothing ran, or PgBouncer restarted within the window
  }
  return d;
}

Measured measure(const Capture& c, const std::optional<K6Figures>& k6, std::vector<std::string>& notes)
{
  Measured m;
  const auto pgb = pgbouncer_delta(c);
  const double window = c.window_s;
  if (pgb && window > 0) {
    m.throughput = static_cast<double>(pgb->xact_count) / window;
    m.throughput_source = "PgBouncer SHOW STATS_TOTALS (transactions)";
    // PgBouncer 1.18 counts a query's wait for a server connection in its query_time (measured:
    // 2 servers for 8 clients running 20 ms queries showed 82 ms per query, 62 of them waiting),
    // so the waits come off before the mean query time.
    m.query_ms = pgb->query_count > 0 ? static_cast<double>(std::max<std::int64_t>(0, pgb->query_time_us - pgb->wait_time_us)) / 1000.0 /
                                          static_cast<double>(pgb->query_count)
                                      : 0.0;
    m.held_idle_ms =
      std::max(0.0, static_cast<double>(pgb->xact_time_us - pgb->query_time_us) / 1000.0 / static_cast<double>(pgb->xact_count));
    m.mean_wait_ms = static_cast<double>(pgb->wait_time_us) / 1000.0 / static_cast<double>(pgb->xact_count);
  } else if (c.statements_start && c.statements_end && window > 0 && c.statements_end->calls > c.statements_start->calls) {
    const auto calls = static_cast<double>(c.statements_end->calls - c.statements_start->calls);
    m.throughput = calls / window;
    m.throughput_source = "pg_stat_statements (statements)";
    m.query_ms = std::max(0.0, c.statements_end->total_ms - c.statements_start->total_ms) / calls;
  } else if (k6 && k6->request_rate > 0) {
    m.throughput = k6->request_rate;
    m.throughput_source = "k6 http_reqs (requests)";
    notes.push_back("the throughput is k6's requests per second: one transaction per request assumed");
  } else {
    notes.push_back("no throughput: neither PgBouncer's nor pg_stat_statements' counters moved, and no k6 summary was given");
  }
  if (!pgb) {
    notes.push_back("no PgBouncer counters: the pool wait and the time held without querying are not measured");
  }

  if (!c.samples.empty()) {
    double busy = 0;
    double active = 0;
    double locked = 0;
    double idle_tx = 0;
    std::int64_t waiting = 0;
    std::int64_t pgb_samples = 0;
    for (const DoctorSample& s : c.samples) {
      busy += static_cast<double>(s.active + s.idle_in_transaction);
      active += static_cast<double>(s.active);
      locked += static_cast<double>(s.waiting_on_lock);
      idle_tx += static_cast<double>(s.idle_in_transaction);
      m.oldest_idle_in_transaction_s = std::max(m.oldest_idle_in_transaction_s, s.oldest_idle_in_transaction_s);
      if (s.pgbouncer) {
        ++pgb_samples;
        waiting += s.cl_waiting > 0 ? 1 : 0;
        m.max_wait_s = std::max(m.max_wait_s, s.maxwait_s);
        m.most_server_connections = std::max(m.most_server_connections, s.sv_active + s.sv_idle);
        m.most_clients = std::max(m.most_clients, s.cl_active + s.cl_waiting);
      }
    }
    const auto n = static_cast<double>(c.samples.size());
    m.busy = busy / n;
    m.mean_active = active / n;
    m.mean_idle_in_transaction = idle_tx / n;
    m.lock_share = active > 0 ? locked / active : 0.0;
    m.waiting_share = pgb_samples > 0 ? static_cast<double>(waiting) / static_cast<double>(pgb_samples) : 0.0;
  } else {
    notes.push_back("no samples of pg_stat_activity: the connections held are not measured");
  }
  if (m.busy && m.throughput && *m.throughput > 0) {
    m.hold_ms = *m.busy / *m.throughput * 1000.0; // Little's law: L = lambda W
  }
  // The model at this load (see Measured): only where PgBouncer shows the clients and the pool.
  double clients = 0;
  double thinking = 0; // clients neither waiting nor served: cl_active less sv_active
  std::int64_t pgb_samples = 0;
  for (const DoctorSample& s : c.samples) {
    if (s.pgbouncer) {
      clients += static_cast<double>(s.cl_active + s.cl_waiting);
      thinking += static_cast<double>(std::max<std::int64_t>(0, s.cl_active - s.sv_active));
      ++pgb_samples;
    }
  }
  if (pgb_samples > 0) {
    m.clients = clients / static_cast<double>(pgb_samples);
    thinking /= static_cast<double>(pgb_samples);
  }
  const std::int64_t pool =
    c.pool_size ? (c.max_db_connections && *c.max_db_connections > 0 ? std::min(*c.pool_size, *c.max_db_connections) : *c.pool_size) : 0;
  const auto users = static_cast<std::int64_t>(std::llround(m.clients));
  if (pool > 0 && users > 0 && users <= 100'000 && m.hold_ms && *m.hold_ms > 0 && m.throughput && m.mean_wait_ms) {
    const double hold_s = *m.hold_ms / 1000.0;
    // Little's law once more: the clients between transactions are the throughput x their think
    // time. Measured apart from the wait, so the model's wait is a prediction, not a restatement.
    const double think_s = std::max(1e-4, thinking / *m.throughput);
    const QueueMetrics predicted = closed_metrics(ClosedLoad{ users, hold_s, think_s }, pool, 0, false);
    if (std::isfinite(predicted.mean_wait_ms)) {
      m.model_pool = pool;
      m.model_mean_wait_ms = predicted.mean_wait_ms;
    }
  }
  return m;
}

// The plan poolcalc makes for the measured load: an open load at the measured rate, each
// transaction holding its connection the measured time.
std::string measured_plan(const Measured& m, const Rules& rules, std::int64_t& pool)
{
  RawInputs inputs;
  const std::string rps = format_number(std::max(0.001, round_decimal(*m.throughput)), 3);
  const std::string hold = format_number(std::max(0.001, round_decimal(*m.hold_ms)), 1);
  inputs["rps"] = RawValue{ { rps }, "the measured throughput" };
  inputs["query_ms"] = RawValue{ { hold }, "the measured hold time" };
  auto scenario = build_scenario(inputs, rules);
  if (!scenario) {
    return {};
  }
  const Plan plan = size(*scenario, rules);
  pool =
    plan.recommendation == Recommendation::pgbouncer && plan.pgbouncer ? plan.pgbouncer->pools.front().default_pool_size : plan.pool_size;
  return fmt::format("poolcalc --rps {} --query-ms {}", rps, hold);
}

} // namespace

Diagnosis diagnose(const Capture& capture, const std::optional<K6Figures>& k6, const Rules& rules, const Plan* plan)
{
  Diagnosis d;
  d.measured = measure(capture, k6, d.notes);
  const Measured& m = d.measured;
  std::optional<Cause> plan_cause; // named after what the database and the pooler show
  if (plan != nullptr) {
    PlannedFigures p;
    p.hold_ms = plan->queueing.hold_ms;
    p.busy = plan->peak_concurrent;
    p.throughput = p.hold_ms > 0 ? p.busy / (p.hold_ms / 1000.0) : 0.0;
    p.pool = plan->pool_size;
    if (const QueueMetrics w = plan_waits(*plan, plan->scenario); w.stable && std::isfinite(w.mean_wait_ms)) {
      p.mean_wait_ms = w.mean_wait_ms;
    }
    d.planned = p;
    // The plan's inputs against the measurement (the original note expected 40-45 busy connections
    // at 120 VUs where its own formula gives 12.6: a hold 3.2-3.6 times the assumed one).
    std::vector<std::string> off;
    if (m.hold_ms && p.hold_ms > 0 && (*m.hold_ms >= k_plan_off * p.hold_ms || *m.hold_ms * k_plan_off <= p.hold_ms)) {
      off.push_back(fmt::format("a transaction held its connection {} where the plan assumed {} ({}x)",
                                ms(*m.hold_ms),
                                ms(p.hold_ms),
                                format_number(round_decimal(*m.hold_ms / p.hold_ms), 2)));
    }
    // Only more than planned: a closed load that waits for its pool runs less than it offers.
    if (m.throughput && p.throughput > 0 && *m.throughput >= k_plan_off * p.throughput) {
      off.push_back(fmt::format("{} transactions/s ran where the plan offered {} queries/s ({}x)",
                                format_number(round_decimal(*m.throughput), 1),
                                format_number(round_decimal(p.throughput), 1),
                                format_number(round_decimal(*m.throughput / p.throughput), 2)));
    }
    if (!off.empty()) {
      std::string evidence;
      for (const std::string& part : off) {
        evidence += (evidence.empty() ? "" : "; ") + part;
      }
      std::string fix = "measure the hold time and the rate where the application runs them, and plan again with those";
      if (m.throughput && m.hold_ms) {
        std::int64_t pool = 0;
        if (const std::string command = measured_plan(m, rules, pool); !command.empty()) {
          fix = fmt::format("plan again with the measured figures: `{}` plans a pool of {}", command, pool);
        }
      }
      plan_cause = Cause{ "doctor.plan_inputs_wrong", "the load test did not run the load the plan assumed", evidence, fix };
    }
  }
  const bool waits = m.waiting_share >= k_waiting_share || (m.mean_wait_ms && *m.mean_wait_ms >= k_mean_wait_ms);
  const std::string wait_text =
    fmt::format("clients waited in PgBouncer in {} of the samples{}{}",
                format_percent(m.waiting_share),
                m.mean_wait_ms ? fmt::format(", {} per transaction on average", ms(*m.mean_wait_ms)) : std::string(),
                m.max_wait_s > 0 ? fmt::format(", the longest {} s", format_number(m.max_wait_s, 3)) : std::string());

  if (k6 && capture.samples.empty() && (k6->failed_rate > rules.monitoring.timeout_error_warn_rate || !k6->failed_thresholds.empty())) {
    d.notes.push_back(fmt::format("k6 saw {} of its requests fail and {} threshold{} fail: sample the server during the next run "
                                  "(--database-url, --pgbouncer-admin) to name the cause",
                                  format_percent(round_decimal(k6->failed_rate)),
                                  k6->failed_thresholds.size(),
                                  k6->failed_thresholds.size() == 1 ? "" : "s"));
  }

  // The pooler's own limit: servers held at max_db_connections below the pool size.
  bool pooler = false;
  if (waits && capture.max_db_connections && *capture.max_db_connections > 0 && capture.pool_size &&
      *capture.max_db_connections < *capture.pool_size && m.most_server_connections >= *capture.max_db_connections) {
    pooler = true;
    d.causes.push_back({ "doctor.pooler_limit",
                         "PgBouncer's max_db_connections caps the server connections below the pool",
                         fmt::format("{}; PgBouncer never held more than {} server connections, its max_db_connections, while the "
                                     "pool allows {}",
                                     wait_text,
                                     m.most_server_connections,
                                     *capture.pool_size),
                         fmt::format("raise max_db_connections to at least {} (the pool size) if PostgreSQL's budget allows it, or "
                                     "lower pool_size to what it allows",
                                     *capture.pool_size) });
  }

  // The database itself: sessions wait on locks, so more connections add waiting, not throughput.
  if (m.lock_share >= k_lock_share) {
    d.causes.push_back(
      { "doctor.database_bound",
        "the database is past its useful concurrency: queries wait on each other's locks",
        fmt::format("{} of the active sessions were waiting on a lock (on average {} active){}",
                    format_percent(round_decimal(m.lock_share)),
                    format_number(round_decimal(m.mean_active), 1),
                    m.query_ms ? fmt::format("; a query took {} on average", ms(*m.query_ms)) : std::string()),
        "find the contended rows (pg_locks, the statements in pg_stat_statements with the most total time) and shorten the "
        "transactions that hold them; a larger pool only queues more sessions behind the same locks" });
  }

  // The pooler's other limit: every client slot taken, so PgBouncer refuses the next client.
  if (capture.max_client_conn && *capture.max_client_conn > 0 && m.most_clients >= *capture.max_client_conn) {
    d.causes.push_back({ "doctor.pooler_limit",
                         "PgBouncer's max_client_conn is reached: it refuses further clients",
                         fmt::format("{} clients at once, PgBouncer's max_client_conn", m.most_clients),
                         fmt::format("raise max_client_conn above every instance's pool together (PgBouncer needs about "
                                     "max_client_conn + its server connections open files), or shrink the application pools") });
  }

  // The database's cores (--db-cores, with the workload): more sessions running at once than it
  // serves usefully (rules advisor.active_per_core per core) only queue for CPU and I/O.
  if (plan != nullptr && plan->scenario.db_cores && m.lock_share < k_lock_share) {
    const double useful = static_cast<double>(*plan->scenario.db_cores) * rules.advisor.active_per_core;
    if (m.mean_active > useful) {
      std::string evidence = fmt::format("on average {} sessions were active on a database of {} core{}, which serves about {} at once "
                                         "usefully (rules advisor.active_per_core {} per core)",
                                         format_number(round_decimal(m.mean_active), 1),
                                         *plan->scenario.db_cores,
                                         *plan->scenario.db_cores == 1 ? "" : "s",
                                         format_number(useful),
                                         format_number(rules.advisor.active_per_core));
      if (m.query_ms && d.planned && d.planned->hold_ms > 0) {
        evidence += fmt::format("; a query took {}, {}x the {} planned",
                                ms(*m.query_ms),
                                format_number(round_decimal(*m.query_ms / d.planned->hold_ms), 2),
                                ms(d.planned->hold_ms));
      }
      d.causes.push_back({ "doctor.database_bound",
                           "the database is past its useful concurrency: sessions queue for its CPU",
                           evidence,
                           fmt::format("keep the server connections near {} (a smaller pool, or PgBouncer's default_pool_size), "
                                       "make the queries cheaper, or give the database more cores; a larger pool only adds waiting",
                                       format_number(useful)) });
    }
  }

  if (plan_cause) {
    d.causes.push_back(*plan_cause);
  }

  // Connections held with nothing running: idle in transaction, or transactions around other work.
  const bool idle_sessions = m.mean_idle_in_transaction >= k_idle_in_transaction;
  const bool idle_time = m.held_idle_ms && m.hold_ms && *m.hold_ms > 0 && *m.held_idle_ms >= k_held_idle_share * *m.hold_ms;
  if (idle_sessions || idle_time) {
    std::vector<std::string> parts;
    if (idle_sessions) {
      parts.push_back(fmt::format("{} sessions idle in transaction on average, the oldest for {} s",
                                  format_number(round_decimal(m.mean_idle_in_transaction), 1),
                                  format_number(round_decimal(m.oldest_idle_in_transaction_s), 1)));
    }
    if (idle_time && m.query_ms) {
      parts.push_back(
        fmt::format("each transaction held its server connection {} beyond its queries' {}", ms(*m.held_idle_ms), ms(*m.query_ms)));
    }
    std::string evidence;
    for (const std::string& part : parts) {
      evidence += (evidence.empty() ? "" : "; ") + part;
    }
    d.causes.push_back(
      { "doctor.connections_held_idle",
        "connections are held while nothing runs on them: a leak, or transactions around slow application work",
        evidence,
        fmt::format("poolcalc inspect lists the sessions idle in transaction; end transactions before slow work (HTTP calls, "
                    "rendering), and set idle_in_transaction_session_timeout (rules inspect.idle_in_transaction_warn_s is {} s) "
                    "so a leaked one is closed",
                    format_number(rules.inspect.idle_in_transaction_warn_s)) });
  }

  // The pool itself: clients wait, and neither the pooler, the database nor idle holders explain it.
  const bool other_cause = std::any_of(d.causes.begin(), d.causes.end(), [](const Cause& c) { return c.id != "doctor.plan_inputs_wrong"; });
  if (waits && !pooler && !other_cause) {
    std::string evidence = wait_text;
    if (m.throughput && m.hold_ms) {
      evidence += fmt::format("; {} transactions/s each holding a connection {} keep {} busy (Little's law)",
                              format_number(round_decimal(*m.throughput), 1),
                              ms(*m.hold_ms),
                              format_number(round_decimal(*m.busy), 1));
    }
    if (capture.pool_size) {
      evidence += fmt::format(", against a pool of {}", *capture.pool_size);
    }
    if (m.model_mean_wait_ms) {
      evidence += fmt::format("; the queueing model at this load ({} clients on {} connections) predicts {} of wait",
                              std::llround(m.clients),
                              m.model_pool,
                              ms(*m.model_mean_wait_ms));
    }
    std::string fix = "a larger pool";
    if (m.throughput && m.hold_ms) {
      std::int64_t pool = 0;
      if (const std::string command = measured_plan(m, rules, pool); !command.empty()) {
        fix = fmt::format("size the pool for the measured load: `{}` plans a pool of {}", command, pool);
      }
    }
    d.causes.push_back({ "doctor.pool_too_small", "the pool is too small for the load: clients queue for a connection", evidence, fix });
  }

  // The timeout chain: clients wait, and PgBouncer would let them wait past the client's own
  // request timeout, so a wait ends as the client's timeout while its query may still run.
  const double request_s = rules.timeouts.client_request_timeout_s;
  if (waits && capture.query_wait_timeout_s && (*capture.query_wait_timeout_s == 0 || *capture.query_wait_timeout_s >= request_s)) {
    d.causes.push_back(
      { "doctor.timeout_chain_inverted",
        "PgBouncer lets a client wait at least as long as the client itself waits",
        fmt::format("clients waited, and PgBouncer's query_wait_timeout is {}, at or above the client's request timeout of {} s "
                    "(rules timeouts.client_request_timeout_s, k6's default)",
                    *capture.query_wait_timeout_s == 0 ? std::string("0 (forever)") : format_number(*capture.query_wait_timeout_s) + " s",
                    format_number(request_s)),
        fmt::format("set query_wait_timeout below the request timeout, e.g. {} s (the pool timeout poolcalc plans, rules "
                    "timeouts.pool_timeout_s), so a client that cannot get a connection fails fast with PgBouncer's error",
                    format_number(rules.timeouts.pool_timeout_s)) });
  }
  return d;
}

} // namespace poolcalc

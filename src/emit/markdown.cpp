#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <cctype>
#include <limits>

#include <algorithm>
#include <array>
#include <cmath>

namespace poolcalc {

using namespace detail;

namespace {

std::string escape_cell(std::string text)
{
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

void write_phases(std::string& out, const Plan& plan)
{
  const bool open = plan.scenario.rps.has_value();
  out += "## Progressive load test\n\n";
  out += fmt::format("Do not start at the target: step up and watch the pool at each phase. Expected concurrency is the formula's "
                     "peak for that {}.\n\n",
                     open ? "rate (run k6's constant-arrival-rate executor at each rate)" : "many VUs");
  if (open) {
    out += "| Phase | Requests/s | Duration | Expected concurrent queries |\n|---|---|---|---|\n";
  } else {
    out += "| Phase | VUs | Duration | Expected concurrent queries | Command |\n|---|---|---|---|---|\n";
  }
  for (const LoadPhase& phase : progressive_phases(plan)) {
    if (open) {
      out +=
        fmt::format("| {} | {} | {} | {} |\n", phase.name, format_number(phase.load), phase.duration, format_number(phase.expected_peak));
    } else {
      out += fmt::format("| {} | {} | {} | {} | `k6 run --vus {} --duration {} your-test.k6.js` |\n",
                         phase.name,
                         format_number(phase.load),
                         phase.duration,
                         format_number(phase.expected_peak),
                         format_number(phase.load),
                         phase.duration);
    }
  }
  out += "\nMore concurrency than expected means queries hold connections longer than assumed (or more queries per second than "
         "assumed): measure, then re-run poolcalc with the measured figures.\n\n";
}

// Title, the recommendation and whether it fits.
void write_headline(std::string& out, const Plan& plan)
{
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  out += fmt::format("# Connection pool review: {}, {} ms per query\n\n", load_text(plan), format_number(d.query_ms));
  if (plan.recommendation == Recommendation::pool) {
    out += fmt::format("**Recommendation:** a pool of **{}** connections per instance (`connection_limit={}`), no PgBouncer needed. ",
                       plan.pool_size,
                       plan.pool_size);
  } else {
    out += fmt::format("**Recommendation:** PgBouncer in {} mode (default_pool_size {}), application pools of {}. ",
                       to_string(plan.pgbouncer->pool_mode),
                       plan.pgbouncer->pools.front().default_pool_size,
                       plan.pool_size);
  }
  out += fmt::format("{}: {}.\n\n", fit_check(plan), plan.fits ? "fits" : "**does not fit**");
}

// The workload and the server as given.
void write_inputs(std::string& out, const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  out += "## Inputs\n\n| Input | Value |\n|---|---|\n";
  if (s.rps) {
    out += fmt::format("| Requests per second (an open load) | {} |\n", format_number(*s.rps));
    out += fmt::format("| Queries per request | {} |\n", format_number(s.queries_per_request));
  } else {
    out += fmt::format("| Virtual users (VUs) | {} |\n", s.vus);
    out += fmt::format("| Activity ratio | {} |\n", fixed(s.activity, 2));
    out +=
      fmt::format("| Queries per active VU per second | {} |\n", format_number(round_decimal(vu_query_rate(s, d.query_ms / 1000.0)), 4));
  }
  std::vector<std::string> ms;
  for (double q : s.query_ms) {
    ms.push_back(format_number(q));
  }
  out += fmt::format("| Query duration (ms) | {} (design: {}) |\n", fmt::join(ms, ", "), format_number(d.query_ms));
  out += fmt::format("| Burst buffer | {}x |\n", format_number(s.burst));
  out += fmt::format("| Overhead connections | {} |\n", s.overhead);
  out += fmt::format("| Application {} | {} |\n", s.serverless ? "executions (serverless)" : "instances", s.instances);
  out += fmt::format("| max_connections | {} |\n", s.max_connections);
  if (s.database_url) {
    out += fmt::format("| Database URL | `{}` |\n", escape_cell(s.database_url->masked()));
  }
}

// The arithmetic, as --explain prints it.
void write_calculation(std::string& out, const Plan& plan)
{
  out += "\n## Calculation\n\n```\n";
  for (const ExplainBlock& block : explain(plan)) {
    out += block.heading + "\n";
    for (const std::string& line : block.lines) {
      out += "  " + line + "\n";
    }
    out += "\n";
  }
  out += "```\n\n";
}

// Each query-time scenario's pool and whether it fits.
void write_scenarios(std::string& out, const Plan& plan)
{
  out += "## Scenarios\n\n| Scenario | Query (ms) | Peak concurrent | Pool size | Connections | Fits |\n|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
    const ScenarioResult& r = plan.scenarios[i];
    out += fmt::format("| {}{} | {} | {} | {} | {} | {} |\n",
                       r.label,
                       i == plan.design_index && plan.scenarios.size() > 1 ? " (design)" : "",
                       format_number(r.query_ms),
                       format_number(r.peak_concurrent),
                       r.pool_size,
                       r.total_connections,
                       r.fits ? std::string("yes") : scenario_fit(plan, r));
  }
}

// The plan against max_connections less the reserved budget.
void write_validation(std::string& out, const Plan& plan)
{
  const Scenario& s = plan.scenario;
  out += "\n## Validation against the database\n\n| | Connections |\n|---|---|\n";
  out += fmt::format("| max_connections | {} |\n", s.max_connections);
  for (const ReserveEntry& entry : s.reserved) {
    const bool skipped =
      std::find(plan.reserve_not_counted.begin(), plan.reserve_not_counted.end(), entry.name) != plan.reserve_not_counted.end();
    out += fmt::format("| reserved: {}{} | {} |\n",
                       escape_cell(entry.name),
                       skipped && s.postgres_version ? fmt::format(" (not counted on PostgreSQL {})", *s.postgres_version) : "",
                       skipped ? 0 : entry.connections);
  }
  out += fmt::format("| reserved in total | {} |\n", plan.reserved_total);
  out += fmt::format("| available to the application | {} |\n", plan.available);
  out += fmt::format("| application connections ({} x {}) | {} |\n", s.instances, plan.pool_size, plan.total_connections);
  if (plan.pgbouncer) {
    out += fmt::format("| server connections through PgBouncer | {} |\n", plan.server_connections);
  }
  out += fmt::format("| utilization of max_connections | {} |\n", format_percent(plan.utilization));
  out += fmt::format("| verdict | {}: {} |\n\n", fit_check(plan), plan.fits ? "fits" : "does not fit");
}

// What the pool does under the load: the queueing model's table, the target and the knee.
void write_queueing(std::string& out, const Plan& plan)
{
  out += "## What the pool does (queueing model)\n\n";
  out += queueing_description(plan.queueing) + ".\n\n";
  const auto& header = queueing_header();
  out += fmt::format("| {} |\n|", fmt::join(header, " | "));
  for (std::size_t i = 0; i < header.size(); ++i) {
    out += "---|";
  }
  out += "\n";
  const auto rows = queueing_rows(plan, plan.queueing.pools);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool is_plan = plan.queueing.pools[i].pool == plan.pool_size;
    out += fmt::format("| {}{} |\n", fmt::join(rows[i], " | "), is_plan ? " (the plan's pool)" : "");
  }
  out += "\n";
  if (const std::string target = target_summary(plan); !target.empty()) {
    out += target + ".\n\n";
  }
  if (plan.queueing.knee) {
    out += fmt::format("The knee, the smallest pool where under {} of queries wait for a connection, is at {}. `poolcalc curve` "
                       "with the same options tabulates every pool size, and `--format svg > curve.svg` charts it.\n\n",
                       share_text(plan.queueing.knee_p_wait),
                       *plan.queueing.knee);
  }
  out += "The rule of thumb above assumes one query per active VU per second and adds a buffer; the queueing model "
         "predicts what the pool does under that load (docs/model.md).\n\n";
}

// The advisor: the rule of thumb and the model side by side, and the options it ranked.
void write_advice(std::string& out, const Plan& plan)
{
  const Advice& a = plan.advice;
  out += fmt::format(
    "## The rule of thumb and the model\n\nThe service objective is {} ({}).\n\n", a.objective.text, escape_cell(a.objective_source));
  out += "| | Pool per instance | Under the load | At the surge |\n|---|---|---|---|\n";
  const auto cell = [&](const std::optional<QueueMetrics>& m) {
    return m ? fmt::format("p99 wait {}, P(wait) {}",
                           wait_text(m->stable ? m->p99_wait_ms : std::numeric_limits<double>::infinity()),
                           share_text(m->stable ? m->p_wait : 1.0))
             : std::string("-");
  };
  out += fmt::format("| the rule of thumb | {} | {} | {} |\n", a.rule_pool, cell(a.rule_at_load), cell(a.rule_at_surge));
  out += fmt::format("| the model (the smallest that meets the objective) | {} | {} | {} |\n\n",
                     a.model_pool ? fmt::format("{}", *a.model_pool) : std::string("none"),
                     cell(a.model_at_load),
                     cell(a.model_at_surge));
  out += fmt::format("The surge is {}x the load ({}, rules `advisor.surge`). ", format_number(a.surge, 2), escape_cell(a.surge_load));
  if (a.model_pool && a.rule_pool > *a.model_pool && !a.rule_through_pgbouncer) {
    const std::int64_t extra = (a.rule_pool - *a.model_pool) * plan.scenario.max_instances;
    out += fmt::format("The rule's {} extra connections cost about {} MiB of server memory (rules `advisor.backend_memory_mib`). ",
                       extra,
                       format_number(std::round(static_cast<double>(extra) * a.backend_memory_mib), 0));
  }
  out += "docs/model.md, \"The advisor\", says when to trust which.\n\n";
  if (!a.searched) {
    return;
  }
  out += fmt::format("The plan's first answer does not do ({}); the options, best first:\n\n", escape_cell(a.why_searched));
  out += "| Chosen | Option | Pools | Server connections | P(wait) | p99 wait | Works |\n|---|---|---|---|---|---|---|\n";
  for (const auto& row : advice_option_rows(plan)) {
    std::vector<std::string> cells;
    for (const std::string& c : row) {
      cells.push_back(escape_cell(c));
    }
    out += fmt::format("| {} |\n", fmt::join(cells, " | "));
  }
  out += fmt::format("\nChosen: {}.\n\n", escape_cell(a.reason));
}

// The client pool's settings beside Prisma's defaults, each with why.
void write_pool_parameters(std::string& out, const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  out += "## Connection pool parameters\n\n| Parameter | Prisma default | Chosen | Why |\n|---|---|---|---|\n";
  const bool advised =
    plan.advice.chosen && plan.pool_size != plan.rule_of_thumb_pool && !(plan.queueing.target && plan.queueing.target_pool);
  const std::string why =
    advised || s.serverless ? plan_pool_formula(plan)
    : plan.queueing.target && plan.queueing.target_pool
      ? fmt::format("the smallest pool meeting {} ({}) + {} overhead, rounded up to {}",
                    plan.queueing.target->text,
                    *plan.queueing.target_pool,
                    s.overhead,
                    s.round_to)
      : fmt::format("{} x {} burst + {} overhead, rounded up to {}", d.peak_ceil, format_number(s.burst, 9), s.overhead, s.round_to);
  out += fmt::format("| `connection_limit` | {} | {} | {} |\n", prisma_default_limit(plan), plan.settings.connection_limit, why);
  const std::string timeout_why =
    plan.settings.pool_timeout_s == 0 ? std::string("0 disables it: a request waits for a connection forever (see the findings)")
    : plan.settings.pool_timeout_s < s.request_timeout_s
      ? fmt::format("below the client's request timeout ({}) so pool exhaustion surfaces as pool errors", seconds(s.request_timeout_s))
      : fmt::format("at or above the client's request timeout ({}): lower it (see the findings)", seconds(s.request_timeout_s));
  out += fmt::format(
    "| `pool_timeout` | {} | {} | {} |\n", seconds(plan.prisma_default_pool_timeout_s), seconds(plan.settings.pool_timeout_s), timeout_why);
  out += fmt::format("| `connect_timeout` | {} | {} | room for network hiccups, still fails fast |\n\n",
                     seconds(plan.prisma_default_connect_timeout_s),
                     seconds(plan.settings.connect_timeout_s));
}

// PgBouncer's configuration, when the plan goes through it.
void write_pgbouncer(std::string& out, const Plan& plan)
{
  const Scenario& s = plan.scenario;
  if (plan.pgbouncer) {
    const PgBouncerPlan& b = *plan.pgbouncer;
    // pgbouncer.ini takes these unquoted: anything but plain names and addresses is left for the
    // reader to fill in rather than written into the file.
    const auto plain = [](const std::string& value, std::string_view extra) {
      return !value.empty() && std::all_of(value.begin(), value.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
               extra.find(c) != std::string_view::npos;
      });
    };
    const std::string db_name = s.database_url ? s.database_url->database() : std::string();
    const std::string host_name = s.database_url ? s.database_url->effective_host() : std::string();
    const std::string port_text = s.database_url ? s.database_url->effective_port() : std::string();
    const std::string db = plain(db_name, "") ? db_name : "your_db";
    const std::string host = plain(host_name, ":/") ? host_name : "localhost";
    const bool port_ok = !port_text.empty() && std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const std::string port = port_ok ? port_text : "5432";
    out += "## PgBouncer\n\n```ini\n[databases]\n";
    if ((s.database_url && !plain(host_name, ":/") && !host_name.empty()) || (!port_text.empty() && !port_ok) ||
        (!db_name.empty() && !plain(db_name, ""))) {
      out += "; the URL's database name, host or port cannot go here as written: check this line\n";
    }
    out += fmt::format("{} = host={} port={} dbname={}\n\n[pgbouncer]\n", db, host, port, db);
    out += fmt::format("listen_port = {}\nlisten_addr = {}\nauth_type = {}\nauth_file = {}\npool_mode = {}\n",
                       b.listen_port,
                       b.listen_addr,
                       b.auth_type,
                       b.auth_file,
                       to_string(b.pool_mode));
    out += fmt::format(
      "max_client_conn = {}\ndefault_pool_size = {}\nmin_pool_size = {}\nreserve_pool_size = {}\nreserve_pool_timeout = {}\n```\n\n",
      b.max_client_conn,
      b.pools.front().default_pool_size,
      b.pools.front().min_pool_size,
      b.pools.front().reserve_pool_size,
      format_number(b.reserve_pool_timeout_s));
  }
}

// The monitoring thresholds for this pool and the queries that watch it.
void write_monitoring(std::string& out, const Plan& plan)
{
  const Scenario& s = plan.scenario;
  out += "## Monitoring thresholds for this pool\n\n| Metric | Warning | Critical | Action |\n|---|---|---|---|\n";
  for (const Threshold& t : plan.monitoring) {
    out += fmt::format("| {} | {} | {} | {} |\n", t.metric, t.warning, t.critical, t.action);
  }
  // An SQL string literal: quotes doubled.
  std::string datname = s.database_url && !s.database_url->database().empty() ? printable(s.database_url->database()) : "your_db";
  for (std::size_t at = datname.find('\''); at != std::string::npos; at = datname.find('\'', at + 2)) {
    datname.insert(at, 1, '\'');
  }
  out +=
    fmt::format("\nOn the server, connections by application and state, and the oldest connections (leaks):\n\n```sql\n"
                "SELECT application_name, state, count(*) AS connections, max(now() - state_change) AS longest_in_state\n"
                "FROM pg_stat_activity\nWHERE datname = '{0}' AND backend_type = 'client backend'\n"
                "GROUP BY application_name, state\nORDER BY connections DESC;\n\n"
                "SELECT pid, usename, application_name, state, now() - backend_start AS connection_age, now() - state_change AS state_age\n"
                "FROM pg_stat_activity\nWHERE datname = '{0}' AND backend_type = 'client backend'\n"
                "ORDER BY connection_age DESC\nLIMIT 20;\n```\n\n",
                datname);
}

// Every finding, or None.
void write_findings(std::string& out, const std::vector<Finding>& findings)
{
  out += "## Findings\n\n";
  if (findings.empty()) {
    out += "None.\n\n";
  } else {
    out += "| Level | Id | Finding | Source |\n|---|---|---|---|\n";
    for (const Finding& f : findings) {
      out += fmt::format("| {} | `{}` | {} | {} |\n", to_string(f.level), f.id, escape_cell(f.message), escape_cell(f.source));
    }
    out += "\n";
  }
}

// The recommendation and its reason.
void write_recommendation(std::string& out, const Plan& plan)
{
  out += "## Recommendation\n\n";
  out += plan.recommendation == Recommendation::pool ? fmt::format("A pool of {} per instance. ", plan.pool_size)
                                                     : std::string("PgBouncer in front of PostgreSQL. ");
  std::string reason = plan.recommendation_reason;
  if (!reason.empty()) {
    reason[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(reason[0])));
  }
  out += reason + ".\n\n";
}

// The checklist.
void write_next_steps(std::string& out, const Plan& plan)
{
  out += "## Next steps\n\n";
  out += "1. [ ] Restart the backend with the new pool configuration\n";
  out += "2. [ ] Verify pool initialization in the startup logs\n";
  out += "3. [ ] Run the progressive load tests above\n";
  out += "4. [ ] Monitor connection metrics during each phase (thresholds above)\n";
  out += "5. [ ] Tune the pool size from the measured concurrency and query times\n";
  out += "6. [ ] Document the breaking point if any phase fails\n";
  out += fmt::format("7. [ ] Consider PgBouncer if a pool above {} is needed\n", plan.consider_pgbouncer_above_pool);
}

} // namespace

std::string render_markdown(const Plan& plan, const std::vector<Finding>& findings)
{
  std::string out;
  write_headline(out, plan);
  write_inputs(out, plan);
  write_calculation(out, plan);
  write_scenarios(out, plan);
  write_validation(out, plan);
  write_queueing(out, plan);
  write_advice(out, plan);
  write_pool_parameters(out, plan);
  write_pgbouncer(out, plan);
  write_monitoring(out, plan);
  write_findings(out, findings);
  write_recommendation(out, plan);
  write_phases(out, plan);
  write_next_steps(out, plan);
  return out;
}

} // namespace poolcalc

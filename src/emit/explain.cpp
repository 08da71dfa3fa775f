#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include <cmath>

namespace poolcalc {

namespace detail {

std::string fixed(double value, int min_decimals)
{
  std::string text = format_number(value, 9);
  const auto dot = text.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(text.size() - dot - 1);
  if (decimals >= min_decimals || text.find('e') != std::string::npos) {
    return text;
  }
  if (dot == std::string::npos && min_decimals > 0) {
    text += '.';
  }
  text.append(static_cast<std::size_t>(min_decimals - decimals), '0');
  return text;
}

std::string load_text(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  return s.rps ? fmt::format("{} requests/s", format_number(*s.rps, 3)) : fmt::format("{} VUs", s.vus);
}

std::string peak_formula(const Plan& plan, double query_ms)
{
  const Scenario& s = plan.scenario;
  const std::string queries = s.queries_per_request == 1 ? "" : fmt::format(" x {} queries", format_number(s.queries_per_request));
  const std::string hold = fmt::format("{} s", fixed(query_ms / 1000.0, 3));
  if (s.rps) {
    return fmt::format("{}/s{} x {}", format_number(*s.rps, 3), queries, hold);
  }
  std::string rate;
  if (s.think_ms) {
    rate = fmt::format(" x {}/s", format_number(round_decimal(vu_query_rate(s, query_ms / 1000.0) / s.queries_per_request), 4));
  } else if (s.vu_rate_per_s != 1.0) {
    rate = fmt::format(" x {}/s", format_number(s.vu_rate_per_s));
  }
  return fmt::format("{} x {}{}{} x {}", s.vus, fixed(s.activity, 2), rate, queries, hold);
}

std::string pool_formula(const Plan& plan, const ScenarioResult& r)
{
  const Scenario& s = plan.scenario;
  const double product = static_cast<double>(r.peak_ceil) * s.burst;
  std::string text = static_cast<double>(r.buffered) == product
                       ? fmt::format("{} x {} + {} = {}", r.peak_ceil, format_number(s.burst, 9), s.overhead, r.pool_size_unrounded)
                       : fmt::format("{}; ceil({} x {}) = {}; + {} = {}",
                                     r.peak_ceil,
                                     r.peak_ceil,
                                     format_number(s.burst, 9),
                                     r.buffered,
                                     s.overhead,
                                     r.pool_size_unrounded);
  if (r.pool_size != r.pool_size_unrounded) {
    text += fmt::format(" -> {}", r.pool_size);
  }
  return text;
}

std::string plan_pool_formula(const Plan& plan)
{
  const QueueingPlan& q = plan.queueing;
  const Advice& a = plan.advice;
  if (a.chosen && a.model_pool &&
      (a.options[*a.chosen].id.starts_with("model_pools") || a.options[*a.chosen].id == "raise_max_connections")) {
    return fmt::format("the advisor: the model's {} for {} + overhead {} = {} (rule of thumb: {})",
                       *a.model_pool,
                       a.objective.text,
                       plan.overhead,
                       plan.pool_size,
                       plan.rule_of_thumb_pool);
  }
  if (plan.scenario.serverless) {
    return fmt::format("serverless: {} per execution, which serves one request at a time (rules serverless.pool_per_execution; rule "
                       "of thumb: {})",
                       plan.pool_size,
                       plan.rule_of_thumb_pool);
  }
  if (q.target && q.target_pool) {
    std::string text = fmt::format("{}: {} + {} = {}", q.target->text, *q.target_pool, plan.scenario.overhead, plan.pool_size_unrounded);
    if (plan.pool_size != plan.pool_size_unrounded) {
      text += fmt::format(" -> {}", plan.pool_size);
    }
    return text + fmt::format(" (rule of thumb: {})", plan.rule_of_thumb_pool);
  }
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  const std::string share = plan.scenario.instances == 1
                              ? format_number(d.peak_concurrent)
                              : fmt::format("{} / {}", format_number(d.peak_concurrent), plan.scenario.instances);
  return fmt::format("ceil({}) = {}", share, pool_formula(plan, d));
}

std::string advice_objective(const Plan& plan)
{
  return fmt::format("objective {} ({})", plan.advice.objective.text, plan.advice.objective_source);
}

namespace {

// "p99 wait 89.8 ms, P(wait) 21.1 %": the objective's figure first when it is another one.
std::string metrics_brief(const QueueMetrics& m, const Target& objective)
{
  std::vector<std::string> parts;
  if (objective.metric == Target::Metric::mean_wait) {
    parts.push_back("mean wait " + wait_text(m.stable ? m.mean_wait_ms : std::numeric_limits<double>::infinity()));
  } else if (objective.metric == Target::Metric::p95_wait) {
    parts.push_back("p95 wait " + wait_text(m.stable ? m.p95_wait_ms : std::numeric_limits<double>::infinity()));
  } else if (objective.metric == Target::Metric::timeout_rate) {
    parts.push_back("timeouts " + share_text(m.timeout_rate));
  }
  parts.push_back("p99 wait " + wait_text(m.stable ? m.p99_wait_ms : std::numeric_limits<double>::infinity()));
  parts.push_back("P(wait) " + share_text(m.stable ? m.p_wait : 1.0));
  if (m.intervals && !m.intervals->converged) {
    parts.push_back("simulated, not settled within rules queueing.simulation_max_events");
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

} // namespace

std::vector<std::array<std::string, 3>> advice_verdict_rows(const Plan& plan)
{
  const Advice& a = plan.advice;
  const QueueingPlan& q = plan.queueing;
  const std::string load = q.model == QueueModel::closed ? fmt::format("{} VUs per instance", q.closed.users)
                                                         : fmt::format("{} queries/s per instance", format_number(q.open.arrival_rps, 3));
  std::vector<std::array<std::string, 3>> rows;
  if (a.model_pool && a.model_at_load) {
    rows.push_back(
      { "the model's pool",
        fmt::format("{}", *a.model_pool),
        fmt::format("the smallest that meets it and carries the load at {}: {}", load, metrics_brief(*a.model_at_load, a.objective)) });
  } else {
    rows.push_back({ "the model's pool", "none", fmt::format("no pool of up to {} connections meets it at {}", a.search_limit, load) });
  }
  if (a.rule_at_load) {
    std::string note;
    if (a.model_pool && a.rule_pool > *a.model_pool) {
      const std::int64_t extra = (a.rule_pool - *a.model_pool) * plan.scenario.max_instances;
      note = a.rule_through_pgbouncer ? fmt::format("{} more client connection{} to PgBouncer{}: ",
                                                    extra,
                                                    extra == 1 ? "" : "s",
                                                    plan.scenario.max_instances > 1 ? " in all" : "")
                                      : fmt::format("{} more connection{}{} (about {} MiB of server memory): ",
                                                    extra,
                                                    extra == 1 ? "" : "s",
                                                    plan.scenario.max_instances > 1 ? " in all" : "",
                                                    format_number(std::round(static_cast<double>(extra) * a.backend_memory_mib), 0));
    } else if (a.model_pool && a.rule_pool < *a.model_pool) {
      note = fmt::format("{} fewer than the model's: ", *a.model_pool - a.rule_pool);
    }
    rows.push_back({ "the rule of thumb's", fmt::format("{}", a.rule_pool), note + metrics_brief(*a.rule_at_load, a.objective) });
  }
  if (a.rule_at_surge) {
    std::string note = fmt::format("{}: the rule's {}: {}", a.surge_load, a.rule_pool, metrics_brief(*a.rule_at_surge, a.objective));
    if (a.model_pool && a.model_at_surge) {
      note += fmt::format("; the model's {}: {}", *a.model_pool, metrics_brief(*a.model_at_surge, a.objective));
    }
    rows.push_back({ fmt::format("at {}x the load", format_number(a.surge, 2)), "", note });
  }
  return rows;
}

const std::vector<std::string>& advice_option_header()
{
  static const std::vector<std::string> header{ "", "option", "pools", "server", "P(wait)", "p99 wait", "works" };
  return header;
}

std::vector<std::vector<std::string>> advice_option_rows(const Plan& plan)
{
  const Advice& a = plan.advice;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < a.options.size(); ++i) {
    const AdvisorOption& o = a.options[i];
    const bool stable = o.at_load && o.at_load->stable;
    std::string works =
      o.offered && o.fits && o.meets_objective ? (o.within_safe_band ? "yes" : "yes, above the safe band") : "no: " + o.miss_text;
    if (!o.within_db_ceiling && a.db_ceiling) {
      works += fmt::format("; past the database's useful {} at once", *a.db_ceiling);
    }
    if (o.id == "raise_max_connections" && o.offered) {
      works += fmt::format(" (max_connections {})", o.max_connections);
    }
    rows.push_back({ a.chosen && *a.chosen == i ? ">" : "",
                     o.id,
                     plan.scenario.max_instances > plan.scenario.instances
                       ? fmt::format("{}-{} x {}", plan.scenario.instances, plan.scenario.max_instances, o.pool_per_instance)
                       : fmt::format("{} x {}", plan.scenario.instances, o.pool_per_instance),
                     fmt::format("{} of {}", o.server_connections, o.available),
                     o.at_load ? share_text(stable ? o.at_load->p_wait : 1.0) : "-",
                     o.at_load ? wait_text(stable ? o.at_load->p99_wait_ms : std::numeric_limits<double>::infinity()) : "-",
                     works });
  }
  return rows;
}

std::string reserved_list(const Plan& plan)
{
  std::vector<std::string> parts;
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    const bool skipped =
      std::find(plan.reserve_not_counted.begin(), plan.reserve_not_counted.end(), entry.name) != plan.reserve_not_counted.end();
    parts.push_back(skipped && plan.scenario.postgres_version
                      ? fmt::format("{} {}: not counted on PostgreSQL {}", entry.name, entry.connections, *plan.scenario.postgres_version)
                      : fmt::format("{} {}", entry.name, entry.connections));
  }
  return parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", "));
}

std::string seconds(double value)
{
  return fmt::format("{} s", format_number(value));
}

std::string fit_check(const Plan& plan)
{
  if (!plan.pgbouncer) {
    // The hardest moment: the autoscaler's maximum when it is given.
    std::int64_t connections = plan.server_connections;
    std::string when;
    for (const Moment& m : plan.moments) {
      if (m.hard && m.connections > connections) {
        connections = m.connections;
        when = " at " + m.what;
      }
    }
    return fmt::format("{}{} {} {} available", connections, when, connections <= plan.available ? "<=" : ">", plan.available);
  }
  const std::int64_t peak = plan.scenarios[plan.design_index].peak_total_ceil;
  return fmt::format("peak {} {} {} server connections {} {} available",
                     peak,
                     peak <= plan.server_connections ? "<=" : ">",
                     plan.server_connections,
                     plan.server_connections <= plan.available ? "<=" : ">",
                     plan.available);
}

std::string scenario_fit(const Plan& plan, const ScenarioResult& r)
{
  if (r.fits) {
    return "fits";
  }
  if (!plan.pgbouncer) {
    return fmt::format("does not fit ({} > {} available)", r.total_connections, plan.available);
  }
  return fmt::format("does not fit (peak {} > {} server connections)", r.peak_total_ceil, plan.server_connections);
}

std::string shape_text(const Distribution& d)
{
  switch (d.family) {
  case Distribution::Family::constant:
    return "constant";
  case Distribution::Family::exponential:
    return "exponential";
  case Distribution::Family::lognormal:
    return fmt::format("lognormal, cv {}", format_number(std::sqrt(cv2(d)), 3));
  case Distribution::Family::empirical:
    return fmt::format("measured, cv {}", format_number(std::sqrt(cv2(d)), 3));
  case Distribution::Family::mixture:
    return fmt::format("exponential mix, cv {}", format_number(std::sqrt(cv2(d)), 3));
  }
  return "";
}

std::string with_interval(const std::string& value, const std::string& half)
{
  return half == "0 ms" || half == "0 %" || half == "0.0/s" ? value : fmt::format("{} +- {}", value, half);
}

std::string queueing_description(const QueueingPlan& q)
{
  const std::string method = q.simulated ? fmt::format("simulated, stream {}", q.stream) : "";
  // A hold that is not exponential on a population too large to simulate.
  const bool assumed = !q.simulated && q.hold.family != Distribution::Family::exponential;
  const std::string hold = fmt::format("{} ms ({}: {})", format_number(q.hold_ms), shape_text(q.hold), q.hold_cv_source);
  if (q.model == QueueModel::closed) {
    return fmt::format("closed loop ({}): {} VU{} per instance, each holding a connection {}, then {} ms ({}: {}) until its next query",
                       q.simulated ? method
                       : assumed   ? fmt::format("M/M/c//N, holds taken as exponential: over {} VUs per instance are too many to simulate",
                                               k_max_simulated_users)
                                   : "M/M/c//N",
                       q.closed.users,
                       q.closed.users == 1 ? "" : "s",
                       hold,
                       format_number(q.closed.think_s * 1000.0, 1),
                       shape_text(q.think),
                       q.think_source);
  }
  return fmt::format("open loop ({}): {} queries/s per instance, each holding a connection {}",
                     q.simulated ? method : "M/M/c, Erlang C",
                     format_number(q.open.arrival_rps, 2),
                     hold);
}

const std::vector<std::string>& queueing_header()
{
  static const std::vector<std::string> header = {
    "pool", "throughput", "P(wait)", "mean wait", "p95 wait", "p99 wait", "timeouts", "busy"
  };
  return header;
}

std::vector<std::vector<std::string>> queueing_rows(const Plan& plan, const std::vector<QueueMetrics>& points)
{
  std::vector<std::vector<std::string>> rows;
  for (const QueueMetrics& m : points) {
    const MetricIntervals* ci = m.intervals ? &*m.intervals : nullptr;
    // A simulated figure carries its 95 % interval: "46.5 +- 1.2 ms".
    const auto wait = [&](double value, double half) {
      return ci == nullptr ? wait_text(value) : with_interval(wait_text(value), wait_text(half));
    };
    const auto share = [&](double value, double half) {
      return ci == nullptr ? share_text(value) : with_interval(share_text(value), share_text(half));
    };
    rows.push_back({ fmt::format("{}", m.pool),
                     ci == nullptr ? fmt::format("{:.1f}/s", m.throughput_rps)
                                   : with_interval(fmt::format("{:.1f}/s", m.throughput_rps), fmt::format("{:.1f}/s", ci->throughput_rps)),
                     share(m.p_wait, ci ? ci->p_wait : 0),
                     wait(m.mean_wait_ms, ci ? ci->mean_wait_ms : 0),
                     wait(m.p95_wait_ms, ci ? ci->p95_wait_ms : 0),
                     wait(m.p99_wait_ms, ci ? ci->p99_wait_ms : 0),
                     plan.scenario.pool_timeout_s <= 0 ? std::string("no timeout")
                     : m.stable                        ? share(m.timeout_rate, ci ? ci->timeout_rate : 0)
                                                       : ">= " + share_text(m.timeout_rate),
                     fmt::format("{} %", format_number(m.utilization * 100.0, 0)) });
  }
  return rows;
}

std::vector<std::size_t> column_widths(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows)
{
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
    for (const auto& row : rows) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  return widths;
}

std::string queueing_table(const Plan& plan, const std::vector<QueueMetrics>& points)
{
  const auto rows = queueing_rows(plan, points);
  const auto& header = queueing_header();
  const std::vector<std::size_t> widths = column_widths(header, rows);
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text = " ";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += fmt::format(" {:>{}}", cells[i], widths[i]);
    }
    return text;
  };
  std::string out = line(header) + "\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string text = line(rows[i]);
    std::vector<std::string> marks;
    if (plan.queueing.knee && points[i].pool == *plan.queueing.knee) {
      marks.push_back(fmt::format("knee: P(wait) < {}", share_text(plan.queueing.knee_p_wait)));
    }
    if (points[i].pool == plan.pool_size) {
      marks.push_back("the plan's pool");
    }
    if (!marks.empty()) {
      text += fmt::format("  <- {}", fmt::join(marks, ", "));
    }
    out += text + "\n";
  }
  const auto unconverged =
    std::count_if(points.begin(), points.end(), [](const QueueMetrics& m) { return m.intervals && !m.intervals->converged; });
  if (std::any_of(points.begin(), points.end(), [](const QueueMetrics& m) { return m.intervals.has_value(); })) {
    out += fmt::format("  +- : the 95 % interval of the simulation{}\n",
                       unconverged == 0 ? ""
                                        : fmt::format("; {} row{} spent the event budget before reaching +-{} %",
                                                      unconverged,
                                                      unconverged == 1 ? "" : "s",
                                                      format_number(plan.queueing.simulation_precision * 100.0)));
  }
  return out;
}

std::string target_summary(const Plan& plan)
{
  const QueueingPlan& q = plan.queueing;
  if (!q.target || !q.target_pool) {
    return "";
  }
  std::string text = fmt::format("--target {}: the smallest pool that meets it is {}; + {} overhead = {}",
                                 q.target->text,
                                 *q.target_pool,
                                 plan.scenario.overhead,
                                 plan.pool_size_unrounded);
  if (plan.pool_size != plan.pool_size_unrounded) {
    text += fmt::format(" -> {}", plan.pool_size);
  }
  return text + fmt::format(" (the rule of thumb gives {})", plan.rule_of_thumb_pool);
}

std::string prisma_default_limit(const Plan& plan)
{
  return fmt::format("physical CPUs x {} + {}", plan.prisma_default_connection_limit_per_cpu, plan.prisma_default_connection_limit_add);
}

std::string dotenv_url(const std::string& url)
{
  std::string out;
  for (char c : url) {
    switch (c) {
    case '$':
      out += "%24";
      break;
    case '`':
      out += "%60";
      break;
    case '\\':
      out += "%5C";
      break;
    case '"':
      out += "%22";
      break;
    case '\'':
      out += "%27";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string dotenv_quoted(const std::string& url)
{
  std::string out = "\"";
  out += dotenv_url(url);
  out += '"';
  return out;
}

} // namespace detail

using namespace detail;

namespace {

// Peak concurrency by Little's law, for each scenario (docs/model.md, section 1).
ExplainBlock peak_block(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  ExplainBlock peak{ "Peak concurrent queries = VUs x activity ratio x query duration (seconds)", {} };
  if (s.rps) {
    peak.heading = "Peak concurrent queries = requests per second x queries per request x query duration (seconds)";
  } else if (s.vu_rate_per_s != 1.0 || s.think_ms || s.queries_per_request != 1.0) {
    peak.heading = "Peak concurrent queries = VUs x activity ratio x requests per VU per second x queries per request x query duration "
                   "(seconds)";
  }
  for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
    const ScenarioResult& r = plan.scenarios[i];
    peak.lines.push_back(fmt::format("{} ({} ms): {} = {}{}",
                                     r.label,
                                     format_number(r.query_ms),
                                     peak_formula(plan, r.query_ms),
                                     format_number(r.peak_concurrent, 9),
                                     i == plan.design_index && plan.scenarios.size() > 1 ? "  <- design" : ""));
  }
  if (!s.operations.empty()) {
    std::vector<std::string> parts;
    for (const Operation& op : s.operations) {
      parts.push_back(fmt::format("{} {} x {} ms", op.name, format_number(op.share), format_number(op.hold_ms)));
    }
    peak.lines.push_back(fmt::format("the --op mix's mean hold: {} = {} ms", fmt::join(parts, " + "), format_number(s.query_ms.front())));
  }
  if (s.rps) {
    peak.lines.push_back("This is Little's law (concurrency = arrival rate x time held) for an open load: requests arrive at that "
                         "rate whatever the response time.");
  } else {
    std::string note = fmt::format("This is Little's law (concurrency = arrival rate x time held) with {} quer{} per active VU per "
                                   "second",
                                   format_number(round_decimal(vu_query_rate(s, plan.scenarios[plan.design_index].query_ms / 1000.0)), 4),
                                   vu_query_rate(s, plan.scenarios[plan.design_index].query_ms / 1000.0) == 1.0 ? "y" : "ies");
    note += s.think_ms ? fmt::format(" (a think time of {} ms between requests)", format_number(*s.think_ms)) : std::string();
    note += ": a VU that sends requests faster, or more queries per request, needs proportionally more.";
    if (s.activity < 1.0) {
      note += fmt::format(" VUs outside the activity share ({}) are counted as sending no queries.", format_number(1.0 - s.activity, 2));
    }
    peak.lines.push_back(note);
  }
  return peak;
}

// The rule of thumb (ceil(peak) x burst + overhead, rounded up), or the --target's pool.
ExplainBlock pool_block(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  ExplainBlock pool{ s.instances == 1
                       ? "Recommended pool size = (ceil(peak concurrent) x burst) + overhead, rounded up"
                       : "Recommended pool size per instance = (ceil(peak concurrent / instances) x burst) + overhead, rounded up",
                     {} };
  if (s.instances > 1) {
    pool.lines.push_back(
      fmt::format("peak per instance = {} / {} = {}", format_number(d.peak_concurrent), s.instances, format_number(d.per_instance_peak)));
  }
  pool.lines.push_back(fmt::format("= ({} x {}) + {}", d.peak_ceil, format_number(s.burst, 9), s.overhead));
  if (static_cast<double>(d.buffered) != static_cast<double>(d.peak_ceil) * s.burst) {
    pool.lines.push_back(fmt::format("{} x {} = {}, rounded up to a whole connection: {}",
                                     d.peak_ceil,
                                     format_number(s.burst, 9),
                                     format_number(static_cast<double>(d.peak_ceil) * s.burst, 9),
                                     d.buffered));
  }
  pool.lines.push_back(fmt::format("= {} + {}", d.buffered, s.overhead));
  pool.lines.push_back(fmt::format("= {}", d.pool_size_unrounded));
  pool.lines.push_back(fmt::format("rounded up to a multiple of {}: {}", s.round_to, d.pool_size));
  if (s.serverless) {
    pool.lines.push_back(fmt::format("--serverless replaces it: {} per execution, which serves one request at a time", plan.pool_size));
  } else if (plan.queueing.target && plan.queueing.target_pool) {
    pool.lines.push_back(fmt::format("--target {} replaces it: the smallest pool that meets it is {}; + {} overhead = {}, rounded up: {}",
                                     plan.queueing.target->text,
                                     *plan.queueing.target_pool,
                                     s.overhead,
                                     plan.pool_size_unrounded,
                                     plan.pool_size));
  }
  return pool;
}

// The plan against max_connections less the reserved budget.
ExplainBlock database_block(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  ExplainBlock db{ "Validation against the database", {} };
  db.lines.push_back(fmt::format("max_connections = {}", s.max_connections));
  db.lines.push_back(fmt::format("reserved: {} = {}", reserved_list(plan), plan.reserved_total));
  db.lines.push_back(fmt::format("available = {} - {} = {}", s.max_connections, plan.reserved_total, plan.available));
  db.lines.push_back(fmt::format("application connections = {} {}{} x {} = {}",
                                 s.instances,
                                 s.serverless ? "execution" : "instance",
                                 s.instances == 1 ? "" : "s",
                                 plan.pool_size,
                                 plan.total_connections));
  for (std::size_t i = 1; i < plan.moments.size(); ++i) {
    const Moment& m = plan.moments[i];
    db.lines.push_back(fmt::format("{}: {} x {} = {} application connections, {} server connections{}{}",
                                   m.what,
                                   m.instances,
                                   plan.pool_size,
                                   m.client_connections,
                                   m.connections,
                                   m.fits ? "" : fmt::format(" > {} available", plan.available),
                                   m.hard         ? ""
                                   : s.serverless ? " (a warning: shifting traffic to a new version gradually avoids it)"
                                                  : " (a warning: a deploy with maxSurge 0 avoids it)"));
  }
  if (plan.pgbouncer) {
    db.lines.push_back(fmt::format("through PgBouncer, the server sees {}default_pool_size {} + reserve_pool_size {}{} = {}",
                                   plan.pgbouncer->pgbouncers > 1 ? fmt::format("{} sidecars x (", plan.pgbouncer->pgbouncers) : "",
                                   plan.pgbouncer->pools.front().default_pool_size,
                                   plan.pgbouncer->pools.front().reserve_pool_size,
                                   plan.pgbouncer->pgbouncers > 1 ? ")" : "",
                                   plan.server_connections));
  }
  db.lines.push_back(fmt::format("{}: {}", fit_check(plan), plan.fits ? "fits" : "does not fit"));
  db.lines.push_back(
    fmt::format("utilization = {} / {} = {}", plan.server_connections, s.max_connections, format_percent(plan.utilization)));
  return db;
}

// PgBouncer's server pool for the whole load, fitted into the server budget (the plan has PgBouncer).
ExplainBlock pgbouncer_block(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const PgBouncerPlan& b = *plan.pgbouncer;
  const PgBouncerPool& pool = b.pools.front(); // a plan's PgBouncer has one pool
  const ScenarioResult& design = plan.scenarios[plan.design_index];
  if (b.topology == Topology::sidecar) {
    // One PgBouncer beside each instance (--topology sidecar): its pool is the instance's own.
    ExplainBlock sidecar{ "PgBouncer's server pool (one sidecar per instance)", {} };
    const std::int64_t share = b.server_budget / s.instances;
    sidecar.lines.push_back(fmt::format("default_pool_size wanted = the instance's own pool: {}", pool.default_pool_size_wanted));
    sidecar.lines.push_back(fmt::format("server budget = min(available {}, {} x max_connections {}) = {}; each sidecar's share = "
                                        "floor({} / {} instances) = {}",
                                        plan.available,
                                        format_percent(plan.safe_utilization_max),
                                        s.max_connections,
                                        b.server_budget,
                                        b.server_budget,
                                        s.instances,
                                        share));
    sidecar.lines.push_back(pool.default_pool_size != pool.default_pool_size_wanted
                              ? fmt::format("{} + its reserve do not fit: default_pool_size = floor({} / (1 + reserve ratio)) = {}, "
                                            "reserve_pool_size = {} - {} = {}",
                                            pool.default_pool_size_wanted,
                                            share,
                                            pool.default_pool_size,
                                            share,
                                            pool.default_pool_size,
                                            pool.reserve_pool_size)
                              : fmt::format("reserve_pool_size = {}; {} + {} = {} <= {}",
                                            pool.reserve_pool_size,
                                            pool.default_pool_size,
                                            pool.reserve_pool_size,
                                            b.server_connections_each,
                                            share));
    sidecar.lines.push_back(fmt::format("server connections = {} sidecars x {} = {} (one shared PgBouncer: {})",
                                        b.pgbouncers,
                                        b.server_connections_each,
                                        b.server_connections,
                                        b.shared_server_connections));
    sidecar.lines.push_back(fmt::format("min_pool_size = {}; max_client_conn = max({}, the instance's {} client connections) = {}",
                                        pool.min_pool_size,
                                        b.max_client_conn_minimum,
                                        plan.pool_size,
                                        b.max_client_conn));
    return sidecar;
  }
  ExplainBlock bouncer{ "PgBouncer's server pool (for the whole load)", {} };
  if (plan.queueing.target && !plan.queueing.fleet_target_pool) {
    bouncer.lines.push_back(
      fmt::format("no pool meets {} for the whole load: PgBouncer's pool falls back to the rule of thumb", plan.queueing.target->text));
  }
  if (plan.queueing.fleet_target_pool) {
    // The advisor sizes PgBouncer by the model for its objective when no --target is given.
    bouncer.lines.push_back(fmt::format("default_pool_size wanted = the smallest pool meeting {} for the whole load ({}) + {} overhead, "
                                        "rounded up: {}",
                                        plan.queueing.target ? plan.queueing.target->text : plan.advice.objective.text,
                                        *plan.queueing.fleet_target_pool,
                                        s.overhead,
                                        pool.default_pool_size_wanted));
  } else {
    bouncer.lines.push_back(fmt::format("default_pool_size wanted = ceil({}) = {} x {} + {}, rounded up: {}",
                                        format_number(design.peak_concurrent),
                                        design.peak_total_ceil,
                                        format_number(s.burst, 9),
                                        s.overhead,
                                        pool.default_pool_size_wanted));
  }
  bouncer.lines.push_back(fmt::format("server budget = min(available {}, {} x max_connections {}) = {}",
                                      plan.available,
                                      format_percent(plan.safe_utilization_max),
                                      s.max_connections,
                                      b.server_budget));
  if (pool.default_pool_size != pool.default_pool_size_wanted) {
    bouncer.lines.push_back(fmt::format("{} + its reserve do not fit: default_pool_size = floor({} / (1 + reserve ratio)) = {}, "
                                        "reserve_pool_size = {} - {} = {}",
                                        pool.default_pool_size_wanted,
                                        b.server_budget,
                                        pool.default_pool_size,
                                        b.server_budget,
                                        pool.default_pool_size,
                                        pool.reserve_pool_size));
  } else {
    bouncer.lines.push_back(fmt::format("reserve_pool_size = {}; {} + {} = {} <= {}",
                                        pool.reserve_pool_size,
                                        pool.default_pool_size,
                                        pool.reserve_pool_size,
                                        b.server_connections,
                                        b.server_budget));
  }
  bouncer.lines.push_back(fmt::format("min_pool_size = {}; max_client_conn = max({}, {} client connections) = {}",
                                      pool.min_pool_size,
                                      b.max_client_conn_minimum,
                                      plan.total_connections,
                                      b.max_client_conn));
  return bouncer;
}

// What the pool does under the load (the queueing model).
ExplainBlock queueing_block(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  const QueueingPlan& q = plan.queueing;
  ExplainBlock queue{ "What the pool does (queueing model)", {} };
  queue.lines.push_back(queueing_description(q));
  if (q.model == QueueModel::closed) {
    queue.lines.push_back(fmt::format("think = 1 / ({}/s per VU) - {} s = {} s",
                                      format_number(round_decimal(1.0 / (q.closed.think_s + q.closed.hold_s)), 4),
                                      fixed(q.closed.hold_s, 3),
                                      format_number(round_decimal(q.closed.think_s), 4)));
    queue.lines.push_back("exact state probabilities of the machine-repairman model; waits by the arrival theorem "
                          "(docs/model.md)");
  } else {
    queue.lines.push_back(fmt::format("offered load a = {} queries/s x {} s = {} Erlangs; Erlang C, waits scaled by (1 + cv^2) / 2",
                                      format_number(q.open.arrival_rps, 3),
                                      fixed(q.open.hold_s, 3),
                                      format_number(round_decimal(q.open.arrival_rps * q.open.hold_s), 3)));
  }
  if (q.recommended) {
    const QueueMetrics& m = *q.recommended;
    queue.lines.push_back(fmt::format("pool {}: {:.1f} queries/s, P(wait) {}, mean wait {}, p95 {}, p99 {}, timeouts {}",
                                      m.pool,
                                      m.throughput_rps,
                                      share_text(m.p_wait),
                                      wait_text(m.mean_wait_ms),
                                      wait_text(m.p95_wait_ms),
                                      wait_text(m.p99_wait_ms),
                                      s.pool_timeout_s > 0 ? share_text(m.timeout_rate) : "none (no pool timeout)"));
  }
  if (const std::string target = target_summary(plan); !target.empty()) {
    queue.lines.push_back(target);
  }
  return queue;
}

// The recommendation and its reason.
ExplainBlock recommendation_block(const Plan& plan)
{
  ExplainBlock rec{ "Recommendation", {} };
  rec.lines.push_back(plan.recommendation == Recommendation::pool
                        ? fmt::format("a pool of {} per instance", plan.pool_size)
                        : fmt::format("PgBouncer ({} pooling) in front of PostgreSQL", to_string(plan.pgbouncer->pool_mode)));
  rec.lines.push_back(plan.recommendation_reason);
  return rec;
}

} // namespace

// The advisor: the model's verdict on the rule of thumb, and the option the plan became.
ExplainBlock advice_block(const Plan& plan)
{
  const Advice& a = plan.advice;
  ExplainBlock block;
  block.heading = fmt::format("The advisor: the rule of thumb against the {}", advice_objective(plan));
  for (const auto& row : advice_verdict_rows(plan)) {
    block.lines.push_back(row[1].empty() ? fmt::format("{}: {}", row[0], row[2]) : fmt::format("{} {}: {}", row[0], row[1], row[2]));
  }
  if (a.searched) {
    block.lines.push_back(fmt::format("the first answer does not do: {}", a.why_searched));
    for (const AdvisorOption& o : a.options) {
      const bool ok = o.offered && o.fits && o.meets_objective;
      block.lines.push_back(fmt::format("{}: {}: {}", o.id, o.summary, ok ? "works" : "does not work: " + o.miss_text));
    }
    block.lines.push_back(a.chosen ? "chosen: " + a.reason : a.reason);
  }
  return block;
}

std::vector<ExplainBlock> explain(const Plan& plan)
{
  std::vector<ExplainBlock> blocks{ peak_block(plan), pool_block(plan), database_block(plan) };
  if (plan.pgbouncer) {
    blocks.push_back(pgbouncer_block(plan));
  }
  blocks.push_back(queueing_block(plan));
  blocks.push_back(advice_block(plan));
  blocks.push_back(recommendation_block(plan));
  return blocks;
}

} // namespace poolcalc

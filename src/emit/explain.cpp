#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

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

std::string peak_formula(const Plan& plan, double query_ms)
{
  const Scenario& s = plan.scenario;
  const std::string rate = s.vu_rate_per_s == 1.0 ? "" : fmt::format(" x {}/s", format_number(s.vu_rate_per_s));
  return fmt::format("{} x {}{} x {} s", s.vus, fixed(s.activity, 2), rate, fixed(query_ms / 1000.0, 3));
}

std::string pool_formula(const Plan& plan, const ScenarioResult& r)
{
  const Scenario& s = plan.scenario;
  std::string text = fmt::format("{} x {} + {} = {}", r.peak_ceil, format_number(s.burst), s.overhead, r.pool_size_unrounded);
  if (r.pool_size != r.pool_size_unrounded) {
    text += fmt::format(" -> {}", r.pool_size);
  }
  return text;
}

std::string reserved_list(const Plan& plan)
{
  std::vector<std::string> parts;
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    parts.push_back(fmt::format("{} {}", entry.name, entry.connections));
  }
  return parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", "));
}

std::string percent(double ratio)
{
  return fmt::format("{} %", format_number(ratio * 100.0, 1));
}

std::string seconds(double value)
{
  return fmt::format("{} s", format_number(value));
}

std::int64_t fleet_peak_ceil(const Plan& plan, const ScenarioResult& r)
{
  return static_cast<std::int64_t>(std::ceil(round_decimal(r.peak_concurrent * static_cast<double>(plan.scenario.instances))));
}

std::string fit_check(const Plan& plan)
{
  if (!plan.pgbouncer) {
    return fmt::format("{} {} {} available", plan.server_connections, plan.fits ? "<=" : ">", plan.available);
  }
  const std::int64_t peak = fleet_peak_ceil(plan, plan.scenarios[plan.design_index]);
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
  return fmt::format("does not fit (peak {} > {} server connections)", fleet_peak_ceil(plan, r), plan.server_connections);
}

std::string prisma_default_limit(const Plan& plan)
{
  return fmt::format("physical CPUs x {} + {}", plan.prisma_default_connection_limit_per_cpu, plan.prisma_default_connection_limit_add);
}

} // namespace detail

using namespace detail;

std::vector<ExplainBlock> explain(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  std::vector<ExplainBlock> blocks;

  ExplainBlock peak{ "Peak concurrent queries = VUs x activity ratio x query duration (seconds)", {} };
  if (s.vu_rate_per_s != 1.0) {
    peak.heading = "Peak concurrent queries = VUs x activity ratio x queries per VU per second x query duration (seconds)";
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
  peak.lines.push_back(fmt::format("This is Little's law (concurrency = arrival rate x time held) with {} query per active VU per "
                                   "second: a VU that sends requests faster, or several queries per request, needs proportionally "
                                   "more. VUs outside the activity share ({}) are counted as sending no queries.",
                                   format_number(s.vu_rate_per_s),
                                   format_number(1.0 - s.activity, 2)));
  blocks.push_back(peak);

  const ScenarioResult& d = plan.scenarios[plan.design_index];
  ExplainBlock pool{ "Recommended pool size = (ceil(peak concurrent) x burst) + overhead, rounded up", {} };
  pool.lines.push_back(fmt::format("= ({} x {}) + {}", d.peak_ceil, format_number(s.burst), s.overhead));
  pool.lines.push_back(fmt::format("= {} + {}", d.buffered, s.overhead));
  pool.lines.push_back(fmt::format("= {}", d.pool_size_unrounded));
  pool.lines.push_back(fmt::format("rounded up to a multiple of {}: {}", s.round_to, d.pool_size));
  blocks.push_back(pool);

  ExplainBlock db{ "Validation against the database", {} };
  db.lines.push_back(fmt::format("max_connections = {}", s.max_connections));
  db.lines.push_back(fmt::format("reserved: {} = {}", reserved_list(plan), plan.reserved_total));
  db.lines.push_back(fmt::format("available = {} - {} = {}", s.max_connections, plan.reserved_total, plan.available));
  db.lines.push_back(fmt::format(
    "application connections = {} instance{} x {} = {}", s.instances, s.instances == 1 ? "" : "s", plan.pool_size, plan.total_connections));
  if (plan.pgbouncer) {
    db.lines.push_back(fmt::format("through PgBouncer, the server sees default_pool_size {} + reserve_pool_size {} = {}",
                                   plan.pgbouncer->default_pool_size,
                                   plan.pgbouncer->reserve_pool_size,
                                   plan.server_connections));
  }
  db.lines.push_back(fmt::format("{}: {}", fit_check(plan), plan.fits ? "fits" : "does not fit"));
  db.lines.push_back(fmt::format("utilization = {} / {} = {}", plan.server_connections, s.max_connections, percent(plan.utilization)));
  blocks.push_back(db);

  ExplainBlock rec{ "Recommendation", {} };
  rec.lines.push_back(plan.recommendation == Recommendation::pool ? fmt::format("a pool of {} per instance", plan.pool_size)
                                                                  : "PgBouncer (transaction pooling) in front of PostgreSQL");
  rec.lines.push_back(plan.recommendation_reason);
  blocks.push_back(rec);
  return blocks;
}

std::optional<DatabaseUrl> application_url(const Plan& plan)
{
  if (!plan.scenario.database_url) {
    return std::nullopt;
  }
  DatabaseUrl url = *plan.scenario.database_url;
  if (plan.pgbouncer) {
    // The application talks to PgBouncer where it listens; PgBouncer talks to the database.
    url = url.with_host(plan.pgbouncer->listen_addr)
            .with_port(static_cast<unsigned>(plan.pgbouncer->listen_port))
            .with_param("pgbouncer", "true");
  }
  return url.with_param("connection_limit", fmt::format("{}", plan.settings.connection_limit))
    .with_param("pool_timeout", format_number(plan.settings.pool_timeout_s))
    .with_param("connect_timeout", format_number(plan.settings.connect_timeout_s));
}

} // namespace poolcalc

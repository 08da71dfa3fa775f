#include "fleet_common.hpp"

#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc::detail {

std::string fleet_reserve_list(const Fleet& fleet)
{
  const FleetDatabase& db = fleet.database;
  std::vector<std::string> counted;
  std::vector<std::string> not_counted;
  for (const ReserveEntry& entry : db.reserve) {
    const bool skipped = std::find(db.reserve_not_count.begin(), db.reserve_not_count.end(), entry.name) != db.reserve_not_count.end();
    (skipped ? not_counted : counted).push_back(fmt::format("{} {}", entry.name, entry.connections));
  }
  if (db.reserved_connections > 0) {
    counted.push_back(fmt::format("reserved_connections {}", db.reserved_connections));
  }
  std::string text = counted.empty() ? std::string("none") : fmt::format("{}", fmt::join(counted, ", "));
  if (!not_counted.empty()) {
    text += fmt::format("; not counted: {} (PostgreSQL {} gives WAL senders their own slots)", fmt::join(not_counted, ", "), db.version);
  }
  return text;
}

std::string fleet_load_text(const FleetService& service)
{
  const Scenario& s = service.input.scenario;
  return s.rps ? fmt::format("{} requests/s", format_number(*s.rps)) : fmt::format("{} VUs", s.vus);
}

std::string fleet_instances_text(std::int64_t instances, std::int64_t max_instances)
{
  return max_instances > instances ? fmt::format("{}-{}", instances, max_instances) : fmt::format("{}", instances);
}

double fleet_peak_sum(const Fleet& fleet)
{
  double sum = 0;
  for (const FleetService& s : fleet.services) {
    sum += s.peak;
  }
  return round_decimal(sum);
}

std::string fleet_surge_text(const Fleet& fleet)
{
  const FleetDeploy& d = fleet.deploy;
  if (d.strategy == DeployStrategy::recreate) {
    return fmt::format("recreate: no surge ({} connections), the service is down while it restarts", fleet.total_connections);
  }
  std::string head;
  if (d.strategy == DeployStrategy::rolling) {
    head = d.max_surge_instances ? fmt::format("rolling, max_surge {}", *d.max_surge_instances)
                                 : fmt::format("rolling, max_surge {}{}",
                                               format_percent(d.max_surge_percent / 100.0),
                                               d.max_surge_default ? " (the rules' default, rounded up)" : " (rounded up)");
  } else {
    head = "blue-green, every instance doubled";
  }
  std::vector<std::string> parts;
  for (const FleetService& s : fleet.services) {
    parts.push_back(fmt::format("{} +{} x {} = +{}", s.input.name, s.surge_instances, s.pool, s.surge_connections));
  }
  return fmt::format("{}, {}: {}; at most {} connections at once ({} {} + {})",
                     head,
                     d.simultaneous ? "every service at once" : "one service at a time",
                     fmt::join(parts, ", "),
                     fleet.surge_connections,
                     fleet.total_connections,
                     fleet_base_phrase(fleet),
                     fleet.surge_connections - fleet.total_connections);
}

std::string fleet_wait_text(const PgBouncerPool& pool)
{
  if (!pool.wait) {
    return pool.pool_mode == PoolMode::transaction ? "not modelled (too many VUs to simulate)" : "none: a server connection per client";
  }
  const QueueMetrics& m = *pool.wait;
  if (!m.stable) {
    return "unbounded (unstable)";
  }
  return fmt::format("{} / {} / {}", wait_text(m.mean_wait_ms), wait_text(m.p95_wait_ms), wait_text(m.p99_wait_ms));
}

std::string fleet_capacity_text(const Fleet& fleet)
{
  const FleetCapacity& c = fleet.capacity;
  const std::string where =
    fleet.pgbouncer ? "PgBouncer's transaction pools (default + reserve)" : "the fleet's pools, within the available";
  return fmt::format("peak {} concurrent queries ({} at once; {} with the burst buffer) against {} server connections in {}: {}",
                     format_number(c.peak),
                     c.peak_ceil,
                     c.buffered,
                     c.server_connections,
                     where,
                     c.fits ? "fits" : "does not fit");
}

} // namespace poolcalc::detail

// The fleet's rules (subject: fleet): each a check on the Fleet, in the table at the end.

#include "finding_engine.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/pgbouncer_version.hpp"

#include <fmt/format.h>

#include <cmath>

namespace poolcalc::detail {

namespace {

std::string available_phrase(const Fleet& fleet)
{
  return fmt::format("{} available (max_connections {} - reserved {})",
                     fleet.database.available,
                     fleet.database.max_connections,
                     fleet.database.reserved_total);
}

std::string surge_phrase(const Fleet& fleet)
{
  const FleetDeploy& d = fleet.deploy;
  switch (d.strategy) {
  case DeployStrategy::rolling: {
    const std::string surge = d.max_surge_instances ? fmt::format("max_surge {}", *d.max_surge_instances)
                                                    : fmt::format("max_surge {}", format_percent(d.max_surge_percent / 100.0));
    return fleet.surge_service.empty() ? fmt::format("a rolling deploy of every service at once ({})", surge)
                                       : fmt::format("a rolling deploy of {} ({})", fleet.surge_service, surge);
  }
  case DeployStrategy::blue_green:
    return fleet.surge_service.empty() ? "a blue-green deploy of every service at once (each instance doubled)"
                                       : fmt::format("a blue-green deploy of {} (its instances doubled)", fleet.surge_service);
  case DeployStrategy::recreate:
    break;
  }
  return "a recreate deploy";
}

std::string wait_phrase(const QueueMetrics& m)
{
  if (!m.stable) {
    return "the queue inside PgBouncer grows without bound (the load exceeds what the pool serves)";
  }
  return fmt::format("clients wait inside PgBouncer {} on average, p95 {}, p99 {} ({} of queries wait)",
                     m.mean_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.mean_wait_ms, 1))
                                           : fmt::format("{} s", format_number(m.mean_wait_ms / 1000.0, 2)),
                     m.p95_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.p95_wait_ms, 1))
                                          : fmt::format("{} s", format_number(m.p95_wait_ms / 1000.0, 2)),
                     m.p99_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.p99_wait_ms, 1))
                                          : fmt::format("{} s", format_number(m.p99_wait_ms / 1000.0, 2)),
                     format_percent(round_decimal(m.p_wait)));
}

void exceeds_available(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (fleet.pgbouncer || fleet.fits_direct) {
    return;
  }
  std::vector<std::string> parts;
  for (const FleetService& s : fleet.services) {
    parts.push_back(fmt::format("{} {} x {}", s.input.name, s.max_instances, s.pool));
  }
  raise(fmt::format("the fleet's pools total {} connections ({}), more than the {}",
                    fleet.total_connections,
                    fmt::join(parts, " + "),
                    available_phrase(fleet)));
}

void surge_exceeds_available(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (fleet.pgbouncer || !fleet.fits_direct || fleet.surge_fits_direct) {
    return;
  }
  raise(fmt::format("{} needs {} connections while old and new instances run side by side ({} {} + {}), more than the {}",
                    surge_phrase(fleet),
                    fleet.surge_connections,
                    fleet.total_connections,
                    fleet_base_phrase(fleet),
                    fleet.surge_connections - fleet.total_connections,
                    available_phrase(fleet)));
}

void capacity_exceeds_server(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (!fleet.pgbouncer) {
    return;
  }
  const PgBouncerPlan& p = *fleet.pgbouncer;
  for (const PgBouncerPool& pool : p.pools) {
    if (pool.pool_mode != PoolMode::transaction || pool.peak_ceil <= pool.server_connections) {
      continue;
    }
    raise(fmt::format("{}/{}: the peak of {} concurrent queries ({}) needs {} server connections at once, more than the pool's {} "
                      "(default_pool_size {} + reserve_pool_size {}; PgBouncer's server budget is {} of max_connections {}): PgBouncer "
                      "queues clients but cannot run more queries at once than it has server connections; {}; raise max_connections, "
                      "shorten the queries or add database capacity",
                      pool.database,
                      pool.user,
                      format_number(pool.peak),
                      fmt::join(pool.services, ", "),
                      pool.peak_ceil,
                      pool.server_connections,
                      pool.default_pool_size,
                      pool.reserve_pool_size,
                      p.server_budget,
                      fleet.database.max_connections,
                      pool.wait ? wait_phrase(*pool.wait) : std::string("no wait estimate")));
  }
}

// The rule of thumb's burst buffer (2-3x the peak) is what a pool keeps for spikes: when the buffered
// peak exceeds the server connections, a spike waits (inside PgBouncer, or for a pool slot).
void burst_exceeds_server(const Fleet& fleet, const Rules&, const Raise& raise)
{
  const FleetCapacity& c = fleet.capacity;
  if (!c.fits || c.buffered <= c.server_connections || (!fleet.pgbouncer && !fleet.fits_direct)) {
    return;
  }
  raise(fmt::format("the peak of {} concurrent queries fits the {} server connections, but with the burst buffer (each "
                    "service's ceil(peak) x burst) it is {}: a spike of that size waits {}",
                    format_number(c.peak),
                    c.server_connections,
                    c.buffered,
                    fleet.pgbouncer ? "inside PgBouncer" : "for a connection"));
}

void session_exceeds_budget(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (!fleet.pgbouncer || fleet.pgbouncer->session_connections <= fleet.pgbouncer->server_budget) {
    return;
  }
  raise(fmt::format("the session-mode pools need {} server connections (one per client connection), more than PgBouncer's "
                    "server budget of {}: shrink those services' pools or move their session features elsewhere",
                    fleet.pgbouncer->session_connections,
                    fleet.pgbouncer->server_budget));
}

// Every transaction pool keeps at least one server connection, so many pools on a small budget
// can together open more than the budget (the session pools alone are session_exceeds_budget).
void pools_exceed_budget(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (!fleet.pgbouncer || fleet.pgbouncer->session_connections > fleet.pgbouncer->server_budget ||
      fleet.pgbouncer->server_connections <= fleet.pgbouncer->server_budget) {
    return;
  }
  raise(fmt::format("PgBouncer's {} pools open up to {} server connections, more than its server budget of {} (each pool "
                    "keeps at least one): fewer (database, user) pairs, or raise max_connections",
                    fleet.pgbouncer->pools.size(),
                    fleet.pgbouncer->server_connections,
                    fleet.pgbouncer->server_budget));
}

void pgbouncer_recommended(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (fleet.triggers.empty()) {
    return;
  }
  std::vector<std::string> reasons;
  std::vector<std::string> keys;
  for (const Trigger& trigger : fleet.triggers) {
    reasons.push_back(trigger.reason);
    keys.push_back(trigger.rule);
  }
  raise(fmt::format("use PgBouncer: {}", fmt::join(reasons, "; ")), fmt::format("{}", fmt::join(keys, ", ")));
}

void pgbouncer_pool_reduced(const Fleet& fleet, const Rules& rules, const Raise& raise)
{
  if (!fleet.pgbouncer) {
    return;
  }
  const PgBouncerPlan& p = *fleet.pgbouncer;
  for (const PgBouncerPool& pool : p.pools) {
    if (pool.default_pool_size == pool.default_pool_size_wanted) {
      continue;
    }
    const auto wanted_reserve = static_cast<std::int64_t>(
      std::llround(rules.pgbouncer_settings.reserve_pool_ratio * static_cast<double>(pool.default_pool_size_wanted)));
    raise(fmt::format("{}/{}: default_pool_size {} + reserve_pool_size {} would not fit the server budget of {} ({} taken by "
                      "session pools); reduced to {} + {}",
                      pool.database,
                      pool.user,
                      pool.default_pool_size_wanted,
                      wanted_reserve,
                      p.server_budget,
                      p.session_connections,
                      pool.default_pool_size,
                      pool.reserve_pool_size));
  }
}

void session_pool(const Fleet& fleet, const Rules&, const Raise& raise)
{
  for (const FleetService& s : fleet.services) {
    if (!s.input.session_features) {
      continue;
    }
    std::string where;
    if (fleet.pgbouncer) {
      where = fmt::format("it gets the session-mode database {} in PgBouncer with a server connection for each of its {} client "
                          "connections (surge included), or connect it to PostgreSQL directly: the same connections either way",
                          s.pgbouncer_database,
                          s.connections + s.surge_connections);
    } else {
      where = "it connects directly, as the whole fleet does";
    }
    raise(fmt::format("{} needs session features (LISTEN/NOTIFY, session advisory locks, SET, prepared statements without "
                      "protocol support) and cannot sit behind transaction pooling: {}",
                      s.input.name,
                      where));
  }
}

// fleet.client_waits_forever: node-postgres' pg.Pool waits for a connection forever unless
// connectionTimeoutMillis is set (its default is 0, node-postgres documentation "pg.Pool"): an
// exhausted pool never surfaces as an error, and requests hang until the client gives up.
void client_waits_forever(const Fleet& fleet, const Rules&, const Raise& raise)
{
  for (const FleetService& s : fleet.services) {
    if (s.input.client != Client::node_postgres) {
      continue;
    }
    const double timeout_s = s.input.scenario.pool_timeout_s;
    raise(fmt::format("{} uses node-postgres, whose pg.Pool waits for a connection forever unless connectionTimeoutMillis is set "
                      "(default 0): {}",
                      s.input.name,
                      timeout_s > 0 ? fmt::format("set it to {} (pool_timeout {} s; poolcalc config --for node-postgres writes it), "
                                                  "below the client's request timeout of {} s, so an exhausted pool surfaces as an error",
                                                  format_number(timeout_s * 1000.0),
                                                  format_number(timeout_s),
                                                  format_number(s.input.scenario.request_timeout_s))
                                    : std::string("its pool_timeout is 0 too, so an exhausted pool never surfaces as an error; give "
                                                  "it a pool_timeout below the client's request timeout")));
  }
}

// Prisma behind PgBouncer's transaction mode (Prisma documentation, "Configure Prisma Client with
// PgBouncer"): pgbouncer=true below PgBouncer 1.21.0, and a direct URL for migrations.
void prisma_behind_pgbouncer(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (!fleet.pgbouncer) {
    return;
  }
  for (const FleetService& s : fleet.services) {
    if (s.input.client != Client::prisma || s.input.session_features) {
      continue;
    }
    raise(fmt::format("{} uses Prisma through PgBouncer's transaction mode: add pgbouncer=true to its URL if PgBouncer is older "
                      "than {} (Debian 12 ships {}), and give migrations a direct URL (directUrl = env(\"DIRECT_URL\"))",
                      s.input.name,
                      to_string(k_pgbouncer_prepared_statements),
                      major_minor(k_default_pgbouncer_version)));
  }
}

void surge_fits(const Fleet& fleet, const Rules&, const Raise& raise)
{
  if (fleet.deploy.strategy == DeployStrategy::recreate) {
    raise("a recreate deploy stops every old instance before the new ones start: no extra connections, but the service is "
          "down meanwhile",
          "deploy.strategy");
    return;
  }
  std::string message;
  if (fleet.pgbouncer) {
    message = fmt::format("{} opens {} client connections for a while ({} {} + {}); max_client_conn {} covers them and "
                          "PostgreSQL still sees PgBouncer's {}",
                          surge_phrase(fleet),
                          fleet.surge_connections,
                          fleet.total_connections,
                          fleet_base_phrase(fleet),
                          fleet.surge_connections - fleet.total_connections,
                          fleet.pgbouncer->max_client_conn,
                          fleet.pgbouncer->server_connections);
  } else if (fleet.surge_fits_direct) {
    message = fmt::format("{} needs {} connections for a while ({} {} + {}), within the {}",
                          surge_phrase(fleet),
                          fleet.surge_connections,
                          fleet.total_connections,
                          fleet_base_phrase(fleet),
                          fleet.surge_connections - fleet.total_connections,
                          available_phrase(fleet));
  } else {
    return;
  }
  raise(message);
}

void replication_not_counted(const Fleet& fleet, const Rules& rules, const Raise& raise)
{
  for (const std::string& name : fleet.database.reserve_not_count) {
    std::int64_t connections = 0;
    for (const ReserveEntry& entry : fleet.database.reserve) {
      if (entry.name == name) {
        connections = entry.connections;
      }
    }
    raise(fmt::format("the reserve {} ({}) is not taken from max_connections: PostgreSQL {} gives WAL senders their own slots "
                      "(max_wal_senders) since version {}",
                      name,
                      connections,
                      fleet.database.version,
                      rules.postgres.wal_senders_separate_since));
  }
}

} // namespace

const std::vector<Rule<Fleet>>& fleet_rules()
{
  constexpr FindingSubject fleet = FindingSubject::fleet;
  static const std::vector<Rule<Fleet>> table = {
    { { "fleet.exceeds_available",
        Level::fail,
        fleet,
        { "max_connections", "reserve", "reserved_connections", "service.instances" },
        "database.max_connections, database.reserve",
        "no PgBouncer, and the services' pools exceed the available connections" },
      exceeds_available },
    { { "fleet.surge_exceeds_available",
        Level::fail,
        fleet,
        { "deploy.strategy", "deploy.max_surge", "deploy.simultaneous", "fleet.rolling_max_surge_percent" },
        "deploy.strategy, deploy.max_surge, fleet.rolling_max_surge_percent",
        "no PgBouncer, the steady pools fit but the deploy surge does not" },
      surge_exceeds_available },
    { { "fleet.capacity_exceeds_server",
        Level::fail,
        fleet,
        { "max_connections", "reserve", "database.safe_utilization_max", "pgbouncer.settings.reserve_pool_ratio" },
        "database.max_connections, database.reserve, database.safe_utilization_max",
        "through PgBouncer, a transaction pool's peak exceeds its server connections" },
      capacity_exceeds_server },
    { { "fleet.session_exceeds_budget",
        Level::fail,
        fleet,
        { "service.session_features", "max_connections", "reserve", "database.safe_utilization_max" },
        "database.max_connections, database.reserve, database.safe_utilization_max",
        "through PgBouncer, the session pools alone exceed the server budget" },
      session_exceeds_budget },
    { { "fleet.pools_exceed_budget",
        Level::fail,
        fleet,
        { "max_connections", "reserve", "database.safe_utilization_max" },
        "database.max_connections, database.reserve, database.safe_utilization_max",
        "through PgBouncer, the pools together exceed the server budget" },
      pools_exceed_budget },
    { { "fleet.pgbouncer_recommended",
        Level::warn,
        fleet,
        { "service.vus", "service.instances", "remote", "url", "scaling", "pgbouncer.triggers" },
        "the keys of the triggers that fired: scaling, pgbouncer.triggers.*",
        "a PgBouncer trigger applies to the fleet's sums" },
      pgbouncer_recommended },
    { { "fleet.burst_exceeds_server",
        Level::warn,
        fleet,
        { "service.burst", "sizing.burst" },
        "sizing.burst",
        "the peak fits the server connections, the peak with the burst buffer does not" },
      burst_exceeds_server },
    { { "fleet.pgbouncer_pool_reduced",
        Level::warn,
        fleet,
        { "pgbouncer.settings.reserve_pool_ratio", "database.safe_utilization_max" },
        "pgbouncer.settings.reserve_pool_ratio, database.safe_utilization_max",
        "a transaction pool was cut to fit the server budget" },
      pgbouncer_pool_reduced },
    { { "fleet.session_features",
        Level::info,
        fleet,
        { "service.session_features" },
        "service.session_features",
        "a service needs session features: where it goes instead of a transaction pool" },
      session_pool },
    { { "fleet.prisma_pgbouncer",
        Level::info,
        fleet,
        { "service.client" },
        "service.client",
        "a Prisma service behind PgBouncer's transaction mode" },
      prisma_behind_pgbouncer },
    { { "fleet.client_waits_forever",
        Level::info,
        fleet,
        { "service.client", "service.pool_timeout" },
        "service.client",
        "a node-postgres service: pg.Pool waits forever unless connectionTimeoutMillis is set" },
      client_waits_forever },
    { { "fleet.surge",
        Level::info,
        fleet,
        { "deploy.strategy", "deploy.max_surge", "deploy.simultaneous", "fleet.rolling_max_surge_percent" },
        "deploy.strategy, deploy.max_surge, fleet.rolling_max_surge_percent",
        "the deploy surge fits, or a recreate deploy has none (source deploy.strategy)" },
      surge_fits },
    { { "fleet.replication_not_counted",
        Level::info,
        fleet,
        { "version", "reserve", "postgres.wal_senders_separate_since" },
        "postgres.wal_senders_separate_since",
        "a replication reserve on PostgreSQL 12+: not counted against max_connections" },
      replication_not_counted },
  };
  return table;
}

} // namespace poolcalc::detail

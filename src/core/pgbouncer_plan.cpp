#include "poolcalc/pgbouncer_plan.hpp"

#include "poolcalc/numbers.hpp"
#include "sizing_detail.hpp"

#include <algorithm>
#include <cmath>

namespace poolcalc {

std::string_view to_string(PoolMode mode)
{
  switch (mode) {
  case PoolMode::session:
    return "session";
  case PoolMode::transaction:
    return "transaction";
  case PoolMode::statement:
    return "statement";
  }
  return "session";
}

std::optional<PoolMode> parse_pool_mode(std::string_view text)
{
  for (PoolMode mode : { PoolMode::session, PoolMode::transaction, PoolMode::statement }) {
    if (text == to_string(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Topology topology)
{
  return topology == Topology::sidecar ? "sidecar" : "shared";
}

std::optional<Topology> parse_topology(std::string_view text)
{
  for (Topology topology : { Topology::shared, Topology::sidecar }) {
    if (text == to_string(topology)) {
      return topology;
    }
  }
  return std::nullopt;
}

std::int64_t pgbouncer_open_files(std::int64_t max_client_conn, std::int64_t pool_sizes, std::int64_t login_roles)
{
  return max_client_conn + 10 + 2 + pool_sizes * (login_roles + 1);
}

std::int64_t pgbouncer_server_budget(std::int64_t available, std::int64_t max_connections, double safe_utilization_max)
{
  return std::min(available,
                  static_cast<std::int64_t>(std::floor(round_decimal(safe_utilization_max * static_cast<double>(max_connections)))));
}

namespace detail {

std::int64_t ceil_count(double value)
{
  const auto count = static_cast<std::int64_t>(std::ceil(round_decimal(value)));
  return value > 0 && count == 0 ? 1 : count;
}

const ScalingRow* scaling_row_for(const std::vector<ScalingRow>& rows, std::int64_t users)
{
  for (const ScalingRow& row : rows) {
    if (users >= row.users_min && (!row.users_max || users <= *row.users_max)) {
      return &row;
    }
  }
  return nullptr;
}

PgBouncerPlan pgbouncer_plan_settings(const Rules& rules,
                                      std::int64_t client_connections,
                                      std::int64_t available,
                                      std::int64_t max_connections)
{
  const PgBouncerSettingsRules& r = rules.pgbouncer_settings;
  PgBouncerPlan p;
  p.listen_port = r.listen_port;
  p.port = r.listen_port;
  p.listen_addr = r.listen_addr;
  p.auth_type = r.auth_type;
  p.auth_file = r.auth_file;
  p.pool_mode = r.pool_mode;
  p.reserve_pool_timeout_s = r.reserve_pool_timeout_s;
  p.max_client_conn_minimum = r.max_client_conn;
  p.max_client_conn = std::max(r.max_client_conn, client_connections);
  p.server_budget = pgbouncer_server_budget(available, max_connections, rules.database.safe_utilization_max);
  return p;
}

void size_transaction_pool(PgBouncerPool& pool, std::int64_t wanted, const PgBouncerSettingsRules& rules)
{
  pool.default_pool_size_wanted = wanted;
  pool.default_pool_size = wanted;
  pool.reserve_pool_size = static_cast<std::int64_t>(std::llround(rules.reserve_pool_ratio * static_cast<double>(pool.default_pool_size)));
  pool.server_connections = pool.default_pool_size + pool.reserve_pool_size;
}

void fit_pool(PgBouncerPool& pool, std::int64_t share, std::int64_t at_least, const PgBouncerSettingsRules& rules)
{
  pool.default_pool_size =
    std::max(at_least, static_cast<std::int64_t>(std::floor(static_cast<double>(share) / (1.0 + rules.reserve_pool_ratio))));
  pool.reserve_pool_size = std::max<std::int64_t>(0, share - pool.default_pool_size);
  pool.server_connections = pool.default_pool_size + pool.reserve_pool_size;
}

std::int64_t rolling_surge_instances(std::int64_t instances, double percent)
{
  return percent <= 0 ? 0 : std::min(instances, ceil_count(static_cast<double>(instances) * percent / 100.0));
}

void set_min_pool_size(PgBouncerPool& pool, const PgBouncerSettingsRules& rules)
{
  pool.min_pool_size = static_cast<std::int64_t>(std::llround(rules.min_pool_ratio * static_cast<double>(pool.default_pool_size)));
}

} // namespace detail

} // namespace poolcalc

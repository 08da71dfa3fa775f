#include "cmd_pgbouncer.hpp"

#include "poolcalc/emit_pgbouncer.hpp"
#include "poolcalc/pgbouncer_config.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

std::expected<std::string, std::string> pgbouncer_command(const Plan& plan, bool userlist, std::string_view url_origin)
{
  if (!plan.pgbouncer) {
    return std::unexpected(fmt::format("`poolcalc pgbouncer`: the plan does not need PgBouncer ({}); --transaction-pooling asks for it",
                                       plan.recommendation_reason));
  }
  auto config = pgbouncer_config_from_plan(plan);
  if (!config) {
    return std::unexpected(fmt::format("{}: {}", url_origin, config.error()));
  }
  return userlist ? render_userlist_note(*config) : render_pgbouncer_ini(*config);
}

} // namespace poolcalc::cli

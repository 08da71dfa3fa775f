#include "cmd_pgbouncer.hpp"

#include "cmd_config.hpp"
#include "context.hpp"
#include "run.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"

#include "poolcalc/emit_pgbouncer.hpp"
#include "poolcalc/pgbouncer_config.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

poolcalc::expected<std::string, std::string> pgbouncer_command(const Plan& plan, bool userlist, std::string_view url_origin)
{
  if (!plan.pgbouncer) {
    return poolcalc::unexpected(
      fmt::format("pgbouncer: the plan does not need PgBouncer ({}); --transaction-pooling asks for it", plan.recommendation_reason));
  }
  auto config = pgbouncer_config_from_plan(plan);
  if (!config) {
    return poolcalc::unexpected(fmt::format("{}: {}", url_origin, config.error()));
  }
  return userlist ? render_userlist_note(*config) : render_pgbouncer_ini(*config);
}

int run_pgbouncer_fleet(const std::string& path,
                        bool userlist,
                        const std::string& sizing_flag,
                        const Rules& rules,
                        std::ostream& out,
                        std::ostream& err)
{
  const auto fail = [&](const std::string& message) {
    print_error(err, message);
    return k_exit_usage;
  };
  if (!sizing_flag.empty()) {
    return fail(
      fmt::format("{}: `poolcalc pgbouncer --fleet FILE` takes the workloads from the fleet file; drop {}", sizing_flag, sizing_flag));
  }
  auto fleet = load_fleet(path, rules);
  if (!fleet) {
    return fail(fleet.error());
  }
  auto config = pgbouncer_config_from_fleet(*fleet);
  if (!config) {
    return fail(fmt::format("--fleet: {}: {}", path, config.error()));
  }
  const std::vector<Finding> findings = evaluate_fleet(*fleet, rules);
  report_failures(err, findings);
  return write_output(out,
                      err,
                      (userlist ? render_userlist_note(*config) : render_pgbouncer_ini(*config)),
                      has_failure(findings) ? k_exit_plan_fails : k_exit_ok);
}

} // namespace poolcalc::cli

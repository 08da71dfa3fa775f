#include "cmd_pgbouncer.hpp"

#include "cmd_config.hpp"
#include "cmd_plan.hpp"
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
  auto config = pgbouncer_config_from_plan(plan);
  if (!config) {
    return poolcalc::unexpected(fmt::format("{}: {}", url_origin, config.error()));
  }
  return userlist ? render_userlist_note(*config) : render_pgbouncer_ini(*config);
}

Outcome run_pgbouncer_fleet(const std::string& path, bool userlist, const std::string& sizing_flag, const Rules& rules, std::ostream& err)
{
  const auto fail = [](std::string message) { return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) }); };
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
  return Output{ userlist ? render_userlist_note(*config) : render_pgbouncer_ini(*config),
                 has_failure(findings) ? k_exit_plan_fails : k_exit_ok };
}

std::vector<OptionDecl> pgbouncer_options()
{
  return {
    { "--userlist", "", "print how to write PgBouncer's auth_file (userlist.txt) instead", OptionKind::flag, "", {}, {}, false, false, {} },
    { "--fleet", "FILE", "the fleet's pgbouncer.ini, from a fleet file (docs/fleet.md)", OptionKind::value, "", {}, {}, false, false, {} },
  };
}

std::string first_sizing_flag(const Given& given)
{
  for (const OptionDecl* option : given.order()) {
    if (!option->key.empty()) {
      return option->flag;
    }
  }
  return given.has("--config") ? "--config" : "";
}

Outcome run_pgbouncer(Invocation& invocation)
{
  const Given& given = invocation.given;
  const bool userlist = given.has("--userlist");
  if (const auto fleet = given.value("--fleet")) {
    return run_pgbouncer_fleet(*fleet, userlist, first_sizing_flag(given), invocation.loaded.rules, invocation.err);
  }
  auto planned = make_plan(invocation.loaded);
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  auto text = pgbouncer_command(planned->plan, userlist, url_origin(invocation.loaded));
  if (!text) {
    return poolcalc::unexpected(Failure{ k_exit_usage, text.error() });
  }
  return Output{ std::move(*text), plan_code(*planned, invocation.err, true) };
}

} // namespace poolcalc::cli

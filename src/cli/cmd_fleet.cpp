#include "cmd_fleet.hpp"

#include "files.hpp"

#include "poolcalc/fleet.hpp"
#include "poolcalc/fleet_emit.hpp"

namespace poolcalc::cli {

Outcome run_fleet(Invocation& invocation)
{
  const auto fail = [](std::string message) { return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) }); };
  const Rules& rules = invocation.loaded.rules;
  const std::string path = invocation.given.value("FILE").value_or("");
  auto text = read_file(path);
  if (!text) {
    return fail(text.error());
  }
  auto file = parse_fleet_toml(*text, path, rules);
  if (!file) {
    return fail(file.error());
  }
  const Fleet fleet = size_fleet(*file, rules);
  const std::vector<Finding> findings = evaluate_fleet(fleet, rules);
  const Format format = invocation.loaded.format;
  std::string output = format == Format::json       ? render_fleet_json(fleet, findings)
                       : format == Format::markdown ? render_fleet_markdown(fleet, findings)
                                                    : render_fleet_text(fleet, findings);
  return Output{ std::move(output), has_failure(findings) ? k_exit_plan_fails : k_exit_ok };
}

} // namespace poolcalc::cli

#include "cmd_fleet.hpp"

#include "context.hpp"
#include "files.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

void add_fleet_command(CLI::App& app, FleetCommand& command)
{
  command.app = app.add_subcommand("fleet", "several services sharing one PostgreSQL, from a fleet file (docs/fleet.md)");
  command.app->footer("Example: poolcalc fleet data/examples/chat-fleet.toml --format json\n"
                      "Exit codes: 0 ok (warnings allowed), 2 bad input, 3 a `fail` finding.\n"
                      "Docs: docs/fleet.md (the file format, every key), docs/json.md (the JSON).");
  command.app->add_option("FILE", command.file, "the fleet file (TOML)")->required()->type_name("FILE");
  command.app->add_option("--format", command.format, "text (default), json or markdown")
    ->type_name("FORMAT")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  command.rules_option = command.app->add_option("--rules", command.rules, "replace the built-in rules (see `poolcalc rules`)")
                           ->type_name("FILE")
                           ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

int run_fleet(const FleetCommand& command, std::ostream& out, std::ostream& err)
{
  const auto fail = [&](int code, const std::string& message) {
    print_error(err, message);
    return code;
  };
  if (command.format != "text" && command.format != "json" && command.format != "markdown") {
    return fail(k_exit_usage, fmt::format("--format: `poolcalc fleet` prints text, json or markdown, got '{}'", user_text(command.format)));
  }
  Rules rules = builtin_rules();
  if (command.rules_option->count() > 0) {
    auto text = read_file(command.rules);
    if (!text) {
      return fail(k_exit_usage, fmt::format("--rules: {}", text.error()));
    }
    auto parsed = parse_rules(*text, command.rules);
    if (!parsed) {
      return fail(k_exit_usage, parsed.error());
    }
    rules = std::move(*parsed);
  }
  auto text = read_file(command.file);
  if (!text) {
    return fail(k_exit_usage, text.error());
  }
  auto file = parse_fleet_toml(*text, command.file, rules);
  if (!file) {
    return fail(k_exit_usage, file.error());
  }
  const Fleet fleet = size_fleet(*file, rules);
  const std::vector<Finding> findings = evaluate_fleet(fleet, rules);
  const std::string output = command.format == "json"       ? render_fleet_json(fleet, findings)
                             : command.format == "markdown" ? render_fleet_markdown(fleet, findings)
                                                            : render_fleet_text(fleet, findings);
  return write_output(out, err, output, has_failure(findings) ? k_exit_plan_fails : k_exit_ok);
}

} // namespace poolcalc::cli

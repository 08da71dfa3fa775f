// Fuzz target: the TOML loaders (a --config scenario file, a --rules file, a fleet file), through
// toml++ 3.3.0 as poolcalc includes it (src/core/toml.hpp), and everything sized from what they
// accept.
// Properties: no crash, no undefined behaviour (the sanitizers), every error names its file; a
// plan or a fleet sized from an accepted file has no NaN, infinity or negative count, and every
// renderer runs on it.

#include "fuzz_checks.hpp"

#include "poolcalc/emit.hpp"
#include "poolcalc/emit_pgbouncer.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/fleet_emit.hpp"
#include "poolcalc/pgbouncer_config.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using poolcalc::fuzz::check;
using poolcalc::fuzz::check_fleet;
using poolcalc::fuzz::check_plan;

namespace {

void render_plan(const poolcalc::Plan& plan, const poolcalc::Rules& rules)
{
  check_plan(plan);
  const std::vector<poolcalc::Finding> findings = poolcalc::evaluate(plan, rules);
  (void)poolcalc::render_text(plan, findings, {});
  (void)poolcalc::render_json(plan, findings);
  (void)poolcalc::render_markdown(plan, findings);
  (void)poolcalc::render_env(plan);
  if (auto ini = poolcalc::pgbouncer_config_from_plan(plan)) {
    (void)poolcalc::render_pgbouncer_ini(*ini);
  }
}

void scenario_file(std::string_view text)
{
  const auto inputs = poolcalc::parse_scenario_toml(text, "s.toml");
  if (!inputs) {
    check(inputs.error().starts_with("s.toml"), "a scenario error without its file");
    return;
  }
  const poolcalc::Rules& rules = poolcalc::builtin_rules();
  const auto scenario = poolcalc::build_scenario(*inputs, rules);
  if (!scenario) {
    return;
  }
  render_plan(poolcalc::size(*scenario, rules), rules);
}

void rules_file(std::string_view text)
{
  const auto rules = poolcalc::parse_rules(text, "r.toml");
  if (!rules) {
    check(rules.error().starts_with("r.toml"), "a rules error without its file");
    return;
  }
  // The main job under these rules.
  const poolcalc::RawInputs inputs = { { "vus", { { "120" }, "--vus" } }, { "query_ms", { { "100", "150", "200" }, "--query-ms" } } };
  const auto scenario = poolcalc::build_scenario(inputs, *rules);
  if (!scenario) {
    return;
  }
  render_plan(poolcalc::size(*scenario, *rules), *rules);
}

void fleet_file(std::string_view text)
{
  const poolcalc::Rules& rules = poolcalc::builtin_rules();
  const auto file = poolcalc::parse_fleet_toml(text, "f.toml", rules);
  if (!file) {
    check(file.error().starts_with("f.toml"), "a fleet error without its file");
    return;
  }
  const poolcalc::Fleet fleet = poolcalc::size_fleet(*file, rules);
  check_fleet(fleet);
  const std::vector<poolcalc::Finding> findings = poolcalc::evaluate_fleet(fleet, rules);
  (void)poolcalc::render_fleet_text(fleet, findings);
  (void)poolcalc::render_fleet_json(fleet, findings);
  (void)poolcalc::render_fleet_markdown(fleet, findings);
  if (auto ini = poolcalc::pgbouncer_config_from_fleet(fleet)) {
    (void)poolcalc::render_pgbouncer_ini(*ini);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size < 1) {
    return 0;
  }
  // The first byte chooses the loader; the rest is the file.
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
  case 0:
    scenario_file(text);
    break;
  case 1:
    rules_file(text);
    break;
  default:
    fleet_file(text);
    break;
  }
  return 0;
}

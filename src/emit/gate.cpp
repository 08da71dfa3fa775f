#include "poolcalc/emit_gate.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace poolcalc {

std::string render_gate_text(const GatePolicy& policy, const GateReport& report)
{
  std::string out = fmt::format("gate: {} ({} check{}, policy: {})\n",
                                report.passed ? "pass" : "FAIL",
                                report.checks.size(),
                                report.checks.size() == 1 ? "" : "s",
                                policy.source);
  for (const GateCheck& check : report.checks) {
    out += fmt::format("  {}  {:<24} {}: {} (limit: {})\n", check.passed ? "pass" : "FAIL", check.id, check.what, check.value, check.limit);
  }
  return out;
}

std::string render_gate_json(const GatePolicy& policy, const GateReport& report)
{
  nlohmann::json j;
  j["schema_version"] = 1;
  j["passed"] = report.passed;
  j["policy"] = policy.source;
  nlohmann::json checks = nlohmann::json::array();
  for (const GateCheck& check : report.checks) {
    checks.push_back(
      { { "id", check.id }, { "what", check.what }, { "value", check.value }, { "limit", check.limit }, { "passed", check.passed } });
  }
  j["checks"] = checks;
  return j.dump(2) + "\n";
}

} // namespace poolcalc

#include "poolcalc/findings.hpp"

#include "finding_engine.hpp"

#include <algorithm>

namespace poolcalc {

std::string_view to_string(Level level)
{
  switch (level) {
  case Level::info:
    return "info";
  case Level::warn:
    return "warn";
  case Level::fail:
    return "fail";
  }
  return "info";
}

std::string_view to_string(FindingSubject subject)
{
  switch (subject) {
  case FindingSubject::plan:
    return "plan";
  case FindingSubject::fleet:
    return "fleet";
  case FindingSubject::server:
    return "server";
  }
  return "plan";
}

const std::vector<FindingInfo>& finding_catalogue()
{
  static const std::vector<FindingInfo> catalogue = [] {
    std::vector<FindingInfo> result;
    const auto add = [&](const auto& table) {
      for (const auto& rule : table) {
        result.push_back(rule.info);
      }
    };
    add(detail::plan_rules());
    add(detail::fleet_rules());
    add(detail::server_rules());
    return result;
  }();
  return catalogue;
}

std::vector<Finding> evaluate(const Plan& plan, const Rules& rules)
{
  return detail::evaluate_rules(detail::plan_rules(), plan, rules);
}

std::vector<Finding> evaluate_fleet(const Fleet& fleet, const Rules& rules)
{
  return detail::evaluate_rules(detail::fleet_rules(), fleet, rules);
}

std::vector<Finding> evaluate_server(const Inspection& inspection, const Rules& rules)
{
  return detail::evaluate_rules(detail::server_rules(), inspection, rules);
}

bool has_failure(const std::vector<Finding>& findings)
{
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Level::fail; });
}

} // namespace poolcalc

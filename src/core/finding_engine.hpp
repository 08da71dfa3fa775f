#pragma once
// The one evaluation path of the rules engine (include/poolcalc/findings.hpp): a table of rules
// per subject, each a FindingInfo and a check; the table is the catalogue, so a finding's id,
// level and source always come from its catalogue entry.

#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/inspect.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace poolcalc::detail {

// What a check calls to report a finding of its rule.
class Raise
{
public:
  Raise(const FindingInfo& info, std::vector<Finding>& out)
    : m_info(info)
    , m_out(out)
  {
  }

  // A finding with the rule's own source.
  void operator()(std::string message) const { (*this)(std::move(message), std::string(m_info.source)); }

  // A finding whose source depends on the subject (the triggers that fired).
  void operator()(std::string message, std::string source) const
  {
    m_out.push_back({ std::string(m_info.id), m_info.level, std::move(message), std::move(source) });
  }

private:
  const FindingInfo& m_info;
  std::vector<Finding>& m_out;
};

template<typename Subject>
struct Rule
{
  FindingInfo info;
  void (*check)(const Subject&, const Rules&, const Raise&);
};

// Runs every rule of `table` on `subject`: fail findings first, then warn, then info; within a
// level in table order.
template<typename Subject>
std::vector<Finding> evaluate_rules(const std::vector<Rule<Subject>>& table, const Subject& subject, const Rules& rules)
{
  std::vector<Finding> findings;
  for (const Rule<Subject>& rule : table) {
    rule.check(subject, rules, Raise(rule.info, findings));
  }
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) { return a.level > b.level; });
  return findings;
}

// The tables: src/core/findings_plan.cpp, findings_fleet.cpp, findings_server.cpp.
const std::vector<Rule<Plan>>& plan_rules();
const std::vector<Rule<Fleet>>& fleet_rules();
const std::vector<Rule<Inspection>>& server_rules();

} // namespace poolcalc::detail

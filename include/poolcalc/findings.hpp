#pragma once
// The rules engine: each rule is one small function with a stable id that judges a Plan and
// may add a Finding with its numbers and the rules.toml key (or the input) it comes from.

#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

enum class Level
{
  info,
  warn,
  fail,
};

std::string_view to_string(Level level);

struct Finding
{
  std::string id; // stable: "pool.exceeds_available", "utilization.within_safe", ...
  Level level = Level::info;
  std::string message; // one sentence with the numbers in it
  std::string source;  // the rules.toml key or input it rests on
};

// Every rule poolcalc knows, in the order their findings are listed.
struct RuleInfo
{
  std::string_view id;
  std::string_view summary;
};
const std::vector<RuleInfo>& rule_catalogue();

// Judges the plan: fail findings first, then warn, then info; within a level in catalogue order.
std::vector<Finding> evaluate(const Plan& plan, const Rules& rules);

// True when any finding is a `fail` (exit code 3).
bool has_failure(const std::vector<Finding>& findings);

} // namespace poolcalc

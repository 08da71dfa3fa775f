#pragma once
// Internal: JSON pieces every JSON renderer writes the same way.

#include "poolcalc/findings.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace poolcalc::detail {

// "findings": [{"id", "level", "message", "source"}, ...] (docs/json.md, "findings[]").
inline nlohmann::ordered_json findings_json(const std::vector<Finding>& findings)
{
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Finding& f : findings) {
    list.push_back({ { "id", f.id }, { "level", std::string(to_string(f.level)) }, { "message", f.message }, { "source", f.source } });
  }
  return list;
}

} // namespace poolcalc::detail

#pragma once
// Renderers for `poolcalc fleet`: text, JSON (docs/json.md, "poolcalc fleet") and a Markdown
// design review. They format only; every number comes from the Fleet. Database URLs are masked.

#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"

#include <string>
#include <vector>

namespace poolcalc {

std::string render_fleet_text(const Fleet& fleet, const std::vector<Finding>& findings);
std::string render_fleet_json(const Fleet& fleet, const std::vector<Finding>& findings);
std::string render_fleet_markdown(const Fleet& fleet, const std::vector<Finding>& findings);

} // namespace poolcalc

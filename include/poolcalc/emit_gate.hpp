#pragma once
// `poolcalc gate`'s report (docs/gate.md): one line per check, or JSON.

#include "poolcalc/gate.hpp"

#include <string>

namespace poolcalc {

std::string render_gate_text(const GatePolicy& policy, const GateReport& report);
// {"schema_version": 1, "passed": bool, "policy": "...", "checks": [{id, what, value, limit, passed}]}
std::string render_gate_json(const GatePolicy& policy, const GateReport& report);

} // namespace poolcalc

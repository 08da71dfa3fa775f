#pragma once
// `poolcalc gate` (docs/gate.md): the plan and what was measured against a policy, for CI.

#include "commands.hpp"

#include <vector>

namespace poolcalc::cli {

std::vector<OptionDecl> gate_options();

Outcome run_gate_command(Invocation& invocation);

} // namespace poolcalc::cli

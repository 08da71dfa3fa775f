#pragma once
// `poolcalc fleet FILE.toml [--format text|json|markdown] [--rules FILE]`: several services on
// one PostgreSQL (docs/fleet.md).

#include "commands.hpp"

namespace poolcalc::cli {

// Reads the fleet file (the rules are loaded already), sizes it, renders it in the format.
Outcome run_fleet(Invocation& invocation);

} // namespace poolcalc::cli

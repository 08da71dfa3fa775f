#pragma once
// `poolcalc doctor` (docs/doctor.md): samples a live PostgreSQL (and PgBouncer's admin console),
// or reads a saved capture, with a k6 end-of-test summary or without, and names why a pool ran dry.

#include "commands.hpp"

#include <vector>

namespace poolcalc::cli {

// Its own options; the workload's (a plan to compare with) and the server's (--database-url,
// --connect-timeout) come from the sizing table.
std::vector<OptionDecl> doctor_options();

Outcome run_doctor(Invocation& invocation);

} // namespace poolcalc::cli

#pragma once
// `poolcalc doctor` (docs/doctor.md): samples a live PostgreSQL (and PgBouncer's admin console),
// or reads a saved capture, with a k6 end-of-test summary or without, and names why a pool ran dry.

#include "commands.hpp"

#include "poolcalc/doctor.hpp"

#include <vector>

namespace poolcalc::cli {

// Its own options; the workload's (a plan to compare with) and the server's (--database-url,
// --connect-timeout) come from the sizing table.
std::vector<OptionDecl> doctor_options();

Outcome run_doctor(Invocation& invocation);

// --k6-summary FILE and --capture FILE, for doctor and gate: a file that cannot be read is a
// runtime failure (1), one that is not what it should be bad input (2).
poolcalc::expected<K6Figures, Failure> read_k6_summary_file(const std::string& path);
poolcalc::expected<Capture, Failure> read_capture_file(const std::string& path);

} // namespace poolcalc::cli

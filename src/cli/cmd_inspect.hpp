#pragma once
// `poolcalc inspect`: read a live server (libpq, loaded at run time), show its truth, and with a
// workload size the pool against it.

#include "commands.hpp"

#include <string>

namespace poolcalc::cli {

// --app NAME: the application being sized (its connections are not "other applications").
OptionDecl inspect_app_option();

// The text of `poolcalc inspect --help` after the options: the time bound, with the defaults of
// `rules` (the built-in ones).
std::string inspect_notes(const Rules& rules);

// Reads the server in the database URL input, with a workload sizes the plan against it.
Outcome run_inspect(Invocation& invocation);

} // namespace poolcalc::cli

#pragma once
// `poolcalc inspect`: read a live server (libpq, loaded at run time), show its truth, and with a
// workload size the pool against it.

#include "context.hpp"
#include "run.hpp"

#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace poolcalc::cli {

struct InspectOptions
{
  std::string app; // --app: the application being sized (its connections are not "other applications")
};

// Adds inspect's own options to its subcommand; `rules` (the built-in ones) give the defaults the
// help names.
void add_inspect_options(CLI::App& inspect, InspectOptions& options, const Rules& rules);

int run_inspect(const Loaded& loaded, const InspectOptions& options, std::ostream& out, std::ostream& err, const Environment& env);

} // namespace poolcalc::cli

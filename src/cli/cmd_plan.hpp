#pragma once
// The commands that print a plan: `poolcalc` (size), `env` (and `env --write PATH`), `report`,
// `curve`; and `rules`, which prints the rules in force.

#include "commands.hpp"

#include "poolcalc/findings.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <functional>
#include <vector>

namespace poolcalc::cli {

struct Planned
{
  Plan plan;
  std::vector<Finding> findings;
};

// Validates the loaded inputs (build_scenario), lets `adjust` change the scenario, sizes and
// evaluates the plan. A usage failure for a bad input or an unmet --target.
poolcalc::expected<Planned, Failure> make_plan(const Loaded& loaded, const std::function<void(Scenario&)>& adjust = {});

// Where the database URL input came from ("--database-url", "DATABASE_URL", a file position).
std::string url_origin(const Loaded& loaded);

// The exit code of a plan: 3 when a `fail` finding stands; with `name_failures`, each `fail`
// finding also goes to stderr (for outputs that print no findings).
int plan_code(const Planned& planned, std::ostream& err, bool name_failures);

Outcome run_size(Invocation& invocation); // size, env, report: the plan in the command's format
Outcome run_curve(Invocation& invocation);
Outcome run_rules(Invocation& invocation);
Outcome run_alerts(Invocation& invocation); // Prometheus rules for the plan (docs/alerts.md)
Outcome run_k6(Invocation& invocation);     // the plan's k6 script (docs/k6.md)

} // namespace poolcalc::cli

#pragma once
// Internal helpers shared by the renderers, so every format writes a number the same way.

#include "poolcalc/sizing.hpp"

#include <string>

namespace poolcalc::detail {

// A number with at least `min_decimals` decimals and no trailing zeros past them:
// fixed(0.7, 2) = "0.70", fixed(0.15, 3) = "0.150", fixed(0.1234, 2) = "0.1234".
std::string fixed(double value, int min_decimals);

// "120 x 0.70 x 0.150 s" (with the per-VU rate when it is not 1/s).
std::string peak_formula(const Plan& plan, double query_ms);

// "13 x 3 + 10 = 49 -> 50" for one scenario.
std::string pool_formula(const Plan& plan, const ScenarioResult& r);

// "other_apps 20, admin 10, superuser 10, replication 10" (or "none").
std::string reserved_list(const Plan& plan);

// "50 %"
std::string percent(double ratio);

// "30 s"
std::string seconds(double value);

// Why the plan fits or not: "50 <= 50" directly; through PgBouncer "peak 13 <= 50 server
// connections <= 50 available".
std::string fit_check(const Plan& plan);

// Why one scenario fits or not, the same way.
std::string scenario_fit(const Plan& plan, const ScenarioResult& r);

// "physical CPUs x 2 + 1"
std::string prisma_default_limit(const Plan& plan);

} // namespace poolcalc::detail

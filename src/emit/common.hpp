#pragma once
// Internal helpers shared by the renderers, so every format writes a number the same way.

#include "poolcalc/sizing.hpp"

#include <array>
#include <string>
#include <vector>

namespace poolcalc::detail {

// A number with at least `min_decimals` decimals and no trailing zeros past them:
// fixed(0.7, 2) = "0.70", fixed(0.15, 3) = "0.150", fixed(0.1234, 2) = "0.1234".
std::string fixed(double value, int min_decimals);

// "120 VUs" or "60 requests/s"
std::string load_text(const Plan& plan);

// "120 x 0.70 x 0.150 s" (with the per-VU rate when it is not 1/s).
std::string peak_formula(const Plan& plan, double query_ms);

// How the plan's pool was reached: "ceil(12.6) = 13 x 3 + 10 = 49 -> 50", or with --target
// "p99_wait<50ms: 18 + 10 = 28 -> 30 (rule of thumb: 50)".
std::string plan_pool_formula(const Plan& plan);

// "13 x 3 + 10 = 49 -> 50" for one scenario.
std::string pool_formula(const Plan& plan, const ScenarioResult& r);

// "other_apps 20, admin 10, superuser 10, replication 10" (or "none").
std::string reserved_list(const Plan& plan);

// "30 s"
std::string seconds(double value);

// Why the plan fits or not: "50 <= 50" directly; through PgBouncer "peak 13 <= 50 server
// connections <= 50 available".
std::string fit_check(const Plan& plan);

// Why one scenario fits or not, the same way.
std::string scenario_fit(const Plan& plan, const ScenarioResult& r);

// The advisor's verdict on the rule of thumb (docs/model.md, "The advisor"): rows of label, value,
// note: the model's pool, the rule's, and both at the surge.
std::vector<std::array<std::string, 3>> advice_verdict_rows(const Plan& plan);

// The advisor's options, best first, one row each under advice_option_header(): the chosen one
// marked ">" in the first cell.
const std::vector<std::string>& advice_option_header();
std::vector<std::vector<std::string>> advice_option_rows(const Plan& plan);

// "objective p99_wait<100ms (rules advisor.objective)"
std::string advice_objective(const Plan& plan);

// "46.5 ms +- 1.2 ms": a simulated figure with its 95 % half-width, the half-width left out when
// it prints as 0 (every replication agreed at the printed precision).
std::string with_interval(const std::string& value, const std::string& half);

// "closed loop (M/M/c//N): 84 VUs per instance, each holding 150 ms then thinking 850 ms"
std::string queueing_description(const QueueingPlan& q);

// The rows of the queueing table: pool, throughput, P(wait), mean, p95, p99, timeouts, busy.
std::vector<std::vector<std::string>> queueing_rows(const Plan& plan, const std::vector<QueueMetrics>& points);
const std::vector<std::string>& queueing_header();

// The queueing table as aligned text, the knee and the plan's pool marked.
std::string queueing_table(const Plan& plan, const std::vector<QueueMetrics>& points);

// Each column's width: the widest of its header and its cells.
std::vector<std::size_t> column_widths(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// "--target p99_wait<50ms: the smallest pool that meets it is 14; + 10 overhead = 24 -> 30"
std::string target_summary(const Plan& plan);

// "physical CPUs x 2 + 1"
std::string prisma_default_limit(const Plan& plan);

// A URL as a double-quoted .env value: the characters dotenv loaders expand or stop at inside
// double quotes ($, `, \, ") are percent-encoded, which every URL parser reads the same way, and
// so is ' for shells that source the file.
// dotenv_url is the encoded URL without the quotes.
std::string dotenv_quoted(const std::string& url);
std::string dotenv_url(const std::string& url);

} // namespace poolcalc::detail

#pragma once
// Renderers: turn a Plan and its Findings into what a person or a program reads. They format
// only; every number comes from the Plan.

#include "poolcalc/findings.hpp"
#include "poolcalc/inspect.hpp"
#include "poolcalc/sizing.hpp"

#include <string>
#include <vector>

namespace poolcalc {

struct TextOptions
{
  bool color = false;   // ANSI colours (a terminal, NO_COLOR unset)
  bool explain = false; // append the whole arithmetic, step by step
};

// A block of the worked calculation: a heading and its lines (the seed's "Mathematical
// Analysis"). Shared by --explain, the Markdown report and JSON "steps".
struct ExplainBlock
{
  std::string heading;
  std::vector<std::string> lines;
};
std::vector<ExplainBlock> explain(const Plan& plan);

std::string render_text(const Plan& plan, const std::vector<Finding>& findings, const TextOptions& options);

// JSON, documented in docs/json.md; "schema_version" changes when a field changes meaning or
// goes away. The database URL is masked.
std::string render_json(const Plan& plan, const std::vector<Finding>& findings);

// A design-review document in Markdown. The database URL is masked.
std::string render_markdown(const Plan& plan, const std::vector<Finding>& findings);

// The .env snippet (the seed's "Environment Variables"), with the full DATABASE_URL: the only
// output that shows a password, because the user asked for the snippet.
std::string render_env(const Plan& plan);

// `poolcalc curve`: pool size against each queueing metric, as an aligned table, CSV (one row
// per pool; an unstable queue's waits are empty), JSON, or an SVG chart with the knee marked.
std::string render_curve_text(const Plan& plan, const Curve& curve);
std::string render_curve_csv(const Curve& curve);
std::string render_curve_json(const Plan& plan, const Curve& curve);
std::string render_curve_svg(const Plan& plan, const Curve& curve);

// `poolcalc inspect`: the live server's settings, connections, sessions to look at and measured
// query times, then its findings. JSON nests the plan's own JSON (`plan_json`, render_json's
// text) under "plan", or null without a workload. The URL is masked in all three.
std::string render_inspect_text(const Inspection& inspection, const Rules& rules, const TextOptions& options);
std::string render_inspect_json(const Inspection& inspection, const Rules& rules, const std::string* plan_json);
std::string render_inspect_markdown(const Inspection& inspection, const Rules& rules);

} // namespace poolcalc

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

// A block of the worked calculation: a heading and its lines (docs/model.md,
// sections 1-3). Shared by --explain, the Markdown report and JSON "steps".
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

// The .env snippet (docs/model.md, "The application's URLs"), with the full DATABASE_URL: the only
// output that shows a password, because the user asked for the snippet.
// With `poolcalc env --for CLIENT`: EnvFor, below.
std::string render_env(const Plan& plan);

// The variables the .env snippet sets, in its order: DATABASE_URL (when there is a URL) and
// DIRECT_URL (through PgBouncer), DATABASE_POOL_SIZE, DATABASE_CONNECTION_TIMEOUT,
// DATABASE_POOL_TIMEOUT. The one list of the keys poolcalc manages, shared by the snippet and
// `poolcalc env --write`. A URL's value has `$ ' " \` and the back quote percent-encoded, so it
// needs no escaping in any quotes; `quoted` says the snippet writes it in double quotes.
struct EnvVariable
{
  std::string key;
  std::string value;
  bool quoted = false;
  std::vector<std::string> comments{}; // the snippet's comment lines above it (without "# ")
};

// `poolcalc env --for CLIENT`: the client that reads the .env. With none, DATABASE_URL carries no
// client's own parameter and the pool variables are marked as the application's own; with a
// client, each pool variable names the line of that client's code that reads it, and Prisma 6
// (and older) gets its URL parameters (docs/clients.md, "poolcalc env --for CLIENT").
struct EnvFor
{
  std::string client{}; // "" or a client target of `poolcalc config` (prisma, node-postgres, hikaricp, ...)
  int prisma_major = 7; // with client "prisma": <= 6 puts the pool parameters in DATABASE_URL
};

std::vector<EnvVariable> env_variables(const Plan& plan, const EnvFor& target);
std::vector<EnvVariable> env_variables(const Plan& plan);
std::string render_env(const Plan& plan, const EnvFor& target);

// "120 VUs, 150 ms per query -> pool of 50 per instance (direct to PostgreSQL)": the snippet's
// first comment line.
std::string env_summary(const Plan& plan);

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

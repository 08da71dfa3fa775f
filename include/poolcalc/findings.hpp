#pragma once
// The rules engine: poolcalc's judgements of a plan (`poolcalc`), a fleet (`poolcalc fleet`) and
// a live server (`poolcalc inspect`). Each rule is one entry of a table with a stable id, its
// level, what it judges, the inputs and rules keys it reads, the source it rests on and a small
// check function; finding_catalogue() lists every entry, and one evaluation path runs a table
// (docs/rules.md, "Findings catalogue").

#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

enum class Level
{
  info,
  warn,
  fail,
};

std::string_view to_string(Level level);

struct Finding
{
  std::string id; // stable: "pool.exceeds_available", "utilization.within_safe", ...
  Level level = Level::info;
  std::string message; // one sentence with the numbers in it
  std::string source;  // the rules.toml key, input or docs section it rests on
};

// What a rule judges.
enum class FindingSubject
{
  plan,   // one application's plan (poolcalc, poolcalc inspect with a load)
  fleet,  // a fleet file (poolcalc fleet, pgbouncer --fleet, config --fleet)
  server, // a live server (poolcalc inspect)
};

// "plan", "fleet", "server".
std::string_view to_string(FindingSubject subject);

// One rule of the catalogue.
struct FindingInfo
{
  std::string_view id;
  Level level = Level::info;
  FindingSubject subject = FindingSubject::plan;
  std::vector<std::string_view> inputs; // the inputs, file keys and rules.toml keys it reads
  std::string_view source;  // what its findings give as `source`: rules.toml keys, a docs section, PostgreSQL's or PgBouncer's docs
  std::string_view summary; // when it is reported, in a few words
};

// Every rule poolcalc knows: the plan's, then the fleet's, then the live server's, each in the
// order its findings are listed within a level.
const std::vector<FindingInfo>& finding_catalogue();

// Judges the plan: fail findings first, then warn, then info; within a level in catalogue order.
std::vector<Finding> evaluate(const Plan& plan, const Rules& rules);

// True when any finding is a `fail` (exit code 3).
bool has_failure(const std::vector<Finding>& findings);

} // namespace poolcalc

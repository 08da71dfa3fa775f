#pragma once
// What every subcommand receives once the flags, the --config file, the environment and the
// rules are read: the rules in force, the scenario inputs by key, and the output choices.

#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <string>

namespace poolcalc::cli {

// A failure on its way to the one top-level handler: exit code and message (masked there).
struct Failure
{
  int code;
  std::string message;
};

struct Loaded
{
  Rules rules;
  std::string rules_text;
  std::string rules_source;
  RawInputs inputs;
  std::string format = "text";
  bool explain = false;
};

} // namespace poolcalc::cli

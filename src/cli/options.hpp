#pragma once
// The flags of the sizing commands, as CLI11 registers them: the sizing rows (Workload to
// Timeouts) of the input table (poolcalc/inputs.hpp), so flags and `--config` files share one
// schema (bloaty's "options as data").

#include "poolcalc/rules.hpp"

#include <string>
#include <vector>

namespace poolcalc::cli {

enum class OptionKind
{
  value, // one value; given twice, the last wins
  list,  // repeatable and/or comma-separated
  flag,  // a switch
};

struct OptionSpec
{
  std::string flag;      // "--vus"
  std::string key;       // "vus" (scenario file)
  std::string type_name; // "N"
  std::string help;      // with the default in force
  OptionKind kind = OptionKind::value;
  std::string group; // the --help section
};

// The sizing options with help texts showing the defaults of `rules`.
std::vector<OptionSpec> sizing_options(const Rules& rules);

} // namespace poolcalc::cli

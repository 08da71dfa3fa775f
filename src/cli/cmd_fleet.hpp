#pragma once
// `poolcalc fleet FILE.toml [--format text|json|markdown] [--rules FILE]`: several services on
// one PostgreSQL (docs/fleet.md).

#include "run.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace poolcalc::cli {

struct FleetCommand
{
  CLI::App* app = nullptr;
  std::string file;
  std::string format = "text";
  std::string rules;
  CLI::Option* rules_option = nullptr;
};

// Adds the `fleet` subcommand to `app`, its options bound to `command` (which must outlive it).
void add_fleet_command(CLI::App& app, FleetCommand& command);

// Runs it: reads the rules and the fleet file, sizes, prints. Returns the exit code.
int run_fleet(const FleetCommand& command, std::ostream& out, std::ostream& err);

} // namespace poolcalc::cli

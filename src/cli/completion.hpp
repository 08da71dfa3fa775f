#pragma once
// `poolcalc completion bash|zsh`: a completion script generated from the command table — the
// subcommands, each one's options, the values of --format and of options with choices (config
// --for: config_targets()), file names for FILE and PATH options and arguments.

#include "commands.hpp"

#include <string>
#include <vector>

namespace poolcalc::cli {

// The shells a script can be written for: "bash", "zsh".
std::vector<std::string> completion_shells();

// The script for `shell` (one of completion_shells()).
std::string completion_script(const std::vector<CommandSpec>& table, std::string_view shell);

// `poolcalc completion SHELL`.
Outcome run_completion(Invocation& invocation);

} // namespace poolcalc::cli

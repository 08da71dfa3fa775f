#pragma once
// The one loader every command uses: checks the options given against the command's entry, then
// reads what the entry says it needs — the rules (built in, --rules FILE, or the --config file's
// `rules`), the --config scenario file, $DATABASE_URL — and settles the format and --explain.
// Precedence: built-in rules < --rules < --config < $DATABASE_URL < flags.

#include "commands.hpp"
#include "context.hpp"
#include "run.hpp"

#include "poolcalc/expected.hpp"

namespace poolcalc::cli {

// A usage failure (exit 2) for any option the command does not take, for a file that cannot be
// read or parsed, and for a format the command does not print.
poolcalc::expected<Loaded, Failure> load(const CommandSpec& command, const Given& given, const Environment& env);

} // namespace poolcalc::cli

#pragma once
// Reading the files a command names (a scenario, rules, fleet or sample file): bounded in size, with an
// error a person can act on.

#include "poolcalc/expected.hpp"

#include <cstddef>
#include <string>

namespace poolcalc::cli {

// The whole file. Returns an error string "cannot read 'PATH': why" (PATH through printable())
// for a missing file, a loop of symbolic links, a directory, an unreadable file or one larger
// than `max_mib` MiB (1 for a scenario, rules or fleet file; a sample file may be larger).
poolcalc::expected<std::string, std::string> read_file(const std::string& path, std::size_t max_mib = 1);

} // namespace poolcalc::cli

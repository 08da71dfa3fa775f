#pragma once
// Reading the files a command names (a scenario, rules or fleet file): at most 1 MiB, with an
// error a person can act on.

#include "poolcalc/expected.hpp"

#include <string>

namespace poolcalc::cli {

// The whole file. Returns an error string "cannot read 'PATH': why" (PATH through printable())
// for a missing file, a loop of symbolic links, a directory, an unreadable file or one larger
// than 1 MiB.
poolcalc::expected<std::string, std::string> read_file(const std::string& path);

} // namespace poolcalc::cli

#pragma once
// PostgreSQL's major version, as poolcalc takes it (`config --server-version`, a fleet file's
// [database] version). One number since PostgreSQL 10; the 9.x releases had two-part majors
// (9.6), which poolcalc does not take.

#include "poolcalc/expected.hpp"

#include <string>
#include <string_view>

namespace poolcalc {

// PostgreSQL 15, the default server version; 16 added reserved_connections.
inline constexpr int k_default_server_version = 15;
inline constexpr int k_min_server_version = 10;
inline constexpr int k_max_server_version = 99;

// Parses a PostgreSQL major version, k_min_server_version-k_max_server_version ("15"). Returns an
// error string naming what is accepted otherwise.
poolcalc::expected<int, std::string> parse_server_version(std::string_view text);

} // namespace poolcalc

#include "poolcalc/postgres_version.hpp"

#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace poolcalc {

poolcalc::expected<int, std::string> parse_server_version(std::string_view text)
{
  // Digits only: "9.6", "15.2", "+15" and " 15" are not major versions.
  int value = 0;
  const bool digits =
    !text.empty() && text.size() <= 4 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    std::from_chars(text.data(), text.data() + text.size(), value);
  }
  if (!digits || value < k_min_server_version || value > k_max_server_version) {
    return poolcalc::unexpected(fmt::format(
      "expected a PostgreSQL major version, {}-{} (such as 15), got '{}'", k_min_server_version, k_max_server_version, user_text(text)));
  }
  return value;
}

} // namespace poolcalc

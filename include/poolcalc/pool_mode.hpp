#pragma once
// PgBouncer's pool_mode (https://www.pgbouncer.org/config.html#pool_mode): when a server
// connection goes back to the pool. Parsed once, where it is read (rules.toml), and written with
// to_string() wherever a file or a report names it.

#include <optional>
#include <string_view>

namespace poolcalc {

enum class PoolMode
{
  session,     // after the client disconnects
  transaction, // after each transaction
  statement,   // after each statement (multi-statement transactions refused)
};

// "session", "transaction", "statement": PgBouncer's own words.
std::string_view to_string(PoolMode mode);

// The mode PgBouncer's word names; none for any other text.
std::optional<PoolMode> parse_pool_mode(std::string_view text);

} // namespace poolcalc

#pragma once
// Reads a live PostgreSQL server through libpq: one connection (application_name=poolcalc), one
// read-only transaction, every query under a statement_timeout. The only part of poolcalc that
// talks to a server.

#include "poolcalc/database_url.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/inspect.hpp"

#include <functional>
#include <string>

namespace poolcalc::inspect {

struct ReadOptions
{
  double connect_timeout_s = 10; // unless the URL sets connect_timeout
  std::int64_t statement_timeout_ms = 5000;
  std::function<void(const std::string&)> progress; // told before each slow step (may be empty)
};

// Connects, reads the settings, pg_stat_activity and pg_stat_statements, and disconnects.
// Returns an error string (password masked) when libpq cannot be loaded, the connection fails
// or the server goes away mid-way; a missing or unreadable pg_stat_statements is not an error
// (it is part of the snapshot).
poolcalc::expected<ServerSnapshot, std::string> read_server(const DatabaseUrl& url, const ReadOptions& options);

} // namespace poolcalc::inspect

#pragma once
// Reads a live PostgreSQL server through libpq: one connection (application_name=poolcalc), one
// read-only transaction, every query under a statement_timeout. The only part of poolcalc that
// talks to a server.

#include "poolcalc/database_url.hpp"
#include "poolcalc/doctor.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/inspect.hpp"

#include <functional>
#include <string>

namespace poolcalc::inspect {

// The inspection ends within connect_timeout_s + statement_timeout_ms, whatever the server does
// (docs/usage.md): the connection (every host of the URL, TLS, authentication) must be complete
// within connect_timeout_s, and everything after it, BEGIN to COMMIT, answered within
// statement_timeout_ms, which is also each query's server-side statement_timeout. Only the host
// name lookup, which libpq makes with the system's blocking resolver, is not bounded by them.
struct ReadOptions
{
  double connect_timeout_s{}; // rules inspect.connect_timeout_s, or what --connect-timeout or the URL sets
  std::string connect_timeout_source = "inspect.connect_timeout_s"; // named when it runs out
  std::int64_t statement_timeout_ms{};                              // rules inspect.statement_timeout_ms
  std::function<void(const std::string&)> progress;                 // told before each slow step (may be empty)
  // Told each notice or warning the server sends (one line, as libpq formats it, with the URL's
  // secrets masked); libpq's own processor, which writes them raw to stderr, is never used.
  // Empty: notices are dropped.
  std::function<void(const std::string&)> notice;
};

// Connects, reads the settings, pg_stat_activity and pg_stat_statements, and disconnects.
// Returns an error string (password masked) when libpq cannot be loaded, the connection fails,
// the server goes away mid-way or a deadline above passes; a missing or unreadable pg_stat_statements is not an error
// (it is part of the snapshot).
poolcalc::expected<ServerSnapshot, std::string> read_server(const DatabaseUrl& url, const ReadOptions& options);

// `poolcalc doctor`: samples the server (and PgBouncer's admin console, when given) every
// `interval_s` for `duration_s`, read-only: pg_stat_activity of the URL's database each time,
// PgBouncer's SHOW POOLS each time, SHOW STATS_TOTALS and pg_stat_statements at both ends. Each
// statement is bounded by read.statement_timeout_ms, the connections by read.connect_timeout_s.
struct SampleOptions
{
  ReadOptions read;
  double duration_s = 0;
  double interval_s = 1;
  std::function<void(double done_s, double total_s)> tick; // after each sample (may be empty)
};
poolcalc::expected<Capture, std::string> sample_live(const DatabaseUrl& url,
                                                     const std::optional<DatabaseUrl>& pgbouncer_admin,
                                                     const SampleOptions& options);

} // namespace poolcalc::inspect

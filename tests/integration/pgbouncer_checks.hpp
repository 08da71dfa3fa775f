#pragma once
// What the PgBouncer integration tests read back: PgBouncer's log lines at ERROR or FATAL, and the
// auth_file written as poolcalc's userlist note says (its SELECT line run against pg_authid).

#include "pg_server.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace poolcalc::test {

// Lines of PgBouncer's log at level ERROR or FATAL ("2026-... UTC [pid] ERROR ...").
inline std::vector<std::string> error_lines(const std::string& log)
{
  std::vector<std::string> found;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("] ERROR ") != std::string::npos || line.find("] FATAL ") != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

// The figure PgBouncer logs at start: "max expected fd use: N".
inline std::int64_t logged_fd_use(const std::string& log)
{
  const std::string key = "max expected fd use: ";
  const auto at = log.find(key);
  REQUIRE_MESSAGE(at != std::string::npos, log);
  return std::atoll(log.c_str() + at + key.size());
}

// The userlist, written as `poolcalc pgbouncer --userlist` says: its SELECT line run as a
// superuser against pg_authid.
inline std::string userlist_from_note(const PgServer& server, const std::string& note)
{
  std::istringstream in(note);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("; ")) {
      line.erase(0, 2); // `config --for pgbouncer` writes the note as ini comments
    }
    if (line.starts_with("SELECT ")) {
      return server.sql(line);
    }
  }
  FAIL("the userlist note has no SELECT line:\n", note);
  return {};
}

} // namespace poolcalc::test

#pragma once
// A client session the integration tests hold open against the test server (libpq), so the
// server has connections with known application names, users and states while poolcalc looks.

#include <map>
#include <string>
#include <vector>

struct pg_conn;

namespace poolcalc::test {

class PgSession
{
public:
  // Connects (libpq conninfo). Throws std::runtime_error with libpq's message on failure.
  explicit PgSession(const std::string& conninfo);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs one or more statements; returns the first column of the first row of the last result
  // ("" when there is none). Throws std::runtime_error on an error.
  std::string exec(const std::string& sql);

  // Runs one statement (simple query protocol, so PgBouncer's admin console takes it too) and
  // returns every row as column name -> text value. Throws std::runtime_error on an error.
  std::vector<std::map<std::string, std::string>> rows(const std::string& sql);

  // The backend's process id (pg_backend_pid()).
  int backend_pid() const;

private:
  pg_conn* m_conn = nullptr;
};

} // namespace poolcalc::test

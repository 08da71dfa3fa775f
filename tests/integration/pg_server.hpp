#pragma once
// A real PostgreSQL server for the integration tests: initdb into a fresh temporary directory,
// started on a free loopback port, stopped and removed when the object goes away. initdb and the
// server refuse to run as root, so as root they run as the `postgres` user (runuser).
//
// The binaries come from $POOLCALC_PG_BINDIR, else /usr/lib/postgresql/15/bin (Debian 12's
// postgresql-15). A missing binary is a test failure, never a silent skip.

#include <map>
#include <string>
#include <vector>

namespace poolcalc::test {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound with port 0, then closed).
int free_loopback_port();

// The directory of the PostgreSQL server binaries.
std::string pg_bin_dir();

// Runs `args` as the user that owns the test clusters (`postgres` when running as root).
// Returns the exit code; `output` receives stdout and stderr.
int run_as_cluster_owner(const std::vector<std::string>& args, std::string& output);

// Gives `path` to the user that owns the test clusters (`postgres`) when running as root, so
// the servers the tests start as that user can use it. Throws std::runtime_error on failure.
void own_by_cluster_owner(const std::string& path);

struct PgOptions
{
  int max_connections = 100;
  int superuser_reserved_connections = 3;
  bool pg_stat_statements = true;              // shared_preload_libraries; CREATE EXTENSION is up to the test
  std::map<std::string, std::string> settings; // any other postgresql.conf setting
};

class PgServer
{
public:
  static constexpr const char* k_superuser = "postgres";
  static constexpr const char* k_superuser_password = "s3cret-superuser";

  // Creates and starts the cluster. Throws std::runtime_error (with the server log) on failure.
  explicit PgServer(PgOptions options = {});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return m_port; }
  const std::string& directory() const { return m_directory; }

  // postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE (PASSWORD omitted when empty).
  std::string url(const std::string& user, const std::string& password, const std::string& database) const;
  // libpq keyword/value connection string over TCP to 127.0.0.1.
  std::string conninfo(const std::string& user,
                       const std::string& password,
                       const std::string& database,
                       const std::string& extra = "") const;

  // Runs SQL as the superuser through psql (ON_ERROR_STOP); returns psql's unaligned, tuples-only
  // output. Throws std::runtime_error with psql's message on an error.
  std::string sql(const std::string& statements, const std::string& database = "postgres") const;

  // Stops the server at once (pg_ctl stop -m immediate). The destructor then only removes files.
  void stop();

  // The server log so far (for failure messages).
  std::string log() const;

private:
  std::string m_directory;
  int m_port = 0;
  bool m_running = false;
};

} // namespace poolcalc::test

#pragma once
// A real PgBouncer for the integration tests, started with a configuration the test supplies
// (poolcalc's generated pgbouncer.ini), in a fresh temporary directory on a free loopback port;
// stopped and removed when the object goes away. PgBouncer refuses to run as root, so as root it
// runs as the `postgres` user (runuser), like the test's PostgreSQL.
//
// The binary is $POOLCALC_PGBOUNCER, else /usr/sbin/pgbouncer (Debian 12's pgbouncer 1.18). A
// missing binary is a test failure, never a silent skip.

#include <map>
#include <string>
#include <vector>

namespace poolcalc::test {

std::string pgbouncer_binary();

// Sets `keys` in the [pgbouncer] section of `ini`: an existing `key = value` line is replaced
// in place, a missing key is added right after the section header. Every other line is kept
// byte for byte. Throws std::runtime_error when there is no [pgbouncer] section.
std::string set_pgbouncer_keys(const std::string& ini, const std::map<std::string, std::string>& keys);

// The lines of `ini` that do not set one of `keys` (to check that set_pgbouncer_keys changed
// nothing else).
std::vector<std::string> lines_without_keys(const std::string& ini, const std::map<std::string, std::string>& keys);

struct StartResult
{
  int exit_code = -1;
  std::string output; // what `pgbouncer -d` printed
};

class PgBouncerServer
{
public:
  // Creates the directory (owned by the user PgBouncer runs as) and picks a port; does not
  // start anything. Throws std::runtime_error when the binary is missing.
  PgBouncerServer();
  ~PgBouncerServer();
  PgBouncerServer(const PgBouncerServer&) = delete;
  PgBouncerServer& operator=(const PgBouncerServer&) = delete;

  int port() const { return m_port; }
  const std::string& directory() const { return m_directory; }

  // What the test bed sets in a generated file so PgBouncer runs here: listen_port,
  // auth_file, logfile, pidfile and unix_socket_dir.
  std::map<std::string, std::string> test_bed_keys() const;

  // Writes `ini` and `userlist` into the directory and runs `pgbouncer -d` on them. On exit
  // code 0 waits (up to 10 s) until the port accepts connections, else throws with the log.
  StartResult start(const std::string& ini, const std::string& userlist);

  // Stops PgBouncer (SIGTERM, then waits for the process to go). No-op when not running.
  void stop();

  // The log file so far.
  std::string log() const;

private:
  std::string m_directory;
  int m_port = 0;
  int m_pid = 0;
};

} // namespace poolcalc::test

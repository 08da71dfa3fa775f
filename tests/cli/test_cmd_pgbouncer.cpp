// `poolcalc pgbouncer` end to end: the ini and the userlist note for the seed's workload, the
// same from a scenario file, exit 3 with the failing finding on stderr, and each bad input.
// (That PgBouncer itself loads the file: tests/integration/test_pgbouncer.cpp.)

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;

namespace {

// The seed's example DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

} // namespace

TEST_CASE("pgbouncer: the seed's example, sized from the plan")
{
  // 120 VUs x 0.7 x 0.150 s = 12.6 -> 13 x 3 + 10 = 49 -> 50 (seed); max_connections 200 leaves
  // room for 50 + the 10 reserve (200 - 50 reserved = 150 available).
  const std::vector<std::string> args = { "pgbouncer",         "--vus", "120", "--query-ms", "150", "--transaction-pooling",
                                          "--max-connections", "200" };
  const Result r = run_poolcalc(args, { { "DATABASE_URL", k_seed_url } });
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "\n[databases]\n"));
  CHECK(contains(r.out, "\nchat_backend_db = host=localhost port=5432 dbname=chat_backend_db\n"));
  CHECK(contains(r.out, "\n[pgbouncer]\n"));
  for (const char* line : { "listen_port = 6432",
                            "listen_addr = 127.0.0.1",
                            "auth_type = md5",
                            "auth_file = /etc/pgbouncer/userlist.txt",
                            "pool_mode = transaction",
                            "max_client_conn = 1000",
                            "default_pool_size = 50",
                            "min_pool_size = 10",
                            "reserve_pool_size = 10",
                            "reserve_pool_timeout = 5" }) {
    CHECK_MESSAGE(contains(r.out, std::string("\n") + line + "\n"), line);
  }
  CHECK_FALSE(contains(r.out, "postgrespassword"));

  SUBCASE("--userlist: how to write the auth_file, never the password")
  {
    std::vector<std::string> with_note = args;
    with_note.push_back("--userlist");
    const Result note = run_poolcalc(with_note, { { "DATABASE_URL", k_seed_url } });
    CHECK(note.exit_code == 0);
    CHECK(contains(note.out, "FROM pg_authid WHERE rolname IN ('postgres') AND rolpassword IS NOT NULL ORDER BY rolname;\n"));
    CHECK(contains(note.out, "auth_query"));
    CHECK_FALSE(contains(note.out, "postgrespassword"));
    CHECK_FALSE(contains(note.out, "[pgbouncer]\n"));
  }
  SUBCASE("a scenario file gives the same file")
  {
    const std::string path = std::filesystem::temp_directory_path() / ("poolcalc-pgbouncer-" + std::to_string(getpid()) + ".toml");
    std::ofstream(path) << "vus = 120\nquery_ms = 150\ntransaction_pooling = true\nmax_connections = 200\ndatabase_url = \"" << k_seed_url
                        << "\"\n";
    const Result from_file = run_poolcalc({ "pgbouncer", "--config", path });
    std::filesystem::remove(path);
    CHECK(from_file.exit_code == 0);
    CHECK(from_file.out == r.out);
  }
}

TEST_CASE("pgbouncer: exit 3 with the failing finding on stderr, the file still printed")
{
  // 2000 VUs x 0.7 x 0.150 s = 210 concurrent queries, more than the 50 server connections the
  // default max_connections leaves (100 - 50 reserved).
  const Result r = run_poolcalc({ "pgbouncer", "--vus", "2000", "--query-ms", "150", "--instances", "6" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "\ndefault_pool_size = 41\n")); // floor(50 / 1.2), the reserve 9 (docs/model.md)
  CHECK(r.err == "poolcalc: fail: capacity.exceeds_server: the peak of 210 concurrent queries needs 210 server connections at once, "
                 "more than PgBouncer's 50 (all of the 50 available): PgBouncer queues clients but cannot run more queries at once than "
                 "it has server connections; raise max_connections, shorten queries or add capacity\n");
}

TEST_CASE("pgbouncer: bad input")
{
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150" },
                    "pgbouncer: the plan does not need PgBouncer (no PgBouncer trigger applies: 1 instance (at most 5), 50 "
                    "connections in total (at most 200), 1 service, database location not given); --transaction-pooling asks for it");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--format", "json" },
                    "--format: `poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop --format");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--explain" },
                    "--explain: `poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop --explain");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--userlist" },
                    "The following argument was not expected: --userlist (see poolcalc --help)");
  // The URL's origin is named, its password never shown.
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6" },
    "DATABASE_URL: the database name 'my db' cannot be written into pgbouncer.ini: expected letters, digits, '_', '.' or '-'",
    { { "DATABASE_URL", "postgresql://app:S3CRET@h/my%20db" } });
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--database-url", "postgresql://app:S3CRET@h/db?host=a%20b" },
    "--database-url: the host 'a b' cannot be written into pgbouncer.ini: expected one host name, IP address or socket directory");
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--database-url", "postgresql://app@h/db?port=5432x" },
    "--database-url: the port '5432x' cannot be written into pgbouncer.ini: expected a whole number from 1 to 65535");
}

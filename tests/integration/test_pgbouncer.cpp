// poolcalc's pgbouncer.ini against a real PgBouncer in front of a real PostgreSQL: PgBouncer
// loads the generated file, authenticates with the userlist the note says how to write, and under
// more concurrent clients than the pool never opens more server connections than planned while
// every client is served.

#include "../cli/process.hpp"
#include "pg_server.hpp"
#include "pg_session.hpp"
#include "pgbouncer_checks.hpp"
#include "pgbouncer_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace poolcalc::test {

namespace {

constexpr const char* k_role = "app";
constexpr const char* k_password = "app-pw-4711";
constexpr const char* k_database = "chat";

// Six application instances (the seed's "Application instances > 5" trigger): the plan puts
// PgBouncer in front. The whole load peaks at 40 VUs x 0.7 x 1/s x 0.050 s = 1.4 concurrent
// queries -> ceil 2 x burst 3 = 6 + overhead 10 = 16 -> 20 (round_to 10): default_pool_size 20,
// reserve_pool_size 0.2 x 20 = 4 (data/rules.toml).
std::vector<std::string> workload(const std::string& database_url)
{
  return { "pgbouncer", "--vus", "40", "--query-ms", "50", "--instances", "6", "--max-connections", "100", "--database-url", database_url };
}

// The value of `key = N` in an ini text (the generated file is what the test trusts for the plan).
std::int64_t ini_number(const std::string& ini, const std::string& key)
{
  std::istringstream in(ini);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + " = ")) {
      return std::atoll(line.c_str() + key.size() + 3);
    }
  }
  FAIL("no '", key, "' in the generated pgbouncer.ini");
  return -1;
}

int key_count(const std::string& ini, const std::string& key)
{
  std::istringstream in(ini);
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    count += line.starts_with(key + " = ") ? 1 : 0;
  }
  return count;
}

std::int64_t number(const std::map<std::string, std::string>& row, const std::string& column)
{
  const auto found = row.find(column);
  return found == row.end() ? 0 : std::atoll(found->second.c_str());
}

} // namespace

TEST_CASE("poolcalc pgbouncer: a real PgBouncer serves more clients than its pool without exceeding it")
{
  PgServer server;
  server.sql(std::string("CREATE ROLE ") + k_role + " LOGIN PASSWORD '" + k_password + "'");
  server.sql(std::string("CREATE DATABASE ") + k_database + " OWNER " + k_role);
  const std::string url = server.url(k_role, k_password, k_database);

  const Result ini = run_poolcalc(workload(url));
  REQUIRE_MESSAGE(ini.exit_code == 0, ini.err);
  CHECK(ini.err.empty());
  CHECK(ini.out.find(k_password) == std::string::npos);
  // The [databases] entry is the test server's, as the URL names it.
  CHECK(ini.out.find("\nchat = host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=chat\n") != std::string::npos);
  const std::int64_t default_pool_size = ini_number(ini.out, "default_pool_size");
  const std::int64_t reserve_pool_size = ini_number(ini.out, "reserve_pool_size");
  CHECK(default_pool_size == 20); // see workload()
  CHECK(reserve_pool_size == 4);
  const std::int64_t planned = default_pool_size + reserve_pool_size;

  std::vector<std::string> note_args = workload(url);
  note_args.push_back("--userlist");
  const Result note = run_poolcalc(note_args);
  REQUIRE_MESSAGE(note.exit_code == 0, note.err);
  CHECK(note.out.find(k_password) == std::string::npos);
  const std::string userlist = userlist_from_note(server, note.out);
  // PostgreSQL 15 stores SCRAM secrets (password_encryption's default scram-sha-256).
  CHECK(userlist.starts_with("\"app\" \"SCRAM-SHA-256$"));
  CHECK(std::count(userlist.begin(), userlist.end(), '\n') == 1);

  PgBouncerServer bouncer;
  std::map<std::string, std::string> keys = bouncer.test_bed_keys();
  keys["stats_users"] = k_role; // SHOW POOLS on the admin console, for the test only
  const std::string adapted = set_pgbouncer_keys(ini.out, keys);
  // Only the test bed's keys changed, each set once.
  CHECK(lines_without_keys(adapted, keys) == lines_without_keys(ini.out, keys));
  for (const auto& [key, value] : keys) {
    CHECK_MESSAGE(key_count(adapted, key) == 1, key);
  }

  const StartResult started = bouncer.start(adapted, userlist);
  REQUIRE_MESSAGE(started.exit_code == 0, started.output, "\n", bouncer.log());
  CHECK(error_lines(bouncer.log()).empty());

  // Twice as many clients as the planned server connections, each transaction holding its
  // server connection 50 ms (pg_sleep), 20 transactions each.
  const std::int64_t clients = 2 * planned;
  const std::int64_t per_client = 20;
  const std::string script = bouncer.directory() + "/hold.sql";
  std::ofstream(script) << "SELECT pg_sleep(0.05);\n";
  own_by_cluster_owner(script);

  std::atomic<bool> done = false;
  Result bench;
  // A jthread: joined on every way out, so a failed poll cannot leave pgbench running.
  std::jthread load([&] {
    bench = run_process({ pg_bin_dir() + "/pgbench",
                          "-n",
                          "-h",
                          "127.0.0.1",
                          "-p",
                          std::to_string(bouncer.port()),
                          "-U",
                          k_role,
                          "-c",
                          std::to_string(clients),
                          "-j",
                          "4",
                          "-t",
                          std::to_string(per_client),
                          "-f",
                          script,
                          k_database },
                        { { "PGPASSWORD", k_password }, { "LC_ALL", "C" } });
    done = true;
  });

  std::int64_t max_server = 0;
  std::int64_t max_waiting = 0;
  std::int64_t max_backends = 0;
  int polls = 0;
  {
    PgSession admin("host=127.0.0.1 port=" + std::to_string(bouncer.port()) + " dbname=pgbouncer user=" + k_role +
                    " password=" + k_password);
    PgSession direct(server.conninfo(PgServer::k_superuser, PgServer::k_superuser_password, "postgres"));
    while (!done) {
      for (const auto& row : admin.rows("SHOW POOLS")) {
        if (row.at("database") != k_database || row.at("user") != k_role) {
          continue;
        }
        const std::int64_t server_connections = number(row, "sv_active") + number(row, "sv_idle") + number(row, "sv_used") +
                                                number(row, "sv_tested") + number(row, "sv_login") + number(row, "sv_active_cancel") +
                                                number(row, "sv_being_canceled");
        max_server = std::max(max_server, server_connections);
        max_waiting = std::max(max_waiting, number(row, "cl_waiting"));
      }
      // What PostgreSQL itself sees from the role.
      max_backends = std::max<std::int64_t>(
        max_backends,
        std::atoll(direct.exec("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'").c_str()));
      ++polls;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  load.join();

  INFO("pgbench: ", bench.out, bench.err);
  MESSAGE("polls: ",
          polls,
          ", most server connections: ",
          max_server,
          " (planned ",
          planned,
          "), most waiting clients: ",
          max_waiting,
          ", most backends: ",
          max_backends);
  CHECK(bench.exit_code == 0);
  // Every transaction of every client processed, none failed (pgbench 15's summary lines).
  CHECK(bench.out.find("number of transactions actually processed: " + std::to_string(clients * per_client) + "/" +
                       std::to_string(clients * per_client) + "\n") != std::string::npos);
  CHECK(bench.out.find("number of failed transactions: 0 (0.000%)\n") != std::string::npos);
  CHECK(polls > 10);
  CHECK(max_server <= planned);
  CHECK(max_backends <= planned);
  // The pool really was the limit: it filled, and clients queued behind it.
  CHECK(max_server >= default_pool_size);
  CHECK(max_waiting > 0);
  CHECK(error_lines(bouncer.log()).empty());
}

TEST_CASE("PgBouncer refuses a broken pgbouncer.ini, and the test bed sees it")
{
  // PgBouncer does not connect to the database at start, so no server is needed here.
  const Result ini = run_poolcalc(workload("postgresql://app@127.0.0.1:5432/chat"));
  REQUIRE_MESSAGE(ini.exit_code == 0, ini.err);
  const std::string userlist = "\"app\" \"md5e2ac3f8c1ee4a23f6d43bbd2a4ccfe9e\"\n"; // any md5 hash: nobody logs in

  SUBCASE("the generated file starts")
  {
    PgBouncerServer bouncer;
    const StartResult started = bouncer.start(set_pgbouncer_keys(ini.out, bouncer.test_bed_keys()), userlist);
    CHECK_MESSAGE(started.exit_code == 0, started.output);
    CHECK(error_lines(bouncer.log()).empty());
  }
  SUBCASE("an unknown pool_mode is refused")
  {
    std::string broken = ini.out;
    const auto at = broken.find("\npool_mode = transaction\n");
    REQUIRE(at != std::string::npos);
    broken.replace(at, std::string("\npool_mode = transaction\n").size(), "\npool_mode = transactional\n");
    PgBouncerServer bouncer;
    const StartResult started = bouncer.start(set_pgbouncer_keys(broken, bouncer.test_bed_keys()), userlist);
    CHECK(started.exit_code != 0);
    CHECK(started.output.find("invalid value \"transactional\" for parameter pool_mode") != std::string::npos);
    CHECK_FALSE(error_lines(bouncer.log()).empty());
  }
}

TEST_CASE("PgBouncerServer: a missing binary is a failure, not a skip")
{
  const char* before = std::getenv("POOLCALC_PGBOUNCER");
  const std::string saved = before != nullptr ? before : "";
  setenv("POOLCALC_PGBOUNCER", "/nonexistent/pgbouncer", 1);
  CHECK_THROWS_WITH_AS(PgBouncerServer(), doctest::Contains("PgBouncer binary missing: /nonexistent/pgbouncer"), std::runtime_error);
  if (before != nullptr) {
    setenv("POOLCALC_PGBOUNCER", saved.c_str(), 1);
  } else {
    unsetenv("POOLCALC_PGBOUNCER");
  }
}

} // namespace poolcalc::test

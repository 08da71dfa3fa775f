// `poolcalc doctor` against what really happens: a real PostgreSQL behind a real PgBouncer, pgbench
// as the load, doctor sampling both while it runs. Four cases, each built to have one cause:
// a pool too small (waits, holds as the script holds), a leak (sessions idle in transaction), a
// database-bound load (every transaction updates one row: they queue on its lock) and a pooler
// limit (max_db_connections below the pool). docs/doctor.md, "How it is tested".
#include "../cli/process.hpp"
#include "pg_server.hpp"
#include "pg_session.hpp"
#include "pgbouncer_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace poolcalc::test {

namespace {

constexpr const char* k_role = "app";
constexpr const char* k_password = "app-pw-doctor";
constexpr const char* k_database = "chat";

struct Bed
{
  PgServer server;
  PgBouncerServer bouncer;
};

// A transaction-mode PgBouncer in front of `server`, with `keys` set in [pgbouncer].
void start_bouncer(Bed& bed, const std::map<std::string, std::string>& keys)
{
  bed.server.sql(std::string("CREATE ROLE ") + k_role + " LOGIN PASSWORD '" + k_password + "'");
  bed.server.sql(std::string("CREATE DATABASE ") + k_database + " OWNER " + k_role);
  std::string ini = "[databases]\n" + std::string(k_database) + " = host=127.0.0.1 port=" + std::to_string(bed.server.port()) +
                    " dbname=" + k_database +
                    "\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nauth_type = scram-sha-256\npool_mode = transaction\n"
                    "max_client_conn = 100\nstats_users = app\nquery_wait_timeout = 30\n";
  std::map<std::string, std::string> all = bed.bouncer.test_bed_keys();
  all.insert(keys.begin(), keys.end());
  ini = set_pgbouncer_keys(ini, all);
  // A plain-text password in the auth_file: PgBouncer answers SCRAM with it and logs in with it.
  const StartResult started = bed.bouncer.start(ini, std::string("\"") + k_role + "\" \"" + k_password + "\"\n");
  REQUIRE_MESSAGE(started.exit_code == 0, started.output, "\n", bed.bouncer.log());
}

// pgbench through PgBouncer for `seconds` with `clients` running `script`.
Result pgbench(const Bed& bed, const std::string& script, int clients, int seconds)
{
  const std::string path = bed.bouncer.directory() + "/load.sql";
  std::ofstream(path) << script;
  own_by_cluster_owner(path);
  return run_process({ pg_bin_dir() + "/pgbench",
                       "-n",
                       "-h",
                       "127.0.0.1",
                       "-p",
                       std::to_string(bed.bouncer.port()),
                       "-U",
                       k_role,
                       "-c",
                       std::to_string(clients),
                       "-j",
                       "2",
                       "-T",
                       std::to_string(seconds),
                       "-f",
                       path,
                       k_database },
                     { { "PGPASSWORD", k_password }, { "LC_ALL", "C" } });
}

// doctor over the server and PgBouncer's console while pgbench runs; its JSON. The capture is
// saved too, and diagnosed again from the file: the same causes. With $POOLCALC_DOCTOR_KEEP set to
// a directory, the capture is copied there as NAME.json (data/examples/doctor-*.json came so).
nlohmann::json diagnose_under_load(const Bed& bed,
                                   const std::string& script,
                                   int clients,
                                   const std::string& name,
                                   const std::vector<std::string>& workload = {})
{
  const std::string saved = bed.bouncer.directory() + "/capture.json";
  Result bench;
  std::jthread load([&] { bench = pgbench(bed, script, clients, 9); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // connections up, the load steady
  const std::string admin =
    "postgresql://" + std::string(k_role) + ":" + k_password + "@127.0.0.1:" + std::to_string(bed.bouncer.port()) + "/pgbouncer";
  std::vector<std::string> args = { "doctor",
                                    "--database-url",
                                    bed.server.url(PgServer::k_superuser, PgServer::k_superuser_password, k_database),
                                    "--pgbouncer-admin",
                                    admin,
                                    "--duration",
                                    "6",
                                    "--interval",
                                    "0.25",
                                    "--format",
                                    "json",
                                    "--save-capture",
                                    saved };
  args.insert(args.end(), workload.begin(), workload.end());
  const Result doctor = run_poolcalc(args);
  load.join();
  INFO("pgbench: ", bench.out, bench.err);
  INFO("doctor: ", doctor.out, doctor.err);
  REQUIRE(bench.exit_code == 0);
  REQUIRE(doctor.exit_code == 0);
  CHECK(doctor.out.find(PgServer::k_superuser_password) == std::string::npos);
  CHECK(doctor.out.find(k_password) == std::string::npos);
  nlohmann::json j = nlohmann::json::parse(doctor.out);
  std::vector<std::string> again_args = { "doctor", "--capture", saved, "--format", "json" };
  again_args.insert(again_args.end(), workload.begin(), workload.end());
  const Result again = run_poolcalc(again_args);
  INFO("doctor --capture: ", again.err);
  REQUIRE(again.exit_code == 0);
  const nlohmann::json k = nlohmann::json::parse(again.out);
  CHECK(k["causes"] == j["causes"]);
  CHECK(k["measured"] == j["measured"]);
  if (const char* keep = std::getenv("POOLCALC_DOCTOR_KEEP"); keep != nullptr && *keep != '\0') {
    std::filesystem::copy_file(saved, std::string(keep) + "/" + name + ".json", std::filesystem::copy_options::overwrite_existing);
  }
  return j;
}

std::vector<std::string> cause_ids(const nlohmann::json& j)
{
  std::vector<std::string> ids;
  for (const auto& cause : j["causes"]) {
    ids.push_back(cause["id"]);
  }
  return ids;
}

} // namespace

TEST_CASE("doctor: a pool of 2 for 8 clients holding 20 ms each: the pool is too small, and PgBouncer's default wait outlasts the client")
{
  Bed bed;
  // PgBouncer's own default query_wait_timeout, 120 s: longer than a client's 60 s request timeout.
  start_bouncer(bed, { { "default_pool_size", "2" }, { "query_wait_timeout", "120" } });
  const nlohmann::json j = diagnose_under_load(bed, "SELECT pg_sleep(0.02);\n", 8, "pool-too-small");
  const auto& m = j["measured"];
  MESSAGE("measured: ", m.dump());
  CHECK(cause_ids(j) == std::vector<std::string>{ "doctor.pool_too_small", "doctor.timeout_chain_inverted" });
  // Two server connections each running 20 ms sleeps: at most 100 transactions/s, each holding
  // its connection a little over 20 ms; the other six clients wait.
  CHECK(m["throughput"].get<double>() > 50);
  CHECK(m["throughput"].get<double>() <= 100.0 * 1.05);
  CHECK(m["hold_ms"].get<double>() == doctest::Approx(21).epsilon(0.5));
  CHECK(m["waiting_share"].get<double>() > 0.5);
  CHECK(m["mean_wait_ms"].get<double>() > 20);
  // The query's own time, its wait taken off what PgBouncer 1.18 counts: the 20 ms sleep.
  CHECK(m["query_ms"].get<double>() == doctest::Approx(21).epsilon(0.25));
  CHECK(m["most_server_connections"].get<int>() <= 2);
  // The queueing model at the measured load (8 clients, 2 connections, the measured hold and think
  // times, not the measured wait) against PgBouncer's own wait counter.
  CHECK(m["model_mean_wait_ms"].get<double>() == doctest::Approx(m["mean_wait_ms"].get<double>()).epsilon(0.15));
}

TEST_CASE("doctor: two sessions left idle in transaction hold their connections for nothing")
{
  Bed bed;
  start_bouncer(bed, { { "default_pool_size", "10" } });
  // The leak: two sessions of the application that began a transaction and never ended it.
  PgSession leak_a(bed.server.conninfo(k_role, k_password, k_database));
  PgSession leak_b(bed.server.conninfo(k_role, k_password, k_database));
  leak_a.exec("BEGIN");
  leak_a.exec("SELECT 1");
  leak_b.exec("BEGIN");
  leak_b.exec("SELECT 1");
  const nlohmann::json j = diagnose_under_load(bed, "SELECT pg_sleep(0.01);\n", 2, "held-idle");
  const auto& m = j["measured"];
  MESSAGE("measured: ", m.dump());
  CHECK(cause_ids(j) == std::vector<std::string>{ "doctor.connections_held_idle" });
  CHECK(m["mean_idle_in_transaction"].get<double>() == doctest::Approx(2));
  CHECK(m["oldest_idle_in_transaction_s"].get<double>() > 6);
}

TEST_CASE("doctor: every transaction updates one row: the database, not the pool, is the limit")
{
  Bed bed;
  start_bouncer(bed, { { "default_pool_size", "10" } });
  bed.server.sql("CREATE TABLE hot (id int PRIMARY KEY, n int); INSERT INTO hot VALUES (1, 0); ALTER TABLE hot OWNER TO app", k_database);
  const nlohmann::json j =
    diagnose_under_load(bed, "BEGIN;\nUPDATE hot SET n = n + 1 WHERE id = 1;\nSELECT pg_sleep(0.01);\nEND;\n", 8, "database-bound");
  const auto& m = j["measured"];
  MESSAGE("measured: ", m.dump());
  REQUIRE_FALSE(cause_ids(j).empty());
  CHECK(cause_ids(j).front() == "doctor.database_bound");
  // Eight sessions on one row lock: one runs, the others wait on it.
  CHECK(m["lock_share"].get<double>() > 0.5);
}

TEST_CASE("doctor: max_db_connections 2 under a pool of 10: PgBouncer's own limit")
{
  Bed bed;
  start_bouncer(bed, { { "default_pool_size", "10" }, { "max_db_connections", "2" } });
  const nlohmann::json j = diagnose_under_load(bed, "SELECT pg_sleep(0.02);\n", 8, "pooler-limit");
  const auto& m = j["measured"];
  MESSAGE("measured: ", m.dump());
  CHECK(cause_ids(j) == std::vector<std::string>{ "doctor.pooler_limit" });
  CHECK(m["most_server_connections"].get<int>() == 2);
  CHECK(m["waiting_share"].get<double>() > 0.5);
}

TEST_CASE("doctor: eight sessions of CPU-heavy queries on a database given one core: past its useful concurrency")
{
  Bed bed;
  start_bouncer(bed, { { "default_pool_size", "10" } });
  // Each transaction counts 300,000 generated rows: CPU only, no lock, no sleep. With the plan's
  // workload: 8 VUs, all active, back to back, and --db-cores 1 (the useful 2 at once of rules
  // advisor.active_per_core), which 8 running sessions exceed on this machine's cores as well.
  const nlohmann::json j =
    diagnose_under_load(bed,
                        "SELECT count(*) FROM generate_series(1, 300000);\n",
                        8,
                        "cpu-bound",
                        { "--vus", "8", "--activity", "1", "--think-ms", "0.001", "--query-ms", "20", "--db-cores", "1" });
  const auto& m = j["measured"];
  MESSAGE("measured: ", m.dump(), " planned: ", j["planned"].dump());
  REQUIRE_FALSE(cause_ids(j).empty());
  CHECK(cause_ids(j).front() == "doctor.database_bound");
  CHECK(m["lock_share"].get<double>() < 0.25);
  CHECK(m["mean_active"].get<double>() > 2);
  CHECK(j["planned"]["hold_ms"].get<double>() == 20);
}

} // namespace poolcalc::test

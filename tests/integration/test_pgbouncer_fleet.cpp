// A fleet's pgbouncer.ini (`poolcalc config --for pgbouncer --fleet FILE`) against a real PgBouncer
// in front of a real PostgreSQL: PgBouncer loads the file with only the test bed's machine keys
// changed, each [databases] entry serves `SELECT 1` to the role its service logs in as, and the
// admin console shows the planned pool per entry. The example fleet file itself is accepted too.

#include "../cli/process.hpp"
#include "pg_server.hpp"
#include "pg_session.hpp"
#include "pgbouncer_checks.hpp"
#include "pgbouncer_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace poolcalc::test {

namespace {

const std::string k_example = std::string(POOLCALC_SOURCE_DIR) + "/data/examples/chat-fleet.toml";
// The example's [database] url line (data/examples/chat-fleet.toml).
const std::string k_example_url_line = "url = \"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db\"\n";

constexpr const char* k_chat_password = "chat-pw-0815";
constexpr const char* k_worker_password = "worker-pw-4242";

std::string read_text(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Files
{
  std::string ini;
  std::string note;
};

// `poolcalc config --for pgbouncer --fleet FILE --format json`: the two files it prints, apart.
Files fleet_config(const std::string& fleet_file)
{
  const Result r = run_poolcalc({ "config", "--for", "pgbouncer", "--fleet", fleet_file, "--format", "json" });
  INFO("stderr: ", r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto json = nlohmann::json::parse(r.out);
  REQUIRE(json.at("files").size() == 2);
  CHECK(json["files"][0]["name"] == "pgbouncer.ini");
  CHECK(json["files"][1]["name"] == "userlist-howto.txt");
  return { json["files"][0]["content"].get<std::string>(), json["files"][1]["content"].get<std::string>() };
}

std::string conninfo(int port, const std::string& database, const std::string& user, const std::string& password)
{
  return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + database + " user=" + user + " password=" + password;
}

// The row of SHOW DATABASES for entry `name`.
std::map<std::string, std::string> database_row(PgSession& admin, const std::string& name)
{
  for (const auto& row : admin.rows("SHOW DATABASES")) {
    if (row.at("name") == name) {
      return row;
    }
  }
  FAIL("no entry ", name, " in SHOW DATABASES");
  return {};
}

} // namespace

TEST_CASE("poolcalc config --fleet: a real PgBouncer serves every entry of the fleet's pgbouncer.ini")
{
  PgServer server;
  server.sql(std::string("CREATE ROLE chat LOGIN PASSWORD '") + k_chat_password + "'");
  server.sql(std::string("CREATE ROLE worker LOGIN PASSWORD '") + k_worker_password + "'");
  server.sql("CREATE DATABASE chat_backend_db OWNER chat");

  // The example fleet, its [database] url at the test server (still a local database: the same
  // triggers and the same plan).
  std::string fleet = read_text(k_example);
  const auto at = fleet.find(k_example_url_line);
  REQUIRE(at != std::string::npos);
  fleet.replace(at,
                k_example_url_line.size(),
                "url = \"" + server.url(PgServer::k_superuser, PgServer::k_superuser_password, "chat_backend_db") + "\"\n");
  const std::string fleet_file =
    (std::filesystem::temp_directory_path() / ("poolcalc-fleet-" + std::to_string(server.port()) + ".toml")).string();
  std::ofstream(fleet_file) << fleet;
  const Files files = fleet_config(fleet_file);
  std::filesystem::remove(fleet_file);

  // The plan of docs/fleet.md: chat-api's transaction pool 33 + reserve 7 (min 7), the
  // notifier's session entry 20, both at the test server.
  const std::string server_at = "host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=chat_backend_db";
  CHECK(files.ini.find("\nchat_backend_db = " + server_at + " pool_size=33 min_pool_size=7 reserve_pool=7 max_db_connections=40\n") !=
        std::string::npos);
  CHECK(files.ini.find("\nchat_backend_db_session = " + server_at +
                       " pool_size=20 reserve_pool=0 max_db_connections=20 pool_mode=session\n") != std::string::npos);
  CHECK(files.ini.find(PgServer::k_superuser_password) == std::string::npos);

  const std::string userlist = userlist_from_note(server, files.note);
  // PostgreSQL 15 stores SCRAM secrets; one line per role, in name order.
  CHECK(userlist.starts_with("\"chat\" \"SCRAM-SHA-256$"));
  CHECK(userlist.find("\n\"worker\" \"SCRAM-SHA-256$") != std::string::npos);

  PgBouncerServer bouncer;
  std::map<std::string, std::string> keys = bouncer.test_bed_keys();
  keys["stats_users"] = "chat"; // SHOW DATABASES and SHOW POOLS on the admin console, for the test only
  const std::string adapted = set_pgbouncer_keys(files.ini, keys);
  CHECK(lines_without_keys(adapted, keys) == lines_without_keys(files.ini, keys));
  const StartResult started = bouncer.start(adapted, userlist);
  REQUIRE_MESSAGE(started.exit_code == 0, started.output, "\n", bouncer.log());
  CHECK(error_lines(bouncer.log()).empty());

  // Each entry serves its service's role: the transaction entry as chat, the session entry as worker.
  {
    PgSession api(conninfo(bouncer.port(), "chat_backend_db", "chat", k_chat_password));
    CHECK(api.exec("SELECT 1") == "1");
    CHECK(api.exec("SELECT current_user || ' ' || current_database()") == "chat chat_backend_db");
    PgSession notifier(conninfo(bouncer.port(), "chat_backend_db_session", "worker", k_worker_password));
    CHECK(notifier.exec("SELECT 1") == "1");
    CHECK(notifier.exec("SELECT current_user || ' ' || current_database()") == "worker chat_backend_db");
    // Session mode keeps the server connection: LISTEN, the notifier's reason for it, works.
    notifier.exec("LISTEN new_message");
    CHECK(notifier.exec("SELECT count(*) FROM pg_listening_channels()") == "1");

    PgSession admin(conninfo(bouncer.port(), "pgbouncer", "chat", k_chat_password));
    const auto api_entry = database_row(admin, "chat_backend_db");
    CHECK(api_entry.at("database") == "chat_backend_db");
    CHECK(api_entry.at("port") == std::to_string(server.port()));
    CHECK(api_entry.at("pool_size") == "33");
    CHECK(api_entry.at("min_pool_size") == "7");
    CHECK(api_entry.at("reserve_pool") == "7");
    CHECK(api_entry.at("max_connections") == "40"); // PgBouncer 1.18's column for max_db_connections
    const auto session_entry = database_row(admin, "chat_backend_db_session");
    CHECK(session_entry.at("database") == "chat_backend_db");
    CHECK(session_entry.at("pool_size") == "20");
    CHECK(session_entry.at("reserve_pool") == "0");
    CHECK(session_entry.at("max_connections") == "20");
    CHECK(session_entry.at("pool_mode") == "session");

    // One pool per (database, user), in its entry's mode.
    int pools = 0;
    for (const auto& row : admin.rows("SHOW POOLS")) {
      if (row.at("database") == "chat_backend_db") {
        CHECK(row.at("user") == "chat");
        CHECK(row.at("pool_mode") == "transaction");
        ++pools;
      } else if (row.at("database") == "chat_backend_db_session") {
        CHECK(row.at("user") == "worker");
        CHECK(row.at("pool_mode") == "session");
        ++pools;
      }
    }
    CHECK(pools == 2);
  }
  CHECK(error_lines(bouncer.log()).empty());
}

TEST_CASE("poolcalc config --fleet: PgBouncer accepts the example fleet's pgbouncer.ini")
{
  // data/examples/chat-fleet.toml as it stands; only the test bed's machine keys change. PgBouncer
  // does not connect to the example's server at start: what is asserted is that it loads the file.
  const Files files = fleet_config(k_example);
  const std::string userlist = "\"chat\" \"md5e2ac3f8c1ee4a23f6d43bbd2a4ccfe9e\"\n"
                               "\"worker\" \"md5e2ac3f8c1ee4a23f6d43bbd2a4ccfe9e\"\n"; // any md5 hash: nobody logs in
  PgBouncerServer bouncer;
  const std::map<std::string, std::string> keys = bouncer.test_bed_keys();
  const std::string adapted = set_pgbouncer_keys(files.ini, keys);
  CHECK(lines_without_keys(adapted, keys) == lines_without_keys(files.ini, keys));
  const StartResult started = bouncer.start(adapted, userlist);
  REQUIRE_MESSAGE(started.exit_code == 0, started.output, "\n", bouncer.log());
  // A moment for PgBouncer's periodic work, then its log: up, and no config error.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string log = bouncer.log();
  MESSAGE("PgBouncer's log:\n", log);
  CHECK(log.find("process up: PgBouncer") != std::string::npos);
  CHECK(error_lines(log).empty());
  // The open files the file's comment expects are the ones PgBouncer logs, its auth_file holding
  // the fleet's two roles.
  const std::int64_t logged = logged_fd_use(log);
  MESSAGE("max expected fd use logged by PgBouncer 1.18 for the example fleet: ", logged);
  CHECK(files.ini.find("PgBouncer expects to need " + std::to_string(logged) + " open files") != std::string::npos);
}

} // namespace poolcalc::test

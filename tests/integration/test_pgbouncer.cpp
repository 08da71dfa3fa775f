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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// Sends a protocol 3.0 StartupMessage with `parameters` (user and database among them) to
// 127.0.0.1:port, as a driver does, and returns PgBouncer's first answer: 'R' (an authentication
// request: the parameters were accepted) or 'E' with its message text.
std::string startup_answer(int port, const std::vector<std::pair<std::string, std::string>>& parameters)
{
  std::string body;
  const auto put32 = [](std::string& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += static_cast<char>((value >> shift) & 0xFF);
    }
  };
  put32(body, 196608); // protocol 3.0 (PostgreSQL's protocol docs, "StartupMessage")
  for (const auto& [key, value] : parameters) {
    body += key + '\0' + value + '\0';
  }
  body += '\0';
  std::string packet;
  put32(packet, static_cast<std::uint32_t>(body.size() + 4));
  packet += body;

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      write(fd, packet.data(), packet.size()) == static_cast<ssize_t>(packet.size())) {
    char buffer[4096];
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got > 0) {
      answer.assign(buffer, static_cast<std::size_t>(got));
    }
  }
  close(fd);
  if (answer.empty()) {
    return "no answer";
  }
  if (answer[0] != 'E') {
    return std::string(1, answer[0]);
  }
  // ErrorResponse: fields of a type byte and a string; 'M' is the message.
  for (std::size_t at = 5; at < answer.size() && answer[at] != '\0';) {
    const char type = answer[at];
    const std::size_t end = answer.find('\0', at + 1);
    if (type == 'M') {
      return "E " + answer.substr(at + 1, end - at - 1);
    }
    at = end == std::string::npos ? answer.size() : end + 1;
  }
  return "E";
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

  // The file lets the URL's role read the console over TCP (SHOW POOLS below, with the file as
  // written).
  CHECK(ini.out.find("\nstats_users = app\n") != std::string::npos);

  PgBouncerServer bouncer;
  const std::map<std::string, std::string> keys = bouncer.test_bed_keys();
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

TEST_CASE("poolcalc pgbouncer: the file accepts the startup parameters drivers send, and PgBouncer's open-file figure")
{
  // PgBouncer checks a client's startup parameters before it authenticates, so no server is needed:
  // an authentication request ('R') means the parameters were accepted.
  const Result ini = run_poolcalc(workload("postgresql://app@127.0.0.1:5432/chat"));
  REQUIRE_MESSAGE(ini.exit_code == 0, ini.err);
  const std::string userlist = "\"app\" \"md5e2ac3f8c1ee4a23f6d43bbd2a4ccfe9e\"\n"; // one role, any md5 hash
  CHECK(ini.out.find("\nignore_startup_parameters = extra_float_digits\n") != std::string::npos);

  // pgJDBC 42.5.5 (Debian 12's libpostgresql-jdbc-java), ConnectionFactoryImpl.getParametersForStartup():
  // user, database, client_encoding, DateStyle, TimeZone and extra_float_digits 2 (3 and
  // application_name with assumeMinServerVersion >= 9.0).
  const std::vector<std::pair<std::string, std::string>> pgjdbc = {
    { "user", "app" },      { "database", "chat" }, { "client_encoding", "UTF8" },
    { "DateStyle", "ISO" }, { "TimeZone", "UTC" },  { "extra_float_digits", "2" },
  };
  std::vector<std::pair<std::string, std::string>> pgjdbc_9 = pgjdbc;
  pgjdbc_9.back().second = "3";
  pgjdbc_9.emplace_back("application_name", "chat-api");
  // node-postgres 8 (Client.getStartupConf()), libpq (psycopg2) and pgx send user, database and
  // application_name when it is set.
  const std::vector<std::pair<std::string, std::string>> node = { { "user", "app" },
                                                                  { "database", "chat" },
                                                                  { "application_name", "chat-api" } };

  SUBCASE("the file as written")
  {
    PgBouncerServer bouncer;
    const StartResult started = bouncer.start(set_pgbouncer_keys(ini.out, bouncer.test_bed_keys()), userlist);
    REQUIRE_MESSAGE(started.exit_code == 0, started.output);
    CHECK(startup_answer(bouncer.port(), pgjdbc) == "R");
    CHECK(startup_answer(bouncer.port(), pgjdbc_9) == "R");
    CHECK(startup_answer(bouncer.port(), node) == "R");
    // search_path (pgJDBC's currentSchema) is refused, not dropped: the file does not ignore it.
    std::vector<std::pair<std::string, std::string>> schema = node;
    schema.emplace_back("search_path", "chat");
    CHECK(startup_answer(bouncer.port(), schema) == "E unsupported startup parameter: search_path");

    // PgBouncer's own open-file figure, logged at start (src/main.c check_limits(): max_client_conn
    // + 10, + the admin console's pool of 2, + default_pool_size for each user it knows: the
    // auth_file's one role and its own "pgbouncer" admin user), against the file's comment.
    const std::int64_t max_client_conn = ini_number(ini.out, "max_client_conn");
    const std::int64_t default_pool_size = ini_number(ini.out, "default_pool_size");
    const std::int64_t logged = logged_fd_use(bouncer.log());
    MESSAGE("max expected fd use logged by PgBouncer 1.18: ",
            logged,
            " (max_client_conn ",
            max_client_conn,
            ", default_pool_size ",
            default_pool_size,
            ")");
    CHECK(logged == max_client_conn + 12 + default_pool_size * 2);
    CHECK(ini.out.find("PgBouncer expects to need " + std::to_string(logged) + " open files") != std::string::npos);
    CHECK(ini.out.find("set LimitNOFILE=" + std::to_string(logged) + " ") != std::string::npos);
    CHECK(error_lines(bouncer.log()).empty());
  }
  SUBCASE("without ignore_startup_parameters pgJDBC is refused, as the issue reported")
  {
    std::string without = ini.out;
    const auto at = without.find("\nignore_startup_parameters = extra_float_digits\n");
    REQUIRE(at != std::string::npos);
    without.erase(at + 1, std::string("ignore_startup_parameters = extra_float_digits\n").size());
    PgBouncerServer bouncer;
    const StartResult started = bouncer.start(set_pgbouncer_keys(without, bouncer.test_bed_keys()), userlist);
    REQUIRE_MESSAGE(started.exit_code == 0, started.output);
    CHECK(startup_answer(bouncer.port(), pgjdbc) == "E unsupported startup parameter: extra_float_digits");
    CHECK(startup_answer(bouncer.port(), node) == "R");
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

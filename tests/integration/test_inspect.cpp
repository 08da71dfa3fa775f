// `poolcalc inspect` against a real PostgreSQL 15 with other applications connected: what it
// reports, the plan it sizes from the live server, and every fault the issue lists. The
// expected numbers come from what each test sets up (sessions opened, settings given, sleeps
// run), not from poolcalc.

#include "../cli/process.hpp"
#include "pg_server.hpp"
#include "pg_session.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

namespace poolcalc::test {

namespace {

using Json = nlohmann::json;

constexpr const char* k_app_password = "app-Secret-42";
constexpr const char* k_worker_password = "worker-Secret-43";
constexpr const char* k_monitor_password = "monitor-Secret-44";

// The seed's chat backend, live: database `chat` with pg_stat_statements; role `app` (the chat
// API, 3 idle connections, plus one session left idle in a transaction by "leaky-job"); role
// `worker` (2 idle connections of a background worker); role `monitor` with pg_read_all_stats.
struct ChatServer
{
  PgServer server;
  std::vector<std::unique_ptr<PgSession>> sessions;
  int leaky_pid = 0;

  explicit ChatServer(PgOptions options = chat_options())
    : server(std::move(options))
  {
    server.sql(std::string("CREATE ROLE app LOGIN PASSWORD '") + k_app_password + "'");
    server.sql(std::string("CREATE ROLE worker LOGIN PASSWORD '") + k_worker_password + "'");
    server.sql(std::string("CREATE ROLE monitor LOGIN PASSWORD '") + k_monitor_password + "' IN ROLE pg_read_all_stats");
    server.sql("CREATE DATABASE chat OWNER app");
    server.sql("CREATE DATABASE plain OWNER app");
    server.sql("CREATE EXTENSION pg_stat_statements", "chat");
    server.sql("CREATE EXTENSION pg_stat_statements"); // for the tests' own reset and reads, in database postgres
    for (int i = 0; i < 3; ++i) {
      sessions.push_back(std::make_unique<PgSession>(server.conninfo("app", k_app_password, "chat", "application_name=chat-api")));
    }
    for (int i = 0; i < 2; ++i) {
      sessions.push_back(std::make_unique<PgSession>(server.conninfo("worker", k_worker_password, "chat", "application_name=worker")));
    }
    auto leaky = std::make_unique<PgSession>(server.conninfo("app", k_app_password, "chat", "application_name=leaky-job"));
    leaky->exec("BEGIN");
    leaky->exec("SELECT 1");
    leaky_pid = leaky->backend_pid();
    sessions.push_back(std::move(leaky));
  }

  static PgOptions chat_options()
  {
    PgOptions options;
    options.max_connections = 40;
    options.settings = { { "log_statement", "all" }, { "log_line_prefix", "[%a] " } };
    return options;
  }

  std::string url(const std::string& user, const std::string& password, const std::string& database = "chat") const
  {
    return server.url(user, password, database);
  }
};

// The built-in rules with the idle-in-transaction threshold at 0.5 s, so a test need not wait a
// minute (rules.toml: inspect.idle_in_transaction_warn_s = 60).
std::string quick_rules(const std::string& directory)
{
  const Result rules = run_poolcalc({ "rules" });
  REQUIRE(rules.exit_code == 0);
  std::string text = rules.out;
  const std::string key = "idle_in_transaction_warn_s = 60";
  const std::size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  text.replace(at, key.size(), "idle_in_transaction_warn_s = 0.5");
  const std::string path = directory + "/quick-rules.toml";
  std::ofstream(path) << text;
  return path;
}

Json json_of(const Result& result)
{
  INFO(result.err);
  REQUIRE_MESSAGE(!result.out.empty(), "no output");
  return Json::parse(result.out);
}

int count_lines(const std::string& text)
{
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// A loopback TCP proxy in front of the server that closes both sides when the client sends its
// `close_at`-th simple query ('Q' message): a server that goes away mid-inspection.
// A listening socket on a free loopback port; `port` receives its number.
int listen_on_loopback(int& port)
{
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  REQUIRE(listen(listener, 4) == 0);
  port = ntohs(address.sin_port);
  return listener;
}

class ClosingProxy
{
public:
  ClosingProxy(int server_port, int close_at)
    : m_server_port(server_port)
    , m_close_at(close_at)
  {
    m_listener = listen_on_loopback(m_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~ClosingProxy()
  {
    m_stop = true;
    shutdown(m_listener, SHUT_RDWR);
    close(m_listener);
    m_thread.join();
  }
  int port() const { return m_port; }
  int queries_seen() const { return m_queries; }

private:
  void serve()
  {
    pollfd wait{ m_listener, POLLIN, 0 };
    if (poll(&wait, 1, 30000) <= 0 || m_stop) {
      return;
    }
    const int client = accept(m_listener, nullptr, nullptr);
    if (client < 0) {
      return;
    }
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(m_server_port));
    if (connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(client);
      close(upstream);
      return;
    }
    std::string from_client; // bytes not yet parsed into whole messages
    bool started = false;    // the untyped StartupMessage has passed
    char buffer[65536];
    pollfd fds[2] = { { client, POLLIN, 0 }, { upstream, POLLIN, 0 } };
    while (!m_stop) {
      if (poll(fds, 2, 30000) <= 0) {
        break;
      }
      if (fds[1].revents != 0) {
        const ssize_t n = read(upstream, buffer, sizeof buffer);
        if (n <= 0 || write(client, buffer, static_cast<std::size_t>(n)) != n) {
          break;
        }
      }
      if (fds[0].revents != 0) {
        const ssize_t n = read(client, buffer, sizeof buffer);
        if (n <= 0) {
          break;
        }
        from_client.append(buffer, static_cast<std::size_t>(n));
        bool cut = false;
        std::string forward;
        while (true) {
          const std::size_t header = started ? 5 : 4;
          if (from_client.size() < header) {
            break;
          }
          const auto* p = reinterpret_cast<const unsigned char*>(from_client.data() + (started ? 1 : 0));
          const std::size_t length = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
          const std::size_t total = length + (started ? 1 : 0);
          if (from_client.size() < total) {
            break;
          }
          if (started && from_client[0] == 'Q' && ++m_queries == m_close_at) {
            cut = true;
            break;
          }
          forward += from_client.substr(0, total);
          from_client.erase(0, total);
          started = true;
        }
        if (!forward.empty() && write(upstream, forward.data(), forward.size()) != static_cast<ssize_t>(forward.size())) {
          break;
        }
        if (cut) {
          break;
        }
      }
    }
    close(client);
    close(upstream);
  }

  int m_server_port;
  int m_close_at;
  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{ false };
  std::atomic<int> m_queries{ 0 };
  std::thread m_thread;
};

// A loopback TCP proxy in front of the server for one connection: it relays the first `up_limit`
// bytes from the client to the server and the first `down_limit` bytes from the server to the
// client, then relays nothing more in that direction. It keeps both connections open and keeps
// reading (and dropping) what arrives, so the kernel acknowledges every byte: a server that stops
// answering, which TCP keepalives and TCP_USER_TIMEOUT never notice. It keeps what it relayed.
class SilentProxy
{
public:
  static constexpr std::size_t k_all = static_cast<std::size_t>(-1);

  SilentProxy(int server_port, std::size_t up_limit, std::size_t down_limit)
    : m_server_port(server_port)
    , m_limits{ up_limit, down_limit }
  {
    m_listener = listen_on_loopback(m_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~SilentProxy()
  {
    m_stop = true;
    m_thread.join();
    close(m_listener);
  }
  SilentProxy(const SilentProxy&) = delete;
  SilentProxy& operator=(const SilentProxy&) = delete;

  int port() const { return m_port; }
  // What was relayed so far: client to server (up), server to client (down).
  std::string up() const { return relayed(0); }
  std::string down() const { return relayed(1); }

private:
  std::string relayed(int direction) const
  {
    const std::lock_guard lock(m_mutex);
    return m_relayed[direction];
  }

  void serve()
  {
    pollfd wait{ m_listener, POLLIN, 0 };
    while (!m_stop && poll(&wait, 1, 50) == 0) {
    }
    if (m_stop) {
      return;
    }
    const int client = accept(m_listener, nullptr, nullptr);
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(m_server_port));
    if (client < 0 || connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(client);
      close(upstream);
      return;
    }
    const int from[2] = { client, upstream };
    const int to[2] = { upstream, client };
    bool open[2] = { true, true };
    char buffer[65536];
    while (!m_stop && (open[0] || open[1])) {
      pollfd fds[2] = { { open[0] ? from[0] : -1, POLLIN, 0 }, { open[1] ? from[1] : -1, POLLIN, 0 } };
      if (poll(fds, 2, 50) <= 0) {
        continue;
      }
      for (int d = 0; d < 2; ++d) {
        if (fds[d].revents == 0) {
          continue;
        }
        const ssize_t n = read(from[d], buffer, sizeof buffer);
        if (n <= 0) {
          open[d] = false;
          continue;
        }
        const std::lock_guard lock(m_mutex);
        const std::size_t room = m_limits[d] - std::min(m_limits[d], m_relayed[d].size());
        const std::size_t pass = std::min(room, static_cast<std::size_t>(n));
        if (pass > 0 && write(to[d], buffer, pass) == static_cast<ssize_t>(pass)) {
          m_relayed[d].append(buffer, pass);
        }
      }
    }
    close(client);
    close(upstream);
  }

  int m_server_port;
  std::size_t m_limits[2];
  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{ false };
  mutable std::mutex m_mutex;
  std::string m_relayed[2];
  std::thread m_thread;
};

// One message of the PostgreSQL protocol in a byte stream: its type ('\0' for the untyped
// StartupMessage) and its byte range.
struct Message
{
  char type = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The whole messages of a stream; `startup`: the stream opens with the untyped StartupMessage
// (the client's, with sslmode and gssencmode disabled). A message is a type byte and a 4-byte
// big-endian length that counts itself (PostgreSQL's docs, "Message Formats").
std::vector<Message> messages_of(const std::string& stream, bool startup)
{
  std::vector<Message> list;
  std::size_t at = 0;
  while (true) {
    const bool typed = !(startup && list.empty());
    const std::size_t header = typed ? 5 : 4;
    if (stream.size() < at + header) {
      break;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(stream.data() + at + (typed ? 1 : 0));
    const std::size_t length = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
    const std::size_t end = at + length + (typed ? 1 : 0);
    if (stream.size() < end) {
      break;
    }
    list.push_back({ typed ? stream[at] : '\0', at, end });
    at = end;
  }
  return list;
}

// A loopback port whose kernel completes the TCP handshake but where nobody ever reads or writes.
class SilentListener
{
public:
  SilentListener() { m_socket = listen_on_loopback(m_port); }
  ~SilentListener() { close(m_socket); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return m_port; }

private:
  int m_socket = -1;
  int m_port = 0;
};

// A copy of the built-in rules with some [inspect] keys changed, in `directory`.
std::string inspect_rules(const std::string& directory, const std::map<std::string, std::string>& changes)
{
  const Result rules = run_poolcalc({ "rules" });
  REQUIRE(rules.exit_code == 0);
  std::string text = rules.out;
  const std::size_t table = text.find("\n[inspect]\n");
  REQUIRE(table != std::string::npos);
  for (const auto& [key, value] : changes) {
    const std::size_t at = text.find("\n" + key + " = ", table);
    REQUIRE(at != std::string::npos);
    const std::size_t end = text.find_first_of(" \n", at + key.size() + 4);
    text.replace(at, end - at, "\n" + key + " = " + value);
  }
  const std::string path = directory + "/inspect-rules.toml";
  std::ofstream(path) << text;
  return path;
}

void no_password_in(const Result& result, const std::string& password)
{
  CHECK(result.out.find(password) == std::string::npos);
  CHECK(result.err.find(password) == std::string::npos);
}

} // namespace

TEST_CASE("inspect: the live server's slots and who holds them")
{
  ChatServer chat;
  const std::string rules = quick_rules(chat.server.directory());
  std::this_thread::sleep_for(std::chrono::milliseconds(700)); // the leaky session passes the 0.5 s threshold

  const Result result =
    run_poolcalc({ "inspect", "--rules", rules, "--format", "json" }, { { "DATABASE_URL", chat.url("monitor", k_monitor_password) } });
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  no_password_in(result, k_monitor_password);
  const Json j = json_of(result);
  CHECK(j["server"]["url"] == "postgresql://monitor:****@127.0.0.1:" + std::to_string(chat.server.port()) + "/chat");
  CHECK(j["server"]["version_num"].get<int>() / 10000 == 15);               // Debian 12's postgresql-15
  CHECK(j["server"]["max_connections"] == 40);                              // PgOptions above
  CHECK(j["server"]["superuser_reserved_connections"] == 3);                // PostgreSQL's default (facts.md)
  CHECK(j["server"]["reserved_connections"].is_null());                     // only PostgreSQL 16+
  CHECK(j["server"]["max_wal_senders"] == 10);                              // PostgreSQL's default
  CHECK(j["server"]["wal_senders_count_against_max_connections"] == false); // since PostgreSQL 12
  CHECK(j["server"]["can_read_all_stats"] == true);                         // monitor is in pg_read_all_stats
  // 3 chat-api + 2 worker + 1 leaky-job: the inspection's own connection is not counted.
  CHECK(j["connections"]["client_connections"] == 6);
  CHECK(j["connections"]["ordinary_slots"] == 37); // 40 - 3
  CHECK(j["connections"]["free_slots"] == 31);     // 37 - 6
  CHECK(j["connections"]["hidden_sessions"] == 0);
  const Json& groups = j["connections"]["groups"];
  REQUIRE(groups.size() == 3);
  CHECK(groups[0]["application"] == "chat-api");
  CHECK(groups[0]["user"] == "app");
  CHECK(groups[0]["state"] == "idle");
  CHECK(groups[0]["count"] == 3);
  CHECK(groups[1]["application"] == "worker");
  CHECK(groups[1]["count"] == 2);
  CHECK(groups[2]["application"] == "leaky-job");
  CHECK(groups[2]["state"] == "idle in transaction");
  const Json& idle = j["connections"]["idle_in_transaction"];
  REQUIRE(idle.size() == 1);
  CHECK(idle[0]["pid"] == chat.leaky_pid);
  CHECK(idle[0]["state_age_s"].get<double>() > 0.5);
  CHECK(j["connections"]["oldest"].size() == 6);
  bool flagged = false;
  for (const Json& f : j["findings"]) {
    if (f["id"] == "server.idle_in_transaction") {
      flagged = true;
      CHECK(f["level"] == "warn");
      CHECK(f["message"].get<std::string>().find("pid " + std::to_string(chat.leaky_pid)) != std::string::npos);
    }
  }
  CHECK(flagged);
  CHECK(j["plan"].is_null()); // no workload given

  SUBCASE("every statement is read-only, tagged, under a statement_timeout, as application poolcalc")
  {
    std::vector<std::string> statements;
    std::istringstream log(chat.server.log());
    for (std::string line; std::getline(log, line);) {
      if (line.find("/* poolcalc inspect */") != std::string::npos && line.find("statement: ") != std::string::npos) {
        CHECK(line.rfind("[poolcalc] ", 0) == 0);
        statements.push_back(line.substr(line.find("*/ ") + 3));
      }
    }
    REQUIRE(statements.size() >= 5);
    CHECK(statements.front() == "BEGIN TRANSACTION READ ONLY");
    CHECK(statements[1] == "SET LOCAL statement_timeout = 5000"); // rules.toml: inspect.statement_timeout_ms
    CHECK(statements.back() == "COMMIT");
    for (const std::string& s : statements) {
      const bool allowed = s.rfind("SELECT ", 0) == 0 || s.rfind("BEGIN TRANSACTION READ ONLY", 0) == 0 || s.rfind("SET LOCAL ", 0) == 0 ||
                           s.rfind("SAVEPOINT ", 0) == 0 || s.rfind("ROLLBACK TO SAVEPOINT ", 0) == 0 || s == "COMMIT";
      CHECK_MESSAGE(allowed, s);
    }
  }

  SUBCASE("the text report names the same figures")
  {
    const Result text = run_poolcalc({ "inspect", "--rules", rules, "--database-url", chat.url("monitor", k_monitor_password) });
    REQUIRE(text.exit_code == 0);
    no_password_in(text, k_monitor_password);
    CHECK(text.out.find("  ordinary slots                  37  40 - superuser_reserved 3\n") != std::string::npos);
    CHECK(text.out.find("  free slots                      31  37 - 6\n") != std::string::npos);
    CHECK(text.out.find("warn  server.idle_in_transaction") != std::string::npos);
    CHECK(text.err.empty());
    const Result markdown =
      run_poolcalc({ "inspect", "--rules", rules, "--format", "markdown", "--database-url", chat.url("monitor", k_monitor_password) });
    REQUIRE(markdown.exit_code == 0);
    CHECK(markdown.out.rfind("# Live server review\n\n## Live server\n", 0) == 0);
    CHECK(markdown.out.find("| ordinary slots | 37 | 40 - superuser_reserved 3 |\n") != std::string::npos);
    CHECK(markdown.out.find("| 3 | chat-api | app | chat | idle |\n") != std::string::npos);
    no_password_in(markdown, k_monitor_password);
  }
}

TEST_CASE("inspect: the plan sized against the live server, with the query time pg_stat_statements measured")
{
  ChatServer chat;
  // The workload: 10 queries of 20 ms and 5 of 50 ms, so the mean is (10 x 20 + 5 x 50) / 15 = 30 ms.
  // Two statements of different shapes, so pg_stat_statements keeps them apart (constants alone
  // would be merged into one `SELECT pg_sleep($1)`).
  chat.server.sql("SELECT pg_stat_statements_reset()"); // in database postgres: chat keeps only the workload
  {
    PgSession api(chat.server.conninfo("app", k_app_password, "chat", "application_name=chat-api"));
    for (int i = 0; i < 10; ++i) {
      api.exec("SELECT pg_sleep(0.020)");
    }
    for (int i = 0; i < 5; ++i) {
      api.exec("SELECT 1, pg_sleep(0.050)");
    }
  }
  const double measured = std::stod(chat.server.sql("SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements "
                                                    "WHERE query LIKE 'SELECT %pg_sleep%' AND dbid = (SELECT oid FROM pg_database "
                                                    "WHERE datname = 'chat')"));
  CHECK(measured >= 30.0);
  CHECK(measured < 33.0); // pg_sleep overshoots by a little

  const Result result = run_poolcalc({ "inspect",
                                       "--vus",
                                       "20",
                                       "--query-ms",
                                       "auto",
                                       "--app",
                                       "chat-api",
                                       "--format",
                                       "json",
                                       "--database-url",
                                       chat.url("monitor", k_monitor_password) });
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const Json j = json_of(result);
  CHECK(j["statements"]["status"] == "available");
  CHECK(j["statements"]["calls"] == 15);
  CHECK(j["statements"]["mean_ms"].get<double>() == doctest::Approx(measured).epsilon(1e-6));
  // p95 of the mixture: 5 of the 15 calls (33 %) are the ~50 ms statement, so the 95th percentile
  // of all calls is the 85th of that statement's: between its mean and its max.
  const std::string slow = chat.server.sql("SELECT mean_exec_time || ' ' || max_exec_time FROM pg_stat_statements "
                                           "WHERE query LIKE 'SELECT $1, pg_sleep%'");
  const double slow_mean = std::stod(slow.substr(0, slow.find(' ')));
  const double slow_max = std::stod(slow.substr(slow.find(' ') + 1));
  CHECK(slow_mean >= 50.0);
  CHECK(j["statements"]["p95_ms"].get<double>() >= slow_mean);
  CHECK(j["statements"]["p95_ms"].get<double>() <= slow_max + 1e-6);
  const Json& plan = j["plan"];
  REQUIRE(plan.is_object());
  CHECK(plan["max_connections"] == 40); // the server's, not the rules' 100
  // Reserve: superuser 3 (the server's) + other_apps 3 (2 worker + 1 leaky-job now; chat-api is
  // the application being sized) + admin 10 (the rules' policy); no replication (PostgreSQL 12+).
  CHECK(plan["reserved_total"] == 16);
  CHECK(plan["available"] == 24);
  std::map<std::string, int> reserve;
  for (const auto& [name, connections] : plan["reserved"].items()) {
    reserve[name] = connections.get<int>();
  }
  CHECK(reserve == std::map<std::string, int>{ { "superuser", 3 }, { "other_apps", 3 }, { "admin", 10 } });
  // 20 VUs x 0.70 x ~0.030 s = ~0.42 in flight: ceil 1 x 3 + 10 = 13 -> 20 (the seed's formula).
  CHECK(plan["peak_concurrent"].get<double>() == doctest::Approx(20 * 0.70 * measured / 1000.0).epsilon(1e-3));
  CHECK(plan["pool_size"] == 20);
  CHECK(plan["fits"] == true);

  SUBCASE("a plan that does not fit the live server: the advisor raises max_connections for the model's pool")
  {
    // 300 VUs x 0.70 x 0.150 s = 31.5 -> 32 x 3 + 10 = 106 -> 110. Without --app every one of the
    // 6 connections belongs to another application: reserved 3 + 6 + 10 = 19, available 40 - 19 = 21.
    // The model's smallest pool for p99_wait<100ms (210 VUs at 150 ms, M/M/c//N) is 35, + 10
    // overhead = 45 > 21: the advisor raises max_connections to 45 / 0.70 = 64.3 -> 65.
    const Result big =
      run_poolcalc({ "inspect", "--vus", "300", "--query-ms", "150", "--database-url", chat.url("monitor", k_monitor_password) });
    INFO(big.out);
    CHECK(big.exit_code == 0);
    CHECK(big.out.find("the rule of thumb's pool of 110 per instance does not do (110 server connections > 21 available)") !=
          std::string::npos);
    CHECK(big.out.find("max_connections = 65 in postgresql.conf (a restart), about 250 MiB more server memory") != std::string::npos);
  }
  SUBCASE("flags win over the server")
  {
    const Result flagged = run_poolcalc({ "inspect",
                                          "--vus",
                                          "20",
                                          "--query-ms",
                                          "30",
                                          "--max-connections",
                                          "200",
                                          "--format",
                                          "json",
                                          "--database-url",
                                          chat.url("monitor", k_monitor_password) });
    REQUIRE(flagged.exit_code == 0);
    CHECK(json_of(flagged)["plan"]["max_connections"] == 200);
  }
  SUBCASE("the .env snippet carries the password the user gave; nothing else does")
  {
    const Result env = run_poolcalc(
      { "inspect", "--vus", "20", "--query-ms", "auto", "--format", "env", "--database-url", chat.url("app", k_app_password) });
    REQUIRE(env.exit_code == 0);
    CHECK(env.out.find(std::string("postgresql://app:") + k_app_password + "@127.0.0.1:") != std::string::npos);
    CHECK(env.err.find(k_app_password) == std::string::npos);
  }
}

TEST_CASE("inspect: statements that can carry a credential are withheld, and literals are masked, in every format")
{
  ChatServer chat;
  chat.server.sql("CREATE EXTENSION postgres_fdw", "chat"); // Debian's postgresql-15 ships it
  chat.server.sql("SELECT pg_stat_statements_reset()");     // in database postgres: chat keeps only what follows
  // Each secret is unique, so an assertion names the one that leaked. PostgreSQL 15 keeps
  // utility statements in pg_stat_statements as typed, literals included.
  const std::vector<std::string> secrets = { "Zq9rolesecret",   "Zq9altersecret",   "Zq9commentedsecret",
                                             "Zq9serversecret", "Zq9mappingsecret", "Zq9mapping2secret",
                                             "Zq9shownsecret",  "Zq9escapedsecret", "Zq9dollarsecret" };
  {
    PgSession admin(chat.server.conninfo(PgServer::k_superuser, PgServer::k_superuser_password, "chat"));
    // Withheld: 6 statements.
    admin.exec("CREATE ROLE reporter LOGIN PASSWORD 'Zq9rolesecret'");
    admin.exec("ALTER ROLE reporter PASSWORD 'Zq9altersecret'");
    admin.exec("/* rotate */ alter USER reporter with password 'Zq9commentedsecret'"); // a comment first, any case
    admin.exec("CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', dbname 'Zq9serversecret')");
    admin.exec("CREATE USER MAPPING FOR reporter SERVER remote OPTIONS (user 'reporter', password 'Zq9mappingsecret')");
    admin.exec("ALTER USER MAPPING FOR reporter SERVER remote OPTIONS (SET password 'Zq9mapping2secret')");
    // Shown, with their literals masked.
    admin.exec("COMMENT ON ROLE reporter IS 'Zq9shownsecret'");
    admin.exec("COMMENT ON DATABASE chat IS E'it''s \\' Zq9escapedsecret'");
    admin.exec("DO $body$ BEGIN PERFORM 'Zq9dollarsecret'; END $body$");
  }
  const std::string rules = chat.server.directory() + "/rules.toml";
  {
    // top_statements = 1000 so every statement recorded is listed: none may hide a secret.
    const Result built_in = run_poolcalc({ "rules" });
    REQUIRE(built_in.exit_code == 0);
    std::string text = built_in.out;
    const std::string key = "top_statements = 10 ";
    REQUIRE(text.find(key) != std::string::npos);
    text.replace(text.find(key), key.size(), "top_statements = 1000 ");
    std::ofstream(rules) << text;
  }
  const std::string url = chat.url("monitor", k_monitor_password);
  const Result text = run_poolcalc({ "inspect", "--rules", rules, "--database-url", url });
  const Result json = run_poolcalc({ "inspect", "--rules", rules, "--format", "json", "--database-url", url });
  const Result markdown = run_poolcalc({ "inspect", "--rules", rules, "--format", "markdown", "--database-url", url });
  for (const Result* result : { &text, &json, &markdown }) {
    INFO(result->out);
    INFO(result->err);
    CHECK(result->exit_code == 0);
    for (const std::string& secret : secrets) {
      CHECK_MESSAGE(result->out.find(secret) == std::string::npos, secret);
      CHECK_MESSAGE(result->err.find(secret) == std::string::npos, secret);
    }
    CHECK(result->out.find("Zq9") == std::string::npos);
  }

  const Json j = json_of(json);
  CHECK(j["statements"]["withheld_statements"] == 6); // the six CREATE/ALTER above
  std::vector<std::string> queries;
  std::int64_t calls = 0;
  for (const Json& row : j["statements"]["top"]) {
    queries.push_back(row["query"]);
    calls += row["calls"].get<std::int64_t>();
  }
  INFO(json.out);
  // The three shown, masked; CREATE EXTENSION ran before the reset. Nothing else ran in chat.
  CHECK(std::count(queries.begin(), queries.end(), "COMMENT ON ROLE reporter IS '...'") == 1);
  CHECK(std::count(queries.begin(), queries.end(), "COMMENT ON DATABASE chat IS E'...'") == 1);
  CHECK(std::count(queries.begin(), queries.end(), "DO $body$...$body$") == 1);
  CHECK(queries.size() == 3);
  // The times count what is shown: the withheld statements are left out, like BEGIN and SET.
  CHECK(j["statements"]["calls"] == calls);
  CHECK(calls == 3);
  bool said = false;
  for (const Json& f : j["findings"]) {
    if (f["id"] == "server.statements_withheld") {
      said = true;
      CHECK(f["level"] == "info");
      CHECK(f["message"] ==
            "6 statements (6 calls) are not shown: they create or alter a role, user, group, user mapping, server, subscription or "
            "foreign-data wrapper, whose text can carry a password; they are left out of the times, like BEGIN and SET");
    }
  }
  CHECK(said);
  CHECK(text.out.find("COMMENT ON ROLE reporter IS '...'") != std::string::npos);
  CHECK(text.out.find("info  server.statements_withheld") != std::string::npos);

  // The server leaves the withheld texts out of its answer already: they never reach poolcalc.
  // The shown statements' texts do, and poolcalc masks their literals.
  SilentProxy recorder(chat.server.port(), SilentProxy::k_all, SilentProxy::k_all);
  const Result through = run_poolcalc({ "inspect",
                                        "--rules",
                                        rules,
                                        "--database-url",
                                        "postgresql://monitor:" + std::string(k_monitor_password) +
                                          "@127.0.0.1:" + std::to_string(recorder.port()) + "/chat?sslmode=disable&gssencmode=disable" });
  CHECK(through.exit_code == 0);
  const std::string answers = recorder.down();
  for (const char* withheld :
       { "Zq9rolesecret", "Zq9altersecret", "Zq9commentedsecret", "Zq9serversecret", "Zq9mappingsecret", "Zq9mapping2secret" }) {
    CHECK_MESSAGE(answers.find(withheld) == std::string::npos, withheld);
  }
  CHECK(answers.find("Zq9shownsecret") != std::string::npos);
  CHECK(markdown.out.find("`server.statements_withheld`: 6 statements (6 calls) are not shown") != std::string::npos);
}

TEST_CASE("inspect: a server's notice is passed on as one escaped line, never raw")
{
  ChatServer chat;
  const std::string rules = quick_rules(chat.server.directory());
  // ALTER ROLE accepts a text search configuration that does not exist (with a NOTICE); each login
  // of the role then draws a WARNING that quotes the value: here ESC ]0;...BEL (set the window
  // title) and ESC [2J (clear the screen). libpq's own notice processor wrote it raw to stderr.
  chat.server.sql("ALTER ROLE monitor SET default_text_search_config = E'nope\\x1b]0;pwned\\x07\\x1b[2J'");
  const Result r = run_poolcalc({ "inspect", "--rules", rules, "--database-url", chat.url("monitor", k_monitor_password) });
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find('\x07') == std::string::npos);
  CHECK(r.err.find("poolcalc: server notice: WARNING: invalid value for parameter \"default_text_search_config\": "
                   "\"nope\\e]0;pwned\\x07\\e[2J\"\n") != std::string::npos);
  CHECK(r.err.find(k_monitor_password) == std::string::npos);
}

TEST_CASE("inspect: terminal controls in what the server returns are escaped in text and markdown")
{
  ChatServer chat;
  const std::string rules = quick_rules(chat.server.directory());
  // A role name may hold any character but NUL; PostgreSQL itself turns non-printable ASCII in
  // application_name into '?', so the role name and a statement's comment carry the sequences:
  // ESC [2J clears the screen, OSC 0 sets the window title (ended by BEL), U+202E reverses text.
  const std::string role = "esc\x1b[2Jrole\xe2\x80\xae";
  chat.server.sql("CREATE ROLE \"" + role + "\" LOGIN PASSWORD 'esc-Secret-45'");
  chat.server.sql("GRANT CONNECT ON DATABASE chat TO \"" + role + "\"");
  chat.server.sql("SELECT pg_stat_statements_reset()");
  PgSession session(chat.server.conninfo(role, "esc-Secret-45", "chat", "application_name='app\x1b[31m'"));
  session.exec("SELECT 1 /* \x1b]0;pwned\x07 */");
  session.exec("BEGIN");
  session.exec("SELECT 2");                                    // left idle in transaction: the finding names the role
  chat.sessions.back()->exec("COMMIT");                        // the leaky job's transaction: this one is now the longest
  std::this_thread::sleep_for(std::chrono::milliseconds(700)); // past the 0.5 s threshold of quick_rules
  const std::string url = chat.url("monitor", k_monitor_password);
  const std::string escaped_role = "esc\\e[2Jrole\\u{202e}";

  const Result text = run_poolcalc({ "inspect", "--rules", rules, "--database-url", url });
  const Result markdown = run_poolcalc({ "inspect", "--rules", rules, "--format", "markdown", "--database-url", url });
  const Result json = run_poolcalc({ "inspect", "--rules", rules, "--format", "json", "--database-url", url });
  for (const Result* result : { &text, &markdown, &json }) {
    INFO(result->out);
    CHECK(result->exit_code == 0);
    for (const char* active : { "\x1b", "\x07", "\xe2\x80\xae" }) {
      CHECK(result->out.find(active) == std::string::npos);
      CHECK(result->err.find(active) == std::string::npos);
    }
  }
  INFO(text.out);
  // PostgreSQL replaced the ESC of application_name itself.
  CHECK(text.out.find("app?[31m") != std::string::npos);
  CHECK(text.out.find(" " + escaped_role + " ") != std::string::npos);                       // the groups table
  CHECK(text.out.find("user '" + escaped_role + "', database 'chat'") != std::string::npos); // the finding
  // The statement: its comment is masked whole (a comment may hold anything, a password too).
  CHECK(text.out.find("SELECT $1 /*...*/") != std::string::npos);
  CHECK(text.out.find("pwned") == std::string::npos);
  CHECK(markdown.out.find("| 1 | app?[31m | " + escaped_role + " | chat | idle in transaction |\n") != std::string::npos);
  CHECK(markdown.out.find("user '" + escaped_role + "', database 'chat'") != std::string::npos);
  // JSON keeps the exact text, escaped the JSON way (\u001b).
  const Json j = json_of(json);
  bool found = false;
  for (const Json& g : j["connections"]["groups"]) {
    found = found || g["user"] == role;
  }
  CHECK(found);

  // A server's error message quotes what it was given: a database name that does not exist.
  const Result missing = run_poolcalc({ "inspect",
                                        "--database-url",
                                        "postgresql://monitor:" + std::string(k_monitor_password) +
                                          "@127.0.0.1:" + std::to_string(chat.server.port()) + "/no%1B%5D0%3Bpwned%07db" });
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find('\x1b') == std::string::npos);
  CHECK(missing.err.find('\x07') == std::string::npos);
  CHECK(missing.err.find("database \"no\\e]0;pwned\\x07db\" does not exist") != std::string::npos);
  CHECK(count_lines(missing.err) == 1);
  no_password_in(missing, k_monitor_password);
}

TEST_CASE("inspect: a role without pg_read_all_stats sees other roles' sessions only in part")
{
  ChatServer chat;
  const Result result = run_poolcalc({ "inspect", "--format", "json", "--database-url", chat.url("app", k_app_password) });
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  no_password_in(result, k_app_password);
  const Json j = json_of(result);
  CHECK(j["server"]["can_read_all_stats"] == false);
  CHECK(j["connections"]["client_connections"] == 6); // still counted: the rows exist
  CHECK(j["connections"]["hidden_sessions"] == 2);    // the worker's two; app's own four are visible
  bool hidden_group = false;
  for (const Json& g : j["connections"]["groups"]) {
    if (g["application"] == "worker") {
      hidden_group = true;
      CHECK(g["state"].is_null()); // unknown, not guessed
      CHECK(g["count"] == 2);
    }
  }
  CHECK(hidden_group);
  bool warned = false;
  for (const Json& f : j["findings"]) {
    if (f["id"] == "server.insufficient_privilege") {
      warned = true;
      CHECK(f["message"].get<std::string>().rfind("2 sessions of other roles show no state", 0) == 0);
    }
  }
  CHECK(warned);
}

TEST_CASE("inspect: pg_stat_statements absent or not loaded")
{
  SUBCASE("not installed in the database")
  {
    ChatServer chat;
    const std::string url = chat.url("app", k_app_password, "plain");
    const Result result = run_poolcalc({ "inspect", "--format", "json", "--database-url", url });
    REQUIRE(result.exit_code == 0);
    CHECK(json_of(result)["statements"]["status"] == "not_installed");
    const Result automatic = run_poolcalc({ "inspect", "--vus", "120", "--query-ms", "auto", "--database-url", url });
    CHECK(automatic.exit_code == 1);
    CHECK(automatic.out.empty());
    CHECK(automatic.err ==
          "poolcalc: error: --query-ms: 'auto' needs pg_stat_statements, and database 'plain' gave no time: not_installed\n");
  }
  SUBCASE("installed but not in shared_preload_libraries")
  {
    PgOptions options;
    options.pg_stat_statements = false;
    PgServer server(options);
    server.sql("CREATE EXTENSION pg_stat_statements");
    const Result result = run_poolcalc(
      { "inspect", "--format", "json", "--database-url", server.url(PgServer::k_superuser, PgServer::k_superuser_password, "postgres") });
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(json_of(result)["statements"]["status"] == "not_loaded");
  }
}

// The bound docs/usage.md states: the connection within the connect timeout, everything after it
// within inspect.statement_timeout_ms, whatever the peer does. The margin covers starting the
// process and loading libpq on a busy 2-core machine; it is not a speed target.
constexpr double k_margin_s = 1.5;

TEST_CASE("inspect: a peer that accepts and never answers: the connect timeout, and which one wins")
{
  SilentListener peer;
  const std::string address = "127.0.0.1:" + std::to_string(peer.port());
  const auto url = [&](const std::string& query) {
    return "postgresql://app:" + std::string(k_app_password) + "@" + address + "/chat?sslmode=disable" + query;
  };
  // The URL as poolcalc prints it: password masked, parameters kept.
  const auto masked = [&](const std::string& query) { return "postgresql://app:****@" + address + "/chat?sslmode=disable" + query; };
  const auto check_timeout = [&](const Result& result, const std::string& server, int seconds, const std::string& source) {
    INFO(result.err);
    CHECK_FALSE(result.killed);
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(result.err == "poolcalc: error: cannot connect to " + server + ": the server did not complete the connection within " +
                          std::to_string(seconds) + " s (" + source + "); the connection was closed\n");
    CHECK(result.seconds >= seconds);
    CHECK(result.seconds < seconds + k_margin_s);
    no_password_in(result, k_app_password);
  };
  SUBCASE("the URL's connect_timeout")
  {
    check_timeout(run_poolcalc_killed_after(30, { "inspect", "--database-url", url("&connect_timeout=1") }),
                  masked("&connect_timeout=1"),
                  1,
                  "connect_timeout in the URL");
  }
  SUBCASE("--connect-timeout wins over the URL")
  {
    check_timeout(run_poolcalc_killed_after(30, { "inspect", "--connect-timeout", "2", "--database-url", url("&connect_timeout=20") }),
                  masked("&connect_timeout=20"),
                  2,
                  "--connect-timeout");
  }
  SUBCASE("connect_timeout in a --config file wins over the URL")
  {
    const std::string directory = std::filesystem::temp_directory_path() / ("poolcalc-timeout-" + std::to_string(getpid()));
    std::filesystem::create_directories(directory);
    const std::string config = directory + "/inspect.toml";
    std::ofstream(config) << "connect_timeout = 1\n";
    const Result result = run_poolcalc_killed_after(30, { "inspect", "--config", config, "--database-url", url("&connect_timeout=20") });
    std::filesystem::remove_all(directory);
    check_timeout(result, masked("&connect_timeout=20"), 1, config + ":1:19: connect_timeout"); // the value's line and column
  }
  SUBCASE("without either, the rules' inspect.connect_timeout_s; the URL's 0 (libpq: wait forever) counts as none")
  {
    const std::string directory = std::filesystem::temp_directory_path() / ("poolcalc-timeout-" + std::to_string(getpid()));
    std::filesystem::create_directories(directory);
    const std::string rules = inspect_rules(directory, { { "connect_timeout_s", "1" } });
    const Result plain = run_poolcalc_killed_after(30, { "inspect", "--rules", rules, "--database-url", url("") });
    const Result zero = run_poolcalc_killed_after(30, { "inspect", "--rules", rules, "--database-url", url("&connect_timeout=0") });
    std::filesystem::remove_all(directory);
    check_timeout(plain, masked(""), 1, "inspect.connect_timeout_s");
    check_timeout(zero, masked("&connect_timeout=0"), 1, "inspect.connect_timeout_s");
  }
}

TEST_CASE("inspect: a server that stops answering at any point of the conversation ends within the bound")
{
  ChatServer chat;
  {
    // Statements to read, so the pg_stat_statements answer has several rows to cut in the middle of.
    PgSession api(chat.server.conninfo("app", k_app_password, "chat", "application_name=chat-api"));
    for (int i = 0; i < 12; ++i) {
      api.exec("SELECT " + std::string(static_cast<std::size_t>(i + 1), '1') + " AS c" + std::to_string(i));
    }
  }
  const std::string rules = inspect_rules(chat.server.directory(), { { "statement_timeout_ms", "1000" } });
  constexpr int k_connect_s = 2;        // --connect-timeout below
  constexpr double k_statement_s = 1.0; // statement_timeout_ms = 1000 above
  const auto inspect_through = [&](const SilentProxy& proxy) {
    const std::string url = "postgresql://monitor:" + std::string(k_monitor_password) + "@127.0.0.1:" + std::to_string(proxy.port()) +
                            "/chat?sslmode=disable&gssencmode=disable";
    return run_poolcalc_killed_after(
      15, { "inspect", "--rules", rules, "--connect-timeout", std::to_string(k_connect_s), "--format", "json", "--database-url", url });
  };

  // The whole conversation, relayed in full, to find the cut points in it.
  std::string up;
  std::string down;
  {
    SilentProxy recorder(chat.server.port(), SilentProxy::k_all, SilentProxy::k_all);
    const Result whole = inspect_through(recorder);
    INFO(whole.err);
    REQUIRE(whole.exit_code == 0);
    up = recorder.up();
    down = recorder.down();
  }
  const std::vector<Message> client = messages_of(up, true);
  const std::vector<Message> server = messages_of(down, false);
  REQUIRE(client.size() > 3);
  REQUIRE(server.size() > 3);
  CHECK(client.back().end == up.size());
  CHECK(server.back().end == down.size());
  // The login: the StartupMessage, SCRAM's two client messages; the server's answers up to its
  // first ReadyForQuery ('Z'). Then each query ('Q') is answered up to the next 'Z'.
  std::vector<std::size_t> queries; // where each Q starts in `up`
  std::vector<std::size_t> ready;   // where each Z ends in `down`
  std::size_t statements_query = 0; // the index of the pg_stat_statements read among the Qs
  for (const Message& m : client) {
    if (m.type == 'Q') {
      if (up.substr(m.begin, m.end - m.begin).find("ORDER BY total_ms DESC") != std::string::npos) {
        statements_query = queries.size();
      }
      queries.push_back(m.begin);
    }
  }
  std::size_t first_parameter_status = 0;
  for (const Message& m : server) {
    if (m.type == 'Z') {
      ready.push_back(m.end);
    }
    if (m.type == 'S' && first_parameter_status == 0) {
      first_parameter_status = m.begin;
    }
  }
  REQUIRE(queries.size() >= 6);
  REQUIRE(ready.size() == queries.size() + 1); // the login's, then one per query
  REQUIRE(statements_query > 0);
  const std::size_t login_up = queries.front();
  const std::size_t login_down = ready.front();
  const std::size_t statements_begin = ready[statements_query];
  const std::size_t statements_end = ready[statements_query + 1];
  REQUIRE(statements_end - statements_begin > 200); // several DataRows

  struct Cut
  {
    const char* what;
    std::size_t up_limit;
    std::size_t down_limit;
  };
  const std::vector<Cut> cuts = {
    { "before the client's first SCRAM message (the startup message only)", client.front().end, SilentProxy::k_all },
    { "in the middle of the server's login answer, after the first parameter", SilentProxy::k_all, first_parameter_status + 3 },
    { "right after login, before the first query", login_up, SilentProxy::k_all },
    { "after the first three queries (BEGIN, SET LOCAL, the version)", queries[3], SilentProxy::k_all },
    { "in the middle of the pg_stat_statements answer", SilentProxy::k_all, (statements_begin + statements_end) / 2 },
    { "the first 900 bytes each way", 900, 900 },
  };
  const std::string server_url = "postgresql://monitor:****@127.0.0.1:";
  for (const Cut& cut : cuts) {
    const std::string what = cut.what;
    CAPTURE(what);
    SilentProxy proxy(chat.server.port(), cut.up_limit, cut.down_limit);
    const Result result = inspect_through(proxy);
    INFO(result.err);
    // The conversation got as far as the cut: every byte before it was relayed.
    CHECK((proxy.up().size() == cut.up_limit || proxy.down().size() == cut.down_limit));
    const bool logged_in = cut.up_limit >= login_up && cut.down_limit >= login_down;
    const std::string where = server_url + std::to_string(proxy.port()) + "/chat?sslmode=disable&gssencmode=disable";
    CHECK_FALSE(result.killed);
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    if (logged_in) {
      CHECK(result.err == "poolcalc: error: inspecting " + where +
                            ": the server did not answer within 1 s (inspect.statement_timeout_ms); the connection was closed\n");
      CHECK(result.seconds >= k_statement_s);
    } else {
      CHECK(result.err == "poolcalc: error: cannot connect to " + where +
                            ": the server did not complete the connection within 2 s (--connect-timeout); the connection was closed\n");
      CHECK(result.seconds >= k_connect_s);
    }
    CHECK(result.seconds < k_connect_s + k_statement_s + k_margin_s);
    MESSAGE(what << ": " << result.seconds << " s (bound " << k_connect_s + k_statement_s << " s)");
    no_password_in(result, k_monitor_password);
  }
}

TEST_CASE("inspect: faults give one line and exit 1, never the password")
{
  SUBCASE("a closed port")
  {
    const int port = free_loopback_port();
    const std::string url = "postgresql://app:" + std::string(k_app_password) + "@127.0.0.1:" + std::to_string(port) + "/chat";
    const Result result = run_poolcalc({ "inspect", "--database-url", url });
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(count_lines(result.err) == 1);
    CHECK(result.err.rfind("poolcalc: error: cannot connect to postgresql://app:****@127.0.0.1:" + std::to_string(port) + "/chat: ", 0) ==
          0);
    CHECK(result.err.find("Connection refused") != std::string::npos);
    no_password_in(result, k_app_password);
  }
  SUBCASE("a wrong password, a missing database")
  {
    ChatServer chat;
    const Result wrong = run_poolcalc({ "inspect", "--database-url", chat.url("app", "Wrong-Guess-99") });
    CHECK(wrong.exit_code == 1);
    CHECK(count_lines(wrong.err) == 1);
    CHECK(wrong.err.find("password authentication failed for user \"app\"") != std::string::npos);
    no_password_in(wrong, "Wrong-Guess-99");
    const Result missing = run_poolcalc({ "inspect" }, { { "DATABASE_URL", chat.url("app", k_app_password, "nope") } });
    CHECK(missing.exit_code == 1);
    CHECK(count_lines(missing.err) == 1);
    CHECK(missing.err.find("database \"nope\" does not exist") != std::string::npos);
    no_password_in(missing, k_app_password);
  }
  SUBCASE("the server closes the connection mid-inspection")
  {
    ChatServer chat;
    // The 4th query is the settings, after BEGIN, SET LOCAL and the version check.
    ClosingProxy proxy(chat.server.port(), 4);
    const std::string url = "postgresql://app:" + std::string(k_app_password) + "@127.0.0.1:" + std::to_string(proxy.port()) +
                            "/chat?sslmode=disable&gssencmode=disable";
    const Result result = run_poolcalc({ "inspect", "--database-url", url });
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(count_lines(result.err) == 1);
    CHECK(result.err.rfind("poolcalc: error: inspecting postgresql://app:****@127.0.0.1:", 0) == 0);
    CHECK(result.err.find("server closed the connection unexpectedly") != std::string::npos);
    CHECK(proxy.queries_seen() == 4);
    no_password_in(result, k_app_password);
  }
}

} // namespace poolcalc::test

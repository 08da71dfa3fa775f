// `poolcalc inspect` without a server: what it refuses before connecting, and a missing client
// library. The tests against a real server are in tests/integration/test_inspect.cpp.

#include "process.hpp"

#include <doctest/doctest.h>

namespace poolcalc::test {

namespace {

// Port 1 on loopback: nothing listens there (tcpmux is not run), so no test here reaches a server.
const std::string k_url = "postgresql://app:Pw-Never-Shown@127.0.0.1:1/chat";

void check_error(const std::vector<std::string>& args,
                 int code,
                 const std::string& message,
                 const std::map<std::string, std::string>& env = {})
{
  const Result r = run_poolcalc(args, env);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  CHECK(r.err == "poolcalc: error: " + message + "\n");
  CHECK(r.err.find("Pw-Never-Shown") == std::string::npos);
}

} // namespace

TEST_CASE("inspect: bad input is refused before any connection")
{
  check_error({ "inspect" }, 2, "inspect needs a server: --database-url URL, $DATABASE_URL or database_url in --config");
  check_error({ "inspect", "--database-url", "mysql://app@db/chat" },
              2,
              "--database-url: unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
  check_error({ "inspect", "--query-ms", "150", "--database-url", k_url },
              2,
              "--query-ms: give the workload too (--vus N or --rps R) to size a pool against the server");
  check_error(
    { "inspect", "--format", "env", "--database-url", k_url }, 2, "--format env: the .env snippet needs a workload (--vus N or --rps R)");
  // A bad workload is caught before the (refused) connection would be tried: exit 2, not 1.
  check_error({ "inspect", "--vus", "0", "--query-ms", "auto", "--database-url", k_url },
              2,
              "--vus: expected a whole number from 1 to 1000000000, got '0'");
  check_error({ "inspect", "--app" }, 2, "--app: 1 required NAME missing (see poolcalc inspect --help)");
  // The inspection's connect timeout: never "wait forever" (0), and the URL's must be a number.
  check_error({ "inspect", "--connect-timeout", "0", "--database-url", k_url },
              2,
              "--connect-timeout: expected a whole number from 1 to 3600, got '0'");
  check_error({ "inspect", "--database-url", k_url + "?connect_timeout=5s" },
              2,
              "--database-url: connect_timeout: expected a whole number from 0 to 3600, got '5s'");
}

TEST_CASE("inspect: a low --max-connections is checked against the server's reserve, not the rules'")
{
  // The rules' reserve is 50; the server supplies its own, so 45 is not refused before connecting.
  const Result r = run_poolcalc({ "inspect", "--vus", "20", "--query-ms", "10", "--max-connections", "45", "--database-url", k_url });
  CHECK(r.exit_code == 1); // the refused connection, not a usage error
  CHECK(r.err.rfind("poolcalc: error: cannot connect to", 0) == 0);
}

TEST_CASE("inspect: a password libpq quotes back is masked")
{
  // libpq refuses %00 and quotes the raw value in its message: "forbidden value %00 in
  // percent-encoded value: ...". poolcalc masks every form of the URL's secrets.
  for (const std::string url : { "postgresql://app:Leak%00Me@127.0.0.1:1/chat",
                                 "postgresql://app@127.0.0.1:1/chat?password=Leak%00Me",
                                 "postgresql://app@127.0.0.1:1/chat?sslpassword=Leak%00Me" }) {
    const Result r = run_poolcalc({ "inspect", "--database-url", url });
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("Leak") == std::string::npos);
  }
}

TEST_CASE("inspect --help states its time bound and where the connect timeout comes from")
{
  const Result r = run_poolcalc({ "inspect", "--help" });
  CHECK(r.exit_code == 0);
  // The built-in rules: inspect.connect_timeout_s = 10, inspect.statement_timeout_ms = 5000.
  CHECK(r.out.find("It never waits longer than the connect timeout plus the statement timeout, whatever the server does:\n"
                   "the connection within --connect-timeout S (else the URL's connect_timeout, else the rules'\n"
                   "inspect.connect_timeout_s, 10), everything after it within inspect.statement_timeout_ms (5000);\n"
                   "then it closes the connection and exits 1.\n") != std::string::npos);
}

TEST_CASE("--query-ms auto belongs to inspect")
{
  check_error({ "--vus", "120", "--query-ms", "auto" },
              2,
              "--query-ms: 'auto' takes the time a live server measured: use it with `poolcalc inspect`");
}

TEST_CASE("inspect: a refused connection and a missing client library exit 1")
{
  const Result refused = run_poolcalc({ "inspect", "--database-url", k_url });
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.empty());
  CHECK(refused.err.rfind("poolcalc: error: cannot connect to postgresql://app:****@127.0.0.1:1/chat: ", 0) == 0);
  CHECK(refused.err.find("Pw-Never-Shown") == std::string::npos);

  const Result missing = run_poolcalc({ "inspect", "--database-url", k_url }, { { "POOLCALC_LIBPQ", "/nonexistent/libpq.so.5" } });
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.rfind("poolcalc: error: cannot load the PostgreSQL client library /nonexistent/libpq.so.5 (install libpq5: "
                          "apt-get install libpq5): ",
                          0) == 0);
}

} // namespace poolcalc::test

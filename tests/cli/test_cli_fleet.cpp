// `poolcalc fleet FILE` end to end: each format of the example fleet, the exit codes (3 for the
// seed's scaling-table trap), the password kept out of every output, bad input.

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;

namespace {

const std::string k_example = std::string(POOLCALC_SOURCE_DIR) + "/data/examples/chat-fleet.toml";

// A fleet file in the temporary directory, removed at the end of the test.
struct TempFile
{
  explicit TempFile(const std::string& text)
    : path(std::filesystem::temp_directory_path() / ("poolcalc-fleet-" + std::to_string(getpid()) + ".toml"))
  {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::filesystem::path path;
};

} // namespace

TEST_CASE("fleet: the example in each format")
{
  SUBCASE("text")
  {
    const Result r = run_poolcalc({ "fleet", k_example });
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    // 120 x 0.70 x 0.15 = 12.6 over 3 instances: 4.2 -> 5 x 3 + 10 = 25 -> 30 each (the seed's formula).
    CHECK(contains(r.out, "  chat-api  prisma         120 VUs       150 ms          3  12.6    30           90  connection_limit=30\n"));
    // 90 + 10 = 100 > 100 - 40 (the replication reserve takes no slot on PostgreSQL 15).
    CHECK(contains(r.out, "direct to PostgreSQL: 100 connections > 60 available: does not fit\n"));
    CHECK(contains(r.out, "  - 2 services share the database (more than 1) [pgbouncer.triggers.services_above]\n"));
    CHECK(contains(r.out, "max_client_conn  1000"));
    CHECK_FALSE(contains(r.out, "postgrespassword"));
    CHECK(contains(r.out, "postgresql://postgres:****@localhost:5432/chat_backend_db"));
  }
  SUBCASE("json")
  {
    const Result r = run_poolcalc({ "fleet", k_example, "--format", "json" });
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "\"command\": \"fleet\""));
    CHECK(contains(r.out, "\"recommendation\": \"pgbouncer\""));
    CHECK(contains(r.out, "\"url\": \"postgresql://postgres:****@localhost:5432/chat_backend_db\""));
    CHECK_FALSE(contains(r.out, "postgrespassword"));
  }
  SUBCASE("markdown")
  {
    const Result r = run_poolcalc({ "fleet", k_example, "--format", "markdown" });
    CHECK(r.exit_code == 0);
    CHECK(r.out.starts_with("# Connection review: fleet `" + k_example + "`\n"));
    CHECK(contains(r.out, "## PgBouncer plan\n"));
    CHECK_FALSE(contains(r.out, "postgrespassword"));
  }
}

TEST_CASE("fleet: the seed's scaling-table trap exits 3")
{
  // 501 VUs (the rules' "500+" row) x 0.70 x 0.15 s = 52.605 -> 53 queries at once; PgBouncer
  // has min(100 - 50, 70) = 50 server connections.
  const TempFile file("[database]\nmax_connections = 100\nversion = 11\n"
                      "[[service]]\nname = \"chat-api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 501\nquery_ms = 150\n");
  for (const char* format : { "text", "json", "markdown" }) {
    const Result r = run_poolcalc({ "fleet", file.path.string(), "--format", format });
    CHECK(r.exit_code == 3);
    CHECK(contains(r.out, "fleet.capacity_exceeds_server"));
    CHECK(contains(r.out, "needs 53 server connections at once, more than the pool's 50"));
  }
}

TEST_CASE("fleet: bad input")
{
  const auto usage = [](const std::vector<std::string>& args, const std::string& message) {
    const Result r = run_poolcalc(args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "poolcalc: error: " + message + "\n");
  };
  usage({ "fleet", "/nonexistent/fleet.toml" }, "cannot read '/nonexistent/fleet.toml': no such file");
  usage({ "fleet", k_example, "--format", "env" }, "--format: `poolcalc fleet` prints text, json or markdown, got 'env'");
  usage({ "fleet", k_example, "--rules", "/nonexistent/rules.toml" }, "--rules: cannot read '/nonexistent/rules.toml': no such file");
  usage({ "--vus", "5", "fleet", k_example },
        "`poolcalc fleet` takes FILE, --format and --rules after `fleet`; the workload comes from the file");
  {
    // A password in a bad URL stays masked in the error.
    const TempFile file("[database]\nmax_connections = 100\nversion = 15\nurl = \"mysql://u:secret@h/db\"\n");
    const Result r = run_poolcalc({ "fleet", file.path.string() });
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK_FALSE(contains(r.err, "secret"));
  }
  {
    const TempFile file("[database]\nmax_connections = 100\nversion = 15\n"
                        "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 0\nquery_ms = 150\n");
    usage({ "fleet", file.path.string() },
          file.path.string() + ":8:7: service[0].vus: expected a whole number from 1 to 1000000000, got '0'");
  }
  {
    // A serverless service with an open load: its executions are not known.
    const TempFile file("[database]\nmax_connections = 100\nversion = 15\n"
                        "[[service]]\nname = \"jobs\"\ndatabase = \"app\"\nuser = \"app\"\nrps = 30\nquery_ms = 100\nserverless = true\n");
    usage({ "fleet", file.path.string() },
          file.path.string() + ":10:14: service[0].serverless: with --rps the concurrent executions are not known: give --instances, the "
                               "executions running at the peak");
  }
}

// The real binary, end to end: each output format for the seed's case, each bad input with its
// exact message and exit code, and what must never happen (a password outside `env`, output on
// stdout after an error).

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

TEST_CASE("main job: the seed's 120 VUs at 150 ms")
{
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150" });
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  // seed, "Mathematical Analysis": 120 x 0.70 x 0.15 = 12.6; (13 x 3) + 10 = 49, rounded to 50.
  CHECK(contains(r.out, "peak concurrent queries  12.6  120 x 0.70 x 0.150 s"));
  CHECK(contains(r.out, "pool size                  50  ceil(12.6) = 13 x 3 + 10 = 49 -> 50"));
  // seed, "Validation Against Database Limits": reserved 50, 50 / 100 = 50 %.
  CHECK(contains(
    r.out, "available                  50  max_connections 100 - reserved 50 (other_apps 20, admin 10, superuser 10, replication 10)"));
  CHECK(contains(r.out, "utilization              50 %  50 / 100 (safe band 50-70 %)"));
  CHECK(contains(r.out, "recommendation: a pool of 50 per instance, no PgBouncer needed"));
  // seed, "Environment Variables": pool 50, pool_timeout 30, connect_timeout 10.
  CHECK(contains(r.out, "connection_limit    50"));
  CHECK(contains(r.out, "pool_timeout      30 s"));
  CHECK(contains(r.out, "connect_timeout   10 s"));
  CHECK_FALSE(contains(r.out, "\x1b[")); // not a terminal: no colour
}

TEST_CASE("--explain prints the seed's worked arithmetic")
{
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "100,150,200", "--explain" });
  CHECK(r.exit_code == 0);
  // seed, scenarios 1-3: 8.4, 12.6, 16.8.
  CHECK(contains(r.out, "conservative (100 ms): 120 x 0.70 x 0.100 s = 8.4\n"));
  CHECK(contains(r.out, "realistic (150 ms): 120 x 0.70 x 0.150 s = 12.6  <- design\n"));
  CHECK(contains(r.out, "pessimistic (200 ms): 120 x 0.70 x 0.200 s = 16.8\n"));
  CHECK(contains(r.out, "  = (13 x 3) + 10\n  = 39 + 10\n  = 49\n  rounded up to a multiple of 10: 50\n"));
  // The seed's own 200 ms case: (17 x 3) + 10 = 61 -> 70 > 50 available.
  CHECK(contains(r.out, "warn  scenario.does_not_fit"));
  CHECK(contains(r.out, "the pessimistic scenario (200 ms, peak 16.8) needs a pool of 70, more than the 50 available"));
}

TEST_CASE("--format json")
{
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--format", "json", "--database-url", k_seed_url });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\"schema_version\": 1"));
  CHECK(contains(r.out, "\"peak_concurrent\": 12.6"));
  CHECK(contains(r.out, "\"pool_size\": 50"));
  CHECK(contains(r.out, "\"pool_size_unrounded\": 49"));
  CHECK(contains(r.out, "\"utilization\": 0.5"));
  CHECK(contains(r.out, "\"recommendation\": \"pool\""));
  CHECK(contains(r.out, "postgres:****@localhost"));
  CHECK_FALSE(contains(r.out, "postgrespassword"));
}

TEST_CASE("--format markdown and report")
{
  const Result r = run_poolcalc({ "report", "--vus", "120", "--query-ms", "100,150,200", "--database-url", k_seed_url });
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("# Connection pool review: 120 VUs, 150 ms per query\n", 0) == 0);
  CHECK(contains(r.out, "| realistic (design) | 150 | 12.6 | 50 | 50 | yes |"));
  CHECK(contains(r.out, "| pessimistic | 200 | 16.8 | 70 | 70 | does not fit (70 > 50 available) |"));
  // seed, "Warning Thresholds": active > 40 warning, > 48 critical for the pool of 50.
  CHECK(contains(r.out, "| active connections | > 40 | > 48 |"));
  CHECK(contains(r.out, "| `connection_limit` | physical CPUs x 2 + 1 | 50 |"));
  CHECK_FALSE(contains(r.out, "postgrespassword"));
  const Result same = run_poolcalc({ "--format", "markdown", "--vus", "120", "--query-ms", "100,150,200", "--database-url", k_seed_url });
  CHECK(same.out == r.out);
}

TEST_CASE("env: the only output with the password")
{
  const Result r = run_poolcalc({ "env", "--vus", "120", "--query-ms", "150" }, { { "DATABASE_URL", k_seed_url } });
  CHECK(r.exit_code == 0);
  CHECK(r.out == "# poolcalc: 120 VUs, 150 ms per query -> pool of 50 per instance (direct to PostgreSQL)\n"
                 "# For any client: DATABASE_URL has no client's own parameter (psql and libpq refuse Prisma's and\n"
                 "# pgx's). The pool variables below are your application's own: no library reads them.\n"
                 "# `poolcalc env --for CLIENT` names the line that reads each; `poolcalc config --for CLIENT` writes it.\n"
                 "DATABASE_URL=\"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db\"\n"
                 "# Your application's own settings (no library reads these variables by itself):\n"
                 "# Maximum connections in pool\n"
                 "DATABASE_POOL_SIZE=50\n"
                 "# Seconds to wait for new connection\n"
                 "DATABASE_CONNECTION_TIMEOUT=10\n"
                 "# Seconds to wait for available connection from pool\n"
                 "DATABASE_POOL_TIMEOUT=30\n");
  const Result text = run_poolcalc({ "--vus", "120", "--query-ms", "150" }, { { "DATABASE_URL", k_seed_url } });
  CHECK(contains(text.out, "postgres:****@localhost:5432/chat_backend_db?connection_limit=50"));
  CHECK_FALSE(contains(text.out, "postgrespassword"));
}

TEST_CASE("bad input: one line on stderr, exit 2, nothing on stdout")
{
  SUBCASE("--vus")
  {
    check_usage_error({ "--vus", "0", "--query-ms", "150" }, "--vus: expected a whole number from 1 to 1000000000, got '0'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--instances", "3", "--max-instances", "2" },
                      "--max-instances: 2 is below --instances 3: the autoscaler's largest count is at least the instances that carry "
                      "the load");
    check_usage_error({ "--rps", "50", "--query-ms", "150", "--serverless" },
                      "--serverless: with --rps the concurrent executions are not known: give --instances, the executions running at "
                      "the peak");
    check_usage_error({ "--vus", "20000", "--query-ms", "150", "--serverless" },
                      "--serverless: 20000 VUs would need 20000 executions, more than the 10000 poolcalc takes: give --instances, the "
                      "executions running at the peak");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--serverless", "--overhead", "5" },
                      "--overhead: a serverless execution keeps no overhead connections: its pool is rules serverless.pool_per_execution");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--serverless", "--topology", "sidecar" },
                      "--topology: sidecar does not go with --serverless: a PgBouncer beside each execution pools nothing; use one shared "
                      "PgBouncer");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--serverless", "--max-instances", "50" },
                      "--max-instances: the platform's concurrency limit 50 is below the 120 executions the VUs need, one each: give "
                      "--instances too");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--deploy-surge", "101" },
                      "--deploy-surge: expected a number from 0 to 100, got '101'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--postgres-version", "9" },
                      "--postgres-version: expected a whole number from 10 to 99, got '9'");
    check_usage_error({ "--vus", "-5", "--query-ms", "150" }, "--vus: expected a whole number from 1 to 1000000000, got '-5'");
    check_usage_error({ "--vus", "abc", "--query-ms", "150" }, "--vus: expected a whole number from 1 to 1000000000, got 'abc'");
    check_usage_error({ "--vus", "1e400", "--query-ms", "150" }, "--vus: expected a whole number from 1 to 1000000000, got '1e400'");
    check_usage_error({ "--query-ms", "150" },
                      "--vus or --rps is required: the concurrent virtual users (a closed load, e.g. --vus 120) or the requests per second "
                      "(an open load, e.g. --rps 64.6)");
  }
  SUBCASE("--query-ms")
  {
    const std::string accepted = "--query-ms: expected a number from 0.001 to 3600000 (milliseconds a query holds a connection), got ";
    check_usage_error({ "--vus", "120", "--query-ms", "0" }, accepted + "'0'");
    check_usage_error({ "--vus", "120", "--query-ms", "-1" }, accepted + "'-1'");
    check_usage_error({ "--vus", "120", "--query-ms", "nan" }, accepted + "'nan'");
    check_usage_error({ "--vus", "120", "--query-ms", "100,,200" }, accepted + "''");
    check_usage_error({ "--vus", "120", "--query-ms", "150,150" }, "--query-ms: expected distinct values, got one twice");
    check_usage_error({ "--vus", "120", "--query-ms", "100,150", "--design-ms", "175" },
                      "--design-ms: expected one of the --query-ms values (100, 150), got '175'");
  }
  SUBCASE("the other numbers")
  {
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--activity", "0" }, "--activity: expected a number from 0.001 to 1, got '0'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--activity", "1.01" },
                      "--activity: expected a number from 0.001 to 1, got '1.01'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--burst", "0.9" }, "--burst: expected a number from 1 to 100, got '0.9'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--max-connections", "0" },
                      "--max-connections: expected a whole number from 1 to 262143, got '0'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--pool-timeout", "2.5" },
                      "--pool-timeout: expected a whole number from 0 to 3600, got '2.5'");
  }
  SUBCASE("--reserve")
  {
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--reserve", "admin=200" },
                      "--reserve: the reserved connections (200) exceed max_connections (100); reserve at most 100");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--reserve", "admin" },
                      "--reserve: expected NAME=N (NAME of letters, digits, '_' or '-'), got 'admin'");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--reserve", "admin=x" },
                      "--reserve: admin: expected a whole number from 0 to 262143, got 'x'");
  }
  SUBCASE("URLs never echo the password")
  {
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--database-url", "mysql://u:hunter2@h/db" },
                      "--database-url: unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--database-url", "postgresql://u:hunter2@h:99999/db" },
                      "--database-url: invalid port '99999' (expected 1-65535)");
    const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150" }, { { "DATABASE_URL", "postgresql://u:hunter2@h:0/db" } });
    CHECK(r.exit_code == 2);
    CHECK(r.err == "poolcalc: error: DATABASE_URL: invalid port '0' (expected 1-65535)\n");
  }
  SUBCASE("flags and formats")
  {
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--format", "xml" },
                      "--format: expected text, json, markdown or env, got 'xml'");
    check_usage_error({ "env", "--vus", "120", "--query-ms", "150", "--format", "json" },
                      "--format: `poolcalc env` always prints env; drop --format");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--bogus" },
                      "The following argument was not expected: --bogus (see poolcalc --help)");
  }
  SUBCASE("files")
  {
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--config", "/nonexistent/scenario.toml" },
                      "--config: cannot read '/nonexistent/scenario.toml': no such file");
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--rules", "/" }, "--rules: cannot read '/': it is a directory");
  }
  SUBCASE("a loop of symbolic links is named as one, not as a missing file")
  {
    const std::string dir = "/tmp/poolcalc-cli-loop-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    // a.toml -> b.toml -> a.toml: opening it fails with ELOOP.
    std::filesystem::create_symlink("b.toml", dir + "/a.toml");
    std::filesystem::create_symlink("a.toml", dir + "/b.toml");
    const std::string loop = "cannot read '" + dir + "/a.toml': a loop of symbolic links (Too many levels of symbolic links)";
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--config", dir + "/a.toml" }, "--config: " + loop);
    check_usage_error({ "--vus", "120", "--query-ms", "150", "--rules", dir + "/a.toml" }, "--rules: " + loop);
    check_usage_error({ "fleet", dir + "/a.toml" }, loop);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("subnormal numbers are refused, each input with its meaningful range")
{
  // 1e-320 and 4.9e-324 are subnormal doubles: above 0, so a "> 0" check let them through
  // ("0 requests/s", exit 0). The smallest rate, share or timeout taken is 0.001: poolcalc shows 3
  // decimals.
  check_usage_error({ "--rps", "1e-320", "--query-ms", "150" }, "--rps: expected a number from 0.001 to 1000000000, got '1e-320'");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--activity", "4.9e-324" },
                    "--activity: expected a number from 0.001 to 1, got '4.9e-324'");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--request-timeout", "1e-320" },
                    "--request-timeout: expected a number from 0.001 to 86400, got '1e-320'");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--vu-rate", "1e-320" },
                    "--vu-rate: expected a number from 0.001 to 1000, got '1e-320'");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--queries-per-request", "2.2e-308" },
                    "--queries-per-request: expected a number from 0.001 to 1000, got '2.2e-308'");
  check_usage_error({ "--vus", "120", "--op", "send:1e-320:150", "--op", "history:1:60" },
                    "--op: send: the share: expected a number from 0.001 to 1, got '1e-320'");
  check_usage_error({ "--rps", "60", "--query-ms", "150", "--target", "p99_wait<1e-320ms" },
                    "--target: expected a wait from 0.001 ms to 3600 s, got 'p99_wait<1e-320ms'");
  check_usage_error({ "--rps", "60", "--query-ms", "150", "--target", "p_wait<1e-320" },
                    "--target: expected a share from 0.000001 to 1 (0.0001% to 100%), got 'p_wait<1e-320'");
  // The smallest values are taken.
  const Result smallest = run_poolcalc({ "--rps", "0.001", "--query-ms", "0.001", "--format", "json" });
  CHECK(smallest.exit_code == 0);
  CHECK(contains(smallest.out, "\"rps\": 0.001"));
}

TEST_CASE("where 0 is accepted, a number that would read as 0 without being 0 is refused")
{
  check_usage_error({ "--rps", "60", "--query-ms", "150", "--query-cv", "1e-320" },
                    "--query-cv: expected a number from 0 to 10, and 0 or at least 0.000001 (a smaller one reads as 0), got '1e-320'");
  CHECK(run_poolcalc({ "--rps", "60", "--query-ms", "150", "--query-cv", "0" }).exit_code == 0);
  // A rules file: a reserve_pool_timeout of 5e-324 s would be written into pgbouncer.ini as 0,
  // which PgBouncer reads as "disabled".
  const Result rules = run_poolcalc({ "rules" });
  std::string text = rules.out;
  const auto at = text.find("reserve_pool_timeout_s = ");
  REQUIRE(at != std::string::npos);
  const auto end = text.find('\n', at);
  text.replace(at, end - at, "reserve_pool_timeout_s = 5e-324");
  const std::string path = "/tmp/poolcalc-cli-tiny-rules-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << text;
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--rules", path });
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err,
                 "pgbouncer.settings.reserve_pool_timeout_s: expected a number from 0 to 3600, and 0 or at least 0.000001 (a "
                 "smaller one reads as 0), got 5e-324"));
  std::filesystem::remove(path);
}

TEST_CASE("huge but valid inputs give an answer, not an overflow")
{
  const Result r = run_poolcalc({ "--vus", "1000000000", "--query-ms", "150", "--format", "json" });
  // A fail finding stands (the server cannot run 105,000,000 queries at once): exit 3.
  CHECK(r.exit_code == 3);
  // 1e9 x 0.70 x 0.150 = 105,000,000 (computed by hand); x 3 + 10 = 315,000,010.
  CHECK(contains(r.out, "\"peak_concurrent\": 105000000"));
  CHECK(contains(r.out, "\"pool_size\": 315000010"));
  CHECK(contains(r.out, "\"recommendation\": \"pgbouncer\""));
  CHECK(contains(r.out, "\"id\": \"capacity.exceeds_server\""));
  for (const char* bad : { "NaN", "nan,", "Infinity", ": inf", ": -inf", "e+" }) {
    CHECK_FALSE(contains(r.out, bad));
  }

  // 1e9/s x 10 queries x 3600 s = 3.6e13 concurrent; x 100 burst = 3.6e15.
  const Result too_big = run_poolcalc(
    { "--rps", "1000000000", "--queries-per-request", "10", "--query-ms", "3600000", "--burst", "100", "--instances", "10000" });
  CHECK(too_big.exit_code == 2);
  CHECK(too_big.out.empty());
  CHECK(too_big.err == "poolcalc: error: --rps: the workload needs about 3.6e+15 connections, more than the 1e+15 poolcalc computes "
                       "with; check the units (--query-ms is milliseconds)\n");
}

TEST_CASE("exit 3 when the plan breaks a hard limit and no option of the advisor's works")
{
  // 120 x 0.70 x 0.200 = 16.8 -> 17 x 3 + 10 = 61 -> 70 > the 20 available; the model's smallest
  // pool for p99_wait<100ms is 21 (> 20), and max_connections 550 is past rules
  // advisor.max_connections_max (500).
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "200", "--max-connections", "500", "--reserve", "other_apps=480" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "fail  pool.exceeds_available"));
  CHECK(contains(r.out, "a pool of 70 exceeds the 20 available (max_connections 500 - reserved 480)"));
  CHECK(contains(r.out, "fail  advisor.no_option"));
  CHECK(contains(r.out, "closest: the model's pools: 31 per instance (21 + overhead 10) (needs 31 server connections, 20 available)"));
}

TEST_CASE("a max_connections the advisor raises: the header, the JSON inputs and postgresql.conf keep the server's as given")
{
  // max_connections 60 - 50 reserved = 10: only a larger server works, 26 + 50 = 76 (docs/json.md).
  const Result text = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--max-connections", "60" });
  CHECK(text.exit_code == 0);
  CHECK(text.out.starts_with("poolcalc: 120 VUs, 150 ms per query, max_connections 60 (the advisor: 76)\n"));
  const Result json = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--max-connections", "60", "--format", "json" });
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["inputs"]["max_connections"] == 60);
  CHECK(j["max_connections"] == 76);
  CHECK(j["advice"]["chosen"] == "raise_max_connections");
  const Result conf =
    run_poolcalc({ "config", "--for", "postgresql-conf", "--vus", "120", "--query-ms", "150", "--max-connections", "60" });
  CHECK(contains(conf.out, "max_connections = 76  # default: 100; raised from your 60: the plan needs 76\n"));
}

TEST_CASE("--help, --version and rules")
{
  const Result help = run_poolcalc({ "--help" });
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--vus N"));
  CHECK(contains(help.out, "Examples:"));
  CHECK(contains(help.out, "Exit codes: 0 ok"));
  const Result version = run_poolcalc({ "--version" });
  CHECK(version.out == "poolcalc " POOLCALC_VERSION "\n"); // CMakeLists.txt: project(VERSION)
  const Result rules = run_poolcalc({ "rules" });
  CHECK(rules.exit_code == 0);
  CHECK(rules.out.rfind("# poolcalc rules in force: built in (data/rules.toml)\n", 0) == 0);
  CHECK(contains(rules.out, "burst = 3.0"));
}

TEST_CASE("a config file and a rules file")
{
  const std::string dir = "/tmp/poolcalc-cli-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/scenario.toml") << "vus = 120\nquery_ms = [100, 150, 200]\nrules = \"rules.toml\"\n";
    const Result rules = run_poolcalc({ "rules" });
    std::string text = rules.out;
    const auto at = text.find("overhead = 10");
    REQUIRE(at != std::string::npos);
    text.replace(at, 13, "overhead = 5 ");
    std::ofstream(dir + "/rules.toml") << text;
  }
  // The config's rules (overhead 5): (13 x 3) + 5 = 44 -> 50; the flag's --overhead wins over both.
  const Result r = run_poolcalc({ "--config", dir + "/scenario.toml", "--format", "json" });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\"overhead\": 5,"));
  CHECK(contains(r.out, "\"pool_size_unrounded\": 44,"));
  const Result flag = run_poolcalc({ "--config", dir + "/scenario.toml", "--overhead", "1", "--format", "json" });
  CHECK(contains(flag.out, "\"pool_size_unrounded\": 40,"));

  std::ofstream(dir + "/bad.toml") << "vus = 120\nquery_ms = 150\nburst = \"3\"\n";
  const Result bad = run_poolcalc({ "--config", dir + "/bad.toml" });
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "poolcalc: error: " + dir + "/bad.toml:3:9: burst: expected a number\n");
  std::ofstream(dir + "/unknown.toml") << "vus = 120\nqueryms = 150\n";
  const Result unknown = run_poolcalc({ "--config", dir + "/unknown.toml" });
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, dir + "/unknown.toml:2:11: queryms: unknown key (accepted: vus, rps, query_ms,"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("queueing: the seed's load on the pools it tried")
{
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--pool", "8,10,12,13,14,16,20,50", "--format", "json" });
  CHECK(r.exit_code == 0);
  // Reference values: tests/reference/queueing_reference.py (exact rational state probabilities), to 9 decimals
  // (waits to the microsecond).
  CHECK(contains(r.out, R"({
      "pool": 10,
      "model": "closed",
      "throughput_rps": 66.561583064,
      "p_wait": 0.989893621,
      "mean_wait_ms": 261.989,)"));
  CHECK(contains(r.out, R"("pool": 14,
      "model": "closed",
      "throughput_rps": 82.006010299,
      "p_wait": 0.478990669,
      "mean_wait_ms": 24.315,)"));
  const Result text = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--pool", "10,50" });
  CHECK(contains(text.out,
                 "queueing: closed loop (M/M/c//N): 84 VUs per instance, each holding a connection 150 ms (exponential: rules "
                 "queueing.hold_cv 1), then 850 ms (constant: rules queueing.think_cv 0) until its next query\n"));
  CHECK(contains(text.out, "    50     84.0/s"));
  CHECK(contains(text.out, "<- the plan's pool"));
}

TEST_CASE("queueing: an open load")
{
  const Result r = run_poolcalc({ "--rps", "60", "--query-ms", "150", "--pool", "10,11,12,14,20", "--format", "json" });
  CHECK(r.exit_code == 0);
  // 60/s x 0.150 s = 9 Erlangs; Erlang C(9, c) from the reference script: 0.668731524, ..., 0.001121203.
  CHECK(contains(r.out, "\"peak_concurrent\": 9,"));
  CHECK(contains(r.out, "\"p_wait\": 0.668731524,"));
  CHECK(contains(r.out, "\"p_wait\": 0.430470247,"));
  CHECK(contains(r.out, "\"p_wait\": 0.266034684,"));
  CHECK(contains(r.out, "\"p_wait\": 0.089175997,"));
  CHECK(contains(r.out, "\"p_wait\": 0.001121203,"));
  const Result overloaded = run_poolcalc({ "--rps", "60", "--query-ms", "150", "--pool", "8", "--format", "json" });
  CHECK(contains(overloaded.out, R"("mean_wait_ms": null,)"));
  CHECK(contains(overloaded.out, R"("stable": false)"));
}

TEST_CASE("queueing: --target sizes for a goal")
{
  // p99 waits from the closed model: 63.4 ms at 17, 42.7 ms at 18 (poolcalc curve); + 10 overhead = 28 -> 30.
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--target", "p99_wait<50ms", "--format", "json" });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\"smallest_pool\": 18,"));
  CHECK(contains(r.out, "\"pool_size\": 30,"));
  CHECK(contains(r.out, "\"rule_of_thumb_pool_size\": 50"));
  const Result unmet = run_poolcalc({ "--rps", "2000000", "--query-ms", "150", "--target", "p99_wait<50ms" });
  CHECK(unmet.exit_code == 2);
  CHECK(unmet.out.empty());
  CHECK(unmet.err == "poolcalc: error: --target: no pool of up to 262143 connections meets p99_wait<50ms: the load is 300000 Erlangs per "
                     "instance (2000000 queries/s x 0.15 s); split the load over more --instances\n");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--target", "p99<50" },
                    "--target: expected METRIC<VALUE: p99_wait<50ms, p95_wait<0.2s, mean_wait<10ms, p_wait<0.05 (or <5%), "
                    "timeout_rate<0.001; got 'p99<50'");
}

TEST_CASE("queueing: bad workload inputs")
{
  check_usage_error({ "--vus", "120", "--op", "send:0.7:150", "--op", "fetch:0.2:80" }, "--op: the shares sum to 0.9; they must sum to 1");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--vu-rate", "8" },
                    "--vu-rate: at 8/s with 1 query of 150 ms per request, each VU would hold a connection 1.2 s of every second; lower "
                    "the rate or give --think-ms");
  check_usage_error({ "--vus", "120", "--rps", "60", "--query-ms", "150" },
                    "--rps: give --vus (a closed load: k6 VUs) or --rps (an open load: arrivals per second), not both");
}

TEST_CASE("curve")
{
  const Result csv = run_poolcalc({ "curve", "--vus", "120", "--query-ms", "150", "--pool", "18-20", "--format", "csv" });
  CHECK(csv.exit_code == 0);
  CHECK(csv.out.rfind("pool,model,throughput_rps,p_wait,mean_wait_ms,p95_wait_ms,p99_wait_ms,timeout_rate,utilization,stable\n18,closed,",
                      0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 4);
  const Result text = run_poolcalc({ "curve", "--vus", "120", "--query-ms", "150" });
  // The knee: the first pool where under 5 % of queries wait (7.5 % at 18, 4.1 % at 19).
  CHECK(contains(text.out, "<- knee: P(wait) < 5 %"));
  CHECK(contains(text.out, "    19     83.9/s     4.1 %"));
  const Result svg = run_poolcalc({ "curve", "--vus", "120", "--query-ms", "150", "--format", "svg" });
  CHECK(svg.out.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(contains(svg.out, "knee: pool 19 (P(wait) &lt; 5 %)"));
  CHECK(contains(svg.out, "pool size (connections per instance)"));
  CHECK(contains(svg.out, "</svg>\n"));
  check_usage_error({ "curve", "--vus", "120", "--query-ms", "150", "--format", "markdown" },
                    "--format: `poolcalc curve` prints text, csv, json or svg, got 'markdown'");
}

TEST_CASE("passwords never reach an error message")
{
  check_usage_error({ "--vus", "120", "--query-ms", "150", "postgresql://app:S3CRET@h/db" },
                    "The following argument was not expected: postgresql://app:****@h/db (see poolcalc --help)");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--database-url", "postgresql://app@h:0/db?password=S3CRET" },
                    "--database-url: invalid port '0' (expected 1-65535)");
  // A list flag takes one value per occurrence: a stray word is not a second value.
  check_usage_error({ "--vus", "120", "--query-ms", "150", "200" }, "The following argument was not expected: 200 (see poolcalc --help)");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--format", "" }, "--format: expected text, json, markdown or env, got ''");
}

TEST_CASE("passwords holding quotes, slashes and spaces never reach an error message")
{
  // Each password is valid where libpq or --database-url takes it; the message quotes the
  // argument whole, so the masking parses the argument instead of guessing where it ends.
  const std::string expected = "The following argument was not expected: postgresql://app:****@db.example.com/chat (see poolcalc --help)";
  for (const std::string password : { "Zq9'x", "Zq9/x", "Zq9 x", "Zq9?x#y", "Zq9\"x", "Zq9@x" }) {
    const std::string url = "postgresql://app:" + password + "@db.example.com/chat";
    INFO("password: " << password);
    check_usage_error({ "--vus", "1", "--query-ms", "1", url }, expected);
    check_usage_error(
      { "--vus", "1", "--query-ms", "1", "--databse-url=" + url },
      "The following argument was not expected: --databse-url=postgresql://app:****@db.example.com/chat (see poolcalc --help)");
    check_usage_error({ "--vus", "1", "--query-ms", "1", "--format", url },
                      "--format: expected text, json, markdown or env, got 'postgresql://app:****@db.example.com/chat'");
    check_usage_error({ "--vus", "1", "--query-ms", "1", "--format=" + url },
                      "--format: expected text, json, markdown or env, got 'postgresql://app:****@db.example.com/chat'");
  }
  // libpq's key/value form, quoted or bare, the keyword in any case.
  check_usage_error({ "--vus", "1", "--query-ms", "1", "host=h password='Zq9 kv'" },
                    "The following argument was not expected: host=h password='****' (see poolcalc --help)");
  check_usage_error({ "--vus", "1", "--query-ms", "1", "host=h PASSWORD=Zq9kv sslpassword=k3y" },
                    "The following argument was not expected: host=h PASSWORD=**** sslpassword=**** (see poolcalc --help)");
  // The same from $DATABASE_URL, quoted by a message about another flag.
  check_usage_error({ "--vus", "1", "--query-ms", "1", "--format", "postgresql://app:Zq9 'x@db/chat?sslmode=require" },
                    "--format: expected text, json, markdown or env, got 'postgresql://app:****@db/chat?sslmode=require'",
                    { { "DATABASE_URL", "postgresql://app:Zq9 'x@db/chat" } });
}

TEST_CASE("a password split by a list flag's commas, or in a bracketed user name, stays masked")
{
  // The comma list's piece "postgresql://app:Zq9" shows no credential on its own: the whole value
  // is quoted, masked.
  check_usage_error({ "--vus", "1", "--query-ms", "postgresql://app:Zq9,x@h/db" },
                    "--query-ms: expected a number from 0.001 to 3600000 (milliseconds a query holds a connection), got "
                    "'postgresql://app:****@h/db'");
  check_usage_error({ "--vus", "1", "--query-ms", "1", "--pool", "postgresql://app:Zq9,x@h/db" },
                    "--pool: expected pool sizes N or ranges A-B (A <= B), each from 1 to 262143, got 'postgresql://app:****@h/db'");
  // libpq reads "[app]" as the user name: what follows the ':' is a password.
  check_usage_error({ "--vus", "1", "--query-ms", "1", "postgresql://[app]:Zq9x@h/db" },
                    "The following argument was not expected: postgresql://[app]:****@h/db (see poolcalc --help)");
}

TEST_CASE("a path quoted in a message is masked and escaped too")
{
  const std::string config = "/tmp/poolcalc-cli-rules-path-" + std::to_string(getpid()) + ".toml";
  std::ofstream(config) << "vus = 1\nquery_ms = [1]\nrules = \"postgresql://app:Zq9x@h/db\"\n";
  const Result r = run_poolcalc({ "--config", config });
  CHECK(r.exit_code == 2);
  CHECK(r.err == "poolcalc: error: " + config + ":3:9: rules: cannot read '/tmp/postgresql://app:****@h/db': no such file\n");
  std::filesystem::remove(config);
}

TEST_CASE("a key quoted from a TOML file is masked and escaped")
{
  // A quoted TOML key may hold anything; the messages quoting it (unknown key, toml++'s own
  // "cannot redefine") showed the password.
  const std::string file = "/tmp/poolcalc-cli-key-" + std::to_string(getpid()) + ".toml";
  std::ofstream(file) << "\"postgresql://app:QQaSECRET@h/db\" = 1\n";
  const Result unknown = run_poolcalc({ "--vus", "1", "--query-ms", "1", "--config", file });
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.starts_with("poolcalc: error: " + file + ":1:37: postgresql://app:****@h/db: unknown key (accepted: "));
  std::ofstream(file, std::ios::trunc) << "\"postgresql://app:QQaSECRET@h/db\" = 1\n\"postgresql://app:QQaSECRET@h/db\" = 2\n";
  const Result twice = run_poolcalc({ "--vus", "1", "--query-ms", "1", "--config", file });
  CHECK(twice.exit_code == 2);
  CHECK(contains(twice.err, "invalid TOML: "));
  CHECK(contains(twice.err, "postgresql://app:****@h/db"));
  std::ofstream(file, std::ios::trunc) << "\"host=h password='QQa x'\\u001b]0;pwned\\u0007\" = 1\n";
  const Result keyvalue = run_poolcalc({ "--vus", "1", "--query-ms", "1", "--config", file });
  CHECK(keyvalue.exit_code == 2);
  CHECK(keyvalue.err.starts_with("poolcalc: error: " + file + ":1:49: host=h password='****'\\e]0;pwned\\x07: unknown key"));
  for (const Result* r : { &unknown, &twice, &keyvalue }) {
    CHECK_FALSE(contains(r->err, "QQa"));
    CHECK_FALSE(contains(r->err, "\x1b"));
  }
  std::filesystem::remove(file);
}

TEST_CASE("a '#' after the host and an overlong dotted key: one line, exit 2")
{
  check_usage_error({ "--vus", "1", "--query-ms", "1", "--database-url", "postgresql://u@h/chat?password=QQa#QQbQQc" },
                    "--database-url: a '#' after the host: libpq reads it as part of the database name or of a parameter's value, "
                    "other clients as the end of the URL; write it as %23");
  const std::string file = "/tmp/poolcalc-cli-deep-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream out(file);
    for (int i = 0; i < 175'000; ++i) {
      out << (i > 0 ? ".a" : "a");
    }
    out << " = 1\n";
  }
  const Result deep = run_poolcalc({ "--vus", "1", "--query-ms", "1", "--config", file });
  CHECK(deep.exit_code == 2);
  CHECK(deep.out.empty());
  CHECK(deep.err ==
        "poolcalc: error: " + file + ":1: a key or table name of more than 256 dotted parts (poolcalc's limit, as for nesting)\n");
  std::filesystem::remove(file);
}

TEST_CASE("the URL error shows its own example unmasked")
{
  check_usage_error({ "--vus", "1", "--query-ms", "1", "--database-url", "bogus" },
                    "--database-url: not a valid URL (expected postgresql://user:password@host:port/database)");
}

TEST_CASE("terminal control sequences in user text are escaped in messages")
{
  // An argument that would clear the screen, set the terminal's title, or fake a second line.
  check_usage_error({ "--vus", "1", "--query-ms", "1", "--format", "a\x1b[2Jb" },
                    "--format: expected text, json, markdown or env, got 'a\\e[2Jb'");
  check_usage_error({ "--vus", "1", "--query-ms", "1", "x\x1b]0;pwned\x07\npoolcalc: ok" },
                    "The following argument was not expected: x\\e]0;pwned\\x07\\npoolcalc: ok (see poolcalc --help)");
  // The same from a file: a TOML string can hold any control character.
  const std::string config = "/tmp/poolcalc-cli-escape-" + std::to_string(getpid()) + ".toml";
  std::ofstream(config) << "vus = 1\nquery_ms = [1]\nformat = \"x\\u001b]0;pwned\\u0007\\r\\u009b2J\"\n";
  check_usage_error({ "--config", config },
                    config + ":3:10: format: expected text, json, markdown or env, got 'x\\e]0;pwned\\x07\\r\\u{009b}2J'");
  std::filesystem::remove(config);
}

TEST_CASE("env says on stderr why it exits 3")
{
  const Result r = run_poolcalc({ "env", "--vus", "120", "--query-ms", "200", "--max-connections", "500", "--reserve", "other_apps=480" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "DATABASE_POOL_SIZE=70\n"));
  CHECK(r.err == "poolcalc: fail: pool.exceeds_available: a pool of 70 exceeds the 20 available (max_connections 500 - reserved 480)\n"
                 "poolcalc: fail: advisor.no_option: no option fits and meets p99_wait<100ms; closest: the model's pools: 31 per "
                 "instance (21 + overhead 10) (needs 31 server connections, 20 available)\n");
}

TEST_CASE("repeated flags: the last one wins, for every single-value flag")
{
  const Result r = run_poolcalc({ "--vus", "120", "--query-ms", "150", "--format", "text", "--format", "json" });
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("{\n", 0) == 0);
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--config", "/nonexistent/a.toml", "--config", "/nonexistent/b.toml" },
                    "--config: cannot read '/nonexistent/b.toml': no such file");
  check_usage_error({ "rules", "--explain" }, "--explain: `poolcalc rules` prints the rules; drop --explain");
}

TEST_CASE("files and output that cannot be used")
{
  const std::string dir = "/tmp/poolcalc-cli-files-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream big(dir + "/big.toml");
    big << "# " << std::string(2 << 20, 'x') << "\n";
    std::ofstream(dir + "/format.toml") << "vus = 120\nquery_ms = 150\nformat = \"csv\"\n";
  }
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--config", dir + "/big.toml" },
                    "--config: cannot read '" + dir + "/big.toml': larger than 1 MiB");
  // A bad value from a scenario file is named by its position there.
  check_usage_error({ "--config", dir + "/format.toml" },
                    dir + "/format.toml:3:10: format: expected text, json, markdown or env, got 'csv'");
  std::filesystem::remove_all(dir);
  // Output that cannot be written is a runtime failure (exit 1).
  const Result full = poolcalc::test::shell("poolcalc --vus 120 --query-ms 150 > /dev/full");
  CHECK(full.exit_code == 1);
  CHECK(full.err == "poolcalc: error: cannot write the output\n");
}

// `poolcalc config --for TARGET` end to end: each target for the seed's case, PgBouncer in front,
// a scenario file, JSON, exit 3, and every bad input with its exact message.

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

// The seed's example DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

// The seed's load: 120 VUs at 150 ms -> a pool of 50 (seed, "Mathematical Analysis").
Result seed_config(const std::string& target, std::vector<std::string> extra = {})
{
  std::vector<std::string> args = { "config", "--for", target, "--vus", "120", "--query-ms", "150", "--database-url", k_seed_url };
  args.insert(args.end(), extra.begin(), extra.end());
  return run_poolcalc(args);
}

const std::string k_targets = "pgbouncer, prisma, node-postgres, hikaricp, sqlalchemy, go-database-sql, pgx, postgresql-conf";

} // namespace

TEST_CASE("config: every target for the seed's case")
{
  // seed: pool 50, pool_timeout 30 s, connect_timeout 10 s; each in the library's own unit.
  struct Expected
  {
    std::string target;
    std::vector<std::string> lines;
  };
  const std::vector<Expected> cases = {
    { "prisma", { "DATABASE_URL=\"" + k_seed_url + "?connection_limit=50&pool_timeout=30&connect_timeout=10\"\n" } },
    { "node-postgres", { "  max: 50, // default: 10\n", "  connectionTimeoutMillis: 30000,\n" } },
    { "hikaricp",
      { "maximumPoolSize=50\n", "connectionTimeout=30000\n", "dataSource.connectTimeout=10\n", "password=postgrespassword\n" } },
    { "sqlalchemy",
      { "    pool_size=50,  # default: 5\n", "    max_overflow=0,  # default: 10\n", "    pool_timeout=30,  # default: 30\n" } },
    { "go-database-sql", { "\tdb.SetMaxOpenConns(50) // default: 0 (unlimited)\n", "context.WithTimeout(ctx, 30*time.Second)" } },
    { "pgx", { "DATABASE_URL=\"" + k_seed_url + "?pool_max_conns=50&connect_timeout=10\"\n" } },
    // 50 opened + 50 reserved (seed, "Validation Against Database Limits") = 100.
    { "postgresql-conf", { "max_connections = 100  # default: 100; your 100: exactly what the plan needs\n" } },
  };
  for (const Expected& c : cases) {
    INFO(c.target);
    const Result r = seed_config(c.target);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    for (const std::string& line : c.lines) {
      CHECK(contains(r.out, line));
    }
  }
}

TEST_CASE("config: prisma through PgBouncer")
{
  // Six instances trigger PgBouncer (seed: instances > 5): 400 x 0.70 x 0.080 = 22.4 / 6 -> 4 x 3 + 10
  // = 22 -> 30 per instance. The URL given is the server's: DATABASE_URL keeps its address (no
  // pgbouncer=true) and says what to change once PgBouncer runs; DIRECT_URL is the server.
  const std::vector<std::string> args = { "config",
                                          "--for",
                                          "prisma",
                                          "--vus",
                                          "400",
                                          "--query-ms",
                                          "80",
                                          "--instances",
                                          "6",
                                          "--database-url",
                                          "postgresql://app:s3cret@db.internal:5432/chat" };
  const Result r = run_poolcalc(args);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out,
                 "\nDATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10\"\n"));
  CHECK(contains(r.out, "\n# point DATABASE_URL at its host and port (listen_port 6432 there), and add pgbouncer=true.\n"));
  CHECK(contains(r.out, "DIRECT_URL=\"postgresql://app:s3cret@db.internal:5432/chat\"\n"));
  CHECK(contains(r.out, "  directUrl = env(\"DIRECT_URL\")\n"));
  CHECK_FALSE(contains(r.out, "127.0.0.1"));

  std::vector<std::string> newer = args;
  newer.insert(newer.end(), { "--pgbouncer-version", "1.21.0" });
  const Result r121 = run_poolcalc(newer);
  CHECK(r121.exit_code == 0);
  CHECK(contains(
    r121.out, "DATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?connection_limit=30&pool_timeout=30&connect_timeout=10\"\n"));
  CHECK(contains(r121.out, "\n# point DATABASE_URL at its host and port (listen_port 6432 there).\n"));

  // PgBouncer's own address given (its port 6432): kept, with pgbouncer=true; no DIRECT_URL invented.
  std::vector<std::string> pooler = args;
  pooler.back() = "postgresql://app:s3cret@pgbouncer.internal:6432/chat";
  const Result p = run_poolcalc(pooler);
  CHECK(p.exit_code == 0);
  CHECK(contains(p.out,
                 "\nDATABASE_URL=\"postgresql://app:s3cret@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10\"\n"));
  CHECK(contains(p.out, "so add DIRECT_URL=\"...\" yourself.\n"));
  CHECK_FALSE(contains(p.out, "\nDIRECT_URL="));
}

TEST_CASE("config: postgresql-conf on PostgreSQL 16")
{
  const Result r = seed_config("postgresql-conf", { "--server-version", "16" });
  CHECK(r.exit_code == 0);
  // The seed's admin reserve (10) becomes reserved_connections on 16+.
  CHECK(contains(r.out, "reserved_connections = 10  # default: 0;"));
}

TEST_CASE("config: --format json and a scenario file")
{
  const std::string dir = "/tmp/poolcalc-config-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/scenario.toml") << "vus = 120\nquery_ms = 150\nformat = \"json\"\n";
  const Result r = run_poolcalc({ "config", "--for", "hikaricp", "--config", dir + "/scenario.toml" });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\"schema_version\": 1,\n  \"target\": \"hikaricp\",\n  \"files\": [\n"));
  CHECK(contains(r.out, "\"name\": \"hikari.properties\""));
  CHECK(contains(r.out, "maximumPoolSize=50\\n"));

  std::ofstream(dir + "/markdown.toml") << "vus = 120\nquery_ms = 150\nformat = \"markdown\"\n";
  check_usage_error({ "config", "--for", "pgx", "--config", dir + "/markdown.toml" },
                    dir + "/markdown.toml:3:10: format: `poolcalc config` prints text or json, got 'markdown'");
  std::filesystem::remove_all(dir);
}

TEST_CASE("config: exit 3 still prints the snippet and names the failure on stderr")
{
  // 120 x 0.70 x 0.200 = 16.8 -> 17 x 3 + 10 = 61 -> 70 > the 50 available.
  const Result r = run_poolcalc(
    { "config", "--for", "node-postgres", "--vus", "120", "--query-ms", "200", "--database-url", "postgresql://app:S3CRET@localhost/db" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "  max: 70, // default: 10\n"));
  CHECK(contains(r.out, "S3CRET")); // the snippet the user asked for
  CHECK(r.err == "poolcalc: fail: pool.exceeds_available: a pool of 70 exceeds the 50 available (max_connections 100 - reserved 50)\n");
}

TEST_CASE("config: generated code that compiles as written")
{
  // Go refuses an unused import: with --pool-timeout 0 there is no deadline, so database/sql's
  // db.go imports no context and pgx's no time.
  const Result sql = run_poolcalc({ "config", "--for", "go-database-sql", "--vus", "120", "--query-ms", "150", "--pool-timeout", "0" });
  REQUIRE(sql.exit_code == 0);
  CHECK(sql.out.find("\t\"context\"\n") == std::string::npos);
  CHECK(sql.out.find("context.") == std::string::npos);
  const Result pgx = run_poolcalc({ "config", "--for", "pgx", "--vus", "120", "--query-ms", "150", "--pool-timeout", "0" });
  REQUIRE(pgx.exit_code == 0);
  CHECK(pgx.out.find("\t\"time\"\n") == std::string::npos);
  CHECK(pgx.out.find("time.Second") == std::string::npos);
  const Result timed = run_poolcalc({ "config", "--for", "pgx", "--vus", "120", "--query-ms", "150" });
  CHECK(timed.out.find("\t\"time\"\n") != std::string::npos); // used by WithPoolTimeout
  // SQLAlchemy has no postgres:// dialect: the .env says postgresql://.
  const Result alchemy = run_poolcalc(
    { "config", "--for", "sqlalchemy", "--vus", "120", "--query-ms", "150", "--database-url", "postgres://app:pw@db:5432/chat" });
  REQUIRE(alchemy.exit_code == 0);
  CHECK(alchemy.out.find("\nDATABASE_URL=\"postgresql://app:pw@") != std::string::npos);
  CHECK(alchemy.out.find("\nDATABASE_URL=\"postgres://") == std::string::npos);
}

TEST_CASE("config and env: a URL with pgbouncer=true is PgBouncer's address as given")
{
  // Six instances go through PgBouncer (seed trigger: more than 5); the user's URL already has
  // pgbouncer=true, so it reaches PgBouncer: its host and port stay, pgbouncer=true stays (PgBouncer
  // 1.18 < 1.21.0), and no DIRECT_URL is invented from it.
  const std::string url = "postgresql://app:pw@db.internal:5432/chat?pgbouncer=true";
  for (const std::vector<std::string>& command :
       { std::vector<std::string>{ "config", "--for", "prisma" }, std::vector<std::string>{ "env" } }) {
    std::vector<std::string> args = command;
    for (const char* a : { "--vus", "400", "--query-ms", "80", "--instances", "6", "--database-url" }) {
      args.push_back(a);
    }
    args.push_back(url);
    const Result r = run_poolcalc(args);
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "\nDATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat?pgbouncer=true&connection_limit=30&"));
    CHECK_FALSE(contains(r.out, "\nDIRECT_URL="));
  }
}

TEST_CASE("env: the notes on stderr say what poolcalc left to the user")
{
  // Six instances: PgBouncer (seed trigger: more than 5), 30 per instance.
  const std::vector<std::string> load = { "env", "--vus", "400", "--query-ms", "80", "--instances", "6", "--database-url" };
  std::vector<std::string> server = load;
  server.push_back("postgresql://app:pw@db.internal:5432/chat");
  const Result r = run_poolcalc(server);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "poolcalc: note: DATABASE_URL still points at the database server (db.internal:5432), as given: once PgBouncer runs "
                 "(poolcalc pgbouncer writes its pgbouncer.ini), point DATABASE_URL at PgBouncer's host and port (listen_port 6432 in "
                 "that file) and, for Prisma with PgBouncer older than 1.21.0, add pgbouncer=true\n");
  CHECK(contains(r.out,
                 "\nDATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat?connection_limit=30&pool_timeout=30&connect_timeout=10\"\n"));
  CHECK(contains(r.out, "\nDIRECT_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n"));

  std::vector<std::string> pooler = load;
  pooler.push_back("postgresql://app:pw@pgbouncer.internal:6432/chat");
  const Result p = run_poolcalc(pooler);
  CHECK(p.exit_code == 0);
  CHECK(p.err == "poolcalc: note: DATABASE_URL points at PgBouncer (pgbouncer.internal:6432), as given: DIRECT_URL, Prisma's direct "
                 "connection for migrations, must be the database server's own address, which poolcalc does not know and does not "
                 "write\n");
  CHECK(contains(p.out,
                 "\nDATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10\"\n"));
}

TEST_CASE("config: bad input")
{
  const std::vector<std::string> load = { "--vus", "120", "--query-ms", "150" };
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), load.begin(), load.end());
    return args;
  };
  check_usage_error(with({ "config" }), "--for: `poolcalc config` needs a target: " + k_targets);
  check_usage_error(with({ "config", "--for", "mysql" }), "--for: unknown target 'mysql'; expected one of " + k_targets);
  // (A plan without PgBouncer gets its pgbouncer.ini all the same: tests/cli/test_cmd_pgbouncer.cpp.)
  check_usage_error(with({ "config", "--for", "prisma", "--pgbouncer-version", "1.x" }),
                    "--pgbouncer-version: expected a PgBouncer version such as 1.18.0 or 1.21, got '1.x'");
  check_usage_error(with({ "config", "--for", "prisma", "--pgbouncer-version", "" }),
                    "--pgbouncer-version: expected a PgBouncer version such as 1.18.0 or 1.21, got ''");
  check_usage_error(with({ "config", "--for", "postgresql-conf", "--server-version", "9.6" }),
                    "--server-version: expected a PostgreSQL major version, 10-99 (such as 15), got '9.6'");
  check_usage_error(with({ "config", "--for", "prisma", "--format", "env" }), "--format: `poolcalc config` prints text or json, got 'env'");
  check_usage_error(with({ "config", "--for", "prisma", "--explain" }), "--explain: `poolcalc config` prints the snippet; drop --explain");
  // Validation comes first: a bad target is named even when the load is missing too.
  check_usage_error({ "config", "--for", "mysql" }, "--for: unknown target 'mysql'; expected one of " + k_targets);
  // The sizing flags are checked as everywhere else, the password masked.
  check_usage_error(
    { "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--database-url", "postgresql://app:S3CRET@h:0/db" },
    "--database-url: invalid port '0' (expected 1-65535)");
}

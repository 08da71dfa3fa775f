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
    // Prisma 7 (the default): the PrismaPg adapter's pg.Pool, a URL without parameters.
    { "prisma",
      { "DATABASE_URL=\"" + k_seed_url + "\"\n",
        "  max: 50, // v6 connection_limit; default: 10\n",
        "  connectionTimeoutMillis: 30000,\n",
        "  application_name: \"poolcalc-sized\", // default: none\n",
        "const prisma = new PrismaClient({ adapter });\n\nmodule.exports = { prisma };\n" } },
    { "node-postgres",
      { "  max: 50, // default: 10\n",
        "  connectionTimeoutMillis: 30000,\n",
        "  application_name: \"poolcalc-sized\", // default: none\n",
        "const pg = require(\"pg\");\n",
        "module.exports = { pool };\n" } },
    { "hikaricp",
      { "maximumPoolSize=50\n",
        "connectionTimeout=30000\n",
        "dataSource.connectTimeout=10\n",
        "password=postgrespassword\n",
        "dataSource.ApplicationName=poolcalc-sized\n",
        "dataSource.assumeMinServerVersion=9.0\n" } },
    { "sqlalchemy",
      { "    pool_size=50,  # default: 5\n",
        "    max_overflow=0,  # default: 10\n",
        "    pool_timeout=30,  # default: 30\n",
        "    connect_args={\"application_name\": \"poolcalc-sized\", \"connect_timeout\": 10},\n" } },
    { "go-database-sql",
      { "\tdb.SetMaxOpenConns(50) // default: 0 (unlimited)\n",
        "context.WithTimeout(ctx, 30*time.Second)",
        "\tconfig.RuntimeParams[\"application_name\"] = \"poolcalc-sized\" // default: none\n",
        "\tconfig.ConnectTimeout = 10 * time.Second\n",
        "\t\"github.com/jackc/pgx/v5/stdlib\"\n",
        "DATABASE_URL=\"" + k_seed_url + "\"\n" } },
    { "pgx",
      { "DATABASE_URL=\"" + k_seed_url + "\"\n",
        "\tconfig.MaxConns = 50 // default: max(4, runtime.NumCPU())\n",
        "\tconfig.ConnConfig.ConnectTimeout = 10 * time.Second\n",
        "\tconfig.ConnConfig.RuntimeParams[\"application_name\"] = \"poolcalc-sized\" // default: none\n",
        "\treturn pgxpool.NewWithConfig(ctx, config)\n" } },
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

TEST_CASE("config: prisma 6 through PgBouncer")
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
                                          "--prisma-version",
                                          "6",
                                          "--database-url",
                                          "postgresql://app:s3cret@db.internal:5432/chat" };
  const Result r = run_poolcalc(args);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out,
                 "\nDATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10&application_name=poolcalc-sized\"\n"));
  CHECK(contains(r.out, "\n# point DATABASE_URL at its host and port (listen_port 6432 there), and add pgbouncer=true.\n"));
  CHECK(contains(r.out, "DIRECT_URL=\"postgresql://app:s3cret@db.internal:5432/chat\"\n"));
  CHECK(contains(r.out, "  directUrl = env(\"DIRECT_URL\")\n"));
  CHECK_FALSE(contains(r.out, "127.0.0.1"));

  std::vector<std::string> newer = args;
  newer.insert(newer.end(), { "--pgbouncer-version", "1.21.0" });
  const Result r121 = run_poolcalc(newer);
  CHECK(r121.exit_code == 0);
  CHECK(contains(r121.out,
                 "DATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?connection_limit=30&pool_timeout=30&connect_timeout=10"
                 "&application_name=poolcalc-sized\"\n"));
  CHECK(contains(r121.out, "\n# point DATABASE_URL at its host and port (listen_port 6432 there).\n"));

  // PgBouncer's own address given (its port 6432): kept, with pgbouncer=true; no DIRECT_URL invented.
  std::vector<std::string> pooler = args;
  pooler.back() = "postgresql://app:s3cret@pgbouncer.internal:6432/chat";
  const Result p = run_poolcalc(pooler);
  CHECK(p.exit_code == 0);
  CHECK(contains(p.out,
                 "\nDATABASE_URL=\"postgresql://app:s3cret@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10&application_name=poolcalc-sized\"\n"));
  CHECK(contains(p.out, "so add DIRECT_URL=\"...\" yourself.\n"));
  CHECK_FALSE(contains(p.out, "\nDIRECT_URL="));
}

TEST_CASE("config: prisma 7 through PgBouncer: the CLI's URL in prisma.config.ts, no pgbouncer=true")
{
  // The same load as above (30 per instance through PgBouncer); Prisma 7's adapter reads no URL
  // parameter, and its CLI takes the server's own URL from prisma.config.ts.
  const Result r = run_poolcalc({ "config",
                                  "--for",
                                  "prisma",
                                  "--vus",
                                  "400",
                                  "--query-ms",
                                  "80",
                                  "--instances",
                                  "6",
                                  "--database-url",
                                  "postgresql://app:s3cret@db.internal:5432/chat?connection_limit=9" });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\nDATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat\"\n"));
  CHECK(contains(r.out, "\nDIRECT_URL=\"postgresql://app:s3cret@db.internal:5432/chat\"\n"));
  CHECK(contains(r.out, "\n// file: prisma.config.ts\n"));
  CHECK(contains(r.out, "    url: env(\"DIRECT_URL\"),\n"));
  CHECK(contains(r.out, "datasource db {\n  provider = \"postgresql\"\n}\n"));
  CHECK(contains(r.out, "  max: 30, // v6 connection_limit; default: 10\n"));
  CHECK_FALSE(contains(r.out, "connection_limit=")); // the user's Prisma 6 parameter is not carried over
  CHECK_FALSE(contains(r.out, "pgbouncer=true\""));
}

TEST_CASE("config: versions, module system and application_name")
{
  // --module esm: an .mjs file with import/export, whatever package.json says.
  const Result esm = seed_config("node-postgres", { "--module", "esm" });
  CHECK(esm.exit_code == 0);
  CHECK(contains(esm.out, "\n// file: pool.mjs\n"));
  CHECK(contains(esm.out, "import pg from \"pg\";\n\nexport const pool = new pg.Pool({\n"));
  CHECK_FALSE(contains(esm.out, "require("));
  const Result prisma_esm = seed_config("prisma", { "--module", "esm" });
  CHECK(contains(prisma_esm.out, "\n// file: prisma.mjs\n"));
  CHECK(contains(prisma_esm.out, "import prismaClient from \"@prisma/client\";\n"));
  CHECK(contains(prisma_esm.out, "export const prisma = new PrismaClient({ adapter });\n"));

  // --app names the application everywhere; a URL's own application_name follows it.
  const Result app = run_poolcalc({ "config",
                                    "--for",
                                    "node-postgres",
                                    "--vus",
                                    "120",
                                    "--query-ms",
                                    "150",
                                    "--app",
                                    "chat-api",
                                    "--database-url",
                                    k_seed_url + "?application_name=old" });
  CHECK(contains(app.out, "  application_name: \"chat-api\", // default: none\n"));
  CHECK(contains(app.out, "DATABASE_URL=\"" + k_seed_url + "?application_name=chat-api\"\n"));
  // Without --app, the URL's own name is the default.
  const Result url_name = seed_config("hikaricp", {});
  CHECK(contains(url_name.out, "dataSource.ApplicationName=poolcalc-sized\n"));
  const Result named = run_poolcalc(
    { "config", "--for", "sqlalchemy", "--vus", "120", "--query-ms", "150", "--database-url", k_seed_url + "?application_name=billing" });
  CHECK(contains(named.out, "connect_args={\"application_name\": \"billing\""));

  // pgx v4 (Debian 12's): its own API.
  const Result v4 = seed_config("pgx", { "--pgx-version", "4" });
  CHECK(contains(v4.out, "\t\"github.com/jackc/pgx/v4/pgxpool\"\n"));
  CHECK(contains(v4.out, "\treturn pgxpool.ConnectConfig(ctx, config)\n"));
  const Result sql4 = seed_config("go-database-sql", { "--pgx-version", "4" });
  CHECK(contains(sql4.out, "\t\"github.com/jackc/pgx/v4/stdlib\"\n"));
  CHECK(contains(sql4.out, "\tdb := stdlib.OpenDB(*config)\n"));
}

TEST_CASE("config: --package-json")
{
  char dir_template[] = "/tmp/poolcalc-package-json-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::filesystem::path dir = dir_template;
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  // A Prisma 6 project in ES modules: the URL parameters, and the module system read.
  const std::string v6 = write("v6.json", R"({"type": "module", "dependencies": {"@prisma/client": "^6.19.0"}})");
  const Result r6 = seed_config("prisma", { "--package-json", v6 });
  CHECK(r6.exit_code == 0);
  CHECK(contains(r6.out, "?connection_limit=50&pool_timeout=30&connect_timeout=10&application_name=poolcalc-sized\"\n"));
  // A flag given wins over the file.
  const Result r7 = seed_config("prisma", { "--package-json", v6, "--prisma-version", "7" });
  CHECK(contains(r7.out, "\n// file: prisma.mjs\n"));
  // A default `npm init` project: CommonJS, Prisma 7 from devDependencies' prisma.
  const std::string cjs = write("cjs.json", R"({"name": "x", "devDependencies": {"prisma": "7.10.0"}})");
  const Result c = seed_config("node-postgres", { "--package-json", cjs });
  CHECK(contains(c.out, "\n// file: pool.js\n"));
  const std::string esm = write("esm.json", R"({"type": "module"})");
  CHECK(contains(seed_config("node-postgres", { "--package-json", esm }).out, "\n// file: pool.mjs\n"));

  check_usage_error({ "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--package-json", write("bad.json", "{") },
                    "--package-json: " + (dir / "bad.json").string() + ": not valid JSON");
  check_usage_error({ "config",
                      "--for",
                      "prisma",
                      "--vus",
                      "120",
                      "--query-ms",
                      "150",
                      "--package-json",
                      write("old.json", R"({"dependencies": {"@prisma/client": "^3.15.0"}})") },
                    "--package-json: " + (dir / "old.json").string() +
                      " asks for Prisma 3; poolcalc writes for Prisma 4 to 7: give --prisma-version");
  check_usage_error(
    { "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--package-json", write("type.json", R"({"type": 1})") },
    "--package-json: " + (dir / "type.json").string() + ": \"type\" must be \"module\" or \"commonjs\"");
  check_usage_error({ "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--package-json", (dir / "none.json").string() },
                    "--package-json: cannot read '" + (dir / "none.json").string() + "': no such file");
  const auto package_error = [&](const std::string& name, const std::string& json, const std::string& message) {
    check_usage_error({ "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--package-json", write(name, json) },
                      "--package-json: " + (dir / name).string() + ": " + message);
  };
  package_error("array.json", "[]", "not a JSON object");
  package_error("deps.json", R"({"dependencies": []})", "\"dependencies\" must be an object");
  package_error("range.json", R"({"dependencies": {"prisma": 7}})", "\"dependencies\".\"prisma\" must be a version range (a string)");
  // package.json only tells the node targets anything.
  check_usage_error({ "config", "--for", "sqlalchemy", "--vus", "120", "--query-ms", "150", "--package-json", write("ok.json", "{}") },
                    "--package-json: only with --for node-postgres or prisma, not --for sqlalchemy");
  std::filesystem::remove_all(dir);
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
  // 120 x 0.70 x 0.200 = 16.8 -> 17 x 3 + 10 = 61 -> 70 > the 20 available, and no option of the
  // advisor's works (tests/cli/test_cli.cpp, "exit 3 when the plan breaks a hard limit ...").
  const Result r = run_poolcalc({ "config",
                                  "--for",
                                  "node-postgres",
                                  "--vus",
                                  "120",
                                  "--query-ms",
                                  "200",
                                  "--max-connections",
                                  "500",
                                  "--reserve",
                                  "other_apps=480",
                                  "--database-url",
                                  "postgresql://app:S3CRET@localhost/db" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "  max: 70, // default: 10\n"));
  CHECK(contains(r.out, "S3CRET")); // the snippet the user asked for
  CHECK(contains(r.err,
                 "poolcalc: fail: pool.exceeds_available: a pool of 70 exceeds the 20 available (max_connections 500 - reserved 480)\n"));
}

TEST_CASE("config --for postgresql-conf: --postgres-version is the server's version, and the reserve it counts")
{
  // With PostgreSQL 15 the replication reserve takes no slot: 50 + 40 reserved = 90 needed.
  const Result r = run_poolcalc({ "config", "--for", "postgresql-conf", "--vus", "120", "--query-ms", "150", "--postgres-version", "15" });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "# PostgreSQL 15. "));
  CHECK(contains(r.out, "# 50 + 40 = 90 needed.\n"));
  check_usage_error(
    { "config", "--for", "postgresql-conf", "--vus", "120", "--query-ms", "150", "--postgres-version", "12", "--server-version", "16" },
    "--server-version: 16 disagrees with --postgres-version 12; give one of them");
}

TEST_CASE("config: generated code that compiles as written")
{
  // Go refuses an unused import: with --pool-timeout 0 and --connect-timeout 0 pgx's db.go
  // uses no time (database/sql's always does: SetConnMaxLifetime(time.Hour)).
  const Result sql = run_poolcalc({ "config", "--for", "go-database-sql", "--vus", "120", "--query-ms", "150", "--pool-timeout", "0" });
  REQUIRE(sql.exit_code == 0);
  CHECK(sql.out.find("context.WithTimeout") == std::string::npos);
  const Result pgx =
    run_poolcalc({ "config", "--for", "pgx", "--vus", "120", "--query-ms", "150", "--pool-timeout", "0", "--connect-timeout", "0" });
  REQUIRE(pgx.exit_code == 0);
  CHECK(pgx.out.find("\t\"time\"\n") == std::string::npos);
  CHECK(pgx.out.find("time.Second") == std::string::npos);
  const Result timed = run_poolcalc({ "config", "--for", "pgx", "--vus", "120", "--query-ms", "150" });
  CHECK(timed.out.find("\t\"time\"\n") != std::string::npos); // used by WithPoolTimeout
  // Only PgBouncer before 1.21 needs pgx's own package in pgxpool's db.go (QueryExecModeExec).
  CHECK(timed.out.find("\t\"github.com/jackc/pgx/v5\"\n") == std::string::npos);
  const Result old = run_poolcalc({ "config", "--for", "pgx", "--vus", "400", "--query-ms", "80", "--instances", "6" });
  CHECK(old.out.find("\t\"github.com/jackc/pgx/v5\"\n") != std::string::npos);
  CHECK(old.out.find("\tconfig.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec\n") != std::string::npos);
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
  for (const std::vector<std::string>& command : { std::vector<std::string>{ "config", "--for", "prisma", "--prisma-version", "6" },
                                                   std::vector<std::string>{ "env", "--for", "prisma", "--prisma-version", "6" } }) {
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
  // For any other client the URL loses Prisma's parameter (psql refuses it), keeping its address.
  const Result any = run_poolcalc({ "env", "--vus", "400", "--query-ms", "80", "--instances", "6", "--database-url", url });
  CHECK(contains(any.out, "\nDATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n"));
  CHECK_FALSE(contains(any.out, "\nDIRECT_URL="));
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
  CHECK(contains(r.out, "\nDATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n"));
  CHECK(contains(r.out, "\nDIRECT_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n"));

  std::vector<std::string> pooler = load;
  pooler.push_back("postgresql://app:pw@pgbouncer.internal:6432/chat");
  const Result p = run_poolcalc(pooler);
  CHECK(p.exit_code == 0);
  CHECK(p.err == "poolcalc: note: DATABASE_URL points at PgBouncer (pgbouncer.internal:6432), as given: DIRECT_URL, Prisma's direct "
                 "connection for migrations, must be the database server's own address, which poolcalc does not know and does not "
                 "write\n");
  CHECK(contains(p.out, "\nDATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat\"\n"));
  std::vector<std::string> prisma6 = pooler;
  prisma6.insert(prisma6.begin() + 1, { "--for", "prisma", "--prisma-version", "6" });
  const Result p6 = run_poolcalc(prisma6);
  CHECK(contains(p6.out,
                 "\nDATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=30&pool_timeout=30"
                 "&connect_timeout=10\"\n"));
}

TEST_CASE("env --for CLIENT: the line that reads each pool variable, Prisma 6's URL parameters")
{
  const std::vector<std::string> load = { "--vus", "120", "--query-ms", "150", "--database-url", k_seed_url + "?connection_limit=9" };
  const auto env = [&](std::vector<std::string> head) {
    head.insert(head.begin(), "env");
    head.insert(head.end(), load.begin(), load.end());
    return run_poolcalc(head);
  };
  // Any client: Prisma's connection_limit goes (psql: invalid URI query parameter).
  const Result any = env({});
  CHECK(any.exit_code == 0);
  CHECK(contains(any.out, "\nDATABASE_URL=\"" + k_seed_url + "\"\n"));
  CHECK(contains(any.out, "# Your application's own settings (no library reads these variables by itself):\n"));
  // The seed's pool of 50, 10 s and 30 s: the values stay, each with the line that reads it.
  const Result sql = env({ "--for", "sqlalchemy" });
  CHECK(contains(sql.out, "# read by create_engine(...): pool_size=int(os.environ[\"DATABASE_POOL_SIZE\"]),\nDATABASE_POOL_SIZE=50\n"));
  const Result go = env({ "--for", "pgx" });
  CHECK(contains(go.out, "config.MaxConns = int32(n)\nDATABASE_POOL_SIZE=50\n"));
  const Result java = env({ "--for", "hikaricp" });
  CHECK(contains(java.out, "# HikariCP does not read DATABASE_URL"));
  const Result prisma7 = env({ "--for", "prisma" });
  CHECK(contains(prisma7.out, "\nDATABASE_URL=\"" + k_seed_url + "\"\n"));
  CHECK(contains(prisma7.out, "# read by new PrismaPg({...}): max: Number(process.env.DATABASE_POOL_SIZE),\n"));
  const Result prisma6 = env({ "--for", "prisma", "--prisma-version", "6" });
  CHECK(contains(prisma6.out, "\nDATABASE_URL=\"" + k_seed_url + "?connection_limit=50&pool_timeout=30&connect_timeout=10\"\n"));

  const std::vector<std::string> small = { "--vus", "120", "--query-ms", "150" };
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), small.begin(), small.end());
    return args;
  };
  check_usage_error(with({ "env", "--for", "pgbouncer" }),
                    "--for: `poolcalc env` takes a client library: prisma, node-postgres, hikaricp, sqlalchemy, go-database-sql, pgx; "
                    "got 'pgbouncer' (poolcalc config --for pgbouncer)");
  check_usage_error(with({ "env", "--for", "mysql" }),
                    "--for: `poolcalc env` takes a client library: prisma, node-postgres, hikaricp, sqlalchemy, go-database-sql, pgx; "
                    "got 'mysql'");
  check_usage_error(with({ "env", "--prisma-version", "6" }), "--prisma-version: only with --for prisma");
  check_usage_error(with({ "env", "--for", "prisma", "--prisma-version", "3" }),
                    "--prisma-version: expected a Prisma ORM major from 4 to 7, got '3'");
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
  check_usage_error(with({ "config", "--for", "prisma", "--prisma-version", "8" }),
                    "--prisma-version: expected a Prisma ORM major from 4 to 7, got '8'");
  check_usage_error(with({ "config", "--for", "node-postgres", "--prisma-version", "6" }),
                    "--prisma-version: only with --for prisma, not --for node-postgres");
  check_usage_error(with({ "config", "--for", "node-postgres", "--module", "amd" }),
                    "--module: expected cjs (CommonJS: require) or esm (ES modules: import), got 'amd'");
  check_usage_error(with({ "config", "--for", "sqlalchemy", "--module", "esm" }),
                    "--module: only with --for node-postgres or prisma, not --for sqlalchemy");
  check_usage_error(with({ "config", "--for", "pgx", "--pgx-version", "3" }), "--pgx-version: expected 4 or 5, got '3'");
  check_usage_error(with({ "config", "--for", "hikaricp", "--pgx-version", "4" }),
                    "--pgx-version: only with --for go-database-sql or pgx, not --for hikaricp");
  check_usage_error(with({ "config", "--for", "hikaricp", "--app", "my app" }),
                    "--app: expected 1-63 letters, digits, '.', '_' or '-' (it is written into every snippet as is), got 'my app'");
  check_usage_error(with({ "config", "--for", "postgresql-conf", "--app", "x" }),
                    "--app: --for postgresql-conf sets no application_name; it is for the client targets");
  // Validation comes first: a bad target is named even when the load is missing too.
  check_usage_error({ "config", "--for", "mysql" }, "--for: unknown target 'mysql'; expected one of " + k_targets);
  // The sizing flags are checked as everywhere else, the password masked.
  check_usage_error(
    { "config", "--for", "prisma", "--vus", "120", "--query-ms", "150", "--database-url", "postgresql://app:S3CRET@h:0/db" },
    "--database-url: invalid port '0' (expected 1-65535)");
}

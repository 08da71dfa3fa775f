#include "poolcalc/client_config.hpp"
#include "poolcalc/emit_pgbouncer.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

using namespace poolcalc;

namespace {

// The seed's DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

// A file of a rendered config, by name. Not on a temporary vector: the reference would outlive it
// (an AddressSanitizer stack-use-after-scope); keep the files in a variable first.
const ConfigFile& file(std::vector<ConfigFile>&& files, std::string_view name) = delete;
const ConfigFile& file(const std::vector<ConfigFile>& files, std::string_view name)
{
  for (const ConfigFile& f : files) {
    if (f.name == name) {
      return f;
    }
  }
  FAIL("no file " << name);
  return files.front();
}

// A copy of the text of a rendered config's file: safe on a temporary vector.
std::string content_of(const std::vector<ConfigFile>& files, std::string_view name)
{
  return file(files, name).content;
}

// The seed's plan, written out by hand: 120 VUs x 0.70 x 0.150 s = 12.6 -> 13 x 3 + 10 = 49 -> a
// pool of 50; DATABASE_POOL_TIMEOUT=30 and DATABASE_CONNECTION_TIMEOUT=10; max_connections 100 with
// the seed's reserve (other_apps 20, admin 10, superuser 10, replication 10).
// Prisma 6's output (URL parameters).
ConfigOptions prisma6()
{
  ConfigOptions options;
  options.prisma_major = 6;
  return options;
}

ConfigInput seed_input()
{
  ConfigInput input;
  input.headline = "120 VUs, 150 ms per query -> pool of 50 per instance";
  input.pool_size = 50;
  input.instances = 1;
  input.pool_timeout_s = 30;
  input.connect_timeout_s = 10;
  input.server_url = *DatabaseUrl::parse(k_seed_url);
  input.prisma_default_connection_limit = "physical CPUs x 2 + 1";
  input.prisma_default_pool_timeout_s = 10;   // Prisma docs, "Connection pool"
  input.prisma_default_connect_timeout_s = 5; // Prisma docs, "Connection pool"
  input.max_connections = 100;
  input.reserved = { { "other_apps", 20 }, { "admin", 10 }, { "superuser", 10 }, { "replication", 10 } };
  input.server_connections = 50; // 50 per instance x 1 instance
  input.server_connections_source = "50 per instance x 1 instance";
  input.superuser_reserved_default = 3;  // PostgreSQL docs, superuser_reserved_connections
  input.wal_senders_separate_since = 12; // PostgreSQL 12 release notes: WAL senders no longer take max_connections slots
  return input;
}

// The same application behind PgBouncer (the seed's pgbouncer.ini listens on 127.0.0.1:6432), a
// remote server, PgBouncer holding 50 + 10 server connections. The URL given is the server's.
ConfigInput pooled_input()
{
  ConfigInput input = seed_input();
  input.server_url = *DatabaseUrl::parse("postgresql://app:s3cret@db.internal:5432/chat?sslmode=require");
  input.pgbouncer = PoolerEndpoint{ "127.0.0.1", 6432 };
  input.server_connections = 60;
  input.server_connections_source = "PgBouncer's default_pool_size 50 + reserve_pool_size 10";
  return input;
}

// The same, with PgBouncer's own address given instead (its listen_port 6432).
ConfigInput pooler_url_input()
{
  ConfigInput input = pooled_input();
  input.server_url = *DatabaseUrl::parse("postgresql://app:s3cret@pgbouncer.internal:6432/chat?sslmode=require");
  return input;
}

// What every snippet says when the URL given is still the server's.
const std::string k_pending = "# DATABASE_URL still points at the database server (db.internal:5432), as given: poolcalc does not know\n"
                              "# PgBouncer's address. Once PgBouncer runs (poolcalc pgbouncer writes its pgbouncer.ini),\n"
                              "# point DATABASE_URL at its host and port (listen_port 6432 there)";

} // namespace

TEST_CASE("parse_pgbouncer_version")
{
  SUBCASE("three parts, two parts")
  {
    CHECK(*parse_pgbouncer_version("1.18.0") == PgBouncerVersion{ 1, 18, 0 });
    CHECK(*parse_pgbouncer_version("1.21") == PgBouncerVersion{ 1, 21, 0 });
    CHECK(to_string(*parse_pgbouncer_version("1.24.1")) == "1.24.1");
  }
  SUBCASE("ordering against 1.21.0, where Prisma stops needing pgbouncer=true")
  {
    CHECK(*parse_pgbouncer_version("1.20.9") < k_pgbouncer_prepared_statements);
    CHECK_FALSE(*parse_pgbouncer_version("1.21.0") < k_pgbouncer_prepared_statements);
    CHECK_FALSE(*parse_pgbouncer_version("2.0") < k_pgbouncer_prepared_statements);
  }
  SUBCASE("junk")
  {
    for (const char* bad : { "", "1", "1.", ".1", "1.x", "1.18.0.1", "v1.18", "1.18.0-rc1", "1..0", "99999.1", " 1.18" }) {
      INFO(bad);
      const auto parsed = parse_pgbouncer_version(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error() == "expected a PgBouncer version such as 1.18.0 or 1.21, got '" + std::string(bad) + "'");
    }
  }
}

TEST_CASE("parse_server_version")
{
  CHECK(*parse_server_version("15") == 15);
  CHECK(*parse_server_version("16") == 16);
  for (const char* bad : { "", "9", "9.6", "16.1", "100", "-16", "x" }) {
    INFO(bad);
    const auto parsed = parse_server_version(bad);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == "expected a PostgreSQL major version, 10-99 (such as 15), got '" + std::string(bad) + "'");
  }
}

TEST_CASE("config_input")
{
  SUBCASE("the seed's plan")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url } });
    const ConfigInput input = config_input(p, builtin_rules());
    // seed: pool 50, DATABASE_POOL_TIMEOUT=30, DATABASE_CONNECTION_TIMEOUT=10, direct.
    CHECK(input.pool_size == 50);
    CHECK(input.pool_timeout_s == 30);
    CHECK(input.connect_timeout_s == 10);
    CHECK_FALSE(input.pgbouncer.has_value());
    CHECK(input.server_connections == 50);
    CHECK(input.max_connections == 100);
    CHECK(input.reserved.size() == 4);
    CHECK(input.headline == "120 VUs, 150 ms per query -> pool of 50 per instance");
    // The Prisma URL is the one `env` writes (application_url) when no pooler is involved.
    CHECK(prisma_url(input, k_default_pgbouncer_version)->to_string() == application_url(p)->to_string());
  }
  SUBCASE("six instances go through PgBouncer")
  {
    // seed trigger: instances > 5. 400 x 0.70 x 0.080 = 22.4 / 6 = 3.73 -> 4 x 3 + 10 = 22 -> 30.
    const Plan p = test::plan({ { "vus", "400" }, { "query_ms", "80" }, { "instances", "6" }, { "database_url", k_seed_url } });
    const ConfigInput input = config_input(p, builtin_rules());
    CHECK(input.pool_size == 30);
    REQUIRE(input.pgbouncer.has_value());
    CHECK(input.pgbouncer->host == "127.0.0.1"); // rules: listen_addr
    CHECK(input.pgbouncer->port == 6432);        // rules: listen_port
    // PostgreSQL sees PgBouncer's pool, not 30 x 6.
    CHECK(input.server_connections == p.pgbouncer->server_connections);
    // The server's URL stays the server's, as application_url keeps it: no pgbouncer=true.
    CHECK(prisma_url(input, PgBouncerVersion{ 1, 18, 0 })->to_string() == application_url(p)->to_string());
    CHECK(contains(application_url(p)->to_string(), "@localhost:5432/"));
  }
  SUBCASE("PgBouncer's URL given: the same as application_url, pgbouncer=true below 1.21.0")
  {
    const Plan p = test::plan({ { "vus", "400" },
                                { "query_ms", "80" },
                                { "instances", "6" },
                                { "database_url", "postgresql://postgres:postgrespassword@localhost:6432/chat_backend_db" } });
    const ConfigInput input = config_input(p, builtin_rules());
    CHECK(url_reaches_pgbouncer(input));
    CHECK(prisma_url(input, PgBouncerVersion{ 1, 18, 0 })->to_string() == application_url(p)->to_string());
    CHECK(contains(application_url(p)->to_string(), "@localhost:6432/chat_backend_db?pgbouncer=true&"));
  }
}

TEST_CASE("render_config_prisma: Prisma 6, the URL parameters")
{
  SUBCASE("direct: DATABASE_URL with the pool parameters, no directUrl")
  {
    const auto files = render_config_prisma(seed_input(), prisma6());
    REQUIRE(files.size() == 2);
    const std::string& env = file(files, ".env").content;
    CHECK(contains(env,
                   "DATABASE_URL=\"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db"
                   "?connection_limit=50&pool_timeout=30&connect_timeout=10&application_name=poolcalc-sized\"\n"));
    // Prisma's defaults beside the values (seconds, as Prisma reads them).
    CHECK(contains(env, "connection_limit=50  (default: physical CPUs x 2 + 1)"));
    CHECK(contains(env, "pool_timeout=30  (seconds; default: 10)"));
    CHECK(contains(env, "connect_timeout=10  (seconds; default: 5)"));
    CHECK_FALSE(contains(env, "DIRECT_URL"));
    CHECK_FALSE(contains(env, "pgbouncer=true"));
    const std::string& schema = file(files, "schema.prisma").content;
    // The whole datasource block: no directUrl line.
    CHECK(contains(schema, "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n"));
  }
  SUBCASE("through PgBouncer 1.18 (the default), the server's URL: its address kept, no pgbouncer=true, what to do")
  {
    const auto files = render_config_prisma(pooled_input(), prisma6());
    const std::string& env = file(files, ".env").content;
    CHECK(contains(env, "# poolcalc: 120 VUs, 150 ms per query -> pool of 50 per instance (through PgBouncer)\n"));
    CHECK(contains(env,
                   k_pending + ", and add pgbouncer=true.\n"
                               "# DIRECT_URL is the server's, for `prisma migrate` and the other CLI commands, which need a\n"
                               "# session of their own.\n"));
    CHECK(contains(env,
                   "DATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?sslmode=require"
                   "&connection_limit=50&pool_timeout=30&connect_timeout=10&application_name=poolcalc-sized\"\n"));
    CHECK(contains(env, "DIRECT_URL=\"postgresql://app:s3cret@db.internal:5432/chat?sslmode=require\"\n"));
    CHECK(contains(env, "# pgbouncer=true: PgBouncer 1.18.0 is older than 1.21.0"));
    const std::string& schema = file(files, "schema.prisma").content;
    // Not the seed's directUrl = env("DATABASE_URL").
    CHECK(contains(schema, "  directUrl = env(\"DIRECT_URL\")\n"));
    CHECK(contains(schema, "prisma.config.ts"));
  }
  SUBCASE("through PgBouncer 1.18, PgBouncer's URL: its address kept, pgbouncer=true, DIRECT_URL left to the user")
  {
    const auto env_files = render_config_prisma(pooler_url_input(), prisma6());
    const std::string& env = file(env_files, ".env").content;
    CHECK(contains(env, "(through PgBouncer at pgbouncer.internal:6432)\n"));
    CHECK(contains(env,
                   "DATABASE_URL=\"postgresql://app:s3cret@pgbouncer.internal:6432/chat?sslmode=require&pgbouncer=true"
                   "&connection_limit=50&pool_timeout=30&connect_timeout=10&application_name=poolcalc-sized\"\n"));
    CHECK(contains(env,
                   "# DATABASE_URL points at PgBouncer (pgbouncer.internal:6432), as given. DIRECT_URL must point at the database\n"
                   "# server, for `prisma migrate` and the other CLI commands, which need a session of their own:\n"
                   "# poolcalc does not know the server's address, so add DIRECT_URL=\"...\" yourself.\n"));
    CHECK_FALSE(contains(env, "\nDIRECT_URL="));
  }
  SUBCASE("through PgBouncer 1.21.0: no pgbouncer=true, even when the user's URL had it")
  {
    ConfigInput input = pooled_input();
    input.server_url = *DatabaseUrl::parse("postgresql://app:s3cret@db.internal/chat?pgbouncer=true");
    const auto files = render_config_prisma(input, { PgBouncerVersion{ 1, 21, 0 }, 15, 6 });
    const std::string& env = file(files, ".env").content;
    // pgbouncer=true marks the URL as PgBouncer's: its address is kept.
    CHECK(contains(env,
                   "DATABASE_URL=\"postgresql://app:s3cret@db.internal/chat?connection_limit=50&pool_timeout=30&connect_timeout=10"
                   "&application_name=poolcalc-sized\"\n"));
    CHECK(contains(env, "# No pgbouncer=true: PgBouncer 1.21.0"));
  }
  SUBCASE("no URL: the parameters to add")
  {
    ConfigInput input = seed_input();
    input.server_url.reset();
    const auto env_files = render_config_prisma(input, prisma6());
    const std::string& env = file(env_files, ".env").content;
    CHECK(contains(env,
                   "# No --database-url given: add to your DATABASE_URL: "
                   "?connection_limit=50&pool_timeout=30&connect_timeout=10&application_name=poolcalc-sized\n"));
    CHECK_FALSE(contains(env, "DATABASE_URL=\""));
  }
}

TEST_CASE("render_config_prisma: Prisma 7, the PrismaPg adapter's pg.Pool")
{
  // Prisma's v7 "Connection pool" table: connection_limit -> max, pool_timeout and connect_timeout
  // -> connectionTimeoutMillis (ms). The seed's 50 and 30 s = 30000 ms.
  SUBCASE("direct: a URL without parameters, the pool in prisma.js, the CLI's URL in prisma.config.ts")
  {
    ConfigInput input = seed_input();
    input.server_url = *DatabaseUrl::parse(k_seed_url + "?connection_limit=9&pool_timeout=2&sslmode=require");
    const auto files = render_config_prisma(input, {});
    REQUIRE(files.size() == 4);
    CHECK(contains(file(files, ".env").content, "DATABASE_URL=\"" + k_seed_url + "?sslmode=require\"\n"));
    const std::string& js = file(files, "prisma.js").content;
    CHECK(contains(js, "const { PrismaPg } = require(\"@prisma/adapter-pg\");\n"));
    CHECK(contains(js, "  connectionString: process.env.DATABASE_URL,\n"));
    CHECK(contains(js, "  max: 50, // v6 connection_limit; default: 10\n"));
    CHECK(contains(js, "  connectionTimeoutMillis: 30000,\n"));
    CHECK(contains(js, "  application_name: \"poolcalc-sized\", // default: none\n"));
    CHECK(contains(js, "module.exports = { prisma };\n"));
    CHECK(contains(file(files, "prisma.config.ts").content, "    url: env(\"DATABASE_URL\"),\n"));
    CHECK(contains(file(files, "schema.prisma").content, "datasource db {\n  provider = \"postgresql\"\n}\n"));
  }
  SUBCASE("through PgBouncer: DIRECT_URL for the CLI, no pgbouncer=true")
  {
    const auto files = render_config_prisma(pooled_input(), {});
    CHECK(contains(file(files, ".env").content, "DIRECT_URL=\"postgresql://app:s3cret@db.internal:5432/chat?sslmode=require\"\n"));
    CHECK(contains(file(files, "prisma.config.ts").content, "    url: env(\"DIRECT_URL\"),\n"));
    CHECK_FALSE(contains(file(files, ".env").content, "pgbouncer=true\""));
  }
  SUBCASE("the URL's schema becomes PrismaPg's schema option")
  {
    ConfigInput input = seed_input();
    input.server_url = *DatabaseUrl::parse(k_seed_url + "?schema=chat%22app");
    const auto files = render_config_prisma(input, {});
    CHECK(contains(file(files, "prisma.js").content, "}, { schema: \"chat\\\"app\" });\n"));
  }
  SUBCASE("an ES module: prisma.mjs")
  {
    ConfigOptions options;
    options.module = JsModule::esm;
    const auto files = render_config_prisma(seed_input(), options);
    const std::string& js = file(files, "prisma.mjs").content;
    CHECK(contains(js, "import prismaClient from \"@prisma/client\";\n"));
    CHECK(contains(js, "export const prisma = new PrismaClient({ adapter });\n"));
    CHECK_FALSE(contains(js, "require("));
  }
}

TEST_CASE("parse_package_json")
{
  const auto facts = [](std::string_view text) { return parse_package_json(text); };
  CHECK(facts(R"({"dependencies": {"@prisma/client": "^7.10.0"}})")->prisma_major == 7);
  CHECK(facts(R"({"dependencies": {"@prisma/client": "~6.2.1"}, "devDependencies": {"prisma": "^7"}})")->prisma_major == 6);
  CHECK(facts(R"({"devDependencies": {"prisma": ">=5.0.0 <6"}})")->prisma_major == 5);
  CHECK(facts(R"({"dependencies": {"@prisma/client": "latest"}})")->prisma_major == std::nullopt);
  CHECK(facts(R"({"dependencies": {"@prisma/client": "*"}})")->prisma_major == std::nullopt);
  CHECK(facts(R"({"name": "app"})")->module == std::nullopt);
  CHECK(facts(R"({"type": "module"})")->module == JsModule::esm);
  CHECK(facts(R"({"type": "commonjs"})")->module == JsModule::commonjs);
  CHECK(facts("{").error() == "not valid JSON");
  CHECK(facts("[]").error() == "not a JSON object");
  CHECK(facts(R"({"type": "amd"})").error() == "\"type\" must be \"module\" or \"commonjs\"");
  CHECK(facts(R"({"dependencies": []})").error() == "\"dependencies\" must be an object");
  CHECK(facts(R"({"dependencies": {"prisma": 7}})").error() == "\"dependencies\".\"prisma\" must be a version range (a string)");
}

TEST_CASE("without_client_params and valid_application_name")
{
  // psql refuses Prisma's and pgx's parameters; libpq's own (sslmode, connect_timeout,
  // application_name) stay.
  const auto url = *DatabaseUrl::parse("postgresql://h/db?connection_limit=5&sslmode=require&pgbouncer=true&pool_max_conns=9"
                                       "&connect_timeout=3&pool_timeout=1&application_name=x");
  CHECK(without_client_params(url).to_string() == "postgresql://h/db?sslmode=require&connect_timeout=3&application_name=x");
  // Prisma's pool lifetimes (quaint's URL parser) go too; its schema stays (not a pool setting).
  CHECK(without_client_params(*DatabaseUrl::parse("postgresql://h/db?max_connection_lifetime=60&schema=app"
                                                  "&max_idle_connection_lifetime=30"))
          .to_string() == "postgresql://h/db?schema=app");
  CHECK(valid_application_name("chat-api_2.0"));
  CHECK(valid_application_name(std::string(63, 'a')));
  CHECK_FALSE(valid_application_name(std::string(64, 'a'))); // NAMEDATALEN - 1 = 63 bytes
  CHECK_FALSE(valid_application_name(""));
  CHECK_FALSE(valid_application_name("my app"));
  CHECK_FALSE(valid_application_name("a\"b"));
}

TEST_CASE("render_config_node_postgres")
{
  SUBCASE("an ES module: pool.mjs with import and export")
  {
    ConfigOptions options;
    options.module = JsModule::esm;
    const auto esm = render_config_node_postgres(seed_input(), options);
    CHECK(contains(file(esm, "pool.mjs").content, "import pg from \"pg\";\n\nexport const pool = new pg.Pool({\n"));
  }
  const auto files = render_config_node_postgres(seed_input(), {});
  const std::string& js = file(files, "pool.js").content;
  // pg.Pool counts connections and takes milliseconds: pool 50; pool_timeout 30 s = 30000 ms.
  CHECK(contains(js, "  max: 50, // default: 10\n"));
  CHECK(contains(js, "  connectionTimeoutMillis: 30000,\n"));
  CHECK(contains(js, "// default: 0 (wait forever)"));
  CHECK(contains(js, "  idleTimeoutMillis: 10000, // default: 10000 (kept)\n")); // pg-pool's default, 10 s
  // node-postgres takes the plain URL: Prisma's parameters would mean nothing to it.
  CHECK(contains(file(files, ".env").content, "DATABASE_URL=\"" + k_seed_url + "\"\n"));
  // CommonJS by default, what `npm init` makes.
  CHECK(contains(js, "const pg = require(\"pg\");\n"));
  CHECK(contains(js, "module.exports = { pool };\n"));
  CHECK(contains(js, "  application_name: \"poolcalc-sized\", // default: none\n"));
}

TEST_CASE("render_config_hikaricp")
{
  SUBCASE("direct")
  {
    const std::string out = content_of(render_config_hikaricp(seed_input(), {}), "hikari.properties");
    CHECK(contains(out, "jdbcUrl=jdbc:postgresql://localhost:5432/chat_backend_db\n"));
    CHECK(contains(out, "username=postgres\npassword=postgrespassword\n"));
    // HikariCP: milliseconds. pool 50, pool_timeout 30 s = 30000 ms; pgJDBC's connectTimeout in s.
    CHECK(contains(out, "# default: 10\nmaximumPoolSize=50\n"));
    CHECK(contains(out, "minimumIdle=50\n"));
    CHECK(contains(out, "# default: 30000 (--pool-timeout 30 s)\nconnectionTimeout=30000\n"));
    CHECK(contains(out, "# pgJDBC, seconds; default: 10 (--connect-timeout 10 s)\ndataSource.connectTimeout=10\n"));
    CHECK(contains(out, "dataSource.ApplicationName=poolcalc-sized\n"));
    // The name in the startup packet (pgJDBC sends application_name there from 9.0 on), not a SET.
    CHECK(contains(out, "dataSource.assumeMinServerVersion=9.0\n"));
    CHECK_FALSE(contains(out, "prepareThreshold"));
  }
  SUBCASE("user and password escaped for a properties file (read as ISO 8859-1 with backslash escapes)")
  {
    ConfigInput input = seed_input();
    // password: backslash, p, U+00E4, newline, U+1F600 (UTF-16 D83D DE00); user with a leading space.
    input.server_url = *DatabaseUrl::parse("postgresql://%20me:%5Cp%C3%A4%0A%F0%9F%98%80@localhost/db");
    const std::string out = content_of(render_config_hikaricp(input, {}), "hikari.properties");
    CHECK(contains(out, "\nusername=\\ me\n"));
    CHECK(contains(out, "\npassword=\\\\p\\u00E4\\n\\uD83D\\uDE00\n"));
  }
  SUBCASE("through PgBouncer 1.18: prepareThreshold=0, sslmode kept, the address given kept")
  {
    const std::string out = content_of(render_config_hikaricp(pooled_input(), {}), "hikari.properties");
    CHECK(contains(out,
                   "# jdbcUrl still points at the database server (db.internal:5432), as given: poolcalc does not know\n"
                   "# PgBouncer's address. Once PgBouncer runs (poolcalc pgbouncer writes its pgbouncer.ini),\n"
                   "# point jdbcUrl at its host and port (listen_port 6432 there).\n"));
    CHECK(contains(out, "jdbcUrl=jdbc:postgresql://db.internal:5432/chat?sslmode=require&prepareThreshold=0\n"));
    const std::string pooler = content_of(render_config_hikaricp(pooler_url_input(), {}), "hikari.properties");
    CHECK(contains(pooler, "jdbcUrl=jdbc:postgresql://pgbouncer.internal:6432/chat?sslmode=require&prepareThreshold=0\n"));
    CHECK_FALSE(contains(pooler, "still points"));
  }
}

TEST_CASE("render_config_sqlalchemy")
{
  const std::string py = content_of(render_config_sqlalchemy(seed_input(), {}), "engine.py");
  // The plan's 50 is the whole pool: pool_size 50, no overflow. Seconds: pool_timeout 30.
  CHECK(contains(py, "    pool_size=50,  # default: 5\n"));
  CHECK(contains(py, "    max_overflow=0,  # default: 10\n"));
  CHECK(contains(py, "    pool_timeout=30,  # default: 30\n"));
  CHECK(contains(py, "    connect_args={\"application_name\": \"poolcalc-sized\", \"connect_timeout\": 10},\n"));

  SUBCASE("--pool-timeout 0 keeps SQLAlchemy's default and says why")
  {
    ConfigInput input = seed_input();
    input.pool_timeout_s = 0;
    const std::string out = content_of(render_config_sqlalchemy(input, {}), "engine.py");
    CHECK(contains(out, "no QueuePool equivalent"));
    CHECK(contains(out, "    pool_timeout=30,  # default: 30\n"));
  }
}

TEST_CASE("render_config_go_database_sql")
{
  const auto files = render_config_go_database_sql(seed_input(), {});
  const std::string& go = file(files, "db.go").content;
  CHECK(contains(go, "\tdb.SetMaxOpenConns(50) // default: 0 (unlimited)\n"));
  CHECK(contains(go, "\tdb.SetMaxIdleConns(50)\n"));
  CHECK(contains(go, "// default: 2;"));
  CHECK(contains(go, "\tdb.SetConnMaxLifetime(time.Hour) // default: 0"));
  // No pool timeout in database/sql: 30 s as a context deadline (a time.Duration).
  CHECK(contains(go, "\treturn context.WithTimeout(ctx, 30*time.Second)\n"));
  // The connect timeout and application_name in code: the URL stays one every client reads.
  CHECK(contains(file(files, ".env").content, "DATABASE_URL=\"" + k_seed_url + "\"\n"));
  CHECK(contains(go, "\tconfig.ConnectTimeout = 10 * time.Second\n"));
  CHECK(contains(go, "\tdb := stdlib.OpenDB(*config)\n"));
  CHECK(contains(go, "func Open(ctx context.Context) (*sql.DB, error) {\n"));

  SUBCASE("through PgBouncer 1.18: v5's exec mode, v4's simple protocol")
  {
    const auto v5 = render_config_go_database_sql(pooled_input(), {});
    CHECK(contains(file(v5, "db.go").content, "\tconfig.DefaultQueryExecMode = pgx.QueryExecModeExec\n"));
    ConfigOptions options;
    options.pgx_major = 4;
    const auto v4 = render_config_go_database_sql(pooled_input(), options);
    CHECK(contains(file(v4, "db.go").content, "\tconfig.PreferSimpleProtocol = true\n"));
    CHECK(contains(file(v4, "db.go").content, "\t\"github.com/jackc/pgx/v4/stdlib\"\n"));
  }
}

TEST_CASE("render_config_pgx")
{
  SUBCASE("direct")
  {
    const auto files = render_config_pgx(seed_input(), {});
    const std::string& env = file(files, ".env").content;
    // pool_max_conns and connect_timeout in code, not the URL: psql would refuse pool_max_conns.
    CHECK(contains(env, "DATABASE_URL=\"" + k_seed_url + "\"\n"));
    const std::string& go = file(files, "db.go").content;
    CHECK(contains(go, "\tconfig.MaxConns = 50 // default: max(4, runtime.NumCPU())\n"));
    CHECK(contains(go, "\tconfig.ConnConfig.ConnectTimeout = 10 * time.Second\n"));
    CHECK(contains(go, "\treturn pgxpool.NewWithConfig(ctx, config)\n"));
    CHECK(contains(go, "context.WithTimeout(ctx, 30*time.Second)"));
  }
  SUBCASE("through PgBouncer 1.18: exec mode, no named prepared statements")
  {
    const auto env_files = render_config_pgx(pooled_input(), {});
    const std::string& env = file(env_files, ".env").content;
    CHECK(contains(env, k_pending + ".\nDATABASE_URL=\"postgresql://app:s3cret@db.internal:5432/chat?sslmode=require\"\n"));
    CHECK(contains(file(env_files, "db.go").content, "\tconfig.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec\n"));
    const auto pooler_files = render_config_pgx(pooler_url_input(), {});
    const std::string& pooler = file(pooler_files, ".env").content;
    CHECK(contains(pooler, "DATABASE_URL=\"postgresql://app:s3cret@pgbouncer.internal:6432/chat?sslmode=require\"\n"));
  }
  SUBCASE("pgx v4: ConnectConfig")
  {
    ConfigOptions options;
    options.pgx_major = 4;
    const auto files = render_config_pgx(pooled_input(), options);
    const std::string& go = file(files, "db.go").content;
    CHECK(contains(go, "\t\"github.com/jackc/pgx/v4/pgxpool\"\n"));
    CHECK(contains(go, "\treturn pgxpool.ConnectConfig(ctx, config)\n"));
    CHECK(contains(go, "\tconfig.ConnConfig.PreferSimpleProtocol = true\n"));
  }
  SUBCASE("--pool-timeout 0: no deadline")
  {
    ConfigInput input = seed_input();
    input.pool_timeout_s = 0;
    const auto go_files = render_config_pgx(input, {});
    const std::string& go = file(go_files, "db.go").content;
    CHECK_FALSE(contains(go, "WithTimeout"));
    CHECK(contains(go, "--pool-timeout 0: no deadline"));
  }
}

TEST_CASE("server_settings")
{
  SUBCASE("the seed: 50 opened + 50 reserved = 100, the given max_connections")
  {
    const ServerSettings s = server_settings(seed_input(), {});
    CHECK(s.needed == 100);
    CHECK(s.max_connections == 100);
    CHECK(s.superuser_reserved_connections == 10); // the seed's superuser reserve
    CHECK(s.reserved_connections == 0);            // PostgreSQL 15 has none
  }
  SUBCASE("16+: reserved_connections holds the admin reserve")
  {
    CHECK(server_settings(seed_input(), { k_default_pgbouncer_version, 16 }).reserved_connections == 10);
  }
  SUBCASE("never below what the user gave")
  {
    ConfigInput input = seed_input();
    input.max_connections = 300;
    CHECK(server_settings(input, {}).max_connections == 300);
  }
  SUBCASE("raised when the plan needs more")
  {
    ConfigInput input = seed_input();
    input.server_connections = 110; // a pool of 110 (300 VUs at 150 ms)
    CHECK(server_settings(input, {}).max_connections == 160);
  }
  SUBCASE("no superuser reserve: PostgreSQL's 3 come on top")
  {
    ConfigInput input = seed_input();
    input.reserved = { { "other_apps", 5 } };
    const ServerSettings s = server_settings(input, {});
    CHECK(s.superuser_reserved_connections == 3); // PostgreSQL's default
    CHECK(s.needed == 58);                        // 50 + 5 + 3
  }
}

TEST_CASE("render_config_postgresql_conf")
{
  SUBCASE("the seed on PostgreSQL 15")
  {
    const std::string out = content_of(render_config_postgresql_conf(seed_input(), {}), "postgresql.conf");
    CHECK(contains(out, "max_connections = 100  # default: 100; your 100: exactly what the plan needs\n"));
    CHECK(contains(out, "superuser_reserved_connections = 10  # default: 3; poolcalc's `superuser` reserve\n"));
    CHECK(contains(out, "# 50 + 50 = 100 needed.\n"));
    CHECK_FALSE(contains(out, "\nreserved_connections ="));
  }
  SUBCASE("PostgreSQL 16, through PgBouncer")
  {
    const std::string out =
      content_of(render_config_postgresql_conf(pooled_input(), { k_default_pgbouncer_version, 16 }), "postgresql.conf");
    // PgBouncer's 60 server connections + the 50 reserved = 110.
    CHECK(contains(out, "# The plan opens 60 connections (PgBouncer's default_pool_size 50 + reserve_pool_size 10);\n"));
    CHECK(contains(out, "max_connections = 110  # default: 100; raised from your 100: the plan needs 110\n"));
    CHECK(contains(out, "reserved_connections = 10  # default: 0; poolcalc's `admin` reserve"));
  }
  SUBCASE("a larger max_connections is kept, and said so")
  {
    ConfigInput input = seed_input();
    input.max_connections = 200;
    const std::string out = content_of(render_config_postgresql_conf(input, {}), "postgresql.conf");
    CHECK(contains(out, "max_connections = 200  # default: 100; your 200 kept: the plan needs 100, so 100 are spare"));
  }
}

TEST_CASE("config_targets")
{
  CHECK(config_target_names() == "pgbouncer, prisma, node-postgres, hikaricp, sqlalchemy, go-database-sql, pgx, postgresql-conf");
  CHECK(find_config_target("pgx") != nullptr);
  CHECK(find_config_target("pgbouncer") != nullptr);
  CHECK(find_config_target("PGX") == nullptr);
  // Every client target writes at least one file, each starting with a comment that names it
  // (pgbouncer has its own test below: the seed's plan has no PgBouncer).
  for (const ConfigTarget& target : config_targets()) {
    INFO(target.name);
    if (target.name == "pgbouncer") {
      CHECK(target.render(seed_input(), {}).empty());
      continue;
    }
    const auto files = target.render(seed_input(), {});
    REQUIRE_FALSE(files.empty());
    for (const ConfigFile& f : files) {
      CHECK(contains(f.content.substr(0, f.content.find('\n')), "file: " + f.name));
    }
  }
}

TEST_CASE("render_config_pgbouncer")
{
  // seed trigger: instances > 5, so the plan has PgBouncer; the files are pgbouncer.ini (PgBouncer's
  // file, as `poolcalc pgbouncer` prints it) and the auth_file note (`poolcalc pgbouncer --userlist`).
  const Plan p = test::plan({ { "vus", "400" }, { "query_ms", "80" }, { "instances", "6" }, { "database_url", k_seed_url } });
  const ConfigInput input = config_input(p, builtin_rules());
  REQUIRE(input.pgbouncer_config.has_value());
  const auto files = render_config_pgbouncer(input, {});
  REQUIRE(files.size() == 2);
  CHECK(files[0].name == "pgbouncer.ini");
  CHECK(files[0].content == render_pgbouncer_ini(*pgbouncer_config_from_plan(p)));
  // The auth_file note, as `;` comments so the whole text output is one file PgBouncer accepts.
  CHECK(files[1].name == "userlist-howto.txt");
  const std::string note = render_userlist_note(*pgbouncer_config_from_plan(p));
  CHECK(files[1].content.starts_with("; How to write the auth_file"));
  CHECK(files[1].content.find("; " + note.substr(0, note.find('\n')) + "\n") != std::string::npos);
  std::size_t lines = 0;
  for (std::size_t at = files[1].content.find('\n'); at != std::string::npos; at = files[1].content.find('\n', at + 1)) {
    ++lines;
    CHECK(files[1].content[at + 1 < files[1].content.size() ? at + 1 : at] == (at + 1 < files[1].content.size() ? ';' : '\n'));
  }
  CHECK(lines == 1 + static_cast<std::size_t>(std::count(note.begin(), note.end(), '\n')));
}

TEST_CASE("render_config_json")
{
  const auto j = nlohmann::json::parse(render_config_json("prisma", render_config_prisma(seed_input(), prisma6())));
  CHECK(j["schema_version"] == 1);
  CHECK(j["target"] == "prisma");
  REQUIRE(j["files"].size() == 2);
  CHECK(j["files"][0]["name"] == ".env");
  CHECK(j["files"][1]["name"] == "schema.prisma");
  CHECK(contains(j["files"][0]["content"].get<std::string>(), "connection_limit=50&"));
}

TEST_CASE("DatabaseUrl::without_param")
{
  const auto url = *DatabaseUrl::parse("postgresql://h/db?a=1&pgbouncer=true&b=2&pgbouncer=false");
  CHECK(url.without_param("pgbouncer").to_string() == "postgresql://h/db?a=1&b=2");
  CHECK(DatabaseUrl::parse("postgresql://h/db?pgbouncer=true")->without_param("pgbouncer").to_string() == "postgresql://h/db");
  CHECK(url.without_param("absent").to_string() == url.to_string());
}

TEST_CASE("DatabaseUrl::user and password")
{
  const auto url = *DatabaseUrl::parse("postgresql://us%40er:p%23ss@h/db");
  CHECK(url.user() == "us@er");
  CHECK(url.password() == "p#ss");
  CHECK(DatabaseUrl::parse("postgresql://h/db")->user().empty());
}

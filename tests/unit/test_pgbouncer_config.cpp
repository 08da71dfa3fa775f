#include "poolcalc/pgbouncer_config.hpp"

#include "poolcalc/emit_pgbouncer.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace poolcalc;

namespace {

// The seed's DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

// The line after the one that starts with `prefix` (a setting's comment is the line before it).
std::string line_before(const std::string& text, const std::string& line)
{
  std::istringstream in(text);
  std::string previous;
  for (std::string current; std::getline(in, current);) {
    if (current == line) {
      return previous;
    }
    previous = current;
  }
  return "(no line '" + line + "')";
}

} // namespace

TEST_CASE("pgbouncer_config_from_plan")
{
  SUBCASE("the seed's workload behind PgBouncer")
  {
    // 120 VUs x 0.7 x 0.150 s = 12.6 -> 13 x burst 3 = 39 + overhead 10 = 49 -> 50 (seed, "Mathematical
    // Analysis"); reserve and min 0.2 x 50 = 10 (the seed's example). max_connections 200 leaves
    // 200 - 50 reserved = 150 available, 70 % x 200 = 140: 50 + 10 fit.
    const Plan p = test::plan({ { "vus", "120" },
                                { "query_ms", "150" },
                                { "transaction_pooling", "true" },
                                { "max_connections", "200" },
                                { "database_url", k_seed_url } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    REQUIRE(config->databases.size() == 1);
    const PgBouncerDatabase& db = config->databases[0];
    CHECK(db.name == "chat_backend_db");
    CHECK(db.host == "localhost");
    CHECK(db.port == 5432);
    CHECK(db.dbname == "chat_backend_db");
    CHECK_FALSE(db.user.has_value()); // SCRAM pass-through needs the client's own user
    CHECK(config->users.empty());
    CHECK(config->login_roles == std::vector<std::string>{ "postgres" });
    const PgBouncerSettings& s = config->settings;
    CHECK(s.listen_addr->value == "127.0.0.1"); // seed: listen_addr = 127.0.0.1
    CHECK(s.listen_port->value == 6432);        // seed: listen_port = 6432
    CHECK(s.auth_type->value == "md5");
    CHECK(s.auth_file->value == "/etc/pgbouncer/userlist.txt");
    CHECK(s.pool_mode->value == "transaction");
    CHECK(s.max_client_conn->value == 1000); // seed; the fleet's 1 x 50 is less
    CHECK(s.default_pool_size->value == 50);
    CHECK(s.min_pool_size->value == 10);
    CHECK(s.reserve_pool_size->value == 10);
    CHECK(s.reserve_pool_timeout_s->value == 5);
    CHECK(s.max_db_connections->value == 60);   // 50 + 10
    CHECK(s.query_wait_timeout_s->value == 30); // rules timeouts.pool_timeout_s (seed: DATABASE_POOL_TIMEOUT=30)
    CHECK(s.default_pool_size->why == "the whole load's peak of 12.6 -> 13 concurrent queries x burst 3 + overhead 10, rounded up to 50");
    CHECK_FALSE(s.server_idle_timeout_s.has_value());
    CHECK_FALSE(s.server_lifetime_s.has_value());
    CHECK_FALSE(s.max_user_connections.has_value());
  }
  SUBCASE("the pool reduced to the server budget")
  {
    // max_connections 100: 100 - 50 reserved = 50 available, 70 % x 100 = 70, budget 50; 50 + 10
    // do not fit: floor(50 / 1.2) = 41, reserve 50 - 41 = 9.
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "transaction_pooling", "true" } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    CHECK(config->settings.default_pool_size->value == 41);
    CHECK(config->settings.reserve_pool_size->value == 9);
    CHECK(config->settings.max_db_connections->value == 50);
    CHECK(config->settings.default_pool_size->why ==
          "the whole load's peak of 12.6 -> 13 concurrent queries x burst 3 + overhead 10, rounded up to 50; reduced to 41 so it and "
          "its reserve fit the server budget of 50 (min(available 50, 70 % of max_connections 100))");
    CHECK(config->settings.reserve_pool_size->why ==
          "what is left of the server budget of 50 (min(available 50, 70 % of max_connections 100)): 50 - 41");
  }
  SUBCASE("no database URL: PgBouncer's fallback entry")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    const PgBouncerDatabase& db = config->databases[0];
    CHECK(db.name == "*");
    // No address is invented: the entry is written commented out, HOST for the user to fill in.
    CHECK(db.address_unknown);
    CHECK(db.host == "HOST");
    CHECK(db.port == 5432); // PostgreSQL's default port
    CHECK(contains(render_pgbouncer_ini(*config), "\n; * = host=HOST port=5432\n"));
    CHECK(db.dbname.empty());
    CHECK(config->login_roles.empty());
    // 6 instances x a pool of 20 (13 / 6 -> 3 x 3 + 10 = 19 -> 20) = 120 clients, 8 x 20 = 160 during
    // a rolling deploy (6 + ceil(6 x 25 %)), under the rules' 1000.
    CHECK(config->settings.max_client_conn->why.starts_with(
      "rules pgbouncer.settings.max_client_conn (the example in docs/pgbouncer.md), room for the fleet's 8 x 20 = 160 client connections "
      "(instances x pool) at its worst moment, a rolling deploy, 6 + 2 (max surge 25 %); PgBouncer expects to need "));
  }
  SUBCASE("a socket directory and no port, a URL without a database")
  {
    const Plan p = test::plan(
      { { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", "postgresql://app@/?host=/var/run/postgresql" } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    const PgBouncerDatabase& db = config->databases[0];
    CHECK(db.name == "*");
    CHECK(db.host == "/var/run/postgresql");
    CHECK_FALSE(db.port.has_value());
    CHECK(config->login_roles == std::vector<std::string>{ "app" });
  }
  SUBCASE("a whole peak is not rounded")
  {
    // 500 requests/s x 0.020 s = 10 concurrent queries (Little's law) x 3 + 10 = 40.
    const Plan p = test::plan({ { "rps", "500" }, { "query_ms", "20" }, { "services", "3" } });
    CHECK(pgbouncer_config_from_plan(p)->settings.default_pool_size->why ==
          "the whole load's peak of 10 concurrent queries x burst 3 + overhead 10, rounded up to 40");
  }
  SUBCASE("the application opens more client connections than the rules' max_client_conn")
  {
    // 60 instances x a pool of 20 (1.26 per instance -> 2 x 3 + 10 = 16 -> 20) = 1200 > 1000, and
    // a rolling deploy adds ceil(60 x 25 %) = 15 instances (Kubernetes' maxSurge): 75 x 20 = 1500.
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "60" }, { "max_connections", "1000" } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    CHECK(config->settings.max_client_conn->value == 1500);
    CHECK(config->settings.max_client_conn->why.starts_with(
      "the fleet's 75 x 20 = 1500 client connections (instances x pool) at its worst moment, a rolling deploy, 60 + 15 (max surge 25 "
      "%), are more than the rules' 1000; PgBouncer expects to need "));
    const Plan steady = test::plan(
      { { "vus", "120" }, { "query_ms", "150" }, { "instances", "60" }, { "max_connections", "1000" }, { "deploy_surge", "0" } });
    CHECK(pgbouncer_config_from_plan(steady)->settings.max_client_conn->value == 1200);
  }
  SUBCASE("query_wait_timeout follows pool_timeout")
  {
    const Plan none = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "pool_timeout", "0" } });
    CHECK(pgbouncer_config_from_plan(none)->settings.query_wait_timeout_s->value == 0);
    // 3 s is not above the seed's reserve_pool_timeout of 5 s.
    const Plan short_wait = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "pool_timeout", "3" } });
    const auto config = pgbouncer_config_from_plan(short_wait);
    CHECK(config->settings.query_wait_timeout_s->value == 3);
    CHECK(config->settings.query_wait_timeout_s->why ==
          "the application's pool_timeout (3 s): a query waits for a server connection no longer than the application would wait "
          "for a pooled one, so an exhausted pool surfaces as an error; it is not above reserve_pool_timeout (5 s), so the reserve "
          "pool is never reached");
  }
  SUBCASE("sslmode=require is flagged in the header")
  {
    const Plan p =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", k_seed_url + "?sslmode=require" } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    CHECK(config->header.back() ==
          "the URL asks for sslmode=require: PgBouncer accepts TLS from the application only with client_tls_sslmode and its key and "
          "certificate set (off by default)");
  }
  SUBCASE("a plan without PgBouncer: the file all the same, saying so first")
  {
    const Plan direct = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    REQUIRE_FALSE(direct.pgbouncer.has_value());
    const auto config = pgbouncer_config_from_plan(direct);
    REQUIRE(config.has_value());
    CHECK(config->header.front() ==
          "the plan fits without PgBouncer: 1 instance x pool 50 = 50 connections to PostgreSQL directly, and no PgBouncer trigger "
          "applies: 1 instance (at most 5), 50 connections in total (at most 200), 1 service, database location not given");
    // Sized as if it were needed: 13 x 3 + 10 = 49 -> 50 + 10 > the budget of 50: 41 + 9.
    CHECK(config->settings.default_pool_size->value == 41);
    CHECK(config->settings.reserve_pool_size->value == 9);
  }
  SUBCASE("sidecar: each PgBouncer sized for its instance within its share of the budget")
  {
    // 400 VUs x 0.7 x 0.080 s = 22.4; one instance's pool ceil(22.4 / 6) = 4 x 3 + 10 = 22 -> 30
    // (round_to 10), reserve 0.2 x 30 = 6. With max_connections 400 the budget is min(400 - 50
    // reserved, 70 % x 400 = 280) = 280, a share of floor(280 / 6) = 46: 30 + 6 fit.
    const Plan roomy = test::plan({ { "vus", "400" },
                                    { "query_ms", "80" },
                                    { "instances", "6" },
                                    { "max_connections", "400" },
                                    { "topology", "sidecar" },
                                    { "database_url", k_seed_url } });
    REQUIRE(roomy.pgbouncer.has_value());
    CHECK(roomy.pgbouncer->pgbouncers == 6);
    CHECK(roomy.pgbouncer->server_connections_each == 36);
    CHECK(roomy.pgbouncer->server_connections == 216); // 6 x 36
    // One shared PgBouncer: 23 x 3 + 10 = 79 -> 80 + reserve 16 = 96.
    CHECK(roomy.pgbouncer->shared_server_connections == 96);
    CHECK(roomy.server_connections == 216);
    const auto config = pgbouncer_config_from_plan(roomy);
    REQUIRE(config.has_value());
    CHECK(config->settings.default_pool_size->value == 30);
    CHECK(config->settings.max_db_connections->value == 36);
    CHECK(config->settings.listen_addr->value == "127.0.0.1");
    // The default max_connections 100: a budget of 50, floor(50 / 6) = 8 each: floor(8 / 1.2) = 6 + 2.
    const Plan tight = test::plan(
      { { "vus", "400" }, { "query_ms", "80" }, { "instances", "6" }, { "topology", "sidecar" }, { "database_url", k_seed_url } });
    CHECK(tight.pgbouncer->pools.front().default_pool_size == 6);
    CHECK(tight.pgbouncer->pools.front().reserve_pool_size == 2);
    CHECK(tight.pgbouncer->server_connections == 48);
    // The application goes to its own sidecar.
    CHECK(application_url(tight)->to_string() ==
          "postgresql://postgres:postgrespassword@127.0.0.1:6432/chat_backend_db?pgbouncer=true&connection_limit=30&pool_timeout=30&"
          "connect_timeout=10");
  }
  SUBCASE("stats_users, ignore_startup_parameters and the open files")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", k_seed_url } });
    const auto config = pgbouncer_config_from_plan(p);
    REQUIRE(config.has_value());
    CHECK(config->settings.stats_users->value == "postgres");
    CHECK(config->settings.ignore_startup_parameters->value == "extra_float_digits");
    // PgBouncer 1.18's count: max_client_conn 1000 + 12 + default_pool_size 41 x (1 role + its admin user).
    CHECK(config->open_files == 1000 + 12 + 41 * 2);
    CHECK(pgbouncer_open_files(1000, 20, 1) == 1052); // measured: tests/integration/test_pgbouncer.cpp
  }
  SUBCASE("errors")
  {
    const Plan odd_name = test::plan(
      { { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", "postgresql://app@localhost/my%20db" } });
    CHECK(pgbouncer_config_from_plan(odd_name).error() ==
          "the database name 'my db' cannot be written into pgbouncer.ini: expected letters, digits, '_', '.' or '-'");
    const Plan two_hosts =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", "postgresql://app@/chat?host=a,b" } });
    CHECK(pgbouncer_config_from_plan(two_hosts).error() ==
          "the host 'a,b' cannot be written into pgbouncer.ini: expected one host name, IP address or socket directory");
    const Plan bad_port =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", "postgresql://app@db/chat?port=x" } });
    CHECK(pgbouncer_config_from_plan(bad_port).error() ==
          "the port 'x' cannot be written into pgbouncer.ini: expected a whole number from 1 to 65535");
  }
}

TEST_CASE("render_pgbouncer_ini")
{
  SUBCASE("the seed's example, sized from the plan")
  {
    const Plan p = test::plan({ { "vus", "120" },
                                { "query_ms", "150" },
                                { "transaction_pooling", "true" },
                                { "max_connections", "200" },
                                { "database_url", k_seed_url } });
    const std::string ini = render_pgbouncer_ini(*pgbouncer_config_from_plan(p));
    // The seed's "PgBouncer Configuration Example", value for value.
    for (const char* line : { "[databases]",
                              "chat_backend_db = host=localhost port=5432 dbname=chat_backend_db",
                              "[pgbouncer]",
                              "listen_port = 6432",
                              "listen_addr = 127.0.0.1",
                              "auth_type = md5",
                              "auth_file = /etc/pgbouncer/userlist.txt",
                              "pool_mode = transaction",
                              "max_client_conn = 1000",
                              "default_pool_size = 50",
                              "min_pool_size = 10",
                              "reserve_pool_size = 10",
                              "reserve_pool_timeout = 5",
                              "max_db_connections = 60",
                              "query_wait_timeout = 30" }) {
      CHECK_MESSAGE(contains(ini, std::string("\n") + line + "\n"), line);
    }
    // Each value after its comment: PgBouncer's default (pgbouncer.ini(5) of 1.18), then why.
    CHECK(line_before(ini, "default_pool_size = 50") ==
          "; PgBouncer's default: 20. poolcalc: the whole load's peak of 12.6 -> 13 concurrent queries x burst 3 + overhead 10, "
          "rounded up to 50");
    CHECK(line_before(ini, "query_wait_timeout = 30").starts_with("; PgBouncer's default: 120. poolcalc: the application's pool_timeout"));
    CHECK(line_before(ini, "max_db_connections = 60").starts_with("; PgBouncer's default: 0 (unlimited). poolcalc: default_pool_size 50"));
    CHECK(ini.starts_with("; pgbouncer.ini from poolcalc: PgBouncer in transaction mode in front of PostgreSQL\n"));
    CHECK(ini.find("[databases]") < ini.find("[pgbouncer]"));
    CHECK_FALSE(contains(ini, "[users]"));
    CHECK_FALSE(contains(ini, "postgrespassword"));
    CHECK_FALSE(contains(ini, "server_lifetime"));
  }
  SUBCASE("several databases and users (a fleet)")
  {
    PgBouncerConfig config;
    config.databases.push_back({ "orders", "db1", 5433, "orders", std::nullopt, 30, std::nullopt, 5, 40, "session", "orders service" });
    config.databases.push_back(
      { "reports", "", std::nullopt, "", "reporter", std::nullopt, 2, std::nullopt, std::nullopt, std::nullopt, "" });
    config.users.push_back({ "batch", "session", 10, "the batch jobs" });
    config.settings.server_lifetime_s = Chosen<double>{ 1800, "shorter than the load balancer's" };
    config.settings.default_pool_size = Chosen<std::int64_t>{ 25, "the fleet's" };
    const std::string ini = render_pgbouncer_ini(config);
    CHECK(ini == "[databases]\n"
                 "; orders service\n"
                 "orders = host=db1 port=5433 dbname=orders pool_size=30 reserve_pool=5 max_db_connections=40 pool_mode=session\n"
                 "reports = user=reporter min_pool_size=2\n"
                 "\n"
                 "[users]\n"
                 "; the batch jobs\n"
                 "batch = pool_mode=session max_user_connections=10\n"
                 "\n"
                 "[pgbouncer]\n"
                 "; PgBouncer's default: 20. poolcalc: the fleet's\n"
                 "default_pool_size = 25\n"
                 "; PgBouncer's default: 3600. poolcalc: shorter than the load balancer's\n"
                 "server_lifetime = 1800\n");
  }
  SUBCASE("an entry with nothing but its name")
  {
    PgBouncerConfig config;
    PgBouncerDatabase local;
    local.name = "local";
    config.databases.push_back(local);
    CHECK(render_pgbouncer_ini(config) == "[databases]\nlocal =\n\n[pgbouncer]\n");
  }
}

TEST_CASE("render_userlist_note")
{
  SUBCASE("the URL's user")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "6" }, { "database_url", k_seed_url } });
    const std::string note = render_userlist_note(*pgbouncer_config_from_plan(p));
    CHECK(
      contains(note,
               "\nSELECT '\"' || replace(rolname, '\"', '\"\"') || '\" \"' || replace(rolpassword, '\"', '\"\"') || '\"' FROM pg_authid "
               "WHERE rolname IN ('postgres') AND rolpassword IS NOT NULL ORDER BY rolname;\n"));
    CHECK(contains(note, "and run: psql -X -At -d postgres -f userlist.sql > /etc/pgbouncer/userlist.txt\n"));
    CHECK(contains(note, "  auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1\n"));
    CHECK_FALSE(contains(note, "postgrespassword"));
    CHECK_FALSE(contains(note, "replace app_role"));
  }
  SUBCASE("a role name with a quote, and no role known")
  {
    PgBouncerConfig config;
    config.login_roles = { "o'brien", "app" };
    CHECK(contains(render_userlist_note(config), "WHERE rolname IN ('o''brien', 'app') AND"));
    config.login_roles.clear();
    const std::string note = render_userlist_note(config);
    CHECK(contains(note, "WHERE rolname IN ('app_role') AND"));
    CHECK(contains(note, "(replace app_role with the roles your application logs in as)"));
    CHECK(contains(note, "The auth_file (userlist.txt)"));
  }
}

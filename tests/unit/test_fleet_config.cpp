// A fleet's configuration: pgbouncer_config_from_fleet (the fleet's PgBouncer plan as a
// pgbouncer.ini) and config_input for a fleet and for one of its services (the client snippets).
// Rules: the built-in ones (data/rules.toml: activity 0.70, burst 3, overhead 10, round_to 10,
// reserve/min pool ratio 0.2, pool_timeout 30 s, PgBouncer on 127.0.0.1:6432, max_client_conn 1000).

#include "fleet_helpers.hpp"
#include "helpers.hpp"

#include "poolcalc/client_config.hpp"
#include "poolcalc/emit_pgbouncer.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/pgbouncer_config.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace poolcalc;
using poolcalc::test::example_fleet_text;
using poolcalc::test::fleet;
using poolcalc::test::parse_fleet;
using poolcalc::test::service;

namespace {

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

// Two services of one database as two roles: the seed's API load as `u` and a small worker as `v`,
// on a server large enough that nothing is cut. Two services trigger PgBouncer (the seed's
// "Multiple services share database").
const std::string k_two_users = "[database]\nmax_connections = 1000\nversion = 15\nurl = \"postgresql://u:pw@db.internal:5433/d\"\n"
                                "[[service]]\nname = \"api\"\nuser = \"u\"\nvus = 120\nquery_ms = 150\n"
                                "[[service]]\nname = \"jobs\"\nuser = \"v\"\nrps = 5\nquery_ms = 400\n";

} // namespace

TEST_CASE("pgbouncer_config_from_fleet: the example fleet")
{
  const Fleet f = fleet(example_fleet_text());
  const auto config = pgbouncer_config_from_fleet(f);
  REQUIRE(config.has_value());
  REQUIRE(config->databases.size() == 2);

  // chat-api: 120 VUs x 0.70 x 0.150 s = 12.6 -> 13 x burst 3 + overhead 10 = 49 -> 50 wanted.
  // Budget min(100 - 40 reserved = 60, 0.70 x 100 = 70) = 60; the notifier's session pool takes
  // (1 + 1 surge) x 10 = 20, leaving 40: floor(40 / 1.2) = 33 + reserve 7; min round(0.2 x 33) = 7.
  const PgBouncerDatabase& api = config->databases[0];
  CHECK(api.name == "chat_backend_db");
  CHECK(api.host == "localhost"); // the example's url
  CHECK(api.port == 5432);
  CHECK(api.dbname == "chat_backend_db");
  CHECK_FALSE(api.user.has_value()); // each client logs in as itself (SCRAM pass-through)
  CHECK(api.pool_size == 33);
  CHECK(api.reserve_pool == 7);
  CHECK(api.min_pool_size == 7);
  CHECK(api.max_db_connections == 40);    // 33 + 7
  CHECK_FALSE(api.pool_mode.has_value()); // the global transaction mode
  CHECK(contains(api.why, "the rule of thumb wants pool_size 50 for its whole load (peak 12.6); cut to 33 + 7"));

  // notifier: session features -> its own session-mode entry for the same database, a server
  // connection per client connection: 1 instance x pool 10 (5/s x 0.4 s = 2 -> 2 x 3 + its
  // overhead 2 = 8 -> 10) + 1 surge instance x 10 = 20, no reserve, no minimum.
  const PgBouncerDatabase& notifier = config->databases[1];
  CHECK(notifier.name == "chat_backend_db_session");
  CHECK(notifier.dbname == "chat_backend_db");
  CHECK(notifier.pool_size == 20);
  CHECK(notifier.reserve_pool == 0);
  CHECK_FALSE(notifier.min_pool_size.has_value());
  CHECK(notifier.max_db_connections == 20);
  CHECK(notifier.pool_mode == "session");

  CHECK(config->users.empty()); // one user per entry: the entries carry the sizes
  CHECK(config->login_roles == std::vector<std::string>{ "chat", "worker" });

  const PgBouncerSettings& p = config->settings;
  REQUIRE(p.pool_mode.has_value());
  CHECK(p.pool_mode->value == "transaction");
  // Steady 3 x 30 + 10 = 100 client connections, + the larger surge (chat-api's 1 x 30) = 130,
  // below the rules' 1000.
  REQUIRE(p.max_client_conn.has_value());
  CHECK(p.max_client_conn->value == 1000);
  CHECK(contains(p.max_client_conn->why, "130 client connections (100 steady + the surge)"));
  REQUIRE(p.reserve_pool_timeout_s.has_value());
  CHECK(p.reserve_pool_timeout_s->value == 5);
  REQUIRE(p.query_wait_timeout_s.has_value());
  CHECK(p.query_wait_timeout_s->value == 30); // both services keep the rules' pool_timeout 30 s
  // The entries set their own pool sizes: the global ones are PgBouncer's defaults.
  CHECK_FALSE(p.default_pool_size.has_value());
  CHECK_FALSE(p.reserve_pool_size.has_value());
  CHECK_FALSE(p.max_db_connections.has_value());

  const std::string ini = render_pgbouncer_ini(*config);
  CHECK(contains(ini,
                 "\nchat_backend_db = host=localhost port=5432 dbname=chat_backend_db pool_size=33 min_pool_size=7 reserve_pool=7 "
                 "max_db_connections=40\n"));
  CHECK(contains(ini,
                 "\nchat_backend_db_session = host=localhost port=5432 dbname=chat_backend_db pool_size=20 reserve_pool=0 "
                 "max_db_connections=20 pool_mode=session\n"));
  CHECK_FALSE(contains(ini, "postgrespassword"));
  CHECK_FALSE(contains(ini, "[users]"));
  CHECK(contains(render_userlist_note(*config), "WHERE rolname IN ('chat', 'worker')"));
}

TEST_CASE("pgbouncer_config_from_fleet: two users of one entry with different pools")
{
  const Fleet f = fleet(k_two_users);
  const auto config = pgbouncer_config_from_fleet(f);
  REQUIRE(config.has_value());
  // Budget min(1000 - 50 reserved, 0.70 x 1000) = 700: nothing is cut.
  // d/u: 13 x 3 + 10 = 49 -> 50, reserve 10, min 10.
  // d/v: 5/s x 0.4 s = 2 x 3 + 10 = 16 -> 20, reserve round(0.2 x 20) = 4.
  REQUIRE(config->databases.size() == 1);
  const PgBouncerDatabase& db = config->databases[0];
  CHECK(db.name == "d");
  CHECK(db.host == "db.internal");
  CHECK(db.port == 5433);
  CHECK(db.pool_size == 50); // the larger pool: PgBouncer 1.18 sizes pools per database
  CHECK(db.reserve_pool == 10);
  CHECK(db.min_pool_size == 10);
  CHECK(db.max_db_connections == 84); // 50 + 10 + 20 + 4
  CHECK(contains(db.why, "d/v (jobs) plans 20 + 4, capped in [users]"));
  // v's pool is smaller than the entry's: capped at its own server connections.
  REQUIRE(config->users.size() == 1);
  CHECK(config->users[0].name == "v");
  CHECK(config->users[0].max_user_connections == 24);
  CHECK_FALSE(config->users[0].pool_mode.has_value());
  CHECK(contains(render_pgbouncer_ini(*config),
                 "\n[users]\n; v's pools' server connections summed: its entry's pool_size is a "
                 "larger pool's, and PgBouncer 1.18 has no per-user pool size\nv = "
                 "max_user_connections=24\n"));
}

TEST_CASE("pgbouncer_config_from_fleet: without a URL, without PgBouncer, query_wait_timeout")
{
  SUBCASE("no url: localhost:5432 as for one application")
  {
    const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 15\n"
                          "[[service]]\nname = \"a\"\ndatabase = \"chat\"\nuser = \"x\"\nvus = 10\nquery_ms = 10\n"
                          "[[service]]\nname = \"b\"\ndatabase = \"chat\"\nuser = \"y\"\nvus = 10\nquery_ms = 10\n");
    const auto config = pgbouncer_config_from_fleet(f);
    REQUIRE(config.has_value());
    CHECK(config->databases[0].address_unknown);
    CHECK(config->databases[0].host == "HOST");
    CHECK(config->databases[0].port == 5432);
    CHECK(contains(config->databases[0].why, "no [database] url in the fleet file: write the server's host for HOST"));
    CHECK(contains(render_pgbouncer_ini(*config), "\n; chat = host=HOST port=5432 dbname=chat "));
  }
  SUBCASE("a fleet that needs no PgBouncer")
  {
    // One service, one instance: 10 x 0.7 x 0.01 = 0.07 -> 1 x 3 + 10 = 13 -> 20, of 100 - the
    // rules' reserve of 50 without its replication 10 (own slots on PostgreSQL 15) = 60 available.
    const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 15\n"
                          "[[service]]\nname = \"a\"\ndatabase = \"chat\"\nuser = \"x\"\nvus = 10\nquery_ms = 10\n");
    const auto config = pgbouncer_config_from_fleet(f);
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error() == "the fleet does not use PgBouncer: its 20 connections fit the 60 available and no PgBouncer trigger applies");
  }
  SUBCASE("query_wait_timeout: the longest pool_timeout, or 0 when one waits for ever")
  {
    const std::string base = "[database]\nmax_connections = 100\nversion = 15\n"
                             "[[service]]\nname = \"a\"\ndatabase = \"chat\"\nuser = \"x\"\nvus = 10\nquery_ms = 10\npool_timeout = 12\n"
                             "[[service]]\nname = \"b\"\ndatabase = \"chat\"\nuser = \"y\"\nvus = 10\nquery_ms = 10\npool_timeout = ";
    const auto longest = pgbouncer_config_from_fleet(fleet(base + "3\n"));
    REQUIRE(longest.has_value());
    CHECK(longest->settings.query_wait_timeout_s->value == 12);
    CHECK(contains(longest->settings.query_wait_timeout_s->why, "(a's 12 s)"));
    const auto forever = pgbouncer_config_from_fleet(fleet(base + "0\n"));
    REQUIRE(forever.has_value());
    CHECK(forever->settings.query_wait_timeout_s->value == 0);
    CHECK(contains(forever->settings.query_wait_timeout_s->why, "b's pool_timeout is 0 (wait for ever)"));
  }
}

TEST_CASE("config_input for a fleet service: its role, its PgBouncer entry")
{
  const Fleet f = fleet(example_fleet_text());
  const ConfigInput notifier = config_input(f, service(f, "notifier"), builtin_rules());
  // 5/s x 0.4 s = 2 -> 2 x 3 + 2 = 8 -> 10 (the service's own plan).
  CHECK(notifier.pool_size == 10);
  CHECK(notifier.instances == 1);
  CHECK(notifier.pool_timeout_s == 30);
  REQUIRE(notifier.server_url.has_value());
  // The worker role on the server; the URL's password is postgres's, not the worker's.
  CHECK(notifier.server_url->to_string() == "postgresql://worker@localhost:5432/chat_backend_db");
  REQUIRE(notifier.pgbouncer.has_value());
  CHECK(notifier.pgbouncer->database == "chat_backend_db_session");
  // [database] url is the server's: its address and the server database stay (the session entry
  // exists only in PgBouncer, whose address poolcalc does not know).
  const auto url = connect_url(notifier);
  REQUIRE(url.has_value());
  CHECK(url->to_string() == "postgresql://worker@localhost:5432/chat_backend_db");
  CHECK_FALSE(url_reaches_pgbouncer(notifier));
  // What PostgreSQL sees is the fleet's: PgBouncer's 40 + 20.
  CHECK(notifier.server_connections == 60);

  const ConfigInput api = config_input(f, service(f, "chat-api"), builtin_rules());
  CHECK(api.pool_size == 30); // 12.6 / 3 = 4.2 -> 5 x 3 + 10 = 25 -> 30
  CHECK(api.instances == 3);
  CHECK(connect_url(api)->to_string() == "postgresql://chat@localhost:5432/chat_backend_db");

  SUBCASE("a [database] url that is PgBouncer's keeps its address and names the service's entry")
  {
    std::string text = example_fleet_text();
    const std::string server = "localhost:5432";
    REQUIRE(text.find(server) != std::string::npos);
    text.replace(text.find(server), server.size(), "pgbouncer.internal:6432");
    const Fleet pooled = fleet(text);
    const ConfigInput worker = config_input(pooled, service(pooled, "notifier"), builtin_rules());
    CHECK(url_reaches_pgbouncer(worker));
    CHECK(connect_url(worker)->to_string() == "postgresql://worker@pgbouncer.internal:6432/chat_backend_db_session");
  }

  SUBCASE("the URL's own role keeps its password; no PgBouncer: the server directly")
  {
    // A local database (not the seed's "remote" trigger), one service, one instance: no trigger.
    const Fleet direct = fleet("[database]\nmax_connections = 100\nversion = 15\nurl = \"postgresql://app:pw@localhost:5432/chat\"\n"
                               "[[service]]\nname = \"a\"\nuser = \"app\"\nvus = 10\nquery_ms = 10\n");
    REQUIRE_FALSE(direct.pgbouncer.has_value());
    const ConfigInput input = config_input(direct, direct.services[0], builtin_rules());
    CHECK_FALSE(input.pgbouncer.has_value());
    CHECK_FALSE(input.pgbouncer_config.has_value());
    CHECK(connect_url(input)->to_string() == "postgresql://app:pw@localhost:5432/chat");
    CHECK(input.server_connections == 20); // 0.07 -> 1 x 3 + 10 = 13 -> 20, one instance
  }
}

TEST_CASE("config_input for a whole fleet: postgresql.conf's figures")
{
  const Fleet f = fleet(example_fleet_text());
  const ConfigInput input = config_input(f, builtin_rules());
  CHECK(input.max_connections == 100);
  CHECK(input.server_connections == 60); // PgBouncer's 40 + 20
  // The counted reserve: other_apps 20, admin 10, superuser 10 (replication takes no slot on 15).
  std::int64_t reserved = 0;
  for (const ReserveEntry& entry : input.reserved) {
    CHECK(entry.name != "replication");
    reserved += entry.connections;
  }
  CHECK(reserved == 40);
  const ServerSettings s = server_settings(input, ConfigOptions{});
  CHECK(s.needed == 100); // 60 + 40: the example uses exactly max_connections
  CHECK(s.max_connections == 100);
  REQUIRE(input.pgbouncer_config.has_value());
  CHECK(input.pgbouncer_config->databases.size() == 2);
}

TEST_CASE("pgbouncer_config_from_fleet: a URL that insists on TLS is named in the header")
{
  // The example with sslmode=require on its URL: the header says PgBouncer needs client_tls_* for
  // that, as the single-plan file does.
  std::string text = example_fleet_text();
  const std::size_t at = text.find("localhost:5432/chat_backend_db\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("localhost:5432/chat_backend_db\"").size(), "db.internal:5432/chat_backend_db?sslmode=require\"");
  const auto config = pgbouncer_config_from_fleet(fleet(text));
  REQUIRE(config.has_value());
  CHECK(contains(render_pgbouncer_ini(*config),
                 "; the URL asks for sslmode=require: PgBouncer accepts TLS from the application only with "
                 "client_tls_sslmode and its key and certificate set (off by default)\n"));
  const auto plain = pgbouncer_config_from_fleet(fleet(example_fleet_text()));
  REQUIRE(plain.has_value());
  CHECK_FALSE(contains(render_pgbouncer_ini(*plain), "sslmode"));
}

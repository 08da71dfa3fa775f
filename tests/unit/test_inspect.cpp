// The pure part of `poolcalc inspect`: what a server snapshot means (include/poolcalc/inspect.hpp).
// Snapshots are written by hand; the expected numbers are worked out in the comments.

#include "poolcalc/inspect.hpp"

#include "poolcalc/emit.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace poolcalc {

namespace {

Backend backend(std::int64_t pid, std::string app, std::string user, std::string state, double age_s, double state_age_s)
{
  Backend b;
  b.pid = pid;
  b.application = std::move(app);
  b.user = std::move(user);
  b.database = "chat";
  b.state = std::move(state);
  b.client = "10.0.0.5";
  b.connection_age_s = age_s;
  b.state_age_s = state_age_s;
  return b;
}

Backend hidden(std::int64_t pid, std::string app, std::string user)
{
  Backend b;
  b.pid = pid;
  b.application = std::move(app);
  b.user = std::move(user);
  b.database = "chat";
  b.visible = false;
  return b;
}

// PostgreSQL 15 with its defaults (max_connections 100, superuser_reserved_connections 3,
// max_wal_senders 10), the inspection's own backend (pid 1), three idle chat-api connections,
// two worker connections this role cannot see, one session idle in transaction for 2 minutes,
// one query active for 90 s, and a connection two days old.
ServerSnapshot chat_snapshot()
{
  ServerSnapshot s;
  s.server = "postgresql://app:****@db:5432/chat";
  s.version_num = 150018;
  s.version = "15.18";
  s.max_connections = 100;
  s.superuser_reserved_connections = 3;
  s.max_wal_senders = 10;
  s.own_pid = 1;
  s.current_user = "app";
  s.current_database = "chat";
  s.backends = {
    backend(1, "poolcalc", "app", "active", 0.1, 0.0),
    backend(10, "chat-api", "app", "idle", 3600, 5),
    backend(11, "chat-api", "app", "idle", 3500, 7),
    backend(12, "chat-api", "app", "idle", 172800 + 60, 2),
    hidden(20, "worker", "worker"),
    hidden(21, "worker", "worker"),
    backend(30, "leaky-job", "app", "idle in transaction", 600, 120),
    backend(31, "report", "app", "active", 300, 90),
  };
  s.statements_status = StatementsStatus::not_installed;
  return s;
}

const Finding* find(const Inspection& in, std::string_view id)
{
  return test::find(in.findings, id);
}

} // namespace

TEST_CASE("analyze")
{
  SUBCASE("slots, counts and the sessions to look at")
  {
    const Inspection in = analyze(chat_snapshot(), builtin_rules(), "chat-api");
    CHECK_FALSE(in.wal_senders_count); // PostgreSQL 12+
    CHECK(in.ordinary_slots == 97);    // 100 - 3
    CHECK(in.client_connections == 7); // 8 backends less the inspection's own
    CHECK(in.app_connections == 3);    // chat-api
    CHECK(in.other_connections == 4);  // worker 2, leaky-job, report
    CHECK(in.hidden_sessions == 2);    // the worker's
    CHECK(in.free_slots == 90);        // 97 - 7
    REQUIRE(in.groups.size() == 4);
    CHECK(in.groups[0].application == "chat-api");
    CHECK(in.groups[0].count == 3);
    CHECK(in.groups[0].longest_state_age_s == 7.0);
    CHECK(in.groups[1].application == "worker");
    CHECK(in.groups[1].state.empty()); // hidden: unknown, not guessed
    CHECK_FALSE(in.groups[1].longest_state_age_s.has_value());
    REQUIRE(in.oldest.size() == 5); // the visible ones, oldest first
    CHECK(in.oldest[0].pid == 12);
    CHECK(in.old_connections == 1);              // older than connection_age_info_s = 86400
    REQUIRE(in.idle_in_transaction.size() == 1); // 120 s > idle_in_transaction_warn_s = 60
    CHECK(in.idle_in_transaction[0].pid == 30);
    REQUIRE(in.long_active.size() == 1); // 90 s > active_query_warn_s = 60 (the inspection's own 0 s is not)
    CHECK(in.long_active[0].pid == 31);
  }
  SUBCASE("findings, warnings first")
  {
    const Inspection in = analyze(chat_snapshot(), builtin_rules(), "chat-api");
    REQUIRE(in.findings.size() == 6);
    CHECK(in.findings[0].level == Level::warn);
    CHECK(in.findings[0].id == "server.insufficient_privilege");
    CHECK(in.findings[0].message ==
          "2 sessions of other roles show no state, times or client address to 'app': they count as connections, but whether they "
          "are idle, active or idle in transaction is unknown, and a background worker in a database would look the same (GRANT "
          "pg_read_all_stats TO app to see them)");
    REQUIRE(find(in, "server.idle_in_transaction") != nullptr);
    CHECK(find(in, "server.idle_in_transaction")->message ==
          "1 session idle in transaction for more than 60 s; the longest, pid 30, application 'leaky-job', user 'app', database "
          "'chat', for 2 min: each holds a connection (and its locks) while doing nothing, the usual sign of a "
          "connection leak");
    REQUIRE(find(in, "server.long_active") != nullptr);
    CHECK(find(in, "server.long_active")->message ==
          "1 query running for more than 60 s; the longest, pid 31, application 'report', user 'app', database 'chat', for 90 s");
    CHECK(find(in, "server.wal_senders_not_counted")->level == Level::info);
    CHECK(find(in, "server.old_connections")->message ==
          "1 connection is older than 24 h: normal for a pool that keeps its connections; a leak shows as sessions idle in "
          "transaction or a count that keeps growing, not as age");
    CHECK(find(in, "server.statements_unavailable")->message ==
          "pg_stat_statements is not installed in database 'chat' (CREATE EXTENSION pg_stat_statements, with pg_stat_statements in "
          "shared_preload_libraries): no measured query time");
    CHECK(find(in, "server.full") == nullptr);
    CHECK(find(in, "server.free_slots_low") == nullptr);
  }
  SUBCASE("before PostgreSQL 12, WAL senders take slots")
  {
    ServerSnapshot s = chat_snapshot();
    s.version_num = 110022;
    s.version = "11.22";
    const Inspection in = analyze(s, builtin_rules(), "");
    CHECK(in.wal_senders_count);
    CHECK(in.ordinary_slots == 87); // 100 - 3 - 10
    CHECK(find(in, "server.wal_senders_counted") != nullptr);
    CHECK(in.app_connections == 0); // no --app: every connection is another application's
    CHECK(in.other_connections == 7);
  }
  SUBCASE("PostgreSQL 16's reserved_connections; a full server")
  {
    ServerSnapshot s = chat_snapshot();
    s.version_num = 160004;
    s.reserved_connections = 5;
    s.max_connections = 15;
    const Inspection in = analyze(s, builtin_rules(), "chat-api");
    CHECK(in.ordinary_slots == 7); // 15 - 3 - 5
    CHECK(in.free_slots == 0);     // 7 connections hold all 7
    REQUIRE(find(in, "server.full") != nullptr);
    CHECK(find(in, "server.full")->level == Level::warn);
  }
  SUBCASE("few free slots")
  {
    ServerSnapshot s = chat_snapshot();
    Rules rules = builtin_rules();
    rules.inspect.free_slots_warn_ratio = 0.5;
    s.max_connections = 18; // 15 ordinary, 7 in use, 8 free: not below 50 % of 15 = 7.5
    CHECK(find(analyze(s, rules, ""), "server.free_slots_low") == nullptr);
    s.max_connections = 16; // 13 ordinary, 7 in use, 6 free < 6.5
    const Inspection in = analyze(s, rules, "");
    REQUIRE(find(in, "server.free_slots_low") != nullptr);
    CHECK(find(in, "server.free_slots_low")->message == "only 6 of 13 ordinary slots are free (below 50 % of them)");
  }
  SUBCASE("pg_stat_statements: the mean over every call")
  {
    ServerSnapshot s = chat_snapshot();
    s.statements_status = StatementsStatus::available;
    s.statements = { { "SELECT a", 90, 10, 0, 10, 900 }, { "SELECT b", 10, 100, 0, 100, 1000 } };
    s.statements_calls = 100;
    s.statements_total_ms = 1900;
    const Inspection in = analyze(s, builtin_rules(), "");
    CHECK(*in.mean_query_ms == doctest::Approx(19.0)); // 1900 ms / 100 calls
    CHECK(*in.p95_query_ms == doctest::Approx(100.0)); // 90 % of the calls take 10 ms, the rest 100 ms
    REQUIRE(find(in, "server.statements_measured") != nullptr);
    CHECK(find(in, "server.statements_measured")->message ==
          "pg_stat_statements measured a mean execution time of 19 ms over 100 calls (p95 about 100 ms); --query-ms auto uses the "
          "mean. A connection is held longer than the statement runs (round trips, the application's work inside a transaction)");
    // Another role's statement shows no text: its BEGIN/COMMIT could not be left out, and it says so.
    s.statements.push_back({ "<insufficient privilege>", 5, 0.01, 0, 0.01, 0.05 });
    const Inspection hidden = analyze(s, builtin_rules(), "");
    CHECK(hidden.hidden_statements == 1);
    CHECK(find(hidden, "server.statements_measured")
            ->message.ends_with(
              "; 1 statement of other roles shows no text, so transaction control (BEGIN, COMMIT) among them could not be left out "
              "(pg_read_all_stats shows them)"));
  }
}

TEST_CASE("mixture_p95")
{
  // One statement, normal(100, 10), cut at 0 and 1000 (both ~10 sigma away): 100 + 1.6449 x 10.
  CHECK(*mixture_p95({ { "q", 50, 100, 10, 1000, 5000 } }) == doctest::Approx(116.449).epsilon(1e-4));
  // Without spread, the p95 is the slowest statement that holds more than 5 % of the calls.
  CHECK(*mixture_p95({ { "a", 94, 10, 0, 10, 940 }, { "b", 6, 50, 0, 50, 300 } }) == doctest::Approx(50.0));
  CHECK(*mixture_p95({ { "a", 96, 10, 0, 10, 960 }, { "b", 4, 50, 0, 50, 200 } }) == doctest::Approx(10.0));
  // Never above a statement's max.
  CHECK(*mixture_p95({ { "q", 10, 100, 500, 150, 1000 } }) <= 150.0);
  CHECK_FALSE(mixture_p95({}).has_value());
  CHECK_FALSE(mixture_p95({ { "q", 0, 1, 1, 1, 0 } }).has_value());
}

TEST_CASE("live_reserve")
{
  SUBCASE("the server's slots, other applications now, the rules' policy; no replication since 12")
  {
    const Inspection in = analyze(chat_snapshot(), builtin_rules(), "chat-api");
    const auto reserve = live_reserve(in, builtin_rules());
    // rules.toml's reserve: other_apps 20, admin 10, superuser 10, replication 10 (the seed's).
    REQUIRE(reserve.size() == 3);
    CHECK(reserve[0].name == "superuser");
    CHECK(reserve[0].connections == 3); // the server's, not the seed's 10
    CHECK(reserve[1].name == "other_apps");
    CHECK(reserve[1].connections == 4); // counted now
    CHECK(reserve[2].name == "admin");
    CHECK(reserve[2].connections == 10); // policy: kept
  }
  SUBCASE("16+: reserved_connections; before 12: WAL senders")
  {
    ServerSnapshot s = chat_snapshot();
    s.version_num = 160004;
    s.reserved_connections = 5;
    auto reserve = live_reserve(analyze(s, builtin_rules(), "chat-api"), builtin_rules());
    CHECK(reserve[1].name == "reserved_connections");
    CHECK(reserve[1].connections == 5);
    s = chat_snapshot();
    s.version_num = 110022;
    reserve = live_reserve(analyze(s, builtin_rules(), "chat-api"), builtin_rules());
    CHECK(reserve[1].name == "replication");
    CHECK(reserve[1].connections == 10); // max_wal_senders
  }
  SUBCASE("never more than max_connections: policy gives way first")
  {
    ServerSnapshot s = chat_snapshot();
    s.max_connections = 10; // superuser 3 + other_apps 4 + admin 10 = 17 > 10: admin cut to 3
    const auto reserve = live_reserve(analyze(s, builtin_rules(), "chat-api"), builtin_rules());
    std::int64_t total = 0;
    for (const ReserveEntry& e : reserve) {
      total += e.connections;
    }
    CHECK(total == 10);
    CHECK(reserve[2].name == "admin");
    CHECK(reserve[2].connections == 3);
  }
}

TEST_CASE("live_reserve: cut to --max-connections")
{
  // superuser 3 + other_apps 4 + admin 10 = 17 > 12: admin cut by 5.
  const auto reserve = live_reserve(analyze(chat_snapshot(), builtin_rules(), "chat-api"), builtin_rules(), 12);
  CHECK(reserve[2].name == "admin");
  CHECK(reserve[2].connections == 5);
}

TEST_CASE("apply_server")
{
  const Inspection in = analyze(chat_snapshot(), builtin_rules(), "chat-api");
  SUBCASE("the server fills max_connections and the reserve; flags win")
  {
    RawInputs inputs = test::inputs({ { "vus", "120" }, { "query_ms", "150" } });
    REQUIRE(apply_server(inputs, in, builtin_rules()).has_value());
    CHECK(inputs.at("max_connections").items == std::vector<std::string>{ "100" });
    CHECK(inputs.at("reserve").items == std::vector<std::string>{ "superuser=3", "other_apps=4", "admin=10" });
    CHECK(inputs.at("reserve").origin == "server: reserved budget");

    RawInputs flagged = test::inputs({ { "vus", "120" }, { "query_ms", "150" }, { "max_connections", "300" } });
    flagged.at("max_connections").origin = "--max-connections";
    REQUIRE(apply_server(flagged, in, builtin_rules()).has_value());
    CHECK(flagged.at("max_connections").items == std::vector<std::string>{ "300" });
  }
  SUBCASE("--query-ms auto")
  {
    RawInputs inputs = test::inputs({ { "vus", "120" }, { "query_ms", "auto" } });
    inputs.at("query_ms").origin = "--query-ms";
    const auto missing = apply_server(inputs, in, builtin_rules());
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error() == "--query-ms: 'auto' needs pg_stat_statements, and database 'chat' gave no time: not_installed");

    ServerSnapshot s = chat_snapshot();
    s.statements_status = StatementsStatus::available;
    s.statements = { { "SELECT a", 3, 52.25, 0, 52.25, 156.75 } };
    s.statements_calls = 3;
    s.statements_total_ms = 156.75;
    REQUIRE(apply_server(inputs, analyze(s, builtin_rules(), ""), builtin_rules()).has_value());
    CHECK(inputs.at("query_ms").items == std::vector<std::string>{ "52.25" }); // 156.75 / 3
  }
}

TEST_CASE("may_carry_credentials")
{
  SUBCASE("the commands whose text can hold a password, however they are written")
  {
    for (const char* sql : {
           "CREATE ROLE app LOGIN PASSWORD 'x'",
           "create role app password 'x'",
           "CrEaTe UsEr app WITH PASSWORD 'x'",
           "ALTER ROLE app PASSWORD 'x'",
           "ALTER USER app ENCRYPTED PASSWORD 'x'",
           "ALTER GROUP admins ADD USER app",
           "CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', password 'x')",
           "ALTER USER MAPPING FOR app SERVER remote OPTIONS (SET password 'x')",
           "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', dbname 'x')",
           "ALTER SERVER remote OPTIONS (SET dbname 'x')",
           "CREATE SUBSCRIPTION s CONNECTION 'host=db password=x' PUBLICATION p",
           "ALTER SUBSCRIPTION s CONNECTION 'host=db password=x'",
           "CREATE FOREIGN DATA WRAPPER w OPTIONS (secret 'x')",
           "alter foreign\n data\twrapper w options (add secret 'x')",
           "  \n\t ALTER ROLE app PASSWORD 'x'",                      // leading whitespace
           "/* rotate */ ALTER ROLE app PASSWORD 'x'",                // a comment first
           "/* a /* nested */ comment */ALTER ROLE app PASSWORD 'x'", // comments nest in SQL
           "-- rotate\nALTER ROLE app PASSWORD 'x'",                  // a line comment
           "ALTER/**/ROLE app PASSWORD 'x'",                          // a comment between the keywords
           "SELECT 1; CREATE ROLE app PASSWORD 'x'",                  // a later statement
           "SELECT ';'; ALTER ROLE app PASSWORD 'x'",                 // ';' in a literal is not the end
           "ALTER ROLE app PASSWORD 'cut by a trunc",                 // a prefix
           "ALTER ROLE",
         }) {
      INFO(sql);
      CHECK(may_carry_credentials(sql));
    }
  }
  SUBCASE("other statements, and the words in comments, literals and identifiers")
  {
    for (const char* sql : {
           "",
           "SELECT $1",
           "SELECT 'CREATE ROLE app PASSWORD x'",
           "SELECT $$; CREATE ROLE app PASSWORD 'x'$$",
           "/* CREATE ROLE app PASSWORD 'x' */ SELECT 1",
           "-- ALTER ROLE app PASSWORD 'x'\nSELECT 1",
           "SELECT \"alter\" FROM role",
           "COMMENT ON ROLE app IS 'x'",
           "DROP ROLE app",
           "DROP USER MAPPING FOR app SERVER remote",
           "CREATE TABLE users (password text)",
           "CREATE FOREIGN TABLE t (a int) SERVER remote",
           "CREATE ROLES",
           "CREATE",
         }) {
      INFO(sql);
      CHECK_FALSE(may_carry_credentials(sql));
    }
  }
}

TEST_CASE("mask_literals")
{
  SUBCASE("every kind of string literal")
  {
    CHECK(mask_literals("COMMENT ON ROLE app IS 'it''s x'") == "COMMENT ON ROLE app IS '...'");
    CHECK(mask_literals("SELECT '', 'a'") == "SELECT '...', '...'");
    CHECK(mask_literals("SELECT E'a\\'b', e'\\\\', 'c'") == "SELECT E'...', e'...', '...'"); // E'a\'b', e'\\'
    CHECK(mask_literals("SELECT E'it''s'") == "SELECT E'...'");
    CHECK(mask_literals("SELECT U&'d\\0061t' UESCAPE '!'") == "SELECT U&'...' UESCAPE '...'");
    CHECK(mask_literals("SELECT B'1010', x'1F', N'x'") == "SELECT B'...', x'...', N'...'");
    CHECK(mask_literals("SELECT interval '1 day', type'x'") == "SELECT interval '...', type'...'");
    CHECK(mask_literals("DO $$ BEGIN PERFORM 'x'; END $$") == "DO $$...$$");
    CHECK(mask_literals("CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1 $body$ LANGUAGE sql") ==
          "CREATE FUNCTION f() RETURNS int AS $body$...$body$ LANGUAGE sql");
    CHECK(mask_literals("SELECT $a$ $b$ x $b$ $A$ $a$, $1") == "SELECT $a$...$a$, $1"); // tags are case-sensitive
    CHECK(mask_literals("SELECT 'héllo', 'ü'") == "SELECT '...', '...'");
  }
  SUBCASE("what is not a literal is kept")
  {
    for (const char* sql : {
           "SELECT $1, $2 FROM t WHERE a = $3",
           "SELECT a$b$c, x$$ FROM t", // '$' inside a word
           "SELECT \"it's\", \"a\"\"'b\" FROM t",
           "SELECT ünïcode FROM t",
         }) {
      CHECK(mask_literals(sql) == sql);
    }
    CHECK(mask_literals("SELECT \"it's\" FROM t WHERE x = 'y'") == "SELECT \"it's\" FROM t WHERE x = '...'");
  }
  SUBCASE("comments and numeric constants: their form is kept, their text is not")
  {
    // Either can hold a secret: pg_stat_statements keeps comments, and a utility statement's
    // constants as typed.
    CHECK(mask_literals("SELECT $1 /* password=SecretG7 */") == "SELECT $1 /*...*/");
    CHECK(mask_literals("SELECT $1 -- it's\n, 'x'") == "SELECT $1 --...\n, '...'");
    CHECK(mask_literals("/* it's /* nested ' */ still */ 'x'") == "/*...*/ '...'");
    CHECK(mask_literals("ALTER TABLE t ALTER c SET DEFAULT 12345678") == "ALTER TABLE t ALTER c SET DEFAULT ...");
    CHECK(mask_literals("VACUUM t; SELECT 1.5e3, .5, 1e-3, 0x1F, t.c") == "VACUUM t; SELECT ..., ..., ..., ..., t.c");
  }
  SUBCASE("a literal that does not end is masked to the end of the text")
  {
    CHECK(mask_literals("ALTER SYSTEM SET primary_conninfo = 'host=db password=x") == "ALTER SYSTEM SET primary_conninfo = '...");
    CHECK(mask_literals("SELECT 'a''") == "SELECT '...");    // the cut fell inside a doubled quote
    CHECK(mask_literals("SELECT E'a\\'") == "SELECT E'..."); // E'a\' is open
    CHECK(mask_literals("DO $f$ BEGIN PERFORM 1; $f") == "DO $f$...");
    CHECK(mask_literals("SELECT U&'x") == "SELECT U&'...");
  }
  SUBCASE("a '...' literal whose end depends on standard_conforming_strings: masked to the end")
  {
    // 'a\' , 'x': two literals with standard_conforming_strings on, one (a' , ) then x with it off.
    CHECK(mask_literals("SELECT 'a\\' , 'x', $1") == "SELECT '...");
    CHECK(mask_literals("SELECT N'a\\' , 'x'") == "SELECT N'...");
    // The same end either way: only the literal is masked.
    CHECK(mask_literals("SELECT '\\d+', 'a\\\\', $1") == "SELECT '...', '...', $1"); // '\d+', 'a\\'
  }
}

TEST_CASE("statement_excerpt")
{
  CHECK(statement_excerpt("  SELECT\n\t a,\r\n  b  FROM t \n") == "SELECT a, b FROM t");
  // Masked before it is cut: the text after a long literal is shown, and the literal never is.
  const std::string long_literal = "SELECT '" + std::string(300, 's') + "', 42 AS answer";
  CHECK(statement_excerpt(long_literal) == "SELECT '...', ... AS answer");
  // Whitespace inside a literal does not count either.
  CHECK(statement_excerpt("COMMENT ON ROLE app IS 'a\n\n  b'") == "COMMENT ON ROLE app IS '...'");
  // 120 characters, not bytes: "SELECT " and 113 two-byte characters (233 bytes).
  std::string accents = "SELECT ";
  for (int i = 0; i < 200; ++i) {
    accents += "é";
  }
  const std::string excerpt = statement_excerpt(accents);
  CHECK(excerpt.size() == 7 + 2 * 113);
  CHECK(excerpt == accents.substr(0, 233));
  CHECK(statement_excerpt("SELECT a, b", 9) == "SELECT a,");
  CHECK(statement_excerpt("SELECT a   b", 7) == "SELECT"); // no trailing space
}

TEST_CASE("shorten")
{
  CHECK(shorten("SELECT 1", 60) == "SELECT 1");
  std::string sixty;
  for (int i = 0; i < 60; ++i) {
    sixty += "é";
  }
  CHECK(shorten(sixty, 60) == sixty);                              // 60 characters (120 bytes) fit
  CHECK(shorten(sixty + "x", 60) == sixty.substr(0, 114) + "..."); // 57 characters and "..."
}

TEST_CASE("add_statement: what may carry a credential is withheld, and the sums cover what is counted")
{
  ServerSnapshot s = chat_snapshot();
  s.statements_status = StatementsStatus::available;
  // The server's sums, over the rows it did not withhold: 7 + 3 calls, 70 + 30 ms.
  s.statements_calls = 10;
  s.statements_total_ms = 100;
  add_statement(s, { "", 2, 5, 0, 5, 10 }, std::nullopt); // withheld by the server: not in its sums
  CHECK(s.withheld_statements == 1);
  CHECK(s.withheld_calls == 2);
  CHECK(s.statements_calls == 10);
  // A nested comment, which the server's pattern does not follow: withheld here, taken out of the sums.
  add_statement(s, { "", 3, 10, 0, 10, 30 }, std::string("/* a /* b */ */ CREATE ROLE x PASSWORD 'Zq9'"));
  CHECK(s.withheld_statements == 2);
  CHECK(s.withheld_calls == 5);
  CHECK(s.statements_calls == 7);
  CHECK(s.statements_total_ms == 70);
  add_statement(s, { "", 7, 10, 0, 10, 70 }, std::string("SELECT  $1,\n 'Zq9'"));
  REQUIRE(s.statements.size() == 1);
  CHECK(s.statements[0].query == "SELECT $1, '...'");
  CHECK(s.statements[0].calls == 7);

  const Inspection in = analyze(s, builtin_rules(), "");
  CHECK(*in.mean_query_ms == doctest::Approx(10.0)); // 70 ms / 7 calls: the withheld 5 calls are not in it
  REQUIRE(find(in, "server.statements_withheld") != nullptr);
  CHECK(find(in, "server.statements_withheld")->level == Level::info);
  CHECK(find(in, "server.statements_withheld")->message ==
        "2 statements (5 calls) are not shown: they create or alter a role, user, group, user mapping, server, subscription or "
        "foreign-data wrapper, whose text can carry a password; they are left out of the times, like BEGIN and SET");

  ServerSnapshot one = chat_snapshot();
  add_statement(one, { "", 1, 5, 0, 5, 5 }, std::nullopt);
  CHECK(find(analyze(one, builtin_rules(), ""), "server.statements_withheld")->message ==
        "1 statement (1 call) is not shown: it creates or alters a role, user, group, user mapping, server, subscription or "
        "foreign-data wrapper, whose text can carry a password; it is left out of the times, like BEGIN and SET");
  CHECK(find(analyze(chat_snapshot(), builtin_rules(), ""), "server.statements_withheld") == nullptr);
}

TEST_CASE("render_inspect_*: what the server returned cannot drive the terminal")
{
  // A role or database name may hold any character but NUL; a statement's comment too.
  ServerSnapshot s = chat_snapshot();
  s.current_user = "me\x1b[2J";
  Backend& b = s.backends[1];            // pid 10
  b.application = "api\x1b]0;title\x07"; // ESC ] ... BEL sets a window title
  b.user = "u\xc2\x9b"
           "31m";                // U+009B, the one-byte CSI
  b.database = "db\xe2\x80\xae"; // U+202E reverses what follows
  b.state = "idle in transaction";
  b.state_age_s = 600; // the longest: the finding names this session
  s.backends[2].application = "del\x7f";
  s.statements_status = StatementsStatus::available;
  s.statements = { { "SELECT $1 /* \x1b[8m */", 1, 1, 0, 1, 1 } };
  s.statements_calls = 1;
  s.statements_total_ms = 1;
  const Inspection in = analyze(s, builtin_rules(), "");
  const std::string text = render_inspect_text(in, builtin_rules(), TextOptions{});
  const std::string markdown = render_inspect_markdown(in, builtin_rules());
  const std::string json = render_inspect_json(in, builtin_rules(), nullptr);
  for (const std::string* out : { &text, &markdown, &json }) {
    for (const char* active : { "\x1b", "\x07", "\x7f", "\xc2\x9b", "\xe2\x80\xae" }) {
      CHECK(out->find(active) == std::string::npos);
    }
  }
  CHECK(text.find("connected as 'me\\e[2J'") != std::string::npos);
  CHECK(text.find(" api\\e]0;title\\x07 ") != std::string::npos);
  CHECK(text.find(" u\\u{009b}31m ") != std::string::npos);
  CHECK(text.find(" db\\u{202e} ") != std::string::npos);
  CHECK(text.find(" del\\x7f ") != std::string::npos);
  CHECK(text.find("SELECT $1 /* \\e[8m */") != std::string::npos);
  CHECK(text.find("pid 10, application 'api\\e]0;title\\x07', user 'u\\u{009b}31m', database 'db\\u{202e}'") != std::string::npos);
  CHECK(markdown.find("as `me\\e[2J`") != std::string::npos);
  CHECK(markdown.find("| 1 | api\\e]0;title\\x07 | u\\u{009b}31m | db\\u{202e} | idle in transaction |\n") != std::string::npos);
  CHECK(markdown.find("pid 10, application 'api\\e]0;title\\x07', user 'u\\u{009b}31m', database 'db\\u{202e}'") != std::string::npos);
  // JSON: the same text, in JSON's escapes.
  CHECK(json.find("\"me\\u001b[2J\"") != std::string::npos);
  CHECK(json.find("\"u\\u009b31m\"") != std::string::npos);
  CHECK(json.find("\"db\\u202e\"") != std::string::npos);
  CHECK(json.find("\"del\\u007f\"") != std::string::npos);
  const auto parsed = nlohmann::json::parse(json);
  CHECK(parsed["server"]["user"] == "me\x1b[2J");
  bool found = false;
  for (const auto& session : parsed["connections"]["idle_in_transaction"]) {
    if (session["pid"] == 10) {
      found = true;
      CHECK(session["application"] == "api\x1b]0;title\x07");
      CHECK(session["user"] == "u\xc2\x9b"
                               "31m");
      CHECK(session["database"] == "db\xe2\x80\xae");
    }
  }
  CHECK(found);
}

TEST_CASE("inspect_connect_timeout: --connect-timeout or --config, then the URL, then the rules")
{
  const Rules rules = builtin_rules(); // inspect.connect_timeout_s = 10
  const DatabaseUrl plain = *DatabaseUrl::parse("postgresql://app@db/chat");
  const DatabaseUrl with_param = *DatabaseUrl::parse("postgresql://app@db/chat?connect_timeout=7");
  const DatabaseUrl with_zero = *DatabaseUrl::parse("postgresql://app@db/chat?connect_timeout=0");
  RawInputs none;
  RawInputs flag = test::inputs({ { "connect_timeout", "3" } });
  flag.at("connect_timeout").origin = "--connect-timeout";
  RawInputs file = test::inputs({ { "connect_timeout", "4" } });
  file.at("connect_timeout").origin = "inspect.toml:2:19: connect_timeout";

  const auto check = [](const poolcalc::expected<ConnectTimeout, std::string>& got, double seconds, const std::string& source) {
    REQUIRE(got.has_value());
    CHECK(got->seconds == seconds);
    CHECK(got->source == source);
  };
  check(inspect_connect_timeout(none, plain, "--database-url", rules), 10, "inspect.connect_timeout_s");
  check(inspect_connect_timeout(none, with_param, "--database-url", rules), 7, "connect_timeout in the URL");
  check(inspect_connect_timeout(none, with_zero, "--database-url", rules), 10, "inspect.connect_timeout_s"); // 0: libpq's "forever"
  check(inspect_connect_timeout(flag, with_param, "--database-url", rules), 3, "--connect-timeout");
  check(inspect_connect_timeout(file, with_param, "--database-url", rules), 4, "inspect.toml:2:19: connect_timeout");

  // The inspection never waits forever: 0 is refused where it was given.
  RawInputs zero = test::inputs({ { "connect_timeout", "0" } });
  zero.at("connect_timeout").origin = "--connect-timeout";
  CHECK(inspect_connect_timeout(zero, plain, "--database-url", rules).error() ==
        "--connect-timeout: expected a whole number from 1 to 3600, got '0'");
  const DatabaseUrl bad = *DatabaseUrl::parse("postgresql://app@db/chat?connect_timeout=5s");
  CHECK(inspect_connect_timeout(none, bad, "DATABASE_URL", rules).error() ==
        "DATABASE_URL: connect_timeout: expected a whole number from 0 to 3600, got '5s'");
}

TEST_CASE("duration_text")
{
  CHECK(duration_text(4.26) == "4.3 s");
  CHECK(duration_text(90) == "90 s");
  CHECK(duration_text(170) == "3 min"); // 2.83 min
  CHECK(duration_text(7200) == "2 h");
  CHECK(duration_text(172800) == "2 d");
  CHECK(duration_text(-1) == "unknown");
}

} // namespace poolcalc

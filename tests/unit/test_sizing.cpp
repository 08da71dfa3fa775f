#include "poolcalc/sizing.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

using namespace poolcalc;

TEST_CASE("size: the seed's Mathematical Analysis")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "100,150,200" } });
  REQUIRE(p.scenarios.size() == 3);
  // seed, Scenarios 1-3: 120 x 0.70 x 0.1 / 0.15 / 0.2 = 8.4 / 12.6 / 16.8.
  CHECK(p.scenarios[0].peak_concurrent == 8.4);
  CHECK(p.scenarios[1].peak_concurrent == 12.6);
  CHECK(p.scenarios[2].peak_concurrent == 16.8);
  CHECK(p.scenarios[0].label == "conservative");
  CHECK(p.scenarios[1].label == "realistic");
  CHECK(p.scenarios[2].label == "pessimistic");
  // seed, "Safety Buffer Calculation": (13 x 3) + 10 = 49, rounded to 50.
  CHECK(p.scenarios[1].peak_ceil == 13);
  CHECK(p.scenarios[1].buffered == 39);
  CHECK(p.scenarios[1].pool_size_unrounded == 49);
  CHECK(p.scenarios[1].pool_size == 50);
  // The same formula by hand for the other two: (9 x 3) + 10 = 37 -> 40; (17 x 3) + 10 = 61 -> 70.
  CHECK(p.scenarios[0].pool_size_unrounded == 37);
  CHECK(p.scenarios[0].pool_size == 40);
  CHECK(p.scenarios[2].pool_size_unrounded == 61);
  CHECK(p.scenarios[2].pool_size == 70);
  // seed, "Validation Against Database Limits": reserved 50, 50 / 100 = 50 %.
  CHECK(p.design_index == 1);
  CHECK(p.pool_size == 50);
  CHECK(p.reserved_total == 50);
  CHECK(p.available == 50);
  CHECK(p.total_connections == 50);
  CHECK(p.utilization == 0.5);
  CHECK(p.fits);
  CHECK(p.scenarios[0].fits);
  CHECK(p.scenarios[1].fits);
  CHECK_FALSE(p.scenarios[2].fits); // 70 > 50
  CHECK(p.recommendation == Recommendation::pool);
  CHECK_FALSE(p.pgbouncer.has_value());
  // seed, "Environment Variables".
  CHECK(p.settings.connection_limit == 50);
  CHECK(p.settings.pool_timeout_s == 30);
  CHECK(p.settings.connect_timeout_s == 10);
}

TEST_CASE("size: the seed's scaling table bands")
{
  const auto band = [](const char* vus) {
    const Plan p = test::plan({ { "vus", vus }, { "query_ms", "150" } });
    REQUIRE(p.scaling_row != nullptr);
    return *p.scaling_row;
  };
  // seed, "Scaling Guidelines": 1-50 -> 10-20 / 50; 51-150 -> 20-50 / 100; 151-300 -> 50-100 / 200;
  // 301-500 -> 100-150 / 300; 500+ -> PgBouncer / 100.
  CHECK(band("1").pool_min == 10);
  CHECK(band("50").pool_max == 20);
  CHECK(band("51").pool_min == 20);
  CHECK(band("120").pool_max == 50);
  CHECK(band("150").max_connections == 100);
  CHECK(band("151").max_connections == 200);
  CHECK(band("300").pool_max == 100);
  CHECK(band("301").pool_min == 100);
  CHECK(band("500").max_connections == 300);
  CHECK_FALSE(band("500").pgbouncer);
  CHECK(band("501").pgbouncer);
  CHECK(band("1000000000").pgbouncer);
}

TEST_CASE("size: PgBouncer triggers")
{
  const auto trigger_ids = [](const Plan& p) {
    std::vector<std::string> ids;
    for (const Trigger& t : p.triggers) {
      ids.push_back(t.id);
    }
    return ids;
  };
  // seed, "When to Use PgBouncer": instances > 5 ...
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "instances", "5" }, { "max_connections", "1000" } })).empty());
  // 10 x 0.7 x 0.01 = 0.07 -> 1 x 3 + 10 = 13 -> 20 per instance; 6 x 20 = 120, not above 200.
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "instances", "6" }, { "max_connections", "1000" } })) ==
        std::vector<std::string>{ "instances" });
  // ... total connections > 200: 11 x 20 = 220.
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "instances", "11" }, { "max_connections", "1000" } })) ==
        std::vector<std::string>{ "instances", "total_connections" });
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "services", "2" } })) == std::vector<std::string>{ "services" });
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "transaction_pooling", "true" } })) ==
        std::vector<std::string>{ "transaction_pooling" });
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "database_url", "postgresql://db.example.com/x" } })) ==
        std::vector<std::string>{ "remote_database" });
  CHECK(trigger_ids(test::plan({ { "vus", "10" }, { "query_ms", "10" }, { "database_url", "postgresql://localhost/x" } })).empty());
  CHECK(trigger_ids(test::plan(
          { { "vus", "10" }, { "query_ms", "10" }, { "database_url", "postgresql://localhost/x" }, { "remote_database", "true" } })) ==
        std::vector<std::string>{ "remote_database" });
  CHECK(trigger_ids(test::plan({ { "vus", "501" }, { "query_ms", "1" } })) == std::vector<std::string>{ "scaling_table" });
}

TEST_CASE("size: the PgBouncer plan")
{
  SUBCASE("the seed's example when it fits: default 50, min 10, reserve 10")
  {
    // max_connections 200 leaves 150: the seed's default_pool_size 50 + reserve 10 fit.
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "transaction_pooling", "true" }, { "max_connections", "200" } });
    REQUIRE(p.pgbouncer.has_value());
    CHECK(p.recommendation == Recommendation::pgbouncer);
    CHECK(p.pgbouncer->pools.front().default_pool_size == 50);
    CHECK(p.pgbouncer->pools.front().min_pool_size == 10);
    CHECK(p.pgbouncer->pools.front().reserve_pool_size == 10);
    CHECK(p.pgbouncer->max_client_conn == 1000);
    CHECK(p.pgbouncer->reserve_pool_timeout_s == 5);
    CHECK(p.pgbouncer->pool_mode == PoolMode::transaction);
    CHECK(p.server_connections == 60);
  }
  SUBCASE("with the seed's own database, 50 + 10 do not fit the 50 available")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "transaction_pooling", "true" } });
    REQUIRE(p.pgbouncer.has_value());
    // floor(50 / 1.2) = 41, and the rest of the 50 is the reserve.
    CHECK(p.pgbouncer->pools.front().default_pool_size_wanted == 50);
    CHECK(p.pgbouncer->pools.front().default_pool_size == 41);
    CHECK(p.pgbouncer->pools.front().reserve_pool_size == 9);
    CHECK(p.server_connections == 50);
    CHECK(p.fits);
  }
  SUBCASE("a fleet: the server pool covers every instance's concurrency")
  {
    // 12.6 over 8 instances = 1.575 each: 2 x 3 + 10 = 16 -> 20 per instance, 160 clients in all. The server pool
    // serves the whole 12.6: 13 x 3 + 10 = 49 -> 50, with a reserve of 10.
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "8" }, { "max_connections", "1000" } });
    REQUIRE(p.pgbouncer.has_value());
    CHECK(p.scenarios[0].per_instance_peak == 1.575);
    CHECK(p.pool_size == 20);
    CHECK(p.pgbouncer->pools.front().default_pool_size == 50);
    CHECK(p.pgbouncer->pools.front().reserve_pool_size == 10);
    CHECK(p.total_connections == 160);
    CHECK(p.pgbouncer->max_client_conn == 1000);
  }
}

TEST_CASE("pgbouncer_server_budget: the available connections, at most the safe band's top")
{
  // data/rules.toml: safe_utilization_max 0.70. max_connections 200 less a reserve of 50: 150
  // available, but 70 % of 200 is 140.
  CHECK(pgbouncer_server_budget(150, 200, 0.70) == 140);
  // max_connections 100 less 40 reserved (docs/fleet.md's example): 60 available, under 70.
  CHECK(pgbouncer_server_budget(60, 100, 0.70) == 60);
  // 0.57 x 100 is 56.99999999999999 in doubles: rounded to 9 decimals before the floor, 57.
  CHECK(pgbouncer_server_budget(100, 100, 0.57) == 57);
}

TEST_CASE("PoolMode: PgBouncer's three words, and nothing else")
{
  for (PoolMode mode : { PoolMode::session, PoolMode::transaction, PoolMode::statement }) {
    CHECK(parse_pool_mode(to_string(mode)) == mode);
  }
  CHECK(to_string(PoolMode::transaction) == "transaction");
  CHECK_FALSE(parse_pool_mode("txn").has_value());
  CHECK_FALSE(parse_pool_mode("Transaction").has_value()); // docs/rules.md: the three words as written
  CHECK_FALSE(parse_pool_mode("").has_value());
}

TEST_CASE("size: monitoring thresholds")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
  REQUIRE(p.monitoring.size() == 4);
  // seed, "Warning Thresholds": active > 40 / > 48, idle < 5 / < 2, pending > 0 / > 10, errors > 1 % / > 5 %.
  CHECK(p.monitoring[0].warning == "> 40");
  CHECK(p.monitoring[0].critical == "> 48");
  CHECK(p.monitoring[1].warning == "< 5");
  CHECK(p.monitoring[1].critical == "< 2");
  CHECK(p.monitoring[2].warning == "> 0");
  CHECK(p.monitoring[2].critical == "> 10");
  CHECK(p.monitoring[3].warning == "> 1 %");
  CHECK(p.monitoring[3].critical == "> 5 %");
}

TEST_CASE("size_one: floating-point noise never bumps the ceiling")
{
  // 100 x 0.5 x 0.140 s is exactly 7 concurrent queries; binary floating point says 7.000000000000001.
  const Scenario s = test::scenario({ { "vus", "100" }, { "query_ms", "140" }, { "activity", "0.5" } });
  const ScenarioResult r = size_one(s, 140, 50);
  CHECK(r.peak_concurrent == 7.0);
  CHECK(r.peak_ceil == 7);
  CHECK(r.pool_size_unrounded == 31); // 7 x 3 + 10
  CHECK(r.pool_size == 40);
  // 400 x 1.0 x 0.140 s = 56: 56 x 3 + 10 = 178 -> 180 (57 would give 181 -> 190).
  CHECK(test::plan({ { "vus", "400" }, { "query_ms", "140" }, { "activity", "1" }, { "max_connections", "1000" } }).pool_size == 180);
}

TEST_CASE("size: the largest accepted inputs stay exact")
{
  // 1e9 x 1.0 x 1/s x 0.999 s = 999,000,000 concurrent; x 100 + 100000 = 99,900,100,000 -> round to 10.
  const Plan p =
    test::plan({ { "vus", "1000000000" }, { "query_ms", "999" }, { "activity", "1" }, { "burst", "100" }, { "overhead", "100000" } });
  CHECK(p.scenarios[0].peak_ceil == 999'000'000);
  CHECK(p.pool_size == 99'900'100'000);
  CHECK(p.recommendation == Recommendation::pgbouncer);
  // An open load may go further: 1e9 requests/s x 1000 queries x 1 ms = 1e9 concurrent.
  const Plan open = test::plan({ { "rps", "1000000000" }, { "query_ms", "1" }, { "queries_per_request", "1000" } });
  CHECK(open.scenarios[0].peak_ceil == 1'000'000'000);
}

TEST_CASE("round_up")
{
  CHECK(round_up(49, 10) == 50);
  CHECK(round_up(50, 10) == 50);
  CHECK(round_up(51, 10) == 60);
  CHECK(round_up(7, 1) == 7);
}

TEST_CASE("size: through PgBouncer a plan fits only when the peak fits its server pool")
{
  // 10000 x 0.7 x 0.15 = 1050 concurrent queries; PgBouncer has 41 + 9 = 50 server connections.
  const Plan big = test::plan({ { "vus", "10000" }, { "query_ms", "150" } });
  REQUIRE(big.pgbouncer.has_value());
  CHECK(big.server_connections == 50);
  CHECK_FALSE(big.fits);
  CHECK_FALSE(big.scenarios[0].fits);
  // The seed's three scenarios peak at 9, 13 and 17 (ceilings of 8.4, 12.6, 16.8): all fit in 50,
  // although the direct pool of 70 for the pessimistic one would not.
  const Plan seed = test::plan({ { "vus", "120" }, { "query_ms", "100,150,200" }, { "transaction_pooling", "true" } });
  CHECK(seed.fits);
  CHECK(seed.scenarios[2].fits);
}

TEST_CASE("size_one: a vanishing load still needs one connection")
{
  // 1 VU x 0.001 x 1e-6 s = 1e-9 concurrent queries, and 1e-10 at a tenth of the request rate:
  // rounding to 9 decimals makes the latter 0, but it is not 0.
  const Scenario s = test::scenario({ { "vus", "1" }, { "query_ms", "0.001" }, { "activity", "0.001" }, { "vu_rate", "0.1" } });
  const ScenarioResult r = size_one(s, 0.001, 50);
  CHECK(r.peak_concurrent == 0);
  CHECK(r.peak_ceil == 1);
  CHECK(r.pool_size_unrounded == 13); // 1 x 3 + 10
}

TEST_CASE("application_url: poolcalc never changes the URL's host or port")
{
  // 120 VUs at 150 ms: a pool of 50 (the seed's). A host that is not loopback counts as a remote
  // database, which is one of the PgBouncer triggers (rules pgbouncer.triggers.remote_database).
  const auto through_pgbouncer = [](const std::string& url) {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", url } });
    REQUIRE(p.pgbouncer.has_value());
    return p;
  };
  const std::string params = "connection_limit=50&pool_timeout=30&connect_timeout=10";

  SUBCASE("the server's URL keeps the server's address, without pgbouncer=true; DIRECT_URL is the server")
  {
    const Plan p = through_pgbouncer("postgresql://app:pw@db.internal:5432/chat");
    CHECK(application_url(p)->to_string() == "postgresql://app:pw@db.internal:5432/chat?" + params);
    CHECK(direct_url(p)->to_string() == "postgresql://app:pw@db.internal:5432/chat");
    CHECK(pgbouncer_address_note(p) ==
          "DATABASE_URL still points at the database server (db.internal:5432), as given: once PgBouncer runs (poolcalc pgbouncer "
          "writes its pgbouncer.ini), point DATABASE_URL at PgBouncer's host and port (listen_port 6432 in that file) and, for "
          "Prisma with PgBouncer older than 1.21.0, add pgbouncer=true");
    CHECK(direct_url_note(p).empty());
  }
  SUBCASE("PgBouncer's URL as given (port 6432) keeps its address and gets pgbouncer=true; no DIRECT_URL is invented")
  {
    const Plan p = through_pgbouncer("postgresql://app:pw@pgbouncer.internal:6432/chat");
    CHECK(application_url(p)->to_string() == "postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&" + params);
    CHECK_FALSE(direct_url(p).has_value());
    CHECK(pgbouncer_address_note(p).empty());
    CHECK(direct_url_note(p) ==
          "DATABASE_URL points at PgBouncer (pgbouncer.internal:6432), as given: DIRECT_URL, Prisma's direct connection for "
          "migrations, must be the database server's own address, which poolcalc does not know and does not write");
  }
  SUBCASE("pgbouncer=true on another port, or libpq's port parameter, also mark PgBouncer's URL")
  {
    CHECK(application_url(through_pgbouncer("postgresql://app@pool.internal:7000/chat?pgbouncer=true"))->to_string() ==
          "postgresql://app@pool.internal:7000/chat?pgbouncer=true&" + params);
    CHECK(application_url(through_pgbouncer("postgresql://app@pool.internal/chat?port=6432"))->to_string() ==
          "postgresql://app@pool.internal/chat?port=6432&pgbouncer=true&" + params);
  }
  SUBCASE("is_pgbouncer_url: the rules' listen_port or PgBouncer's default 6432")
  {
    const auto url = [](const std::string& text) { return *DatabaseUrl::parse(text); };
    CHECK(is_pgbouncer_url(url("postgresql://h:7432/db"), 7432));
    CHECK(is_pgbouncer_url(url("postgresql://h:6432/db"), 7432));
    CHECK_FALSE(is_pgbouncer_url(url("postgresql://h:5432/db"), 7432));
    CHECK_FALSE(is_pgbouncer_url(url("postgresql://h/db"), 6432)); // libpq's default 5432
    CHECK_FALSE(is_pgbouncer_url(url("postgresql://h/db?pgbouncer=false"), 6432));
  }
  SUBCASE("a PgBouncer URL kept beside the server's (env --write: DATABASE_URL beside DIRECT_URL)")
  {
    Scenario s =
      test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", "postgresql://app:pw@db.internal:5432/chat" } });
    s.pgbouncer_url = *DatabaseUrl::parse("postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=5");
    const Plan p = size(s, builtin_rules());
    CHECK(application_url(p)->to_string() == "postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&" + params);
    CHECK(direct_url(p)->to_string() == "postgresql://app:pw@db.internal:5432/chat");
    CHECK(pgbouncer_address_note(p).empty());
    CHECK(direct_url_note(p).empty());
  }
  SUBCASE("without PgBouncer in the plan nothing is added")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", "postgresql://app@localhost:6432/chat" } });
    REQUIRE_FALSE(p.pgbouncer.has_value());
    CHECK(application_url(p)->to_string() == "postgresql://app@localhost:6432/chat?" + params);
    CHECK_FALSE(direct_url(p).has_value());
  }
}

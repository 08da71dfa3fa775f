#include "poolcalc/findings.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace poolcalc;
using poolcalc::test::find;

namespace {

std::vector<Finding> findings_for(std::initializer_list<std::pair<std::string, std::string>> values)
{
  return evaluate(test::plan(values), builtin_rules());
}

} // namespace

TEST_CASE("evaluate: the seed's case")
{
  const auto f = findings_for({ { "vus", "120" }, { "query_ms", "100,150,200" } });
  CHECK_FALSE(has_failure(f));
  REQUIRE(find(f, "utilization.within_safe") != nullptr);
  CHECK(find(f, "utilization.within_safe")->message == "50 of max_connections 100 = 50 %, within the safe band of 50-70 %");
  REQUIRE(find(f, "scenario.does_not_fit") != nullptr);
  CHECK(find(f, "scenario.does_not_fit")->level == Level::warn);
  CHECK(find(f, "scenario.does_not_fit")->message ==
        "the pessimistic scenario (200 ms, peak 16.8) needs a pool of 70, more than the 50 available");
  CHECK(find(f, "reserve.replication_not_counted") != nullptr);
  CHECK(find(f, "reserve.superuser_not_default") != nullptr);
  CHECK(find(f, "scaling.band_disagrees") == nullptr); // 50 is inside the 20-50 band
  CHECK(find(f, "pgbouncer.recommended") == nullptr);
  // Ordered by level: warn before info.
  CHECK(f.front().id == "scenario.does_not_fit");
}

TEST_CASE("evaluate: each rule")
{
  SUBCASE("pool.exceeds_available is a fail")
  {
    const auto f = findings_for({ { "vus", "120" }, { "query_ms", "200" } });
    REQUIRE(find(f, "pool.exceeds_available") != nullptr);
    CHECK(find(f, "pool.exceeds_available")->level == Level::fail);
    CHECK(find(f, "pool.exceeds_available")->message == "a pool of 70 exceeds the 50 available (max_connections 100 - reserved 50)");
    CHECK(has_failure(f));
  }
  SUBCASE("utilization.above_safe")
  {
    // 17 x 3 + 20 = 71 -> 80 of 100 (97 available): above 70 %.
    const auto f = findings_for({ { "vus", "120" }, { "query_ms", "200" }, { "reserve", "superuser=3" }, { "overhead", "20" } });
    REQUIRE(find(f, "utilization.above_safe") != nullptr);
    CHECK(find(f, "utilization.above_safe")->message == "80 of max_connections 100 = 80 %, above the safe band of 50-70 %");
    CHECK_FALSE(has_failure(f));
  }
  SUBCASE("utilization.below_safe")
  {
    const auto f = findings_for({ { "vus", "10" }, { "query_ms", "100" } });
    REQUIRE(find(f, "utilization.below_safe") != nullptr);
    CHECK(find(f, "utilization.below_safe")->message == "20 of max_connections 100 = 20 %, below the safe band of 50-70 %: room to spare");
  }
  SUBCASE("scaling.band_disagrees")
  {
    // 40 users: the table says 10-20; the formula gives 40 x 0.7 x 0.5 = 14 -> 14 x 3 + 10 = 52 -> 60.
    const auto f = findings_for({ { "vus", "40" }, { "query_ms", "500" }, { "max_connections", "200" } });
    REQUIRE(find(f, "scaling.band_disagrees") != nullptr);
    CHECK(find(f, "scaling.band_disagrees")->message ==
          "the scaling table puts 40 users (1-50) at a pool of 10-20 with max_connections 50; the formula gives 60");
  }
  SUBCASE("pgbouncer.recommended and pgbouncer.pool_reduced")
  {
    // 480 x 0.7 x 0.15 = 50.4 concurrent, 8.4 per instance: 9 x 3 + 10 = 37 -> 40 each, 240 in all.
    const auto f = findings_for({ { "vus", "480" }, { "query_ms", "150" }, { "instances", "6" }, { "max_connections", "200" } });
    REQUIRE(find(f, "pgbouncer.recommended") != nullptr);
    CHECK(find(f, "pgbouncer.recommended")->message ==
          "use PgBouncer: 6 application instances (more than 5); 240 connections in total (more than 200)");
    // The server pool for the whole load: 51 x 3 + 10 = 163 -> 170, + reserve 34 > 140 (70 % of 200, below the 150
    // available); floor(140 / 1.2) = 116, and 24 for the reserve.
    REQUIRE(find(f, "pgbouncer.pool_reduced") != nullptr);
    CHECK(find(f, "pgbouncer.pool_reduced")->message ==
          "default_pool_size 170 + reserve_pool_size 34 would exceed the 140 server connections inside the safe band (70 % of "
          "max_connections 200; 150 are available); reduced to 116 + 24");
    CHECK(find(f, "utilization.within_safe") != nullptr);
    CHECK(find(f, "pool.exceeds_available") == nullptr); // clients go to PgBouncer
    CHECK_FALSE(has_failure(f));
  }
  SUBCASE("capacity.exceeds_server")
  {
    const auto f = findings_for({ { "vus", "10000" }, { "query_ms", "150" } });
    REQUIRE(find(f, "capacity.exceeds_server") != nullptr);
    CHECK(find(f, "capacity.exceeds_server")->level == Level::fail);
    // 10000 x 0.7 x 0.15 = 1050 > 50.
    CHECK(
      find(f, "capacity.exceeds_server")
        ->message.rfind(
          "the peak of 1050 concurrent queries needs 1050 server connections at once, more than PgBouncer's 50 (all of the 50 available)",
          0) == 0);
    // 3000 x 0.7 x 0.15 = 315 > 280 server connections (70 % of 400), though 350 are available.
    const auto between = findings_for({ { "vus", "3000" }, { "query_ms", "150" }, { "max_connections", "400" } });
    REQUIRE(find(between, "capacity.exceeds_server") != nullptr);
    CHECK(find(between, "capacity.exceeds_server")
            ->message.rfind("the peak of 315 concurrent queries needs 315 server connections at once, more than PgBouncer's 280 (kept "
                            "inside the safe band; 350 are available)",
                            0) == 0);
  }
  SUBCASE("timeouts")
  {
    auto f = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "pool_timeout", "60" } });
    REQUIRE(find(f, "timeout.pool_at_or_above_request") != nullptr);
    CHECK(find(f, "timeout.pool_at_or_above_request")
            ->message.rfind("pool_timeout 60 s is at or above the client's request timeout of 60 s", 0) == 0);
    CHECK(find(findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "pool_timeout", "59" } }), "timeout.pool_at_or_above_request") ==
          nullptr);
    f = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "pool_timeout", "0" } });
    CHECK(find(f, "timeout.pool_disabled") != nullptr);
    CHECK(find(f, "timeout.pool_at_or_above_request") == nullptr);
  }
  SUBCASE("reserve findings follow the budget")
  {
    const auto f = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "reserve", "superuser=3" } });
    CHECK(find(f, "reserve.superuser_not_default") == nullptr);
    CHECK(find(f, "reserve.replication_not_counted") == nullptr);
  }
}

TEST_CASE("rule_catalogue")
{
  std::vector<std::string> ids;
  for (const RuleInfo& r : rule_catalogue()) {
    ids.emplace_back(r.id);
  }
  CHECK(ids.size() == 16);
  CHECK(std::find(ids.begin(), ids.end(), "utilization.within_safe") != ids.end());
}

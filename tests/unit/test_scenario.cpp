#include "poolcalc/scenario.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>

using namespace poolcalc;
using poolcalc::test::inputs;

namespace {

std::string error_of(const RawInputs& raw)
{
  const auto built = build_scenario(raw, builtin_rules());
  REQUIRE_FALSE(built.has_value());
  return built.error();
}

} // namespace

TEST_CASE("build_scenario")
{
  SUBCASE("defaults come from the rules")
  {
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "150" } });
    CHECK(s.vus == 120);
    CHECK(s.query_ms == std::vector<double>{ 150 });
    CHECK(s.activity == 0.70);
    CHECK(s.burst == 3.0);
    CHECK(s.overhead == 10);
    CHECK(s.max_connections == 100);
    CHECK(s.reserved.size() == 4);
    CHECK(s.reserved_is_default);
    CHECK(s.instances == 1);
    CHECK(s.pool_timeout_s == 30);
    CHECK(s.connect_timeout_s == 10);
    CHECK(s.request_timeout_s == 60);
    CHECK_FALSE(s.database_url.has_value());
  }
  SUBCASE("query times are sorted and the middle one is the design")
  {
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "200, 100,150" } });
    CHECK(s.query_ms == std::vector<double>{ 100, 150, 200 });
    CHECK(s.design_index == 1);
  }
  SUBCASE("--design-ms picks another")
  {
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "100,150,200" }, { "design_ms", "200" } });
    CHECK(s.design_index == 2);
  }
  SUBCASE("--reserve replaces the default budget")
  {
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "reserve", "superuser=3" } });
    REQUIRE(s.reserved.size() == 1);
    CHECK(s.reserved[0].name == "superuser");
    CHECK(s.reserved[0].connections == 3);
    CHECK_FALSE(s.reserved_is_default);
  }
  SUBCASE("errors name the input and what is accepted")
  {
    CHECK(error_of(inputs({ { "query_ms", "150" } })) ==
          "--vus is required: the number of concurrent virtual users (or clients), e.g. --vus 120");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "0" } })) ==
          "--instances: expected a whole number from 1 to 10000, got '0'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "transaction_pooling", "maybe" } })) ==
          "--transaction_pooling: expected true or false, got 'maybe'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "reserve", "a=1" }, { "max_connections", "0" } })) ==
          "--max_connections: expected a whole number from 1 to 262143, got '0'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "max_connections", "40" } })) ==
          "--max_connections (with the default reserved budget): the reserved connections (50) exceed max_connections (40); reserve at "
          "most 40");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17" } })) ==
          "--query_ms: expected at most 16 values, got 17");
  }
}

TEST_CASE("parse_scenario_toml")
{
  SUBCASE("keys become inputs with their origin")
  {
    const auto raw = parse_scenario_toml("vus = 120\nquery_ms = [100, 150.5]\nreserve = { superuser = 3, admin = 5 }\n", "s.toml");
    REQUIRE(raw.has_value());
    CHECK(raw->at("vus").items == std::vector<std::string>{ "120" });
    CHECK(raw->at("vus").origin == "s.toml:1:7: vus");
    CHECK(raw->at("query_ms").items == std::vector<std::string>{ "100", "150.5" });
    CHECK(raw->at("reserve").items == std::vector<std::string>{ "superuser=3", "admin=5" });
  }
  SUBCASE("a bad value later names its file position")
  {
    const auto raw = parse_scenario_toml("vus = 0\nquery_ms = 150\n", "s.toml");
    REQUIRE(raw.has_value());
    CHECK(build_scenario(*raw, builtin_rules()).error() == "s.toml:1:7: vus: expected a whole number from 1 to 1000000000, got '0'");
  }
  SUBCASE("types are checked")
  {
    CHECK(parse_scenario_toml("vus = \"120\"\n", "s.toml").error() == "s.toml:1:7: vus: expected a number");
    CHECK(parse_scenario_toml("explain = 1\n", "s.toml").error() == "s.toml:1:11: explain: expected true or false");
    CHECK(parse_scenario_toml("database_url = 5\n", "s.toml").error() == "s.toml:1:16: database_url: expected a string");
    CHECK(parse_scenario_toml("reserve = 5\n", "s.toml").error() ==
          "s.toml:1:11: reserve: expected a table of NAME = N (e.g. reserve = { superuser = 3, admin = 5 })");
  }
  SUBCASE("unknown keys are errors")
  {
    CHECK(parse_scenario_toml("vus = 1\nconfig = \"x\"\n", "s.toml")
            .error()
            .rfind("s.toml:2:10: config: unknown key (accepted: vus, query_ms,", 0) == 0);
  }
}

TEST_CASE("scenario_labels")
{
  CHECK(scenario_labels(3) == std::vector<std::string>{ "conservative", "realistic", "pessimistic" });
  CHECK(scenario_labels(1) == std::vector<std::string>{ "design" });
  CHECK(scenario_labels(2) == std::vector<std::string>{ "scenario 1", "scenario 2" });
}

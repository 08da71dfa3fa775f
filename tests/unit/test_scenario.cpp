#include "poolcalc/scenario.hpp"

#include "helpers.hpp"

#include <cmath>

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
  }
  SUBCASE("errors name the input and what is accepted")
  {
    CHECK(error_of(inputs({ { "query_ms", "150" } })) ==
          "--vus or --rps is required: the concurrent virtual users (a closed load, e.g. --vus 120) or the requests per second (an "
          "open load, e.g. --rps 64.6)");
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
          "--query_ms: expected 1 to 16 values, got 17");
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
    CHECK(parse_scenario_toml("vus = \"120\"\n", "s.toml").error() == "s.toml:1:7: vus: expected a whole number");
    CHECK(parse_scenario_toml("vus = 120.0\n", "s.toml").error() == "s.toml:1:7: vus: expected a whole number");
    CHECK(parse_scenario_toml("reserve = { a = 3.5 }\n", "s.toml").error() == "s.toml:1:17: reserve.a: expected a whole number");
    CHECK(parse_scenario_toml("burst = \"3\"\n", "s.toml").error() == "s.toml:1:9: burst: expected a number");
    CHECK(parse_scenario_toml("op = [\"a:1:5\", 3]\n", "s.toml").error() == "s.toml:1:16: op: expected a string or an array of strings");
    CHECK(parse_scenario_toml("explain = 1\n", "s.toml").error() == "s.toml:1:11: explain: expected true or false");
    CHECK(parse_scenario_toml("database_url = 5\n", "s.toml").error() == "s.toml:1:16: database_url: expected a string");
    CHECK(parse_scenario_toml("reserve = 5\n", "s.toml").error() ==
          "s.toml:1:11: reserve: expected a table of NAME = N (e.g. reserve = { superuser = 3, admin = 5 })");
  }
  SUBCASE("unknown keys are errors")
  {
    CHECK(parse_scenario_toml("vus = 1\nconfig = \"x\"\n", "s.toml")
            .error()
            .rfind("s.toml:2:10: config: unknown key (accepted: vus, rps, query_ms,", 0) == 0);
  }
}

TEST_CASE("scenario_labels")
{
  CHECK(scenario_labels(3) == std::vector<std::string>{ "conservative", "realistic", "pessimistic" });
  CHECK(scenario_labels(1) == std::vector<std::string>{ "design" });
  CHECK(scenario_labels(2) == std::vector<std::string>{ "scenario 1", "scenario 2" });
}

TEST_CASE("build_scenario: the queueing inputs")
{
  SUBCASE("an operation mix replaces activity and query time")
  {
    const Scenario s = test::scenario({ { "vus", "120" }, { "op", "send:1:150" } });
    REQUIRE(s.operations.size() == 1);
    CHECK(s.operations[0].name == "send");
    CHECK(s.query_ms == std::vector<double>{ 150 });
    CHECK(s.hold_cv2 == doctest::Approx(1.0)); // one exponential operation
  }
  SUBCASE("the mix's mean hold and variability")
  {
    RawInputs raw = inputs({ { "vus", "120" } });
    raw["op"] = RawValue{ { "send:0.7:150", "fetch:0.3:80" }, "--op" };
    const auto s = build_scenario(raw, builtin_rules());
    REQUIRE(s.has_value());
    // 0.7 x 150 + 0.3 x 80 = 129 ms; E[S^2] = 0.7 x 2 x 150^2 + 0.3 x 2 x 80^2 (exponential holds): cv^2 = 1.1236704...
    CHECK(s->query_ms == std::vector<double>{ 129 });
    CHECK(s->activity == 1.0);
    CHECK(s->hold_cv2 == doctest::Approx(1.123670452496845).epsilon(1e-12));
    CHECK(offered_concurrency(*s, 129) == doctest::Approx(15.48));
  }
  SUBCASE("a lognormal fitted to the mean and p95")
  {
    // sigma = z - sqrt(z^2 - 2 ln(400 / 150)) with z = 1.6448536...; cv^2 = exp(sigma^2) - 1 (Python, math).
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "query_p95_ms", "400" } });
    CHECK(s.hold_cv2 == doctest::Approx(0.8442939482534793).epsilon(1e-12));
  }
  SUBCASE("a lognormal fitted to the mean and several percentiles")
  {
    // Mean 150 ms, cv 1.735: sigma^2 = ln(1 + 1.735^2), mu = ln(0.15) - sigma^2 / 2, so p95 =
    // exp(mu + 1.6449 sigma) = 520.4 ms and p99 = exp(mu + 2.3263 sigma) = 1161.9 ms (Python,
    // statistics.NormalDist): both back give cv 1.735.
    const Scenario s =
      test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "query_p95_ms", "520.4" }, { "query_p99_ms", "1161.9" } });
    CHECK(s.hold_shape.family == Distribution::Family::lognormal);
    CHECK(std::sqrt(s.hold_cv2) == doctest::Approx(1.735).epsilon(1e-3));
    CHECK(s.hold_shape.mean_s == doctest::Approx(1.0)); // the shape, scaled to the design hold later
    CHECK(s.hold_cv_source == "lognormal fit of mean 150 ms and p95 520.4 ms, p99 1161.9 ms");
  }
  SUBCASE("the spreads: the rules' defaults and the flags")
  {
    const Scenario defaults = test::scenario({ { "vus", "120" }, { "query_ms", "150" } });
    CHECK(defaults.hold_shape.family == Distribution::Family::exponential); // rules queueing.hold_cv = 1
    CHECK(defaults.think_shape.family == Distribution::Family::constant);   // rules queueing.think_cv = 0
    CHECK(defaults.hold_cv_source == "rules queueing.hold_cv 1");
    CHECK(defaults.think_source == "rules queueing.think_cv 0");
    const Scenario given = test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "query_cv", "0.5" }, { "think_cv", "1" } });
    CHECK(given.hold_shape.family == Distribution::Family::lognormal);
    CHECK(given.hold_cv2 == doctest::Approx(0.25));
    CHECK(given.think_shape.family == Distribution::Family::exponential);
    CHECK(given.think_source == "--think-cv 1");
    CHECK(test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "query_cv", "0" } }).hold_shape.family ==
          Distribution::Family::constant);
  }
  SUBCASE("a sample file's holds: its mean is the hold")
  {
    RawInputs raw = inputs({ { "vus", "120" } });
    raw["query_sample"] = RawValue{ { "holds.txt" }, "--query-sample" };
    raw["query_sample"].contents = "# ms\n100\n200\n150,150\n";
    const auto s = build_scenario(raw, builtin_rules());
    REQUIRE(s.has_value());
    CHECK(s->query_ms == std::vector<double>{ 150 }); // (100 + 200 + 150 + 150) / 4
    CHECK(s->hold_shape.family == Distribution::Family::empirical);
    CHECK(s->hold_cv_source == "--query-sample holds.txt (4 values)");
    raw["query_ms"] = RawValue{ { "150" }, "--query-ms" };
    CHECK(error_of(raw) == "--query-sample: the sample's mean is the hold; drop --query-ms");
    raw.erase("query_ms");
    raw["query_sample"].contents = "100\nfast\n";
    CHECK(error_of(raw).starts_with("--query-sample: holds.txt: line 2: 'fast' is not a number of milliseconds"));
  }
  SUBCASE("Little's law from a measured rate")
  {
    // 64.6 requests/s x 0.150 s = 9.69 (the seed's target rate).
    const Scenario s = test::scenario({ { "rps", "64.6" }, { "query_ms", "150" } });
    CHECK(offered_concurrency(s, 150) == doctest::Approx(9.69));
  }
  SUBCASE("think time and queries per request")
  {
    // cycle = 0.5 s think + 2 x 0.15 s = 0.8 s: 2.5 queries/s per VU; 84 x 2.5 x 0.15 = 31.5.
    const Scenario s = test::scenario({ { "vus", "120" }, { "query_ms", "150" }, { "think_ms", "500" }, { "queries_per_request", "2" } });
    CHECK(vu_query_rate(s, 0.15) == doctest::Approx(2.5));
    CHECK(offered_concurrency(s, 150) == doctest::Approx(31.5));
  }
  SUBCASE("errors")
  {
    RawInputs shares = inputs({ { "vus", "120" } });
    shares["op"] = RawValue{ { "send:0.7:150", "fetch:0.2:80" }, "--op" };
    CHECK(error_of(shares) == "--op: the shares sum to 0.9; they must sum to 1");
    CHECK(error_of(inputs({ { "vus", "120" }, { "op", "send:1:150" }, { "query_ms", "150" } })) ==
          "--query_ms: --op gives each operation's hold time; drop --query-ms");
    CHECK(error_of(inputs({ { "vus", "120" }, { "op", "send-150" } })) ==
          "--op: expected NAME:SHARE:MS (e.g. send:0.7:150), got 'send-150'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "rps", "5" }, { "query_ms", "150" } })) ==
          "--rps: give --vus (a closed load: k6 VUs) or --rps (an open load: arrivals per second), not both");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "vu_rate", "7" } })) ==
          "--vu_rate: at 7/s with 1 query of 150 ms per request, each VU would hold a connection 1.05 s of every second; lower the "
          "rate or give --think-ms");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "vu_rate", "2" }, { "think_ms", "100" } })) ==
          "--vu_rate: --think-ms sets each VU's pace; drop --vu-rate");
    CHECK(error_of(inputs({ { "rps", "60" }, { "query_ms", "150" }, { "activity", "0.5" } })) ==
          "--activity: applies to VUs (a closed load), not to --rps");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "query_p95_ms", "900" } })) ==
          "--query_p95_ms: a p95 of 900 ms with a mean of 150 ms fits no lognormal: its p95 is at most the mean x e^(z^2/2) = 580.2 ms");
    // 150 x exp(z^2 / 2) = 580.24 ms (Python): the largest p95 a lognormal with that mean can have.
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "pool", "0" } })) ==
          "--pool: expected pool sizes N or ranges A-B (A <= B), each from 1 to 262143, got '0'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "" } })) ==
          "--query_ms: expected a number from 0.001 to 3600000 (milliseconds a query holds a connection), got ''");
    RawInputs empty_ops = inputs({ { "vus", "120" } });
    empty_ops["op"] = RawValue{ {}, "--op" };
    CHECK(error_of(empty_ops) == "--op: expected at least one operation NAME:SHARE:MS");
    RawInputs empty_list = inputs({ { "vus", "120" } });
    empty_list["query_ms"] = RawValue{ {}, "s.toml:2:12: query_ms" };
    CHECK(error_of(empty_list) == "s.toml:2:12: query_ms: expected 1 to 16 values, got 0");
    CHECK(error_of(inputs({ { "vus", "120" }, { "op", "a:0.5:150" }, { "op", "a:0.5:60" } })) == "--op: a is given twice");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "target", "timeout_rate<0.001" }, { "pool_timeout", "0" } })) ==
          "--target: a timeout_rate target needs a pool timeout, and --pool-timeout is 0 (never time out)");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "queries_per_request", "7" } })) ==
          "--queries_per_request: at 1/s with 7 queries of 150 ms per request, each VU would hold a connection 1.05 s of every "
          "second; lower the rate or give --think-ms");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "100,150" }, { "query_p95_ms", "300" } })) ==
          "--query_p95_ms: a percentile fits one mean: give a single --query-ms");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "query_cv", "2" }, { "query_p99_ms", "300" } })) ==
          "--query_p99_ms: give --query-cv or measured percentiles, not both");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "query_p50_ms", "200" } })) ==
          "--query_p50_ms: a p50 of 200 ms is not below the mean of 150 ms, which no lognormal has (its median is below its mean)");
    CHECK(error_of(inputs({ { "rps", "60" }, { "query_ms", "150" }, { "think_cv", "1" } })) ==
          "--think_cv: applies to VUs (a closed load), not to --rps");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "think_cv", "11" } })) ==
          "--think_cv: expected a number from 0 to 10, got '11'");
    CHECK(
      error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "stream", "-1" } })).starts_with("--stream: expected a whole number"));
    CHECK(error_of(inputs({ { "vus", "120" }, { "op", "send:1:150" }, { "query_cv", "2" } })) ==
          "--query_cv: the --op mix sets the variability; drop it");
    CHECK(error_of(inputs({ { "vus", "120" }, { "op", "se nd:1:150" } })) ==
          "--op: expected NAME:SHARE:MS (NAME of letters, digits, '_' or '-'; e.g. send:0.7:150), got 'se nd:1:150'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "pool", "5-3" } })) ==
          "--pool: expected pool sizes N or ranges A-B (A <= B), each from 1 to 262143, got '5-3'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "target", "p99_wait<3600001s" } })) ==
          "--target: expected a wait from 0.001 ms to 3600 s, got 'p99_wait<3600001s'");
    CHECK(error_of(inputs({ { "vus", "120" }, { "query_ms", "150" }, { "pool", "1-2000" } })) ==
          "--pool: expected at most 1000 pool sizes, got 2000 in '1-2000'");
  }
}

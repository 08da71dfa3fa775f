// `poolcalc k6`: the load test's plan (docs/k6.md). Figures: the original note's worked example
// (120 VUs, 0.70 active, 150 ms, its phases 5 -> 10 -> 25 -> 50 -> 100 -> 120 VUs and their
// durations), rules k6 and advisor.surge, Little's law, and the exponential hold's quantiles
// (-ln(1 - p) x mean).
#include "helpers.hpp"

#include "poolcalc/k6.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace poolcalc;
using poolcalc::test::plan;

TEST_CASE("k6 durations: k6's units, one or more groups")
{
  CHECK(k6_duration_seconds("30s") == 30.0);
  CHECK(k6_duration_seconds("5m") == 300.0);
  CHECK(k6_duration_seconds("1h30m") == 5400.0);
  CHECK(k6_duration_seconds("1m30s") == 90.0);
  CHECK(k6_duration_seconds("500ms") == doctest::Approx(0.5));
  CHECK(k6_duration_seconds("1.5m") == 90.0);
  CHECK_FALSE(k6_duration_seconds(""));
  CHECK_FALSE(k6_duration_seconds("30"));
  CHECK_FALSE(k6_duration_seconds("s30"));
  CHECK_FALSE(k6_duration_seconds("30sec"));
  CHECK_FALSE(k6_duration_seconds("1..5s"));
  CHECK_FALSE(k6_duration_seconds(".5s"));
  CHECK_FALSE(k6_duration_seconds("-5s"));
  CHECK_FALSE(k6_duration_seconds("9999999999s")); // more digits than any real duration: refused, not overflowed
}

TEST_CASE("k6: the worked example's test")
{
  const Rules& rules = builtin_rules();
  const Plan p = plan({ { "vus", "120" }, { "query_ms", "150" } });
  const K6Plan test = plan_k6(p, rules);
  CHECK_FALSE(test.open);
  REQUIRE(test.phases.size() == 7);
  const double vus[] = { 5, 10, 25, 50, 100, 120, 240 };
  const double holds[] = { 30, 60, 120, 300, 300, 870, 300 };
  for (std::size_t i = 0; i < 7; ++i) {
    CAPTURE(i);
    CHECK(test.phases[i].load == vus[i]);
    CHECK(test.phases[i].seconds == holds[i]);
    // Little's law: VUs x 0.70 active x 1 query/s x 0.150 s
    CHECK(test.phases[i].expected_peak == doctest::Approx(vus[i] * 0.7 * 0.15));
    CHECK(test.phases[i].stress == (i == 6));
  }
  CHECK(test.phases[0].id == "baseline");
  CHECK(test.phases[5].id == "target_load");
  CHECK(test.phases[6].id == "stress");
  // 7 ramps of 30 s, the holds, and the ramp down
  CHECK(test.total_seconds == 8 * 30 + 30 + 60 + 120 + 300 + 300 + 870 + 300);
  CHECK(test.pace_s == doctest::Approx(1 / 0.7));
  CHECK(test.own_p95_ms == doctest::Approx(-std::log(0.05) * 150).epsilon(1e-6));
  CHECK(test.own_p99_ms == doctest::Approx(-std::log(0.01) * 150).epsilon(1e-6));
  CHECK(test.request_timeout_s == 60); // k6's default, rules timeouts.client_request_timeout_s
  CHECK(test.failed_warn == 0.01);     // the original note's pool timeout errors: warning > 1 %
  CHECK(test.failed_abort == 0.05);    // critical > 5 %
  // The pool of 50 is far above 240 VUs' 25.2 busy: nobody waits, not even in the stress phase.
  for (const K6Phase& phase : test.phases) {
    CHECK(phase.at_load.pool == 50);
    CHECK(phase.at_load.p99_wait_ms == doctest::Approx(0).epsilon(0.001));
    CHECK(phase.failed_threshold == 0.01);
  }
}

TEST_CASE("k6: an open load and a tight pool")
{
  const Rules& rules = builtin_rules();
  SUBCASE("--rps: the phases are rates, and the VUs cover the stress phase's slowest requests")
  {
    const Plan p = plan({ { "rps", "60" }, { "query_ms", "150" } });
    const K6Plan test = plan_k6(p, rules);
    CHECK(test.open);
    CHECK(test.phases.front().load == doctest::Approx(2.5));
    CHECK(test.phases.back().load == 120);
    CHECK(test.pace_s == 0);
    // 120/s x (the hold's p99 690.8 ms + no wait) = 82.9 -> 83, and rules k6.max_vus_ratio (4) times that
    CHECK(test.pre_allocated_vus == 83);
    CHECK(test.max_vus == 332);
  }
  SUBCASE("a pool the stress phase overruns: its waits and its timeouts set its thresholds")
  {
    const Plan p = plan({ { "vus", "120" }, { "query_ms", "150" }, { "burst", "1" }, { "overhead", "0" } });
    REQUIRE(p.pool_size == 20);
    const K6Plan test = plan_k6(p, rules);
    const K6Phase& stress = test.phases.back();
    // 168 active VUs on 20 connections: tests/tools/run.py computes the same p95 (414.2 ms) from
    // the exact M/M/c//N state probabilities.
    CHECK(stress.at_load.p95_wait_ms == doctest::Approx(414.2).epsilon(0.001));
    CHECK(stress.at_load.p95_wait_ms > test.phases[5].at_load.p95_wait_ms);
    CHECK(stress.failed_threshold >= test.failed_warn);
  }
}

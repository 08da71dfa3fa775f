#include "poolcalc/queueing.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

using namespace poolcalc;

namespace {

// Reference values: tests/reference/queueing_reference.py (exact rational state probabilities
// and Erlang recursions with Python's fractions; tails by term-by-term Poisson sums).
doctest::Approx exact(double value)
{
  return doctest::Approx(value).epsilon(1e-9);
}

} // namespace

TEST_CASE("erlang_b and erlang_c")
{
  // M/M/3 at 2 Erlangs: C = 4/9 (a textbook case) and B = 4/19.
  CHECK(erlang_b(2, 3) == exact(4.0 / 19.0));
  CHECK(erlang_c(2, 3) == exact(4.0 / 9.0));
  // 60 queries/s x 150 ms = 9 Erlangs.
  CHECK(erlang_b(9, 10) == exact(0.16796322629158644));
  CHECK(erlang_c(9, 10) == exact(0.66873152410769698));
  CHECK(erlang_c(9, 11) == exact(0.43047024672844053));
  CHECK(erlang_c(9, 12) == exact(0.26603468446866246));
  CHECK(erlang_c(9, 14) == exact(0.089175996542395192));
  CHECK(erlang_c(9, 20) == exact(0.001121202808799582));
  SUBCASE("no overflow far past where factorials and power series fail")
  {
    const double b = erlang_b(100000, 100500);
    CHECK(std::isfinite(b));
    CHECK(b > 0);
    CHECK(b < 0.01);
    CHECK(erlang_c(100000, 100000) == 1.0);
    // Both ways of computing B agree where they meet: the recursion at 100,000 servers and the
    // Poisson ratio at 100,001, against one more step of the recursion by hand.
    const double a = 99'000;
    const double b_recursion = erlang_b(a, 100'000);
    const double b_next = a * b_recursion / (100'001 + a * b_recursion);
    CHECK(erlang_b(a, 100'001) == doctest::Approx(b_next).epsilon(1e-9));
    CHECK(erlang_b(1.5e8, 450'000'010) == 0.0);
  }
}

TEST_CASE("closed_metrics: the seed's load on small pools")
{
  // 120 VUs x 0.70 = 84 active, 150 ms holds, one query per second each: think 850 ms.
  const ClosedLoad load{ 84, 0.15, 0.85 };
  SUBCASE("a pool of 10 (the default the seed ran out of)")
  {
    const QueueMetrics m = closed_metrics(load, 10, 0.1);
    CHECK(m.model == QueueModel::closed);
    CHECK(m.throughput_rps == exact(66.56158306434574));
    CHECK(m.utilization == exact(0.99842374596518624));
    CHECK(m.p_wait == exact(0.98989362070150111));
    CHECK(m.mean_wait_ms == exact(261.98921559296989));
    CHECK(m.timeout_rate == exact(0.90208733072045222)); // P(wait > 100 ms)
    CHECK(m.stable);
  }
  SUBCASE("a pool of 14")
  {
    const QueueMetrics m = closed_metrics(load, 14, 0.1);
    CHECK(m.throughput_rps == exact(82.006010299075541));
    CHECK(m.p_wait == exact(0.47899066948235058));
    CHECK(m.mean_wait_ms == exact(24.315165359860592));
    CHECK(m.timeout_rate == exact(0.064318232277105841));
  }
  SUBCASE("percentiles are where the tail crosses 5 % and 1 %")
  {
    const QueueMetrics m = closed_metrics(load, 14, 0);
    // Newton's method stops within about 1e-12 of the root; the tail falls steeply there (about 1 %
    // per 0.1 % of t), so it matches to 1e-8.
    CHECK(closed_wait_tail(load, 14, m.p95_wait_ms / 1000.0) == doctest::Approx(0.05).epsilon(1e-8));
    CHECK(closed_wait_tail(load, 14, m.p99_wait_ms / 1000.0) == doctest::Approx(0.01).epsilon(1e-8));
    CHECK(m.p99_wait_ms > m.p95_wait_ms);
    CHECK(m.timeout_rate == 0); // no timeout given
    // Saturated pools of 10,000 VUs, where the tail is far from exponential (thousands wait, all
    // for about the same time): the first guess is far off, and the answer still solves the tail.
    const ClosedLoad crowd{ 10'000, 0.15, 0.85 };
    for (const std::int64_t pool : { 1, 100, 1000 }) {
      INFO("pool " << pool);
      const QueueMetrics s = closed_metrics(crowd, pool, 0);
      CHECK(closed_wait_tail(crowd, pool, s.p95_wait_ms / 1000.0) == doctest::Approx(0.05).epsilon(1e-8));
      CHECK(closed_wait_tail(crowd, pool, s.p99_wait_ms / 1000.0) == doctest::Approx(0.01).epsilon(1e-8));
    }
  }
  SUBCASE("a pool of 50 (the seed's answer): nobody waits")
  {
    const QueueMetrics m = closed_metrics(load, 50, 30);
    CHECK(m.p_wait < 1e-6);
    CHECK(m.p99_wait_ms == 0);
    // Little's law: 84 users / (0.85 + 0.15) s = 84 queries/s, 12.6 busy = the seed's peak.
    CHECK(m.throughput_rps == doctest::Approx(84.0).epsilon(1e-6));
    CHECK(m.utilization * 50 == doctest::Approx(12.6).epsilon(1e-6));
  }
}

TEST_CASE("closed_metrics: a case to check by hand")
{
  // N = 3, c = 1, S = 1 s, Z = 2 s: p is proportional to 1, 3/2, 3/2, 3/4 (total 19/4).
  const QueueMetrics m = closed_metrics({ 3, 1.0, 2.0 }, 1, 1.0);
  CHECK(m.throughput_rps == exact(15.0 / 19.0));
  CHECK(m.p_wait == exact(0.6));
  CHECK(m.mean_wait_ms == exact(800));
  CHECK(m.timeout_rate == exact(0.29430355293715388));
}

TEST_CASE("closed_metrics: large populations stay finite and fast")
{
  const ClosedLoad load{ 1'000'000, 0.1, 0.9 }; // 100,000 busy on average
  const QueueMetrics under = closed_metrics(load, 99'000, 30);
  CHECK(std::isfinite(under.mean_wait_ms));
  CHECK(std::isfinite(under.p99_wait_ms));
  CHECK(under.throughput_rps <= 99'000 / 0.1 + 1e-6);
  const QueueMetrics over = closed_metrics(load, 101'000, 30);
  CHECK(over.p_wait < under.p_wait);
  CHECK(over.throughput_rps == doctest::Approx(1'000'000 / 1.0).epsilon(1e-3));
}

TEST_CASE("open_metrics")
{
  const OpenLoad load{ 60, 0.15, 1.0 }; // 9 Erlangs
  SUBCASE("Erlang C with exponential holds")
  {
    const QueueMetrics m = open_metrics(load, 10, 0);
    CHECK(m.model == QueueModel::open);
    CHECK(m.p_wait == exact(0.66873152410769698));
    // Mean wait C S / (c - a) = 0.668731... x 0.15 / 1 s.
    CHECK(m.mean_wait_ms == exact(0.66873152410769698 * 150.0));
    // P(W > t) = C exp(-(c - a) t / S): p95 = S / (c - a) ln(C / 0.05).
    CHECK(m.p95_wait_ms == exact(150.0 * std::log(0.66873152410769698 / 0.05)));
    CHECK(m.utilization == exact(0.9));
    CHECK(m.throughput_rps == 60);
  }
  SUBCASE("Allen-Cunneen scales the waits by (1 + cv^2) / 2")
  {
    const QueueMetrics m = open_metrics({ 60, 0.15, 3.0 }, 12, 0);
    CHECK(m.mean_wait_ms == exact(0.26603468446866246 * 150.0 / 3.0 * 2.0));
  }
  SUBCASE("at or above capacity: unstable, with the throughput cap")
  {
    const QueueMetrics m = open_metrics(load, 9, 30);
    CHECK_FALSE(m.stable);
    CHECK(m.throughput_rps == exact(60.0));
    CHECK(std::isinf(m.mean_wait_ms));
    const QueueMetrics over = open_metrics({ 100, 0.15, 1.0 }, 10, 30);
    CHECK(over.throughput_rps == exact(10 / 0.15));
    CHECK(over.timeout_rate == exact(1.0 - 10.0 / 15.0));
  }
}

TEST_CASE("parse_target")
{
  CHECK(parse_target("p99_wait<50ms")->bound == 50);
  CHECK(parse_target("p95_wait<0.2s")->bound == 200);
  CHECK(parse_target("p_wait<5%")->bound == doctest::Approx(0.05));
  CHECK(parse_target("timeout_rate<0.001")->metric == Target::Metric::timeout_rate);
  for (const char* bad : { "p99_wait<50", "p99<50ms", "p_wait>0.1", "", "p_wait<nan", "p_wait<1e400" }) {
    INFO(bad);
    const auto t = parse_target(bad);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error() == "expected METRIC<VALUE: p99_wait<50ms, p95_wait<0.2s, mean_wait<10ms, p_wait<0.05 (or <5%), "
                       "timeout_rate<0.001; got '" +
                         std::string(bad) + "'");
  }
  // Out of range: a wait from a microsecond to an hour, a share from one in a million to 1.
  CHECK(parse_target("p_wait<2").error() == "expected a share from 0.000001 to 1 (0.0001% to 100%), got 'p_wait<2'");
  CHECK(parse_target("p_wait<0").error() == "expected a share from 0.000001 to 1 (0.0001% to 100%), got 'p_wait<0'");
  CHECK(parse_target("timeout_rate<4.9e-324").error() ==
        "expected a share from 0.000001 to 1 (0.0001% to 100%), got 'timeout_rate<4.9e-324'");
  CHECK(parse_target("p99_wait<0ms").error() == "expected a wait from 0.001 ms to 3600 s, got 'p99_wait<0ms'");
  CHECK(parse_target("mean_wait<-1ms").error() == "expected a wait from 0.001 ms to 3600 s, got 'mean_wait<-1ms'");
  CHECK(parse_target("mean_wait<3601s").error() == "expected a wait from 0.001 ms to 3600 s, got 'mean_wait<3601s'");
  CHECK(parse_target("p99_wait<0.001ms")->bound == 0.001);
  CHECK(parse_target("p_wait<0.000001")->bound == 0.000001);
}

TEST_CASE("smallest_pool")
{
  const OpenLoad load{ 60, 0.15, 1.0 };
  const auto evaluate = [&](std::int64_t c) { return open_metrics(load, c, 0); };
  // From the Erlang C values above: C(9, 12) = 0.266 > 0.1 > C(9, 14) = 0.089; C(9, 13) in between?
  const auto pool = smallest_pool(evaluate, *parse_target("p_wait<0.1"), 10, 1000);
  REQUIRE(pool.has_value());
  CHECK(erlang_c(9, *pool) < 0.1);
  CHECK(erlang_c(9, *pool - 1) >= 0.1);
  CHECK_FALSE(smallest_pool(evaluate, *parse_target("p_wait<0.1"), 10, 11).has_value());
}

TEST_CASE("open_curve and open_smallest_pool agree with the one-pool functions")
{
  const OpenLoad load{ 64.6, 0.15, 1.0 };
  const std::vector<std::int64_t> pools = { 10, 11, 12, 14, 20, 50 };
  const auto curve = open_curve(load, pools, 30);
  REQUIRE(curve.size() == pools.size());
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const QueueMetrics one = open_metrics(load, pools[i], 30);
    CHECK(curve[i].p_wait == exact(one.p_wait));
    CHECK(curve[i].stable == one.stable);
  }
  for (const char* goal : { "p_wait<0.05", "p99_wait<50ms", "mean_wait<1ms", "timeout_rate<0.000001" }) {
    INFO(goal);
    const Target target = *parse_target(goal);
    const auto scanned = open_smallest_pool(load, target, 30, 100000);
    const auto bisected = smallest_pool([&](std::int64_t c) { return open_metrics(load, c, 30); }, target, 1, 100000);
    REQUIRE(scanned.has_value());
    CHECK(*scanned == *bisected);
  }
  // 100,000 Erlangs: the smallest pool for P(wait) < 5 % lies near a + 1.74 sqrt(a) (square-root staffing,
  // Halfin-Whitt), i.e. 100,550.
  const auto big = open_smallest_pool({ 1'000'000, 0.1, 1.0 }, *parse_target("p_wait<0.05"), 0, 262143);
  REQUIRE(big.has_value());
  CHECK(*big > 100'500);
  CHECK(*big < 100'600);
}

TEST_CASE("closed_metrics: every figure falls as the pool grows")
{
  const ClosedLoad load{ 84, 0.15, 0.85 };
  QueueMetrics previous = closed_metrics(load, 8, 1);
  for (std::int64_t c = 9; c <= 30; ++c) {
    const QueueMetrics m = closed_metrics(load, c, 1);
    CHECK(m.p_wait <= previous.p_wait);
    CHECK(m.mean_wait_ms <= previous.mean_wait_ms);
    CHECK(m.p99_wait_ms <= previous.p99_wait_ms);
    CHECK(m.throughput_rps >= previous.throughput_rps);
    previous = m;
  }
}

TEST_CASE("closed_curve: each pool as closed_metrics computes it alone")
{
  // The worked example's load on small pools, and 10,000 VUs on saturated pools (thousands wait).
  const std::vector<std::pair<ClosedLoad, std::vector<std::int64_t>>> cases = {
    { { 84, 0.15, 0.85 }, { 1, 2, 5, 10, 13, 14, 15, 20, 50, 84, 100 } },
    { { 10'000, 0.15, 0.85 }, { 1, 2, 3, 100, 999, 1000, 1001, 1400, 1500, 1600, 2000 } },
  };
  const auto same = [](double fast, double alone) {
    return fast == alone || std::fabs(fast - alone) <= 1e-9 * std::max(std::fabs(fast), std::fabs(alone));
  };
  for (const auto& [load, pools] : cases) {
    const std::vector<QueueMetrics> curve = closed_curve(load, pools, 30);
    REQUIRE(curve.size() == pools.size());
    for (std::size_t i = 0; i < pools.size(); ++i) {
      INFO("users " << load.users << ", pool " << pools[i]);
      const QueueMetrics alone = closed_metrics(load, pools[i], 30);
      CHECK(curve[i].pool == pools[i]);
      CHECK(same(curve[i].throughput_rps, alone.throughput_rps));
      CHECK(same(curve[i].p_wait, alone.p_wait));
      CHECK(same(curve[i].mean_wait_ms, alone.mean_wait_ms));
      CHECK(same(curve[i].p95_wait_ms, alone.p95_wait_ms));
      CHECK(same(curve[i].p99_wait_ms, alone.p99_wait_ms));
      CHECK(same(curve[i].timeout_rate, alone.timeout_rate));
      CHECK(same(curve[i].utilization, alone.utilization));
    }
  }
}

#include "poolcalc/queueing.hpp"
#include "poolcalc/simulate.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace poolcalc;

namespace {

// Small budgets keep each case well under a second in an unoptimised, sanitised build; the
// intervals the simulation reports are correspondingly wide, and the checks use them.
SimOptions small_run(std::int64_t max_events = 120'000)
{
  SimOptions o;
  o.seed = 20261130;
  o.threads = 1;
  o.max_events = max_events;
  return o;
}

SimGroup closed_group(std::int64_t users, std::int64_t pool, Distribution think, Distribution hold)
{
  SimGroup g;
  g.name = "app";
  g.users = users;
  g.pool = pool;
  g.think = std::move(think);
  g.hold = std::move(hold);
  return g;
}

SimGroup open_group(double rps, std::int64_t pool, Distribution hold)
{
  SimGroup g;
  g.name = "api";
  g.arrival_rps = rps;
  g.pool = pool;
  g.hold = std::move(hold);
  return g;
}

// The simulated value is within two of its own half-widths of the exact one (and the interval is
// not degenerate where the exact value is not 0).
void check_within(const Estimate& simulated, double exact, const char* what)
{
  INFO(what, ": simulated ", simulated.value, " +- ", simulated.half_width, ", exact ", exact);
  CHECK(std::isfinite(simulated.value));
  CHECK(std::fabs(simulated.value - exact) <= 2 * simulated.half_width + 1e-9);
}

bool same(const Estimate& a, const Estimate& b)
{
  return a.value == b.value && a.half_width == b.half_width;
}

bool same(const SimMetrics& a, const SimMetrics& b)
{
  return same(a.throughput_rps, b.throughput_rps) && same(a.p_wait, b.p_wait) && same(a.mean_wait_ms, b.mean_wait_ms) &&
         same(a.p95_wait_ms, b.p95_wait_ms) && same(a.p99_wait_ms, b.p99_wait_ms) && same(a.timeout_rate, b.timeout_rate) &&
         same(a.utilization, b.utilization);
}

} // namespace

TEST_CASE("simulate: closed exponential loop against the exact M/M/c//N model")
{
  // The seed's load (test_queueing.cpp): 84 users, 150 ms holds, 850 ms think, both exponential.
  // Exact mean waits from closed_metrics: 262.0 ms (pool 10), 46.48 ms (13), 6.458 ms (16).
  const ClosedLoad load{ 84, 0.15, 0.85 };
  for (const std::int64_t pool : { 10, 13, 16 }) {
    CAPTURE(pool);
    SimModel model;
    model.groups.push_back(closed_group(84, pool, exponential_distribution(0.85), exponential_distribution(0.15)));
    const SimResult r = simulate(model, small_run());
    const QueueMetrics exact = closed_metrics(load, pool, 0);
    REQUIRE(r.groups.size() == 1);
    CHECK(r.replications >= 8);
    check_within(r.total.mean_wait_ms, exact.mean_wait_ms, "mean wait");
    check_within(r.total.p_wait, exact.p_wait, "P(wait)");
    check_within(r.total.throughput_rps, exact.throughput_rps, "throughput");
    check_within(r.total.utilization, exact.utilization, "utilization");
    check_within(r.total.p95_wait_ms, exact.p95_wait_ms, "p95 wait");
    CHECK(r.total.timeout_rate.value == 0);
    CHECK(same(r.total, r.groups[0]));
  }
}

TEST_CASE("simulate: open exponential load against Erlang C")
{
  // 60 queries/s x 150 ms = 9 Erlangs (test_queueing.cpp); exact figures from open_metrics.
  const OpenLoad load{ 60, 0.15, 1.0 };
  for (const std::int64_t pool : { 10, 12, 14 }) {
    CAPTURE(pool);
    SimModel model;
    model.groups.push_back(open_group(60, pool, exponential_distribution(0.15)));
    const SimResult r = simulate(model, small_run());
    const QueueMetrics exact = open_metrics(load, pool, 0);
    check_within(r.total.mean_wait_ms, exact.mean_wait_ms, "mean wait");
    check_within(r.total.p_wait, exact.p_wait, "P(wait)");
    check_within(r.total.throughput_rps, 60, "throughput");
    check_within(r.total.utilization, 9.0 / static_cast<double>(pool), "utilization");
  }
}

TEST_CASE("simulate: the hand case N = 3, c = 1, S = 1 s, Z = 2 s")
{
  // Machine repairman by hand: p_n proportional to 3!/(3-n)! (1/2)^n = 1, 1.5, 1.5, 0.75; the
  // throughput 1 - p_0 = 15/19, the mean number present 27/19, so the response 1.8 s and the wait
  // 0.8 s; an arrival sees the two others' equilibrium (1, 1, 0.5): P(wait) = 1.5 / 2.5 = 0.6.
  SimModel model;
  model.groups.push_back(closed_group(3, 1, exponential_distribution(2), exponential_distribution(1)));
  const SimResult r = simulate(model, small_run());
  check_within(r.total.mean_wait_ms, 800, "mean wait");
  check_within(r.total.p_wait, 0.6, "P(wait)");
  check_within(r.total.throughput_rps, 15.0 / 19.0, "throughput");
}

TEST_CASE("simulate: M/D/1 mean wait (Pollaczek-Khinchine)")
{
  // 5 queries/s, constant 100 ms holds, one connection: rho 0.5, W = rho S / (2 (1 - rho)) = 50 ms.
  SimModel model;
  model.groups.push_back(open_group(5, 1, constant_distribution(0.1)));
  const SimResult r = simulate(model, small_run());
  check_within(r.total.mean_wait_ms, 50, "mean wait");
  check_within(r.total.p_wait, 0.5, "P(wait) = rho");
}

TEST_CASE("simulate: a measured sample is drawn value by value (M/G/1, Pollaczek-Khinchine)")
{
  // Holds of 50, 50, 50 and 450 ms, each equally likely: E[S] = 150 ms, E[S^2] = 0.0525 s^2. At
  // 4 queries/s on one connection, rho = 0.6 and W = lambda E[S^2] / (2 (1 - rho)) = 262.5 ms.
  // Drawing between neighbouring values instead would give holds of 116.7 ms on average
  // (rho 0.47), far outside the interval.
  const auto sample = empirical_distribution({ 0.05, 0.45, 0.05, 0.05 });
  REQUIRE(sample.has_value());
  SimModel model;
  model.groups.push_back(open_group(4, 1, *sample));
  const SimResult r = simulate(model, small_run(400'000));
  check_within(r.total.utilization, 0.6, "utilization = rho");
  check_within(r.total.mean_wait_ms, 262.5, "mean wait");
}

// A fleet through PgBouncer with every mechanism: a closed and an open group on two pools of one
// user, client and PgBouncer timeouts, the reserve, max_user_connections.
SimModel threads_fleet()
{
  SimModel model;
  SimGroup web = closed_group(20, 4, lognormal_distribution(0.5, 1.5), lognormal_distribution(0.05, 2));
  web.instances = 3;
  web.pool_timeout_s = 0.2;
  web.server_pool = 0;
  SimGroup jobs = open_group(30, 3, exponential_distribution(0.04));
  jobs.instances = 2;
  jobs.server_pool = 1;
  model.groups = { web, jobs };
  SimPgBouncer bouncer;
  bouncer.pools = { SimServerPool{ "app", "svc", 5, 2 }, SimServerPool{ "jobs", "svc", 3, 0 } };
  bouncer.max_user_connections = 8;
  bouncer.reserve_pool_timeout_s = 0.05;
  bouncer.query_wait_timeout_s = 0.3;
  model.pgbouncer = bouncer;
  return model;
}

// The model simulated on 1, 3 and 8 threads gives the same answer, bit for bit.
SimResult check_threads(const SimModel& model, std::int64_t max_events)
{
  SimOptions one = small_run(max_events);
  const SimResult a = simulate(model, one);
  REQUIRE(a.groups.size() == 2);
  REQUIRE(a.server_pools.size() == 2);
  for (const unsigned threads : { 3u, 8u }) {
    CAPTURE(threads);
    SimOptions many = one;
    many.threads = threads;
    const SimResult b = simulate(model, many);
    CHECK(a.replications == b.replications);
    CHECK(a.events == b.events);
    CHECK(a.converged == b.converged);
    CHECK(same(a.total, b.total));
    CHECK(same(a.groups[0], b.groups[0]));
    CHECK(same(a.groups[1], b.groups[1]));
    REQUIRE(b.server_pools.size() == 2);
    CHECK(same(a.server_pools[0], b.server_pools[0]));
    CHECK(same(a.server_pools[1], b.server_pools[1]));
  }
  return a;
}

TEST_CASE("simulate: the answer does not depend on the threads")
{
  const SimResult a = check_threads(threads_fleet(), 80'000);
  CHECK(a.total.timeout_rate.value > 0); // the timeouts are exercised
  // The total's throughput is the groups' sum, replication by replication.
  CHECK(a.total.throughput_rps.value == doctest::Approx(a.groups[0].throughput_rps.value + a.groups[1].throughput_rps.value));
}

TEST_CASE("simulate: the answer does not depend on the threads, with per-entry caps")
{
  SimModel model = threads_fleet();
  model.pgbouncer->user_caps["svc"] = 7;      // overrides max_user_connections
  model.pgbouncer->database_caps["jobs"] = 2; // below the jobs pool's pool_size
  const SimResult a = check_threads(model, 80'000);
  // Each group alone on its pool: the pool's throughput is the group's.
  CHECK(same(a.server_pools[1].throughput_rps, a.groups[1].throughput_rps));
}

TEST_CASE("simulate: PgBouncer's reserve pool, by hand")
{
  // Two users straight to PgBouncer (no client pool), each holding 1 s and thinking 0.5 s, both
  // constant, on a pool of one server. Without a reserve the server never rests: each user's cycle
  // is 0.5 s of think, 0.5 s waiting for the other's hold to end and 1 s of hold, so 1 query/s in
  // all, every query waiting 500 ms. With a reserve of 1 opened after 0.2 s of waiting, the second
  // server opens during the warm-up and stays (no server_idle_timeout in the model): nobody waits,
  // 2 users / 1.5 s = 4/3 queries/s.
  SimModel model;
  SimGroup g = closed_group(2, 0, constant_distribution(0.5), constant_distribution(1.0));
  g.server_pool = 0;
  model.groups.push_back(g);
  SimPgBouncer bouncer;
  bouncer.pools = { SimServerPool{ "app", "app", 1, 1 } };
  bouncer.reserve_pool_timeout_s = 0.2;
  SUBCASE("without the reserve (reserve_pool_timeout 0 turns it off, as in PgBouncer)")
  {
    bouncer.reserve_pool_timeout_s = 0;
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.throughput_rps.value == doctest::Approx(1.0).epsilon(0.01));
    CHECK(r.total.mean_wait_ms.value == doctest::Approx(500).epsilon(0.001));
    CHECK(r.total.p_wait.value == 1);
    CHECK(r.total.utilization.value == doctest::Approx(1.0).epsilon(0.01)); // one server of pool_size 1
  }
  SUBCASE("with the reserve")
  {
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.throughput_rps.value == doctest::Approx(4.0 / 3.0).epsilon(0.01));
    CHECK(r.total.mean_wait_ms.value == 0);
    CHECK(r.total.p_wait.value == 0);
    CHECK(r.total.utilization.value == doctest::Approx(4.0 / 3.0).epsilon(0.01)); // 1.33 servers busy on pool_size 1
  }
}

TEST_CASE("simulate: max_user_connections and max_db_connections evict the other pool's idle server, by hand")
{
  // One user in each of two groups, each on its own PgBouncer pool, holding 1 s and thinking 1 s
  // (constant), with opening a server taking 100 ms. Without a limit each pool keeps its server:
  // no waits, 0.5 queries/s per group. With one connection allowed for the two pools, the server
  // alternates: a query arrives while the other group still holds the one server for 100 ms more,
  // then PgBouncer evicts it (idle) and opens one for its own pool (100 ms): every query waits
  // 200 ms (from the second cycle on, whatever the phases), and a cycle takes 2.2 s.
  SimModel model;
  SimGroup a = closed_group(1, 0, constant_distribution(1.0), constant_distribution(1.0));
  a.server_pool = 0;
  SimGroup b = a;
  b.server_pool = 1;
  model.groups = { a, b };
  SimPgBouncer bouncer;
  bouncer.server_connect_s = 0.1;
  SUBCASE("no limit")
  {
    bouncer.pools = { SimServerPool{ "a", "svc", 5, 0 }, SimServerPool{ "b", "svc", 5, 0 } };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.mean_wait_ms.value == 0);
    CHECK(r.groups[0].throughput_rps.value == doctest::Approx(0.5).epsilon(0.01));
  }
  SUBCASE("max_user_connections = 1 (one user, two databases)")
  {
    bouncer.pools = { SimServerPool{ "a", "svc", 5, 0 }, SimServerPool{ "b", "svc", 5, 0 } };
    bouncer.max_user_connections = 1;
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.total.p99_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.total.p_wait.value == 1);
    CHECK(r.groups[0].throughput_rps.value == doctest::Approx(1 / 2.2).epsilon(0.01));
    CHECK(r.groups[1].throughput_rps.value == doctest::Approx(1 / 2.2).epsilon(0.01));
  }
  SUBCASE("max_db_connections = 1 (two users, one database)")
  {
    bouncer.pools = { SimServerPool{ "db", "a", 5, 0 }, SimServerPool{ "db", "b", 5, 0 } };
    bouncer.max_db_connections = 1;
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.total.throughput_rps.value == doctest::Approx(2 / 2.2).epsilon(0.01));
  }
}

TEST_CASE("simulate: timeouts abandon queries")
{
  // A client pool timeout of 0 s is no timeout; with one shorter than every wait... the seed's
  // load on a pool of 10 waits 262 ms on average (closed_metrics); with a 100 ms timeout a large
  // share gives up and the throughput falls. The exact model's P(wait > 100 ms) is 0.902
  // (test_queueing.cpp) without abandonment; with it, queries give up, so only bounds are checked.
  SimModel model;
  SimGroup g = closed_group(84, 10, exponential_distribution(0.85), exponential_distribution(0.15));
  g.pool_timeout_s = 0.1;
  model.groups.push_back(g);
  const SimResult r = simulate(model, small_run(60'000));
  CHECK(r.total.timeout_rate.value > 0.1);
  CHECK(r.total.timeout_rate.value < 1);
  CHECK(r.total.p99_wait_ms.value <= 100 + 1e-6); // nobody waits longer than the timeout
  CHECK(r.total.throughput_rps.value < 66.6);     // at most the pool's 10 / 150 ms
}

TEST_CASE("simulate: edge cases")
{
  SUBCASE("no load: zero figures")
  {
    SimModel model;
    model.groups.push_back(closed_group(0, 10, exponential_distribution(1), exponential_distribution(0.1)));
    const SimResult r = simulate(model, small_run());
    CHECK(r.converged);
    CHECK(r.replications == 0);
    CHECK(r.groups.size() == 1);
    CHECK(r.total.throughput_rps.value == 0);
    CHECK(r.total.mean_wait_ms.value == 0);
  }
  SUBCASE("a pool as large as the users: nobody waits")
  {
    SimModel model;
    model.groups.push_back(closed_group(10, 10, exponential_distribution(0.5), lognormal_distribution(0.1, 3)));
    const SimResult r = simulate(model, small_run(40'000));
    CHECK(r.total.p_wait.value == 0);
    CHECK(r.total.mean_wait_ms.value == 0);
    CHECK(r.total.p99_wait_ms.value == 0);
  }
  SUBCASE("an open load above capacity: stopped, not converged, a long wait")
  {
    // 200/s x 100 ms = 20 Erlangs on one connection: the queue grows by about 190 a second.
    SimModel model;
    model.groups.push_back(open_group(200, 1, exponential_distribution(0.1)));
    const SimResult r = simulate(model, small_run());
    CHECK_FALSE(r.converged);
    CHECK(r.replications == 8);
    CHECK(r.stopped_early.find("at or above") != std::string::npos);
    CHECK(std::isfinite(r.total.mean_wait_ms.value));
    CHECK(r.total.mean_wait_ms.value > 1000);
  }
  SUBCASE("an open queue past the memory bound: the replication stops")
  {
    // Through PgBouncer with a pool of 1 and a reserve of 300 (so not certainly overloaded), but
    // max_db_connections 1: 2000/s x 10 ms = 20 Erlangs on one server. The bound is 10,000 + 100 x
    // 20 = 12,000 queries, passed after about 6.3 s, within the warm-up of 2 x 301 x 20 ms = 12 s
    // (twice the time to open the pool and its reserve one server at a time), which a budget of
    // 2 million events leaves room for; each replication stops after about 13,000 events.
    SimModel model;
    SimGroup g = open_group(2000, 0, exponential_distribution(0.01));
    g.server_pool = 0;
    model.groups.push_back(g);
    SimPgBouncer bouncer;
    bouncer.pools = { SimServerPool{ "db", "u", 1, 300 } };
    bouncer.max_db_connections = 1;
    bouncer.server_connect_s = 0.02;
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(2'000'000));
    CHECK_FALSE(r.converged);
    CHECK(r.replications == 8);
    CHECK(r.events < 8 * 15'000);
    CHECK(r.stopped_early == "an open load's queue passed 12000 waiting queries: the load is at or above the pools' capacity");
    CHECK(r.total.mean_wait_ms.value > 1000);
  }
  SUBCASE("a budget too small: not converged, says so")
  {
    SimModel model;
    model.groups.push_back(closed_group(84, 13, exponential_distribution(0.85), exponential_distribution(0.15)));
    SimOptions o = small_run(1000);
    SimPrecision tight;
    tight.relative = 1e-6;
    o.precision = tight;
    const SimResult r = simulate(model, o);
    CHECK_FALSE(r.converged);
    CHECK(r.stopped_early == "the event budget ran out");
    // One batch of 8 replications runs whatever the budget, each of at least 100 events (and a
    // tenth more for the warm-up), the figures from the simulation's expected event rate.
    CHECK(r.replications == 8);
    CHECK(r.events < 1200);
  }
  SUBCASE("zero think and hold, nonsense numbers: no crash, no NaN")
  {
    SimModel model;
    model.groups.push_back(closed_group(5, 1, constant_distribution(0), constant_distribution(0)));
    SimGroup odd = open_group(std::nan(""), -3, exponential_distribution(-1));
    odd.server_pool = 7; // no such PgBouncer pool: straight to PostgreSQL
    model.groups.push_back(odd);
    const SimResult r = simulate(model, small_run());
    CHECK(r.converged);
    CHECK(r.total.mean_wait_ms.value == 0);
  }
  SUBCASE("progress is reported between batches")
  {
    SimModel model;
    model.groups.push_back(closed_group(84, 13, exponential_distribution(0.85), exponential_distribution(0.15)));
    SimOptions o = small_run(40'000);
    int calls = 0;
    double last = 0;
    o.progress = [&](double share) {
      ++calls;
      CHECK(share >= last);
      CHECK(share <= 1);
      last = share;
    };
    const SimResult r = simulate(model, o);
    CHECK(calls == r.replications / 8);
  }
}

TEST_CASE("simulate: per-database and per-user caps override the global ones, by hand")
{
  // The max_user_connections case above with the cap set on the entry instead: one user in each
  // group, 1 s holds and 1 s thinks (constant), 100 ms to open a server; one server allowed for
  // the two pools, so every query waits 100 ms for the other's hold to end and 100 ms to open its
  // own server after evicting it: 200 ms, and a cycle of 2.2 s.
  SimModel model;
  SimGroup a = closed_group(1, 0, constant_distribution(1.0), constant_distribution(1.0));
  a.server_pool = 0;
  SimGroup b = a;
  b.server_pool = 1;
  model.groups = { a, b };
  SimPgBouncer bouncer;
  bouncer.server_connect_s = 0.1;
  SUBCASE("a [users] entry's max_user_connections = 1")
  {
    bouncer.pools = { SimServerPool{ "a", "svc", 5, 0 }, SimServerPool{ "b", "svc", 5, 0 } };
    bouncer.user_caps["svc"] = 1;
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.total.p_wait.value == 1);
    CHECK(r.groups[0].throughput_rps.value == doctest::Approx(1 / 2.2).epsilon(0.01));
    CHECK(r.groups[1].throughput_rps.value == doctest::Approx(1 / 2.2).epsilon(0.01));
  }
  SUBCASE("a [databases] entry's max_db_connections = 1")
  {
    bouncer.pools = { SimServerPool{ "db", "a", 5, 0 }, SimServerPool{ "db", "b", 5, 0 } };
    bouncer.database_caps["db"] = 1;
    bouncer.database_caps["other"] = 1; // names no pool's database: no effect
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.total.mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.total.throughput_rps.value == doctest::Approx(2 / 2.2).epsilon(0.01));
  }
  SUBCASE("the entry's cap overrides a lower global one; 0 or less leaves the global one")
  {
    // Global max_user_connections 1, but the user's entry allows 2: each pool keeps its server,
    // nobody waits, 0.5 queries/s per group (1 s hold + 1 s think).
    bouncer.pools = { SimServerPool{ "a", "svc", 5, 0 }, SimServerPool{ "b", "svc", 5, 0 } };
    bouncer.max_user_connections = 1;
    bouncer.user_caps["svc"] = 2;
    model.pgbouncer = bouncer;
    const SimResult raised = simulate(model, small_run(20'000));
    CHECK(raised.total.mean_wait_ms.value == 0);
    CHECK(raised.groups[0].throughput_rps.value == doctest::Approx(0.5).epsilon(0.01));
    for (const std::int64_t cap : { 0, -4 }) {
      CAPTURE(cap);
      bouncer.user_caps["svc"] = cap;
      model.pgbouncer = bouncer;
      const SimResult global = simulate(model, small_run(20'000));
      CHECK(global.total.mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    }
  }
  SUBCASE("a per-user cap on one user does not cap another")
  {
    // Four groups as above, on (a, svc), (b, svc), (a, other), (b, other); only svc is capped at
    // 1: svc's two groups wait 200 ms each query, other's two keep a server each and never wait.
    bouncer.pools = { SimServerPool{ "a", "svc", 5, 0 },
                      SimServerPool{ "b", "svc", 5, 0 },
                      SimServerPool{ "a", "other", 5, 0 },
                      SimServerPool{ "b", "other", 5, 0 } };
    bouncer.user_caps["svc"] = 1;
    SimGroup c = a;
    c.server_pool = 2;
    SimGroup d = a;
    d.server_pool = 3;
    model.groups = { a, b, c, d };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    REQUIRE(r.groups.size() == 4);
    CHECK(r.groups[0].mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.groups[1].mean_wait_ms.value == doctest::Approx(200).epsilon(1e-6));
    CHECK(r.groups[2].mean_wait_ms.value == 0);
    CHECK(r.groups[3].mean_wait_ms.value == 0);
    CHECK(r.groups[2].throughput_rps.value == doctest::Approx(0.5).epsilon(0.01));
    CHECK(r.groups[3].throughput_rps.value == doctest::Approx(0.5).epsilon(0.01));
  }
}

TEST_CASE("simulate: each PgBouncer pool's figures")
{
  SUBCASE("no PgBouncer: none")
  {
    SimModel model;
    model.groups.push_back(closed_group(3, 1, exponential_distribution(2), exponential_distribution(1)));
    const SimResult r = simulate(model, small_run(20'000));
    CHECK(r.server_pools.empty());
  }
  SUBCASE("one group on one pool: the group's waits and throughput")
  {
    // Exponential holds and thinks behind a client pool of 2 per instance, 3 instances, on a
    // PgBouncer pool of 4: the pool's queries are exactly the group's.
    SimModel model;
    SimGroup g = closed_group(4, 2, exponential_distribution(0.3), exponential_distribution(0.1));
    g.instances = 3;
    g.server_pool = 0;
    model.groups.push_back(g);
    SimPgBouncer bouncer;
    bouncer.pools = { SimServerPool{ "db", "u", 4, 0 } };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(40'000));
    REQUIRE(r.server_pools.size() == 1);
    const SimMetrics& p = r.server_pools[0];
    const SimMetrics& q = r.groups[0];
    CHECK(same(p.throughput_rps, q.throughput_rps));
    CHECK(same(p.p_wait, q.p_wait));
    CHECK(same(p.mean_wait_ms, q.mean_wait_ms));
    CHECK(same(p.p95_wait_ms, q.p95_wait_ms));
    CHECK(same(p.p99_wait_ms, q.p99_wait_ms));
    CHECK(same(p.timeout_rate, q.timeout_rate));
    // Little's law: busy servers = throughput x mean hold (100 ms), over pool_size 4.
    CHECK(p.utilization.value == doctest::Approx(p.throughput_rps.value * 0.1 / 4.0).epsilon(0.02));
  }
  SUBCASE("the reserve case by hand: one server never idle")
  {
    // PgBouncer's reserve pool case above without the reserve: two users (1 s hold, 0.5 s think,
    // constant) on one server: it is busy all the time, utilization 1 of pool_size 1.
    SimModel model;
    SimGroup g = closed_group(2, 0, constant_distribution(0.5), constant_distribution(1.0));
    g.server_pool = 0;
    model.groups.push_back(g);
    SimPgBouncer bouncer;
    bouncer.pools = { SimServerPool{ "app", "app", 1, 0 } };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    REQUIRE(r.server_pools.size() == 1);
    CHECK(r.server_pools[0].utilization.value == doctest::Approx(1.0).epsilon(0.01));
    CHECK(r.server_pools[0].mean_wait_ms.value == doctest::Approx(500).epsilon(0.001));
  }
  SUBCASE("two groups on one pool, a third on another: the sum, by hand")
  {
    // One user per group, 1 s holds and 1 s thinks (constant), a pool_size of 5 for two groups:
    // nobody waits, 0.5 queries/s per group, so 1 query/s on the pool, and one of its 5 servers
    // busy on average: utilization 0.2. The third group alone on a pool of 1: 0.5/s, 0.5.
    SimModel model;
    SimGroup a = closed_group(1, 0, constant_distribution(1.0), constant_distribution(1.0));
    a.server_pool = 0;
    SimGroup c = a;
    c.server_pool = 1;
    model.groups = { a, a, c };
    SimPgBouncer bouncer;
    bouncer.pools = { SimServerPool{ "db", "u", 5, 0 }, SimServerPool{ "db", "v", 1, 0 } };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run(20'000));
    REQUIRE(r.server_pools.size() == 2);
    CHECK(r.server_pools[0].throughput_rps.value == doctest::Approx(r.groups[0].throughput_rps.value + r.groups[1].throughput_rps.value));
    CHECK(r.server_pools[0].throughput_rps.value == doctest::Approx(1.0).epsilon(0.01));
    CHECK(r.server_pools[0].utilization.value == doctest::Approx(0.2).epsilon(0.01));
    CHECK(r.server_pools[0].mean_wait_ms.value == 0);
    CHECK(same(r.server_pools[1].throughput_rps, r.groups[2].throughput_rps));
    CHECK(r.server_pools[1].utilization.value == doctest::Approx(0.5).epsilon(0.01));
  }
  SUBCASE("no load: zero figures, one per pool")
  {
    SimModel model;
    model.groups.push_back(closed_group(0, 1, exponential_distribution(1), exponential_distribution(0.1)));
    model.groups[0].server_pool = 0;
    SimPgBouncer bouncer;
    bouncer.pools = { SimServerPool{ "db", "u", 5, 0 }, SimServerPool{ "db", "v", 5, 0 } };
    model.pgbouncer = bouncer;
    const SimResult r = simulate(model, small_run());
    CHECK(r.server_pools.size() == 2);
    CHECK(r.server_pools[0].throughput_rps.value == 0);
  }
}

// 84 users, 150 ms exponential holds, 850 ms thinks on a pool of 13 (closed_metrics: mean wait
// 46.48 ms, test_queueing.cpp).
SimModel gate_model()
{
  SimModel model;
  model.groups.push_back(closed_group(84, 13, exponential_distribution(0.85), exponential_distribution(0.15)));
  return model;
}

TEST_CASE("simulate: gated on P(wait) alone, no later than gated on every figure, and P(wait) within the precision")
{
  const SimModel model = gate_model();
  SimOptions all = small_run(160'000);
  SimOptions p_wait = all;
  p_wait.gate = k_sim_p_wait;
  const SimResult a = simulate(model, all);
  const SimResult p = simulate(model, p_wait);
  CHECK(p.events <= a.events);
  CHECK(p.replications <= a.replications);
  REQUIRE(p.converged);
  const SimPrecision precision;
  CHECK(p.total.p_wait.half_width <= std::max(precision.relative * p.total.p_wait.value, precision.absolute_share));
  CHECK(p.groups[0].p_wait.half_width <= std::max(precision.relative * p.groups[0].p_wait.value, precision.absolute_share));
  // The same replications, in the same order: the first batches' figures agree.
  if (p.replications == a.replications) {
    CHECK(same(p.total, a.total));
  }
}

TEST_CASE("simulate: the p95 wait is held to relative_percentile, not relative")
{
  // An unreachable `relative` that the gate leaves out of the p95's test: the run stops once the
  // p95's interval is within 10 % (relative_percentile) of it.
  const SimModel model = gate_model();
  SimOptions o = small_run(200'000);
  o.gate = k_sim_p95_wait;
  o.precision.relative = 1e-9;
  o.precision.relative_percentile = 0.10;
  const SimResult r = simulate(model, o);
  REQUIRE(r.converged);
  CHECK(r.total.p95_wait_ms.half_width <= 0.10 * r.total.p95_wait_ms.value);
  // And an unreachable relative_percentile stops it only at the budget, whatever `relative`.
  o.max_events = 40'000;
  o.precision.relative = 1.0;
  o.precision.relative_percentile = 1e-9;
  o.precision.absolute_wait_ms = 0;
  const SimResult tight = simulate(model, o);
  CHECK_FALSE(tight.converged);
  CHECK(tight.stopped_early == "the event budget ran out");
}

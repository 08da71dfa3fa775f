// `poolcalc doctor` (docs/doctor.md): the k6 summaries, the capture file and the diagnosis.
// Captures here are built by hand, their figures chosen so each derived figure is plain
// arithmetic: throughput = transactions / window, held = mean(active + idle in transaction),
// hold = held / throughput (Little's law), wait = PgBouncer's wait time / transactions.
#include "helpers.hpp"

#include "poolcalc/doctor.hpp"
#include "poolcalc/emit_doctor.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace poolcalc;

namespace {

std::string fixture(const std::string& name)
{
  std::ifstream in(std::string(POOLCALC_SOURCE_DIR) + "/tests/fixtures/k6/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A window of 10 s, 10 samples alike, PgBouncer's counters from 0 to `end`.
Capture capture(DoctorSample sample, PgBouncerTotals end, std::int64_t pool_size, std::int64_t max_db_connections = 0)
{
  Capture c;
  c.source = "test";
  c.window_s = 10;
  c.max_connections = 100;
  for (int i = 0; i < 10; ++i) {
    sample.t_s = i;
    c.samples.push_back(sample);
  }
  c.pgbouncer_start = PgBouncerTotals{};
  c.pgbouncer_end = end;
  c.pool_size = pool_size;
  c.max_db_connections = max_db_connections;
  return c;
}

DoctorSample pooled(std::int64_t active, std::int64_t waiting, std::int64_t servers)
{
  DoctorSample s;
  s.active = active;
  s.pgbouncer = true;
  s.cl_active = active;
  s.cl_waiting = waiting;
  s.sv_active = servers;
  s.maxwait_s = waiting > 0 ? 0.2 : 0;
  return s;
}

std::vector<std::string> ids(const Diagnosis& d)
{
  std::vector<std::string> out;
  for (const Cause& c : d.causes) {
    out.push_back(c.id);
  }
  return out;
}

} // namespace

TEST_CASE("doctor: k6's two summary shapes give the same figures")
{
  const auto exported = parse_k6_summary(fixture("summary-export.json"));
  const auto handled = parse_k6_summary(fixture("handle-summary.json"));
  REQUIRE_MESSAGE(exported.has_value(), exported.error());
  REQUIRE_MESSAGE(handled.has_value(), handled.error());
  for (const K6Figures* k6 : { &*exported, &*handled }) {
    CHECK(k6->requests == 50400);
    CHECK(k6->request_rate == doctest::Approx(83.97));
    // http_req_failed: "value" in the export, "rate" in handleSummary's data (420 of 50400)
    CHECK(k6->failed_rate == doctest::Approx(420.0 / 50400).epsilon(1e-4));
    CHECK(k6->duration_avg_ms == doctest::Approx(182.4));
    CHECK(k6->duration_p95_ms == doctest::Approx(312.6));
    CHECK(k6->vus_max == 120);
    // true in the export, {"ok": false} in the data: the p(95) threshold failed, the rate's passed
    CHECK(k6->failed_thresholds == std::vector<std::string>{ "http_req_duration: p(95)<300" });
  }
  CHECK_FALSE(exported->duration_p99_ms); // k6's default summaryTrendStats have no p(99)
  CHECK(handled->duration_p99_ms == doctest::Approx(1804.2));
  CHECK(exported->duration_s == 0);
  CHECK(handled->duration_s == doctest::Approx(600.2184));
}

TEST_CASE("doctor: what is not a k6 summary is refused with the reason")
{
  CHECK(parse_k6_summary("{").error() == "not JSON: expected the file `k6 run --summary-export` writes, or handleSummary's data");
  CHECK(parse_k6_summary("[]").error() == "not JSON: expected the file `k6 run --summary-export` writes, or handleSummary's data");
  CHECK(parse_k6_summary("{\"root_group\": {}}").error() == "no \"metrics\" object: not a k6 end-of-test summary");
  CHECK(parse_k6_summary("{\"metrics\": {\"http_reqs\": {\"count\": 1, \"rate\": 1}}}").error() ==
        "no http_reqs or http_req_duration metric: the test made no HTTP requests");
  CHECK(parse_k6_summary("{\"metrics\": {\"http_reqs\": {\"count\": 1, \"rate\": 1}, \"http_req_duration\": {\"avg\": 1}}}").error() ==
        "http_reqs needs count and rate, http_req_duration avg and p(95) (k6's default summaryTrendStats): a figure is missing or not a "
        "number");
  CHECK_FALSE(parse_k6_summary("{\"metrics\": {\"http_reqs\": {\"count\": -1, \"rate\": 1}, \"http_req_duration\": {\"avg\": 1, "
                               "\"p(95)\": 2}}}")
                .has_value());
}

TEST_CASE("doctor: a pool too small for the load")
{
  // 800 transactions in 10 s, each 50 ms of query after 20 ms of wait (PgBouncer counts both in the
  // query's and the transaction's time); 4 busy of a pool of 4, 3 waiting.
  const Capture c = capture(pooled(4, 3, 4), { 800, 800, 800 * 70'000, 800 * 70'000, 800 * 20'000 }, 4);
  const Diagnosis d = diagnose(c, std::nullopt, builtin_rules());
  CHECK(*d.measured.throughput == doctest::Approx(80));
  CHECK(*d.measured.busy == doctest::Approx(4));
  CHECK(*d.measured.hold_ms == doctest::Approx(50)); // 4 / 80 per s
  CHECK(*d.measured.query_ms == doctest::Approx(50));
  CHECK(*d.measured.held_idle_ms == doctest::Approx(0));
  CHECK(*d.measured.mean_wait_ms == doctest::Approx(20));
  CHECK(d.measured.waiting_share == 1.0);
  // The closed model at this load: 7 clients (4 served, 3 waiting, none between transactions) on
  // 4 connections of 50 ms: saturated, so each cycle is 7 / 4 holds: (7 / 4 - 1) x 50 = 37.5 ms.
  CHECK(d.measured.clients == 7);
  CHECK(d.measured.model_pool == 4);
  CHECK(*d.measured.model_mean_wait_ms == doctest::Approx(37.5).epsilon(0.01));
  REQUIRE(ids(d) == std::vector<std::string>{ "doctor.pool_too_small" });
  CHECK(d.causes[0].fix.find("`poolcalc --rps 80 --query-ms 50` plans a pool of ") != std::string::npos);
  CHECK(d.causes[0].evidence.find("against a pool of 4") != std::string::npos);
}

TEST_CASE("doctor: connections held while nothing runs")
{
  // 100 transactions in 10 s, each 10 ms of query inside 500 ms held; 2 sessions idle in transaction.
  DoctorSample s = pooled(1, 0, 3);
  s.idle_in_transaction = 2;
  s.oldest_idle_in_transaction_s = 12.5;
  const Diagnosis d = diagnose(capture(s, { 100, 100, 100 * 500'000, 100 * 10'000, 0 }, 20), std::nullopt, builtin_rules());
  CHECK(*d.measured.held_idle_ms == doctest::Approx(490));
  CHECK(*d.measured.hold_ms == doctest::Approx(300)); // 3 held / 10 per s
  CHECK(d.measured.mean_idle_in_transaction == 2);
  REQUIRE(ids(d) == std::vector<std::string>{ "doctor.connections_held_idle" });
  CHECK(d.causes[0].evidence ==
        "2 sessions idle in transaction on average, the oldest for 12.5 s; each transaction held its server connection 490 ms beyond "
        "its queries' 10 ms");
}

TEST_CASE("doctor: a database past its useful concurrency, and a pooler's own limit")
{
  SUBCASE("six of eight active sessions wait on a lock")
  {
    DoctorSample s = pooled(8, 2, 8);
    s.waiting_on_lock = 6;
    const Diagnosis d = diagnose(capture(s, { 400, 400, 400 * 200'000, 400 * 200'000, 400 * 5'000 }, 8), std::nullopt, builtin_rules());
    CHECK(d.measured.lock_share == doctest::Approx(0.75));
    CHECK(ids(d) == std::vector<std::string>{ "doctor.database_bound" });
  }
  SUBCASE("max_db_connections 2 under a pool of 10: the pooler, not the pool")
  {
    const Diagnosis d =
      diagnose(capture(pooled(2, 8, 2), { 200, 200, 200 * 100'000, 200 * 100'000, 200 * 300'000 }, 10, 2), std::nullopt, builtin_rules());
    CHECK(d.measured.most_server_connections == 2);
    REQUIRE(ids(d) == std::vector<std::string>{ "doctor.pooler_limit" });
    CHECK(d.causes[0].fix.find("raise max_db_connections to at least 10") == 0);
  }
  SUBCASE("no waits, no idle holders, no locks: nothing to name")
  {
    const Diagnosis d = diagnose(capture(pooled(2, 0, 4), { 400, 400, 400 * 50'000, 400 * 50'000, 0 }, 10), std::nullopt, builtin_rules());
    CHECK(d.causes.empty());
  }
}

TEST_CASE("doctor: the plan for the test's workload beside the measurement")
{
  const Capture c = capture(pooled(4, 3, 4), { 800, 800, 800 * 70'000, 800 * 70'000, 800 * 20'000 }, 4);
  SUBCASE("the worked example's plan: 150 ms holds assumed, 50 ms measured")
  {
    const Plan p = poolcalc::test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    const Diagnosis d = diagnose(c, std::nullopt, builtin_rules(), &p);
    REQUIRE(d.planned);
    CHECK(d.planned->hold_ms == 150);
    CHECK(d.planned->busy == doctest::Approx(12.6));     // 120 x 0.70 x 0.150 s
    CHECK(d.planned->throughput == doctest::Approx(84)); // 12.6 / 0.150 s
    CHECK(d.planned->pool == 50);
    CHECK(ids(d) == std::vector<std::string>{ "doctor.plan_inputs_wrong", "doctor.pool_too_small" });
    CHECK(d.causes[0].evidence == "a transaction held its connection 50 ms where the plan assumed 150 ms (0.33x)");
  }
  SUBCASE("20 requests/s planned, 80 transactions/s measured")
  {
    const Plan p = poolcalc::test::plan({ { "rps", "20" }, { "query_ms", "50" } });
    const Diagnosis d = diagnose(c, std::nullopt, builtin_rules(), &p);
    CHECK(d.causes[0].evidence == "80 transactions/s ran where the plan offered 20 queries/s (4x)");
  }
  SUBCASE("a plan that matches: nothing said of it")
  {
    const Plan p = poolcalc::test::plan({ { "rps", "80" }, { "query_ms", "50" } });
    CHECK(ids(diagnose(c, std::nullopt, builtin_rules(), &p)) == std::vector<std::string>{ "doctor.pool_too_small" });
  }
}

TEST_CASE("doctor: more sessions running than the database's cores serve (--db-cores with the workload)")
{
  // 8 active, none on a lock; 800 transactions of 100 ms in 10 s: 8 busy / 80 per s = 100 ms held.
  const Capture c = capture(pooled(8, 0, 8), { 800, 800, 800 * 100'000, 800 * 100'000, 0 }, 10);
  const Plan one_core = poolcalc::test::plan({ { "rps", "80" }, { "query_ms", "100" }, { "db_cores", "1" } });
  const Diagnosis d = diagnose(c, std::nullopt, builtin_rules(), &one_core);
  REQUIRE_FALSE(d.causes.empty());
  CHECK(d.causes[0].id == "doctor.database_bound");
  // 1 core x rules advisor.active_per_core 2 = 2 useful at once, against 8
  CHECK(d.causes[0].evidence == "on average 8 sessions were active on a database of 1 core, which serves about 2 at once usefully "
                                "(rules advisor.active_per_core 2 per core); a query took 100 ms, 1x the 100 ms planned");
  const Plan eight_cores = poolcalc::test::plan({ { "rps", "80" }, { "query_ms", "100" }, { "db_cores", "8" } });
  CHECK(diagnose(c, std::nullopt, builtin_rules(), &eight_cores).causes.empty());
}

TEST_CASE("doctor: the timeout chain and max_client_conn")
{
  Capture c = capture(pooled(4, 3, 4), { 800, 800, 800 * 70'000, 800 * 70'000, 800 * 20'000 }, 4);
  SUBCASE("PgBouncer's 120 s default against the client's 60 s (rules timeouts.client_request_timeout_s)")
  {
    c.query_wait_timeout_s = 120;
    CHECK(ids(diagnose(c, std::nullopt, builtin_rules())) ==
          std::vector<std::string>{ "doctor.pool_too_small", "doctor.timeout_chain_inverted" });
    c.query_wait_timeout_s = 0; // forever
    CHECK(ids(diagnose(c, std::nullopt, builtin_rules())).back() == "doctor.timeout_chain_inverted");
    c.query_wait_timeout_s = 30;
    CHECK(ids(diagnose(c, std::nullopt, builtin_rules())) == std::vector<std::string>{ "doctor.pool_too_small" });
  }
  SUBCASE("7 clients against a max_client_conn of 7: PgBouncer's limit, not the pool")
  {
    c.max_client_conn = 7;
    const Diagnosis d = diagnose(c, std::nullopt, builtin_rules());
    CHECK(d.measured.most_clients == 7);
    CHECK(ids(d) == std::vector<std::string>{ "doctor.pooler_limit" });
    CHECK(d.causes[0].title == "PgBouncer's max_client_conn is reached: it refuses further clients");
  }
}

TEST_CASE("doctor: a capture file reads back to the same diagnosis; anything else is refused")
{
  DoctorSample s = pooled(4, 3, 4);
  s.idle = 1;
  Capture c = capture(s, { 800, 800, 800 * 50'000, 800 * 50'000, 800 * 20'000 }, 4);
  c.statements_start = StatementTotals{ 10, 100.5 };
  c.statements_end = StatementTotals{ 810, 40'100.5 };
  c.max_client_conn = 1000;
  const std::string text = capture_to_json(c);
  const auto back = capture_from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.error());
  CHECK(capture_to_json(*back) == text);
  const Diagnosis a = diagnose(c, std::nullopt, builtin_rules());
  const Diagnosis b = diagnose(*back, std::nullopt, builtin_rules());
  CHECK(render_doctor_json(c, std::nullopt, a) == render_doctor_json(*back, std::nullopt, b));
  CHECK(capture_from_json("{}").error() == "not a capture `poolcalc doctor --save-capture` wrote");
  std::string negative = text;
  negative.replace(negative.find("\"active\": 4"), 11, "\"active\": -4");
  CHECK(capture_from_json(negative).error() == "a figure is missing, negative or not a number");
}

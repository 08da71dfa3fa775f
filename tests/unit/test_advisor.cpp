// The advisor (src/core/advisor.cpp, docs/model.md "The advisor"): the model's verdict on the rule
// of thumb, and the options it ranks when the rule's pool does not do. Each expected pool is found
// here independently, by walking the queueing model's curve (closed_curve, itself checked against
// the exact M/M/c//N formulas in test_queueing.cpp) for the first pool meeting the objective and
// carrying the load.

#include "poolcalc/findings.hpp"
#include "poolcalc/sizing.hpp"

#include "fleet_helpers.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

using namespace poolcalc;
using poolcalc::test::find;

namespace {

// The first pool from 1 up whose p99 wait is below `bound_ms` and which exceeds the load's busy
// connections (users x hold / (hold + think)).
std::int64_t first_meeting_p99(const ClosedLoad& load, double bound_ms)
{
  const double busy = static_cast<double>(load.users) * load.hold_s / (load.hold_s + load.think_s);
  for (std::int64_t pool = 1; pool <= load.users; ++pool) {
    const QueueMetrics m = closed_curve(load, { pool }, 0).front();
    if (m.stable && m.p99_wait_ms<bound_ms&& static_cast<double>(pool)> busy + 1e-9) {
      return pool;
    }
  }
  return -1;
}

const AdvisorOption& option(const Advice& a, std::string_view id)
{
  const auto it = std::find_if(a.options.begin(), a.options.end(), [&](const AdvisorOption& o) { return o.id == id; });
  REQUIRE(it != a.options.end());
  return *it;
}

} // namespace

TEST_CASE("advisor: the worked example keeps the rule of thumb's 50, with the model's verdict beside it")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
  const Advice& a = p.advice;
  // The rule of thumb's answer stays (the origin note: ceil(12.6) = 13 x 3 + 10 = 49 -> 50).
  CHECK(p.pool_size == 50);
  CHECK_FALSE(a.searched);
  CHECK(a.options.empty());
  CHECK(a.objective.text == "p99_wait<100ms"); // rules advisor.objective
  CHECK(a.objective_source == "rules advisor.objective");
  // 84 VUs per instance, 150 ms holds, 850 ms think (docs/model.md, section 8).
  const ClosedLoad load{ 84, 0.150, 0.850 };
  REQUIRE(a.model_pool);
  CHECK(*a.model_pool == first_meeting_p99(load, 100.0));
  CHECK(*a.model_pool == 16);
  REQUIRE(a.model_at_load);
  CHECK(a.model_at_load->p99_wait_ms < 100.0);
  CHECK(closed_curve(load, { 15 }, 0).front().p99_wait_ms >= 100.0); // one fewer misses it
  REQUIRE(a.rule_at_load);
  CHECK(a.rule_at_load->pool == 50);
  // At twice the load (rules advisor.surge = 2): 168 VUs per instance.
  CHECK(a.surge == 2.0);
  CHECK(a.surge_load == "168 VUs per instance");
  REQUIRE(a.model_at_surge);
  REQUIRE(a.rule_at_surge);
  const ClosedLoad surge{ 168, 0.150, 0.850 };
  CHECK(a.model_at_surge->p99_wait_ms == doctest::Approx(closed_curve(surge, { 16 }, 0).front().p99_wait_ms));
  CHECK(a.model_at_surge->p_wait > 0.99); // 16 connections for 25.2 busy: everyone waits
  CHECK(a.rule_at_surge->p_wait < 0.001); // 50 for 25.2 busy: next to nobody
  const auto f = evaluate(p, builtin_rules());
  CHECK(find(f, "advisor.rule_of_thumb_replaced") == nullptr);
  CHECK(find(f, "advisor.no_option") == nullptr);
}

TEST_CASE("advisor: constant holds and pauses need 13, where waiting stopped on a real PgBouncer")
{
  // --query-cv 0 with the constant think: simulated. The load keeps 84 x 0.15 = 12.6 connections
  // busy, so 13 is the least that carries it; tests/validation/measured-closed.json,
  // closed-constant at pool 13: mean wait 0.4 ms, p99 7.9 ms measured (docs/validation.md).
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "query_cv", "0" } });
  REQUIRE(p.advice.model_pool);
  CHECK(*p.advice.model_pool == 13);
  CHECK(p.pool_size == 50);
}

TEST_CASE("advisor: three instances get the model's pools within the 50 available")
{
  // The rule: ceil(12.6 / 3) = 5 x 3 + 10 = 25 -> 30 per instance, 90 > 50 available.
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "3" } });
  const Advice& a = p.advice;
  CHECK(a.rule_pool == 30);
  CHECK(a.searched);
  CHECK(a.why_searched == "90 server connections > 50 available");
  // 28 VUs per instance (ceil(120 x 0.7 / 3)): the model's pool for p99 < 100 ms.
  REQUIRE(a.model_pool);
  CHECK(*a.model_pool == first_meeting_p99({ 28, 0.150, 0.850 }, 100.0));
  CHECK(*a.model_pool == 7);
  // 7 + the rules' overhead 10 = 17 x 3 = 51 > 50; the overhead cut to 9: 16 x 3 = 48.
  const AdvisorOption& full = option(a, "model_pools");
  CHECK(full.pool_per_instance == 17);
  CHECK(full.server_connections == 51);
  CHECK_FALSE(full.fits);
  const AdvisorOption& trimmed = option(a, "model_pools_less_overhead");
  CHECK(trimmed.pool_per_instance == 16);
  CHECK(trimmed.overhead == 9);
  CHECK(trimmed.server_connections == 48);
  CHECK(trimmed.fits);
  CHECK(trimmed.meets_objective);
  CHECK(trimmed.within_safe_band);
  // PgBouncer for the whole load: the model's 16 + 10 overhead = 26 -> 30, reserve 0.2 x 30 = 6.
  const AdvisorOption& bouncer = option(a, "pgbouncer");
  CHECK(bouncer.server_connections == 36);
  CHECK(bouncer.waits_on == 30);
  // Chosen: the least change that works (the pool's size and overhead before a new component).
  REQUIRE(a.chosen);
  CHECK(a.options[*a.chosen].id == "model_pools_less_overhead");
  CHECK(*a.chosen == 0);
  // The plan is the option's.
  CHECK(p.pool_size == 16);
  CHECK(p.total_connections == 48);
  CHECK(p.fits);
  CHECK(p.settings.connection_limit == 16);
  CHECK(p.recommendation == Recommendation::pool);
  const auto f = evaluate(p, builtin_rules());
  CHECK_FALSE(has_failure(f));
  REQUIRE(find(f, "advisor.rule_of_thumb_replaced") != nullptr);
  CHECK(find(f, "advisor.rule_of_thumb_replaced")->level == Level::warn);
}

TEST_CASE("advisor: a larger max_connections only when nothing else works, and never past the rules' limit")
{
  SUBCASE("max_connections 60 leaves 10: the model's 16 + 10 = 26 needs 26 + 50 reserved = 76")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "max_connections", "60" } });
    const Advice& a = p.advice;
    REQUIRE(a.chosen);
    const AdvisorOption& raise = a.options[*a.chosen];
    CHECK(raise.id == "raise_max_connections");
    // max(26 + 50 reserved, ceil(26 / 0.70) = 38, 61) = 76.
    CHECK(raise.max_connections == 76);
    CHECK(raise.pool_per_instance == 26);
    // PgBouncer squeezed into the 10 available misses the objective: it needs 16.
    CHECK_FALSE(option(a, "pgbouncer").meets_objective);
    CHECK(p.scenario.max_connections == 76);
    CHECK(p.pool_size == 26);
    const auto f = evaluate(p, builtin_rules());
    REQUIRE(find(f, "advisor.raise_max_connections") != nullptr);
    // (76 - 60) x 10 MiB (rules advisor.backend_memory_mib).
    CHECK(find(f, "advisor.raise_max_connections")
            ->message.starts_with("max_connections = 76 in postgresql.conf (a restart), about 160 MiB more server memory"));
    CHECK_FALSE(has_failure(f));
  }
  SUBCASE("past advisor.max_connections_max (500) nothing works: the plan stays the rule's and fails")
  {
    // 120 VUs at 200 ms: the model needs 21 (first_meeting_p99 below), 20 are available, and a
    // raise would need 31 + 480 = 511.
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "200" }, { "max_connections", "500" }, { "reserve", "other_apps=480" } });
    const Advice& a = p.advice;
    REQUIRE(a.model_pool);
    CHECK(*a.model_pool == first_meeting_p99({ 84, 0.200, 0.800 }, 100.0));
    CHECK(*a.model_pool == 21);
    CHECK_FALSE(a.chosen);
    const AdvisorOption& raise = option(a, "raise_max_connections");
    CHECK(raise.max_connections == 511);
    CHECK_FALSE(raise.offered);
    CHECK(p.pool_size == 70); // the rule's, unchanged
    CHECK_FALSE(p.fits);
    const auto f = evaluate(p, builtin_rules());
    REQUIRE(find(f, "advisor.no_option") != nullptr);
    CHECK(find(f, "advisor.no_option")->level == Level::fail);
    CHECK(find(f, "advisor.no_option")->message ==
          "no option fits and meets p99_wait<100ms; closest: the model's pools: 31 per instance (21 + overhead 10) "
          "(needs 31 server connections, 20 available)");
  }
}

TEST_CASE("advisor: 20,000 VUs at 400 ms on max_connections 100 cannot fit: exit 3's closest option")
{
  const Plan p = test::plan({ { "vus", "20000" }, { "query_ms", "400" } });
  const Advice& a = p.advice;
  CHECK(p.recommendation == Recommendation::pgbouncer); // the scaling table's 500+ row
  CHECK_FALSE(a.chosen);
  // 14,000 VUs x 0.4 / (0.4 + 0.6) = 5,600 busy: 5,601 is the least that carries the load.
  REQUIRE(a.model_pool);
  CHECK(*a.model_pool >= 5601);
  // Direct pools are not offered where PgBouncer's triggers apply.
  CHECK_FALSE(option(a, "model_pools").offered);
  const auto f = evaluate(p, builtin_rules());
  REQUIRE(find(f, "advisor.no_option") != nullptr);
  CHECK(find(f, "advisor.no_option")->message.find("closest: the rule of thumb through PgBouncer: 50 server connections") !=
        std::string::npos);
}

TEST_CASE("advisor: above the safe band the rule of thumb gives way to an option within it")
{
  // 120 VUs at 200 ms: 17 x 3 + 20 = 71 -> 80 of 100 with superuser=3 (97 available): it fits,
  // above 70 %. The model's 21 (first_meeting_p99 below) + 20 = 41 is within the band.
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "200" }, { "reserve", "superuser=3" }, { "overhead", "20" } });
  CHECK(p.advice.searched);
  CHECK(p.advice.why_searched == "80 of max_connections 100 = 80 %, above the safe band's 70 %");
  REQUIRE(p.advice.model_pool);
  CHECK(*p.advice.model_pool == first_meeting_p99({ 84, 0.200, 0.800 }, 100.0));
  REQUIRE(p.advice.chosen);
  CHECK(p.advice.options[*p.advice.chosen].id == "model_pools");
  CHECK(p.pool_size == 41);
}

TEST_CASE("advisor: --target is the objective, and its pool the first answer")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "target", "p99_wait<50ms" } });
  CHECK(p.advice.objective_source == "--target");
  CHECK(p.advice.objective.text == "p99_wait<50ms");
  REQUIRE(p.advice.model_pool);
  CHECK(*p.advice.model_pool == first_meeting_p99({ 84, 0.150, 0.850 }, 50.0));
  CHECK(*p.advice.model_pool == *p.queueing.target_pool);
  CHECK_FALSE(p.advice.searched); // 18 + 10 = 28 -> 30 fits within the band
}

TEST_CASE("one budget: the plan, the fleet and the version agree on what is available")
{
  // The default budget: other_apps 20, admin 10, superuser 10, replication 10 (the worked example).
  SUBCASE("version unknown: every reserve counts, 100 - 50 = 50, and the finding says what 12+ changes")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    CHECK(p.available == 50);
    CHECK(p.reserve_not_counted.empty());
    const auto f = evaluate(p, builtin_rules());
    REQUIRE(find(f, "reserve.replication_not_counted") != nullptr);
    CHECK(find(f, "reserve.replication_not_counted")
            ->message.ends_with("with --postgres-version 12 or later it takes nothing, and 60 are available"));
  }
  SUBCASE("PostgreSQL 15: WAL senders have their own slots (since 12), 100 - 40 = 60")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "postgres_version", "15" } });
    CHECK(p.available == 60);
    CHECK(p.reserved_total == 40);
    CHECK(p.reserve_not_counted == std::vector<std::string>{ "replication" });
    // The same server in a fleet file gives the same budget.
    const Fleet fleet = test::fleet("[database]\nmax_connections = 100\nversion = 15\n\n[[service]]\nname = \"api\"\ndatabase = "
                                    "\"app\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n");
    CHECK(fleet.database.available == p.available);
    CHECK(fleet.database.reserved_total == p.reserved_total);
  }
  SUBCASE("PostgreSQL 11: the replication reserve counts, and no finding")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "postgres_version", "11" } });
    CHECK(p.available == 50);
    CHECK(find(evaluate(p, builtin_rules()), "reserve.replication_not_counted") == nullptr);
    const Fleet fleet = test::fleet("[database]\nmax_connections = 100\nversion = 11\n\n[[service]]\nname = \"api\"\ndatabase = "
                                    "\"app\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n");
    CHECK(fleet.database.available == 50);
  }
}

TEST_CASE("advisor: sidecars are judged per sidecar, on one instance's load")
{
  // 400 VUs x 0.7 / 6 = 46.7 -> 47 VUs per instance at 80 ms (docs/pgbouncer.md's sidecar case).
  // max_connections 80 leaves 30: 5 per sidecar, default_pool_size 4 + reserve 1.
  const Plan p =
    test::plan({ { "vus", "400" }, { "query_ms", "80" }, { "instances", "6" }, { "topology", "sidecar" }, { "max_connections", "80" } });
  const Advice& a = p.advice;
  REQUIRE(a.searched);
  const AdvisorOption& first = option(a, "rule_of_thumb");
  CHECK(first.waits_on == 4);
  // The queries one sidecar's 4 connections serve: one instance's, not the whole fleet's.
  const QueueMetrics four = closed_curve(p.queueing.closed, { 4 }, 0).front();
  REQUIRE(first.at_load);
  CHECK(first.at_load->p99_wait_ms == doctest::Approx(four.p99_wait_ms));
  CHECK_FALSE(first.meets_objective);
  // The model's pool per instance, first_meeting_p99 of the same load.
  REQUIRE(a.model_pool);
  CHECK(*a.model_pool == first_meeting_p99(p.queueing.closed, 100.0));
}

TEST_CASE("advisor: PgBouncer on a larger server when its budget is what it misses by")
{
  // 1000 VUs at 100 ms: 700 VUs keep 70 connections busy; PgBouncer's 41 of the 50 available
  // cannot carry that. The model's server pool for the whole load, + overhead 10, rounded to 10,
  // with the rules' reserve ratio 0.2: max_connections for it within the 70 % band.
  const Plan p = test::plan({ { "vus", "1000" }, { "query_ms", "100" } });
  const Advice& a = p.advice;
  REQUIRE(a.chosen);
  const AdvisorOption& chosen = a.options[*a.chosen];
  CHECK(chosen.id == "pgbouncer_raise_max_connections");
  CHECK(chosen.pgbouncer);
  CHECK(chosen.server_pool == first_meeting_p99({ 700, 0.100, 0.900 }, 100.0));
  // default 90 (71 + 10 -> 90) + reserve 18 = 108; ceil(108 / 0.70) = 155 < 108 + 50 reserved = 158.
  CHECK(chosen.server_connections == 108);
  CHECK(chosen.max_connections == 158);
  CHECK(p.advice.given_max_connections == 100);
  CHECK(p.scenario.max_connections == 158);
  REQUIRE(p.pgbouncer);
  CHECK(p.pgbouncer->pools.front().default_pool_size == 90);
  const AdvisorOption& first = option(a, "rule_of_thumb");
  CHECK(first.miss_text.starts_with("41 connections for a load that keeps 70 busy"));
}

TEST_CASE("advisor: a PgBouncer with no server connection to give is not scored as perfect")
{
  // --reserve a=100 leaves nothing: PgBouncer's pool is 0.
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "reserve", "a=100" } });
  const AdvisorOption& bouncer = option(p.advice, "pgbouncer");
  CHECK(bouncer.waits_on == 0);
  CHECK_FALSE(bouncer.meets_objective);
  CHECK(bouncer.miss_text.starts_with("0 connections for a load that keeps 12.6 busy"));
}

TEST_CASE("the deployment's whole life: the autoscaler's maximum is checked, a rolling deploy warned about")
{
  SUBCASE("the worked example: one instance of 50 and Kubernetes' maxSurge 25 %, rounded up to 1")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    REQUIRE(p.moments.size() == 2);
    CHECK(p.moments[0].id == "steady");
    CHECK(p.moments[1].id == "rolling_deploy");
    CHECK(p.moments[1].instances == 2); // 1 + ceil(0.25 x 1)
    CHECK(p.moments[1].connections == 100);
    CHECK_FALSE(p.moments[1].hard);
    CHECK(p.worst_moment == 1);
    CHECK(p.fits); // the deploy is a warning: it can be avoided with --deploy-surge 0
    const auto f = evaluate(p, builtin_rules());
    REQUIRE(find(f, "lifecycle.deploy_exceeds_available") != nullptr);
    CHECK(find(f, "lifecycle.deploy_exceeds_available")->level == Level::warn);
    CHECK(find(f, "lifecycle.deploy_exceeds_available")->message ==
          "a rolling deploy, 1 + 1 (max surge 25 %): 2 x a pool of 50 = 100 server connections, more than the 50 available; deploy with "
          "maxSurge 0 and maxUnavailable 1 or more (--deploy-surge 0), keep each pool to 25 (50 / 2 instances), or put PgBouncer in "
          "front");
    const Plan none = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "deploy_surge", "0" } });
    CHECK(none.moments.size() == 1);
    CHECK(find(evaluate(none, builtin_rules()), "lifecycle.deploy_exceeds_available") == nullptr);
  }
  SUBCASE("three instances that may scale to five: the advisor sizes for five pools in the 50")
  {
    // Five instances do not trigger PgBouncer (rules pgbouncer.triggers.instances_above 5).
    const Plan p =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "3" }, { "max_instances", "5" }, { "deploy_surge", "0" } });
    // The load of 28 VUs per instance (the fewest instances carry it) needs 7; 5 x (7 + 10) = 85
    // > 50; the overhead cut to floor(50 / 5) - 7 = 3: 5 x 10 = 50.
    REQUIRE(p.advice.chosen);
    CHECK(p.advice.options[*p.advice.chosen].id == "model_pools_less_overhead");
    CHECK(p.pool_size == 10);
    CHECK(p.advice.why_searched == "150 server connections at the autoscaler's maximum > 50 available");
    REQUIRE(p.moments.size() == 2);
    CHECK(p.moments[1].id == "autoscaled");
    CHECK(p.moments[1].connections == 50);
    CHECK(p.fits);
  }
  SUBCASE("an autoscaler that may run 60 instances triggers PgBouncer (more than 5 instances)")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "3" }, { "max_instances", "60" } });
    CHECK(p.recommendation == Recommendation::pgbouncer);
    REQUIRE_FALSE(p.triggers.empty());
    CHECK(p.triggers.front().id == "instances");
    CHECK(p.triggers.front().reason == "60 application instances at the autoscaler's maximum (more than 5)");
    CHECK(p.fits);
  }
  SUBCASE("past the budget at the autoscaler's maximum, with PgBouncer's triggers off, nothing works")
  {
    Rules rules = builtin_rules();
    rules.pgbouncer_triggers.instances_above = 100;
    rules.pgbouncer_triggers.total_connections_above = 100000;
    const Plan p = size(test::scenario({ { "vus", "120" },
                                         { "query_ms", "150" },
                                         { "instances", "3" },
                                         { "max_instances", "60" },
                                         { "max_connections", "500" },
                                         { "reserve", "other_apps=450" } }),
                        rules);
    // 60 pools of the model's 7 + 10 = 1020 > 50, and max_connections 1470 is past the rules' 500;
    // PgBouncer would work, so it is the answer even without a trigger.
    REQUIRE(p.advice.chosen);
    CHECK(p.advice.options[*p.advice.chosen].id == "pgbouncer");
    CHECK_FALSE(option(p.advice, "raise_max_connections").offered);
  }
  SUBCASE("fewer than --instances is refused")
  {
    const auto built = build_scenario(
      test::inputs({ { "vus", "120" }, { "query_ms", "150" }, { "instances", "3" }, { "max_instances", "2" } }), builtin_rules());
    REQUIRE_FALSE(built.has_value());
    CHECK(built.error() == "--max_instances: 2 is below --instances 3: the autoscaler's largest count is at least the instances that "
                           "carry the load");
  }
}

TEST_CASE("the deployment's whole life through sidecars: each instance brings its PgBouncer's server connections")
{
  // 200 VUs x 0.7 x 0.050 = 7 busy; 3 instances that may scale to 10: the 50 available split over
  // 10 sidecars, 5 each (4 + reserve 1), 50 at the autoscaler's maximum; a rolling deploy of
  // 10 + ceil(2.5) = 13 sidecars x 5 = 65 > 50, a warning.
  const Plan p = test::plan({ { "vus", "200" },
                              { "query_ms", "50" },
                              { "instances", "3" },
                              { "max_instances", "10" },
                              { "topology", "sidecar" },
                              { "transaction_pooling", "true" } });
  REQUIRE(p.pgbouncer);
  CHECK(p.pgbouncer->server_connections_each == 5);
  REQUIRE(p.moments.size() == 3);
  CHECK(p.moments[1].connections == 50);
  CHECK(p.moments[1].fits);
  CHECK(p.moments[2].connections == 65);
  CHECK_FALSE(p.moments[2].fits);
  CHECK(p.utilization == doctest::Approx(0.5));
  const auto f = evaluate(p, builtin_rules());
  REQUIRE(find(f, "lifecycle.deploy_exceeds_available") != nullptr);
  CHECK(find(f, "lifecycle.deploy_exceeds_available")
          ->message.starts_with(
            "a rolling deploy, 10 + 3 (max surge 25 %): 13 x a sidecar's 5 = 65 server connections, more than the 50 available"));
}

TEST_CASE("serverless executions: one connection each, one execution per VU, PgBouncer sized for the load")
{
  SUBCASE("the worked example's 120 VUs as 120 executions: PgBouncer in front, a new version's 240 clients")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "serverless", "true" } });
    CHECK(p.scenario.instances == 120);                                  // one execution per VU
    CHECK(p.pool_size == builtin_rules().serverless.pool_per_execution); // 1 (Prisma's serverless advice)
    CHECK(p.pool_size == 1);
    CHECK(p.overhead == 0);
    CHECK(p.total_connections == 120);
    CHECK(p.rule_of_thumb_pool == 20); // ceil(12.6 / 120) = 1 x 3 + 10 = 13, rounded up to 20
    // 120 instances are past rules pgbouncer.triggers.instances_above 5.
    CHECK(p.recommendation == Recommendation::pgbouncer);
    REQUIRE(p.moments.size() == 2);
    CHECK(p.moments[0].what == "120 warm executions");
    CHECK(p.moments[1].id == "rolling_deploy");
    CHECK(p.moments[1].instances == 240); // rules serverless.deploy_surge_percent 100: 120 + 120
    CHECK(p.moments[1].client_connections == 240);
    CHECK(p.moments[1].what == "a new version, 120 + 120 still warm (100 %)");
    REQUIRE(p.pgbouncer);
    CHECK(p.pgbouncer->server_connections <= p.available);
    CHECK(p.fits);
    // The warm-connection warning is for direct pools only: through PgBouncer its clients wait.
    CHECK(find(evaluate(p, builtin_rules()), "lifecycle.serverless_warm_connections") == nullptr);
    // One VU per execution on one connection: the M/M/1//1 loop never waits.
    REQUIRE(p.queueing.recommended);
    CHECK(p.queueing.recommended->mean_wait_ms == 0);
  }
  SUBCASE("four executions connect directly, and each holds its connection busy or not")
  {
    const Plan p = test::plan(
      { { "vus", "4" }, { "query_ms", "150" }, { "serverless", "true" }, { "max_connections", "20" }, { "reserve", "other_apps=10" } });
    CHECK(p.recommendation == Recommendation::pool);
    CHECK(p.total_connections == 4);
    CHECK(p.fits);
    const auto f = evaluate(p, builtin_rules());
    const Finding* warm = find(f, "lifecycle.serverless_warm_connections");
    REQUIRE(warm != nullptr);
    CHECK(warm->level == Level::warn);
    // 4 x 0.7 x 0.150 = 0.42 queries at once (the worked example's formula).
    CHECK(warm->message.starts_with("4 warm executions keep 4 server connections open whether they serve a request or not, for a "
                                    "load of 0.42 queries at once"));
    // A new version: 4 + 4 = 8 of the 10 available, no warning.
    CHECK(find(f, "lifecycle.deploy_exceeds_available") == nullptr);
    const Plan tight = test::plan(
      { { "vus", "6" }, { "query_ms", "150" }, { "serverless", "true" }, { "max_connections", "20" }, { "reserve", "other_apps=10" } });
    // 6 executions trigger PgBouncer (more than 5); with the trigger lifted, 6 + 6 = 12 > 10 during a new version.
    Rules rules = builtin_rules();
    rules.pgbouncer_triggers.instances_above = 100;
    const Plan direct = size(
      test::scenario(
        { { "vus", "6" }, { "query_ms", "150" }, { "serverless", "true" }, { "max_connections", "20" }, { "reserve", "other_apps=10" } }),
      rules);
    CHECK(tight.recommendation == Recommendation::pgbouncer);
    CHECK(direct.recommendation == Recommendation::pool);
    const auto direct_findings = evaluate(direct, rules);
    const Finding* deploy = find(direct_findings, "lifecycle.deploy_exceeds_available");
    REQUIRE(deploy != nullptr);
    CHECK(deploy->message.starts_with("a new version, 6 + 6 still warm (100 %): 12 x a pool of 1 = 12 server connections, more than "
                                      "the 10 available; shift traffic to a new version gradually"));
  }
  SUBCASE("--instances sets the executions; --max-instances is the platform's concurrency limit")
  {
    const Plan p = test::plan({ { "vus", "120" },
                                { "query_ms", "150" },
                                { "serverless", "true" },
                                { "instances", "40" },
                                { "max_instances", "60" },
                                { "deploy_surge", "0" } });
    CHECK(p.scenario.instances == 40);
    REQUIRE(p.moments.size() == 2);
    CHECK(p.moments[1].what == "the platform's concurrency limit, 60 executions");
    CHECK(p.moments[1].client_connections == 60);
  }
  SUBCASE("fewer executions than active VUs: requests wait for an execution, the pool stays 1, --target or not")
  {
    // 120 VUs x 0.7 = 84 active on 40 executions: ceil(84 / 40) = 3 each.
    const Plan p = test::plan(
      { { "vus", "120" }, { "query_ms", "150" }, { "serverless", "true" }, { "instances", "40" }, { "target", "p99_wait<1ms" } });
    CHECK(p.pool_size == 1);
    for (const AdvisorOption& o : p.advice.options) {
      CHECK_MESSAGE(o.id != "model_pools", o.id); // no direct option resizes an execution's pool
      CHECK_MESSAGE(o.id != "raise_max_connections", o.id);
    }
    const auto f = evaluate(p, builtin_rules());
    const Finding* short_of = find(f, "lifecycle.serverless_too_few_executions");
    REQUIRE(short_of != nullptr);
    CHECK(short_of->message.starts_with("40 executions for 84 active VUs: each would serve 3 at once"));
    CHECK(find(evaluate(test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "serverless", "true" } }), builtin_rules()),
               "lifecycle.serverless_too_few_executions") == nullptr);
    // An open load: 30 queries/s of 100 ms on 3 executions keep 1 busy each.
    const Plan open = test::plan({ { "rps", "30" }, { "query_ms", "100" }, { "serverless", "true" }, { "instances", "3" } });
    CHECK(open.pool_size == 1);
    const auto open_findings = evaluate(open, builtin_rules());
    REQUIRE(find(open_findings, "lifecycle.serverless_too_few_executions") != nullptr);
    CHECK(find(open_findings, "lifecycle.serverless_too_few_executions")
            ->message.starts_with("3 executions for 30 queries/s of 100 ms: each would keep 1 queries busy at once"));
  }
  SUBCASE("refusals: a sidecar per execution, an overhead, more executions than poolcalc takes")
  {
    const auto refused = [](const char* key, const char* value) {
      const auto built = build_scenario(test::inputs({ { "vus", "120" }, { "query_ms", "150" }, { "serverless", "true" }, { key, value } }),
                                        builtin_rules());
      REQUIRE_FALSE(built.has_value());
      return built.error();
    };
    CHECK(refused("topology", "sidecar") ==
          "--topology: sidecar does not go with --serverless: a PgBouncer beside each execution pools nothing; use one shared PgBouncer");
    CHECK(refused("overhead", "5") ==
          "--overhead: a serverless execution keeps no overhead connections: its pool is rules serverless.pool_per_execution");
    CHECK(refused("max_instances", "50") ==
          "--max_instances: the platform's concurrency limit 50 is below the 120 executions the VUs need, one each: give --instances too");
    const auto many =
      build_scenario(test::inputs({ { "vus", "20000" }, { "query_ms", "150" }, { "serverless", "true" } }), builtin_rules());
    REQUIRE_FALSE(many.has_value());
    CHECK(many.error() == "--serverless: 20000 VUs would need 20000 executions, more than the 10000 poolcalc takes: give --instances, the "
                          "executions running at the peak");
  }
  SUBCASE("an open load's executions are not known: --instances is required")
  {
    const auto built = build_scenario(test::inputs({ { "rps", "50" }, { "query_ms", "150" }, { "serverless", "true" } }), builtin_rules());
    REQUIRE_FALSE(built.has_value());
    CHECK(built.error() ==
          "--serverless: with --rps the concurrent executions are not known: give --instances, the executions running at the peak");
    CHECK(build_scenario(test::inputs({ { "rps", "50" }, { "query_ms", "150" }, { "serverless", "true" }, { "instances", "20" } }),
                         builtin_rules())
            .has_value());
  }
}

TEST_CASE("advisor: --db-cores: options past the database's useful concurrency rank after those within it")
{
  SUBCASE("16 cores serve 32 at once: the rule's 50 gives way to the model's 16 + 10")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "16" } });
    const Advice& a = p.advice;
    REQUIRE(a.db_ceiling);
    CHECK(*a.db_ceiling == 32); // 16 x rules advisor.active_per_core 2 (the PostgreSQL wiki's cores x 2)
    CHECK(a.searched);
    CHECK(a.why_searched == "50 server connections let as many queries run at once, past the database's useful 32 (--db-cores 16 x rules "
                            "advisor.active_per_core 2)");
    REQUIRE(a.chosen);
    CHECK(a.options[*a.chosen].id == "model_pools");
    CHECK(p.pool_size == 26); // the model's 16 (first test case) + overhead 10
    CHECK(a.options[*a.chosen].within_db_ceiling);
    CHECK_FALSE(option(a, "rule_of_thumb").within_db_ceiling);
  }
  SUBCASE("4 cores serve 8: the load's own 12.6 is past it, nothing is within, the rule of thumb stays")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "4" } });
    const Advice& a = p.advice;
    REQUIRE(a.db_ceiling);
    CHECK(*a.db_ceiling == 8);
    REQUIRE(a.chosen);
    CHECK(a.options[*a.chosen].id == "rule_of_thumb");
    CHECK(p.pool_size == 50);
    for (const AdvisorOption& o : a.options) {
      CHECK_MESSAGE(!o.within_db_ceiling, o.id);
    }
    CHECK(find(evaluate(p, builtin_rules()), "database.active_above_cores") != nullptr);
  }
  SUBCASE("without --db-cores there is no ceiling: the worked example's 50 stays without a search")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    CHECK_FALSE(p.advice.db_ceiling);
    CHECK_FALSE(p.advice.searched);
    CHECK(p.pool_size == 50);
  }
}

TEST_CASE("advisor: a simulated load's figures come from settled runs, even after the search spent the advisor's budget")
{
  // Heavy-tailed holds (the validation's lognormal: mean 150 ms, p95 526 ms, p99 1191 ms) are
  // simulated. The pool search spends the advisor's budget on its first pools; the figures printed
  // for the chosen pool and at twice the load then ran a few thousand events from an empty pool:
  // p99 32 ms where the pool alone, simulated with the run's budget, gives about 85 ms, and
  // P(wait) 26 % at twice the load, where 168 VUs keep 25.2 connections busy on 17.
  const std::initializer_list<std::pair<std::string, std::string>> load = {
    { "vus", "120" }, { "query_ms", "150" }, { "query_p95_ms", "526" }, { "query_p99_ms", "1191" }
  };
  const Plan p = test::plan(load);
  const Advice& a = p.advice;
  REQUIRE(a.model_pool);
  REQUIRE(a.model_at_load);
  REQUIRE(a.model_at_load->intervals);
  // The same pool on its own: the plan's listed pool, simulated first, with the run's budget.
  const Plan alone = test::plan({ { "vus", "120" },
                                  { "query_ms", "150" },
                                  { "query_p95_ms", "526" },
                                  { "query_p99_ms", "1191" },
                                  { "pool", std::to_string(*a.model_pool) } });
  const auto row =
    std::find_if(alone.queueing.pools.begin(), alone.queueing.pools.end(), [&](const QueueMetrics& m) { return m.pool == *a.model_pool; });
  REQUIRE(row != alone.queueing.pools.end());
  REQUIRE(row->intervals);
  // Two estimates of one figure: apart by no more than their 95 % intervals together.
  CHECK(std::abs(a.model_at_load->p99_wait_ms - row->p99_wait_ms) <= a.model_at_load->intervals->p99_wait_ms + row->intervals->p99_wait_ms);
  CHECK(std::abs(a.model_at_load->p_wait - row->p_wait) <= a.model_at_load->intervals->p_wait + row->intervals->p_wait);
  CHECK(row->p99_wait_ms < 100.0); // the objective it was chosen for
  // Twice the load on the model's pool: more busy connections than the pool has, everyone waits.
  REQUIRE(a.model_at_surge);
  CHECK(static_cast<double>(*a.model_pool) < 168 * 0.150 / 1.0);
  CHECK(a.model_at_surge->p_wait > 0.9);
}

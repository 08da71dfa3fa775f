// poolcalc fleet: the file format (errors asserted exactly), the sums, the deploy surge, the
// seed's PgBouncer triggers for a fleet, the PgBouncer plan per (database, user) and the
// capacity truth. Unless a test says otherwise, the rules are the built-in ones (data/rules.toml:
// activity 0.70, burst 3, overhead 10, round_to 10, the seed's reserve of 50).

#include "fleet_helpers.hpp"
#include "helpers.hpp"

#include "poolcalc/fleet.hpp"
#include "poolcalc/fleet_emit.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <tuple>

using namespace poolcalc;
using poolcalc::test::example_fleet_text;
using poolcalc::test::fleet;
using poolcalc::test::parse_fleet;
using poolcalc::test::service;

namespace {

std::string parse_error(const std::string& text)
{
  auto parsed = parse_fleet_toml(text, "fleet.toml", builtin_rules());
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

// The seed's database (max_connections 100, PostgreSQL 15) and one service of the seed's load.
const std::string k_database = "[database]\nmax_connections = 100\nversion = 15\n";
const std::string k_service = "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n";

} // namespace

TEST_CASE("parse_fleet_toml")
{
  SUBCASE("the example file")
  {
    const FleetFile file = parse_fleet(example_fleet_text());
    REQUIRE(file.services.size() == 2);
    CHECK(file.services[0].name == "chat-api");
    CHECK(file.services[0].client == Client::prisma);
    CHECK(file.services[0].database == "chat_backend_db"); // from the URL's path
    CHECK(file.services[0].scenario.instances == 3);
    CHECK(file.services[1].session_features);
    CHECK(file.services[1].client == Client::node_postgres);
    // PostgreSQL 15 >= 12: the replication reserve of 10 takes no slot; 20 + 10 + 10 counted.
    CHECK(file.database.reserve_not_count == std::vector<std::string>{ "replication" });
    CHECK(file.database.reserved_total == 40);
    CHECK(file.database.available == 60);
    CHECK(file.deploy.strategy == DeployStrategy::rolling);
    CHECK(file.deploy.max_surge_percent == 25);
  }
  SUBCASE("the replication reserve counts before PostgreSQL 12")
  {
    const FleetFile file = parse_fleet("[database]\nmax_connections = 100\nversion = 11\n" + k_service);
    // The rules' reserve: 20 + 10 + 10 + 10 = 50, all counted on 11.
    CHECK(file.database.reserved_total == 50);
    CHECK(file.database.available == 50);
  }
  SUBCASE("reserved_connections from PostgreSQL 16 on")
  {
    const FleetFile file = parse_fleet(
      "[database]\nmax_connections = 100\nversion = 16\nreserved_connections = 5\n[database.reserve]\nsuperuser = 3\n" + k_service);
    CHECK(file.database.reserved_total == 8); // 3 + 5
    CHECK(file.database.available == 92);
    CHECK(parse_error("[database]\nmax_connections = 100\nversion = 15\nreserved_connections = 5\n" + k_service) ==
          "fleet.toml:4:24: database.reserved_connections: PostgreSQL has reserved_connections from version 16 on; version is 15");
  }
  SUBCASE("errors name the file, the position and the key")
  {
    CHECK(parse_error(k_service) == "fleet.toml:1:1: database: missing key");
    CHECK(parse_error("[database]\nmax_connections = 100\nversion = 8\n" + k_service) ==
          "fleet.toml:3:11: database.version: expected a whole number from 10 to 99, got 8");
    // 9.x majors had two parts (9.6): the fleet takes the one-number majors, as config --server-version does.
    CHECK(parse_error("[database]\nmax_connections = 100\nversion = 9\n" + k_service) ==
          "fleet.toml:3:11: database.version: expected a whole number from 10 to 99, got 9");
    CHECK(parse_error(k_database + "colour = 1\n" + k_service) == "fleet.toml:4:1: database.colour: unknown key");
    CHECK(parse_error(k_database + k_service + "pool = 5\n") ==
          "fleet.toml:10:8: service[0].pool: unknown key (accepted: name, client, session_features, database, user, vus, rps, "
          "query_ms, design_ms, activity, op, vu_rate, think_ms, queries_per_request, query_cv, query_p50_ms, query_p95_ms, "
          "query_p99_ms, think_cv, burst, "
          "overhead, instances, max_instances, serverless, pool_timeout, connect_timeout, request_timeout)");
    CHECK(parse_error(k_database + k_service + "max_connections = 5\n") ==
          "fleet.toml:10:19: service[0].max_connections: the database's keys go in [database], for the whole fleet");
    CHECK(parse_error(k_database + k_service + "client = \"psycopg\"\n") ==
          "fleet.toml:10:10: service[0].client: expected one of prisma, node-postgres, hikaricp, sqlalchemy, go-database-sql, pgx, "
          "other, got 'psycopg'");
    CHECK(parse_error(k_database + k_service + k_service) == "fleet.toml:11:8: service[1].name: 'api' is the name of another service");
    CHECK(parse_error(k_database + "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nvus = 120\nquery_ms = 150\n") ==
          "fleet.toml:4:1: service[0].user: missing key");
    CHECK(parse_error(k_database + "[[service]]\nname = \"api\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n") ==
          "fleet.toml:4:1: service[0].database: missing key (the database the service connects to; or give [database] url with a "
          "database name)");
    CHECK(parse_error(k_database + "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nuser = \"app\"\nquery_ms = 150\n") ==
          "fleet.toml:4:1: service[0]: vus or rps is required (a closed load, e.g. vus = 120, or an open load, e.g. rps = 64.6)");
    // The workload keys go through the scenario file's reader and build_scenario.
    CHECK(parse_error(k_database + k_service + "instances = 2.5\n") == "fleet.toml:10:13: service[0].instances: expected a whole number");
    CHECK(parse_error(k_database + k_service + "activity = 2\n") ==
          "fleet.toml:10:12: service[0].activity: expected a number from 0.001 to 1, got '2'");
    CHECK(parse_error(k_database + "[deploy]\nstrategy = \"canary\"\n" + k_service) ==
          "fleet.toml:5:12: deploy.strategy: expected rolling, blue-green or recreate, got 'canary'");
    CHECK(parse_error(k_database + "[deploy]\nstrategy = \"blue-green\"\nmax_surge = 1\n" + k_service) ==
          "fleet.toml:6:13: deploy.max_surge: applies to strategy = \"rolling\" only, not to \"blue-green\"");
    CHECK(parse_error(k_database + "[deploy]\nmax_surge = \"130%\"\n" + k_service) ==
          "fleet.toml:5:13: deploy.max_surge: expected a whole number of instances from 0 to 10000 or a percentage from 0% to 100% "
          "such as \"25%\", got '130%'");
    CHECK(parse_error("service = []\n" + k_database) == "fleet.toml:1:11: service: expected 1 to 1000 [[service]] tables, got 0");
    CHECK(parse_error("[database]\nmax_connections = 40\nversion = 11\n" + k_service) ==
          "fleet.toml:2:19: database.max_connections: the reserved connections (50) exceed max_connections (40); reserve at most 40");
  }
}

TEST_CASE("size_fleet: each service's pool and the sum")
{
  const Fleet f = size_fleet(parse_fleet(example_fleet_text()), builtin_rules());
  const FleetService& api = service(f, "chat-api");
  // seed: 120 x 0.70 x 0.15 = 12.6 in all; over 3 instances 4.2 -> 5; 5 x 3 + 10 = 25 -> 30.
  CHECK(api.peak == doctest::Approx(12.6));
  CHECK(api.pool == 30);
  CHECK(api.connections == 90);
  CHECK(api.pool_setting == "connection_limit=30");
  const FleetService& notifier = service(f, "notifier");
  // 5 requests/s x 0.4 s = 2; 2 x 3 + 2 (its overhead) = 8 -> 10.
  CHECK(notifier.peak == doctest::Approx(2));
  CHECK(notifier.pool == 10);
  CHECK(notifier.pool_setting == "max: 10");
  CHECK(f.instances == 4);
  CHECK(f.total_connections == 100);
  CHECK_FALSE(f.fits_direct); // 100 > 60 available
}

TEST_CASE("size_fleet: the deploy surge")
{
  // Two services: api 3 instances x 30 (above), worker 1 instance: 40 / 1 = 40 VUs... sized
  // below from the seed's formula: 40 x 0.7 x 0.15 = 4.2 -> 5 x 3 + 10 = 25 -> 30.
  const std::string services = "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n"
                               "instances = 3\n"
                               "[[service]]\nname = \"worker\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 40\nquery_ms = 150\n";
  const std::string db = "[database]\nmax_connections = 1000\nversion = 15\n";
  SUBCASE("rolling, Kubernetes' default 25 %: ceil(3 x 0.25) = 1 extra api instance, ceil(1 x 0.25) = 1 worker")
  {
    const Fleet f = fleet(db + services);
    CHECK(service(f, "api").surge_instances == 1);
    CHECK(service(f, "worker").surge_instances == 1);
    CHECK(f.total_connections == 120); // 3 x 30 + 30
    CHECK(f.surge_connections == 150); // one at a time: the larger surge is 30 (both are)
    CHECK(f.surge_service == "api");   // the first of the largest
  }
  SUBCASE("rolling with a count: 2 extra api instances; more than the instances is capped at them")
  {
    CHECK(fleet(db + "[deploy]\nmax_surge = 2\n" + services).surge_connections == 180);  // 120 + 2 x 30
    CHECK(fleet(db + "[deploy]\nmax_surge = 50\n" + services).surge_connections == 210); // 120 + 3 x 30
  }
  SUBCASE("blue-green doubles: the api's 90 beside its 90")
  {
    const Fleet f = fleet(db + "[deploy]\nstrategy = \"blue-green\"\n" + services);
    CHECK(f.surge_connections == 210); // 120 + 90
  }
  SUBCASE("every service at once: the surges add up")
  {
    CHECK(fleet(db + "[deploy]\nstrategy = \"blue-green\"\nsimultaneous = true\n" + services).surge_connections == 240); // 2 x 120
  }
  SUBCASE("recreate: no surge")
  {
    CHECK(fleet(db + "[deploy]\nstrategy = \"recreate\"\n" + services).surge_connections == 120);
  }
  SUBCASE("a direct fleet that fits steady but not while it deploys fails")
  {
    // No reserve: 100 available. 120 VUs on 2 instances: 6.3 -> 7 x 3 + 10 = 31 -> 40 each,
    // 80 in all (<= 200, 2 instances, 1 service: no PgBouncer trigger); a 25 % rolling surge is
    // ceil(0.5) = 1 instance of 40: 120 > 100.
    const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 15\n[database.reserve]\n" + k_service + "instances = 2\n");
    CHECK(f.recommendation == Recommendation::pool);
    CHECK(f.total_connections == 80);
    CHECK(f.surge_connections == 120);
    const auto findings = evaluate_fleet(f, builtin_rules());
    const Finding* surge = test::find(findings, "fleet.surge_exceeds_available");
    REQUIRE(surge != nullptr);
    CHECK(surge->level == Level::fail);
    CHECK(surge->message ==
          "a rolling deploy of api (max_surge 25 %) needs 120 connections while old and new instances run side by side (80 steady + "
          "40), more than the 100 available (max_connections 100 - reserved 0)");
    CHECK(has_failure(findings));
  }
}

TEST_CASE("size_fleet: the deployment's whole life: the autoscaler's maximum and serverless services")
{
  const std::string db = "[database]\nmax_connections = 1000\nversion = 15\n";
  SUBCASE("max_instances: every instance the autoscaler may run opens its pool, and a deploy rolls that many")
  {
    // api: 120 VUs over 3 instances: ceil(12.6 / 3) = 5 x 3 + 10 = 25 -> 30 per instance (the
    // worked example's formula); up to 6 instances: 6 x 30 = 180; a rolling deploy of 6 at
    // Kubernetes' 25 %: ceil(1.5) = 2 more, 60.
    const Fleet f = fleet(db + "[[service]]\nname = \"api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n"
                               "instances = 3\nmax_instances = 6\n");
    const FleetService& api = service(f, "api");
    CHECK(api.pool == 30);
    CHECK(api.instances == 3);
    CHECK(api.max_instances == 6);
    CHECK(api.connections == 180);
    CHECK(api.surge_instances == 2);
    CHECK(f.total_connections == 180);
    CHECK(f.surge_connections == 240);
    CHECK(fleet_base_phrase(f) == "at the autoscalers' maximum");
    // 6 instances at the autoscaler's maximum are past rules pgbouncer.triggers.instances_above 5.
    REQUIRE_FALSE(f.triggers.empty());
    CHECK(f.triggers.front().reason == "6 application instances at the autoscaler's maximum in all (more than 5)");
  }
  SUBCASE("serverless: one connection per execution, one execution per VU")
  {
    const Fleet f = fleet(db + "[[service]]\nname = \"jobs\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 4\nquery_ms = 100\n"
                               "serverless = true\n");
    const FleetService& jobs = service(f, "jobs");
    CHECK(jobs.pool == 1); // rules serverless.pool_per_execution
    CHECK(jobs.instances == 4);
    CHECK(jobs.connections == 4);
    CHECK(jobs.surge_instances == 1); // [deploy]'s: the rules' 25 % of 4, rounded up, like any service's
    CHECK(f.surge_connections == 5);
    CHECK(fleet_base_phrase(f) == "steady");
  }
}

TEST_CASE("size_fleet: the seed's PgBouncer triggers for a fleet")
{
  SUBCASE("one service on few instances: none")
  {
    const Fleet f = fleet(k_database + k_service);
    CHECK(f.triggers.empty());
    CHECK_FALSE(f.pgbouncer.has_value());
  }
  SUBCASE("two services share the database (services_above 1)")
  {
    const Fleet f = fleet(example_fleet_text());
    REQUIRE(f.triggers.size() == 1);
    CHECK(f.triggers[0].id == "services");
  }
  SUBCASE("a remote database, from the URL's host or the remote key")
  {
    const Fleet by_url = fleet("[database]\nmax_connections = 100\nversion = 15\nurl = \"postgresql://app@db.internal:5432/chat\"\n"
                               "[[service]]\nname = \"api\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n");
    REQUIRE(by_url.triggers.size() == 1);
    CHECK(by_url.triggers[0].id == "remote_database");
    CHECK(by_url.services[0].input.database == "chat"); // the URL's database name
    CHECK(fleet("[database]\nmax_connections = 100\nversion = 15\nurl = \"postgresql://app@db.internal:5432/chat\"\nremote = "
                "false\n[[service]]\nname = \"api\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n")
            .triggers.empty());
  }
  SUBCASE("the instances are summed over the services (instances_above 5)")
  {
    // 3 + 3 = 6 > 5; 120 VUs each over 3 instances: 4.2 -> 5 x 3 + 10 = 25 -> 30, 6 x 30 = 180 <= 200.
    const Fleet f = fleet("[database]\nmax_connections = 1000\nversion = 15\n"
                          "[[service]]\nname = \"a\"\ndatabase = \"d\"\nuser = \"u\"\nvus = 120\nquery_ms = 150\ninstances = 3\n"
                          "[[service]]\nname = \"b\"\ndatabase = \"d\"\nuser = \"u\"\nvus = 120\nquery_ms = 150\ninstances = 3\n");
    std::vector<std::string> ids;
    for (const Trigger& t : f.triggers) {
      ids.push_back(t.id);
    }
    CHECK(ids == std::vector<std::string>{ "instances", "services" });
  }
}

TEST_CASE("size_fleet: the PgBouncer plan")
{
  const Fleet f = fleet(example_fleet_text());
  REQUIRE(f.pgbouncer.has_value());
  const PgBouncerPlan& p = *f.pgbouncer;
  // Budget: min(available 60, floor(0.70 x 100) = 70) = 60.
  CHECK(p.server_budget == 60);
  REQUIRE(p.pools.size() == 2);
  const PgBouncerPool& api = p.pools[0];
  CHECK(api.database == "chat_backend_db");
  CHECK(api.user == "chat");
  CHECK(api.pool_mode == PoolMode::transaction);
  // The seed's formula over the whole load: 13 x 3 + 10 = 49 -> 50, reserve 0.2 x 50 = 10.
  CHECK(api.default_pool_size_wanted == 50);
  // The notifier needs session features: its own session-mode entry for the same database,
  // a server connection per client connection, surge included: (1 + 1) x 10 = 20.
  const PgBouncerPool& notifier = p.pools[1];
  CHECK(notifier.database == "chat_backend_db_session");
  CHECK(notifier.dbname == "chat_backend_db");
  CHECK(notifier.pool_mode == PoolMode::session);
  CHECK(notifier.default_pool_size == 20);
  CHECK(p.session_connections == 20);
  // 60 - 20 = 40 left for 50 + 10 wanted: default floor(40 / 1.2) = 33, reserve 40 - 33 = 7.
  CHECK(api.default_pool_size == 33);
  CHECK(api.reserve_pool_size == 7);
  CHECK(api.min_pool_size == 7); // round(0.2 x 33)
  REQUIRE(p.databases.size() == 2);
  CHECK(p.databases[0].max_db_connections == 40);
  CHECK(p.databases[1].max_db_connections == 20);
  CHECK(p.server_connections == 60);
  // Every instance's client pool during the surge: 100 + 30 = 130 < the seed's 1000.
  CHECK(api.surge_client_connections == 120); // 90 + 30
  CHECK(p.max_client_conn == 1000);
  CHECK(service(f, "notifier").pgbouncer_database == "chat_backend_db_session");
  const auto findings = evaluate_fleet(f, builtin_rules());
  CHECK_FALSE(has_failure(findings));
  const Finding* reduced = test::find(findings, "fleet.pgbouncer_pool_reduced");
  REQUIRE(reduced != nullptr);
  CHECK(reduced->message ==
        "chat_backend_db/chat: default_pool_size 50 + reserve_pool_size 10 would not fit the server budget of 60 (20 taken by session "
        "pools); reduced to 33 + 7");
  CHECK(test::find(findings, "fleet.session_features") != nullptr);
  CHECK(test::find(findings, "fleet.replication_not_counted") != nullptr);

  SUBCASE("max_client_conn covers every instance's pool when that is more than the rules' 1000")
  {
    // 12 instances x 100 VUs each... 1200 VUs x 0.7 x 0.15 = 126 -> 10.5 per instance -> 11 x 3 + 10
    // = 43 -> 50 per instance, 600 in all; the surge adds ceil(12 x 0.25) = 3 x 50 = 150: 750. Two
    // such services: 1200 steady, 1350 during one's deploy.
    const std::string svc = "vus = 1200\nquery_ms = 150\ninstances = 12\n";
    const Fleet big = fleet("[database]\nmax_connections = 1000\nversion = 15\n"
                            "[[service]]\nname = \"a\"\ndatabase = \"d\"\nuser = \"u\"\n" +
                            svc + "[[service]]\nname = \"b\"\ndatabase = \"d\"\nuser = \"v\"\n" + svc);
    REQUIRE(big.pgbouncer.has_value());
    CHECK(big.total_connections == 1200);
    CHECK(big.pgbouncer->max_client_conn == 1350);
    CHECK(big.pgbouncer->pools.size() == 2); // one per (database, user)
  }
}

TEST_CASE("size_fleet: the capacity truth (the seed's scaling-table trap)")
{
  // seed, "Scaling Guidelines": "500+ | Use PgBouncer | 100 (pooler handles)". The rules' row
  // starts at 501 users. 501 x 0.70 x 0.15 s = 52.605 concurrent queries at the peak; PgBouncer's
  // server budget is min(100 - 50 reserved, 70) = 50: 53 queries at once cannot run on 50.
  const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                        "[[service]]\nname = \"chat-api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 501\nquery_ms = 150\n");
  REQUIRE(f.pgbouncer.has_value());
  CHECK(f.triggers.front().id == "scaling_table");
  const PgBouncerPool& pool = f.pgbouncer->pools.front();
  CHECK(pool.peak == doctest::Approx(52.605));
  CHECK(pool.peak_ceil == 53);
  CHECK(pool.default_pool_size == 41); // floor(50 / 1.2)
  CHECK(pool.reserve_pool_size == 9);  // 50 - 41
  CHECK_FALSE(f.capacity.fits);
  // The wait inside PgBouncer: 351 active VUs (ceil(501 x 0.7)) on 41 servers is saturated, so
  // throughput ~ 41 / 0.15 s = 273.3 queries/s, each VU's cycle 351 / 273.3 = 1.284 s, of which
  // 0.15 s hold and 0.85 s think: the mean wait is about 284 ms (interactive response-time law).
  // The pool is simulated (351 VUs share the instance's client pool of 170): within 3 % of it.
  REQUIRE(pool.wait.has_value());
  CHECK(pool.wait->intervals.has_value());
  CHECK(pool.wait->mean_wait_ms == doctest::Approx(284.1).epsilon(0.03));
  const auto findings = evaluate_fleet(f, builtin_rules());
  const Finding* capacity = test::find(findings, "fleet.capacity_exceeds_server");
  REQUIRE(capacity != nullptr);
  CHECK(capacity->level == Level::fail);
  CHECK(capacity->message.starts_with("chat/app: the peak of 52.605 concurrent queries (chat-api) needs 53 server connections at once, "
                                      "more than the pool's 50 (default_pool_size 41 + reserve_pool_size 9; PgBouncer's server budget "
                                      "is 50 of max_connections 100): PgBouncer queues clients but cannot run more queries at once "
                                      "than it has server connections; clients wait inside PgBouncer "));
  CHECK(capacity->message.find(" ms on average, p95 ") != std::string::npos);

  SUBCASE("500 users on six instances: the instances trigger, the same trap")
  {
    // 500 x 0.70 x 0.15 = 52.5 -> 53 > 50.
    const Fleet six = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                            "[[service]]\nname = \"chat-api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 500\nquery_ms = 150\n"
                            "instances = 6\n");
    REQUIRE(six.pgbouncer.has_value());
    CHECK(six.capacity.peak == doctest::Approx(52.5));
    CHECK(six.capacity.peak_ceil == 53);
    CHECK(six.capacity.server_connections == 50);
    CHECK(test::find(evaluate_fleet(six, builtin_rules()), "fleet.capacity_exceeds_server") != nullptr);
  }
  SUBCASE("an open load beyond the pool is unstable")
  {
    // Two services on one pair: 400 + 100 requests/s x 0.1 s = 50 Erlangs on floor(50 / 1.2) = 41 servers.
    const Fleet open = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                             "[[service]]\nname = \"a\"\ndatabase = \"d\"\nuser = \"u\"\nrps = 400\nquery_ms = 100\n"
                             "[[service]]\nname = \"b\"\ndatabase = \"d\"\nuser = \"u\"\nrps = 100\nquery_ms = 100\n");
    REQUIRE(open.pgbouncer.has_value());
    const PgBouncerPool& shared = open.pgbouncer->pools.front();
    CHECK(shared.services == std::vector<std::string>{ "a", "b" });
    CHECK(shared.peak == doctest::Approx(50));
    REQUIRE(shared.wait.has_value());
    CHECK_FALSE(shared.wait->stable);
  }
}

TEST_CASE("evaluate_fleet: the peak fits PgBouncer, the burst does not")
{
  // One pair, two services (the services trigger); budget min(100 - 50, 70) = 50.
  // a: 120 x 0.7 x 0.15 = 12.6 -> 13, x 3 = 39; b: 60 x 0.7 x 0.15 = 6.3 -> 7, x 3 = 21.
  // Peak 18.9 -> 19 <= 50 fits; buffered 39 + 21 = 60 > 50.
  const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                        "[[service]]\nname = \"a\"\ndatabase = \"d\"\nuser = \"u\"\nvus = 120\nquery_ms = 150\n"
                        "[[service]]\nname = \"b\"\ndatabase = \"d\"\nuser = \"u\"\nvus = 60\nquery_ms = 150\n");
  CHECK(f.capacity.fits);
  CHECK(f.capacity.peak == doctest::Approx(18.9));
  CHECK(f.capacity.buffered == 60);
  CHECK(f.capacity.server_connections == 50);
  const auto findings = evaluate_fleet(f, builtin_rules());
  const Finding* burst = test::find(findings, "fleet.burst_exceeds_server");
  REQUIRE(burst != nullptr);
  CHECK(burst->level == Level::warn);
  CHECK(burst->message == "the peak of 18.9 concurrent queries fits the 50 server connections, but with the burst buffer (each service's "
                          "ceil(peak) x burst) it is 60: a spike of that size waits inside PgBouncer");
  CHECK_FALSE(has_failure(findings));
  // The example's 13 x 3 = 39 fits its 40: no such warning there.
  CHECK(test::find(evaluate_fleet(fleet(example_fleet_text()), builtin_rules()), "fleet.burst_exceeds_server") == nullptr);
}

TEST_CASE("evaluate_fleet: a direct fleet over the available connections")
{
  // 500 users on one instance, no trigger (the 301-500 row, 170 <= 200 connections): 500 x 0.7 x
  // 0.15 = 52.5 -> 53 x 3 + 10 = 169 -> 170 > 50 available.
  const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                        "[[service]]\nname = \"chat-api\"\ndatabase = \"chat\"\nuser = \"app\"\nvus = 500\nquery_ms = 150\n");
  CHECK(f.recommendation == Recommendation::pool);
  const auto findings = evaluate_fleet(f, builtin_rules());
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "fleet.exceeds_available");
  CHECK(findings.front().message ==
        "the fleet's pools total 170 connections (chat-api 1 x 170), more than the 50 available (max_connections 100 - reserved 50)");
}

TEST_CASE("render_fleet_json")
{
  SUBCASE("the example: the plan's numbers, the URL masked")
  {
    const Fleet f = fleet(example_fleet_text());
    const auto j = nlohmann::json::parse(render_fleet_json(f, evaluate_fleet(f, builtin_rules())));
    CHECK(j["schema_version"] == 1);
    CHECK(j["command"] == "fleet");
    CHECK(j["database"]["url"] == "postgresql://postgres:****@localhost:5432/chat_backend_db");
    CHECK(j["database"]["available"] == 60);            // 100 - 40, as above
    CHECK(j["services"][0]["pool_per_instance"] == 30); // the seed's formula over 3 instances
    CHECK(j["services"][1]["pgbouncer_database"] == "chat_backend_db_session");
    CHECK(j["total_connections"] == 100);                              // 90 + 10
    CHECK(j["surge"]["connections"] == 130);                           // + ceil(3 x 0.25) x 30
    CHECK(j["pgbouncer"]["databases"][0]["max_db_connections"] == 40); // 33 + 7
    CHECK(j["pgbouncer"]["pools"][1]["wait"].is_null());               // a session pool has no queue
    CHECK(j["findings"][0]["id"] == "fleet.pgbouncer_recommended");
  }
  SUBCASE("an unstable pool's waits are null, not a number")
  {
    // 500 requests/s x 0.1 s = 50 Erlangs on 41 servers (as in the capacity test).
    const Fleet f = fleet("[database]\nmax_connections = 100\nversion = 11\n"
                          "[[service]]\nname = \"a\"\ndatabase = \"d\"\nuser = \"u\"\nrps = 400\nquery_ms = 100\n"
                          "[[service]]\nname = \"b\"\ndatabase = \"d\"\nuser = \"u\"\nrps = 100\nquery_ms = 100\n");
    const auto j = nlohmann::json::parse(render_fleet_json(f, evaluate_fleet(f, builtin_rules())));
    const auto& wait = j["pgbouncer"]["pools"][0]["wait"];
    CHECK(wait["stable"] == false);
    CHECK(wait["mean_wait_ms"].is_null());
    CHECK(wait["p99_wait_ms"].is_null());
  }
}

TEST_CASE("parse_fleet_toml: names PgBouncer cannot take")
{
  // PgBouncer 1.18 refuses both at start-up (FATAL "database name "pgbouncer" is reserved", "too
  // long db name"); poolcalc refuses them first.
  CHECK(parse_error(k_database + "[[service]]\nname = \"api\"\ndatabase = \"pgbouncer\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n") ==
        "fleet.toml:6:12: service[0].database: 'pgbouncer' is PgBouncer's admin console, which a [databases] entry cannot use");
  const std::string long_name(64, 'd');
  CHECK(parse_error(k_database + "[[service]]\nname = \"api\"\ndatabase = \"" + long_name +
                    "\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n") ==
        "fleet.toml:6:12: service[0].database: expected at most 63 characters (PostgreSQL's and PgBouncer's limit), got 64");
}

TEST_CASE("size_fleet: session entries never share a name across databases")
{
  // Databases `a` and `a_session`, each with a transaction and a session service: `a`'s session
  // entry cannot be `a_session` (a database's own name), and `a_session`'s cannot be the name `a`'s
  // session entry took, or its clients would reach database `a`.
  std::string text = k_database;
  for (const auto& [name, db, session] : std::vector<std::tuple<std::string, std::string, bool>>{
         { "t1", "a", false }, { "s1", "a", true }, { "t2", "a_session", false }, { "s2", "a_session", true } }) {
    text += "[[service]]\nname = \"" + name + "\"\ndatabase = \"" + db + "\"\nuser = \"u_" + name + "\"\nrps = 1\nquery_ms = 10\n" +
            (session ? "session_features = true\n" : "") + "instances = 6\n";
  }
  const Fleet f = fleet(text);
  REQUIRE(f.pgbouncer.has_value());
  const std::string e1 = service(f, "s1").pgbouncer_database;
  const std::string e2 = service(f, "s2").pgbouncer_database;
  CHECK(e1 != "a");
  CHECK(e1 != "a_session");
  CHECK(e2 != e1);
  CHECK(e2 != "a_session");
  for (const PgBouncerPool& pool : f.pgbouncer->pools) {
    if (pool.database == e1) {
      CHECK(pool.dbname == "a");
    }
    if (pool.database == e2) {
      CHECK(pool.dbname == "a_session");
    }
  }
}

TEST_CASE("evaluate_fleet: more pools than the server budget is a fail")
{
  // max_connections 10 with the reserve cut to 0: budget floor(0.70 x 10) = 7; 20 (database, user)
  // pairs keep at least one server connection each: 20 > 7.
  std::string text = "[database]\nmax_connections = 10\nversion = 15\n[database.reserve]\nother_apps = 0\n";
  for (int i = 0; i < 20; ++i) {
    text += fmt::format("[[service]]\nname = \"s{0}\"\ndatabase = \"db{0}\"\nuser = \"u{0}\"\nrps = 1\nquery_ms = 1\ninstances = 6\n", i);
  }
  const Fleet f = fleet(text);
  REQUIRE(f.pgbouncer.has_value());
  CHECK(f.pgbouncer->server_budget == 7);
  CHECK(f.pgbouncer->server_connections == 20);
  const auto findings = evaluate_fleet(f, builtin_rules());
  const Finding* over = test::find(findings, "fleet.pools_exceed_budget");
  REQUIRE(over != nullptr);
  CHECK(over->level == Level::fail);
  // Each of the 20 pools is cut to its minimum, 1 + reserve 0: 20 server connections.
  CHECK(over->message == "PgBouncer's 20 pools open up to 20 server connections, more than its server budget of 7 (each pool keeps at "
                         "least one): fewer (database, user) pairs, or raise max_connections");
}

TEST_CASE("evaluate_fleet: a node-postgres service is told that pg.Pool waits forever by default")
{
  // node-postgres' connectionTimeoutMillis defaults to 0, wait forever (node-postgres
  // documentation, "pg.Pool"); the example fleet's notifier is a node-postgres service with the
  // rules' pool_timeout of 30 s (rules timeouts.pool_timeout_s) and k6's 60 s request timeout.
  const Fleet f = fleet(example_fleet_text());
  const auto findings = evaluate_fleet(f, builtin_rules());
  const Finding* forever = test::find(findings, "fleet.client_waits_forever");
  REQUIRE(forever != nullptr);
  CHECK(forever->level == Level::info);
  CHECK(forever->message ==
        "notifier uses node-postgres, whose pg.Pool waits for a connection forever unless connectionTimeoutMillis is set (default 0): "
        "set it to 30000 (pool_timeout 30 s; poolcalc config --for node-postgres writes it), below the client's request timeout of "
        "60 s, so an exhausted pool surfaces as an error");
  // A Prisma service alone: no such finding.
  const Fleet prisma = fleet("[database]\nmax_connections = 100\nversion = 15\n[[service]]\nname = \"api\"\nclient = \"prisma\"\n"
                             "database = \"chat\"\nuser = \"app\"\nvus = 120\nquery_ms = 150\n");
  const auto none = evaluate_fleet(prisma, builtin_rules());
  CHECK(test::find(none, "fleet.client_waits_forever") == nullptr);
}

#include "poolcalc/emit_findings.hpp"
#include "poolcalc/findings.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <string_view>

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
    // 70 of 20 available, and nothing the advisor finds works (tests/cli/test_cli.cpp).
    const auto f = findings_for({ { "vus", "120" }, { "query_ms", "200" }, { "max_connections", "500" }, { "reserve", "other_apps=480" } });
    REQUIRE(find(f, "pool.exceeds_available") != nullptr);
    CHECK(find(f, "pool.exceeds_available")->level == Level::fail);
    CHECK(find(f, "pool.exceeds_available")->message == "a pool of 70 exceeds the 20 available (max_connections 500 - reserved 480)");
    CHECK(has_failure(f));
  }
  SUBCASE("utilization.above_safe")
  {
    // A plan of 80 of max_connections 100 (the advisor would look for one within the band: the
    // rule is checked on the plan as given).
    Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "reserve", "superuser=3" } });
    p.total_connections = p.server_connections = p.pool_size = 80;
    p.utilization = 0.8;
    const auto f = evaluate(p, builtin_rules());
    REQUIRE(find(f, "utilization.above_safe") != nullptr);
    CHECK(find(f, "utilization.above_safe")->message == "80 of max_connections 100 = 80 %, above the safe band of 50-70 %");
    CHECK_FALSE(has_failure(f));
  }
  SUBCASE("the timeout chain: pool_timeout < --app-timeout < --request-timeout")
  {
    // The defaults: pool_timeout 30 s (the worked example), k6's request timeout 60 s.
    const auto ordered = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_timeout", "45" } });
    CHECK(find(ordered, "timeout.pool_at_or_above_app") == nullptr);
    CHECK(find(ordered, "timeout.app_at_or_above_request") == nullptr);
    const auto early = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_timeout", "30" } });
    REQUIRE(find(early, "timeout.pool_at_or_above_app") != nullptr);
    CHECK(find(early, "timeout.pool_at_or_above_app")->level == Level::warn);
    CHECK(find(early, "timeout.pool_at_or_above_app")->message ==
          "pool_timeout 30 s is at or above the application's request timeout of 30 s (--app-timeout): the application times the "
          "request out first and pool exhaustion shows up as its timeouts, not as pool errors; keep pool_timeout below it");
    const auto late = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_timeout", "60" } });
    REQUIRE(find(late, "timeout.app_at_or_above_request") != nullptr);
    CHECK(find(late, "timeout.app_at_or_above_request")->message ==
          "the application's request timeout of 60 s (--app-timeout) is at or above the client's 60 s (--request-timeout): the "
          "client gives up first, and the application goes on holding connections for requests nobody waits for; keep it below "
          "the client's");
    // pool_timeout 0 never times out: timeout.pool_disabled says so, not this one.
    const auto never = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_timeout", "20" }, { "pool_timeout", "0" } });
    CHECK(find(never, "timeout.pool_at_or_above_app") == nullptr);
    CHECK(find(never, "timeout.pool_disabled") != nullptr);
  }
  SUBCASE("the application's concurrency cap and the database's cores")
  {
    // The worked example: a pool of 50 for 84 VUs, 12.6 queries busy on average.
    const auto capped = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_concurrency", "20" } });
    REQUIRE(find(capped, "pool.above_app_concurrency") != nullptr);
    // 20 requests at once + overhead 10 = 30 of the 50.
    CHECK(find(capped, "pool.above_app_concurrency")->message ==
          "a pool of 50 per instance is more than the 20 requests an instance runs at once (--app-concurrency) + overhead 10: the "
          "other 20 connections are never used; 30 would do");
    CHECK(find(capped, "app.concurrency_below_load") == nullptr); // 12.6 busy <= 20
    const auto wide = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_concurrency", "100" } });
    CHECK(find(wide, "pool.above_app_concurrency") == nullptr);
    // 12.6 queries busy on average (the worked example) on an instance that runs 12 at once.
    const auto narrow = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "app_concurrency", "12" } });
    REQUIRE(find(narrow, "app.concurrency_below_load") != nullptr);
    CHECK(find(narrow, "app.concurrency_below_load")->level == Level::fail);
    CHECK(find(narrow, "app.concurrency_below_load")->message ==
          "each instance's share of the load keeps 12.6 queries busy on average, more than the 12 requests an instance runs at once "
          "(--app-concurrency): the application, not the pool, limits the load, and its own queue grows; raise its concurrency or add "
          "instances");
    // 12 cores x 2 (rules advisor.active_per_core, the PostgreSQL wiki's cores x 2) = 24 < the
    // plan's 50 at once, and no option of the advisor's is within 24 (the model's 16 + 10 = 26);
    // 4 cores: 8 < the load's own 12.6. With 16 cores (32) the advisor takes the model's 26
    // (test_advisor.cpp) and nothing is past the ceiling.
    const auto cores12 = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "12" } });
    REQUIRE(find(cores12, "database.active_above_cores") != nullptr);
    CHECK(
      find(cores12, "database.active_above_cores")
        ->message.starts_with("the plan lets 50 queries run at once on the server, more than the 24 a server of 12 cores serves usefully"));
    CHECK(find(findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "16" } }), "database.active_above_cores") == nullptr);
    const auto cores4 = findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "4" } });
    REQUIRE(find(cores4, "database.active_above_cores") != nullptr);
    CHECK(find(cores4, "database.active_above_cores")
            ->message.starts_with(
              "the load keeps 12.6 queries active at once on average, more than the 8 a server of 4 cores serves usefully"));
    CHECK(find(findings_for({ { "vus", "120" }, { "query_ms", "150" }, { "db_cores", "32" } }), "database.active_above_cores") == nullptr);
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

TEST_CASE("finding_catalogue: one entry per id, each with its subject, inputs, source and summary")
{
  std::vector<std::string_view> ids;
  std::size_t plan = 0;
  std::size_t fleet = 0;
  std::size_t server = 0;
  for (const FindingInfo& r : finding_catalogue()) {
    CHECK_MESSAGE(std::find(ids.begin(), ids.end(), r.id) == ids.end(), r.id);
    ids.push_back(r.id);
    CHECK_MESSAGE(!r.inputs.empty(), r.id);
    CHECK_MESSAGE(!r.source.empty(), r.id);
    CHECK_MESSAGE(!r.summary.empty(), r.id);
    plan += r.subject == FindingSubject::plan ? 1 : 0;
    fleet += r.subject == FindingSubject::fleet ? 1 : 0;
    server += r.subject == FindingSubject::server ? 1 : 0;
    // The subject is the id's first part: plan ids have their own.
    CHECK_MESSAGE(r.id.starts_with("fleet.") == (r.subject == FindingSubject::fleet), r.id);
    CHECK_MESSAGE(r.id.starts_with("server.") == (r.subject == FindingSubject::server), r.id);
  }
  // docs/rules.md, "Findings catalogue": 30 plan, 13 fleet and 11 server findings.
  CHECK(plan == 30);
  CHECK(fleet == 13);
  CHECK(server == 11);
}

TEST_CASE("finding_catalogue: a finding's level and source are its catalogue entry's")
{
  // The worked example (docs/model.md) with a replication reserve and a superuser reserve of 5:
  // findings of every level the plan's rules give without PgBouncer.
  const auto f = findings_for({ { "vus", "120" }, { "query_ms", "100,150,200" }, { "reserve", "superuser=5,replication=2" } });
  REQUIRE(f.size() >= 3);
  for (const Finding& finding : f) {
    const auto entry =
      std::find_if(finding_catalogue().begin(), finding_catalogue().end(), [&](const FindingInfo& r) { return r.id == finding.id; });
    REQUIRE_MESSAGE(entry != finding_catalogue().end(), finding.id);
    CHECK(entry->level == finding.level);
    CHECK(entry->source == finding.source);
  }
}

namespace {

std::vector<std::string> split_cells(const std::string& line)
{
  std::vector<std::string> cells;
  std::size_t start = 1;
  for (std::size_t bar = line.find(" | ", start); bar != std::string::npos; bar = line.find(" | ", start)) {
    cells.push_back(line.substr(start, bar - start));
    start = bar + 3;
  }
  cells.push_back(line.substr(start, line.size() - 1 - start));
  for (std::string& cell : cells) {
    while (!cell.empty() && cell.front() == ' ') {
      cell.erase(0, 1);
    }
    while (!cell.empty() && cell.back() == ' ') {
      cell.pop_back();
    }
  }
  return cells;
}

std::string unquoted(const std::string& cell)
{
  return cell.size() >= 2 && cell.front() == '`' && cell.back() == '`' ? cell.substr(1, cell.size() - 2) : cell;
}

} // namespace

TEST_CASE("docs/rules.md lists every finding of the catalogue: id, level, inputs and source")
{
  std::ifstream in(std::string(POOLCALC_SOURCE_DIR) + "/docs/rules.md");
  REQUIRE(in);
  std::vector<std::vector<std::string>> rows;
  bool in_catalogue = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) {
      in_catalogue = line == "## Findings catalogue";
    }
    if (in_catalogue && line.starts_with("| `")) {
      rows.push_back(split_cells(line));
    }
  }
  REQUIRE(rows.size() == finding_catalogue().size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const FindingInfo& r = finding_catalogue()[i];
    const std::vector<std::string>& row = rows[i];
    REQUIRE(row.size() == 5);
    CHECK(unquoted(row[0]) == r.id);
    CHECK(row[1] == to_string(r.level));
    std::string inputs;
    for (std::string_view input : r.inputs) {
      inputs += (inputs.empty() ? "`" : ", `") + std::string(input) + "`";
    }
    CHECK_MESSAGE(row[2] == inputs, r.id);
    CHECK_MESSAGE(unquoted(row[3]) == r.source, r.id);
  }
}

TEST_CASE("render_finding_catalogue: text and JSON list the catalogue in its order")
{
  const auto j = nlohmann::json::parse(render_finding_catalogue("json"));
  CHECK(j["schema_version"] == 1);
  REQUIRE(j["findings"].size() == finding_catalogue().size());
  const nlohmann::json& first = j["findings"][0];
  CHECK(first["id"] == "pool.exceeds_available");
  CHECK(first["level"] == "fail");
  CHECK(first["subject"] == "plan");
  CHECK(first["inputs"][0] == "instances");
  CHECK(first["source"] == "database.max_connections, database.reserved");
  CHECK(j["findings"][finding_catalogue().size() - 1]["id"] == "server.statements_withheld");
  const std::string text = render_finding_catalogue("text");
  CHECK(text.starts_with("pool.exceeds_available  fail  plan\n  the application's connections exceed max_connections less the "
                         "reserved budget\n  inputs: instances, max_connections, reserve, database.max_connections, "
                         "database.reserved\n  source: database.max_connections, database.reserved\n\n"));
  CHECK(render_finding_catalogue("yaml").empty());
}

TEST_CASE("queueing.heavy_tail: simulated holds more variable than cv 1.25 are flagged, lighter ones are not")
{
  // docs/model.md, "How close it is": 40 s windows of lognormal holds of cv 1.7 scattered from a
  // fifth to three times the model's mean wait on a real PgBouncer; the threshold is 1.25.
  const auto has_heavy_tail = [](const std::string& cv) {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "query_cv", cv }, { "pool", "13" } });
    const auto findings = evaluate(p, builtin_rules());
    return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.id == "queueing.heavy_tail"; });
  };
  CHECK(has_heavy_tail("1.7"));
  CHECK_FALSE(has_heavy_tail("1.2")); // simulated, but within what the validation matched
  CHECK_FALSE(has_heavy_tail("1"));   // exponential: the exact model
  CHECK_FALSE(has_heavy_tail("0"));
}

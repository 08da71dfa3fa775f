// `poolcalc gate` (docs/gate.md): the policy file and each check. The plans are the worked
// example's (120 VUs, 150 ms: a pool of 50 of 50 available; a rolling deploy at Kubernetes' 25 %
// surge opens 100) and variations of it.
#include "helpers.hpp"

#include "poolcalc/gate.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace poolcalc;
using poolcalc::test::plan;

namespace {

const GateCheck* check(const GateReport& report, std::string_view id)
{
  for (const GateCheck& c : report.checks) {
    if (c.id == id) {
      return &c;
    }
  }
  return nullptr;
}

} // namespace

TEST_CASE("gate: the default policy and a policy file")
{
  const GatePolicy d = default_gate_policy(builtin_rules());
  CHECK(*d.max_p99_wait_ms == 100);  // rules advisor.objective p99_wait<100ms
  CHECK(*d.max_failed_rate == 0.01); // rules monitoring.timeout_error_warn_rate
  CHECK(d.must_fit);
  CHECK(d.must_fit_deploy_surge);
  CHECK_FALSE(d.max_pool_growth);

  const auto p = parse_gate_policy("max_p99_wait_ms = 50\nbaseline_pool = 40\nmax_pool_growth = 1.5\nmust_fit_deploy_surge = false\n"
                                   "allowed_causes = [\"doctor.connections_held_idle\"]\n",
                                   "policy.toml",
                                   builtin_rules());
  REQUIRE_MESSAGE(p.has_value(), p.error());
  CHECK(*p->max_p99_wait_ms == 50);
  CHECK(*p->baseline_pool == 40);
  CHECK(*p->max_pool_growth == 1.5);
  CHECK_FALSE(p->must_fit_deploy_surge);
  CHECK(p->allowed_causes == std::vector<std::string>{ "doctor.connections_held_idle" });
  CHECK(p->source == "policy.toml");

  CHECK(parse_gate_policy("max_wait = 5\n", "p.toml", builtin_rules()).error() == "p.toml:1:1: max_wait: unknown key");
  CHECK(parse_gate_policy("max_pool_growth = 2\n", "p.toml", builtin_rules()).error() ==
        "p.toml:1:19: max_pool_growth: needs baseline_pool, the pool it grows from");
  CHECK(parse_gate_policy("max_failed_rate = 2\n", "p.toml", builtin_rules()).error().starts_with("p.toml:1:19: max_failed_rate: "));
  CHECK(parse_gate_policy("allowed_causes = [\"pool\"]\n", "p.toml", builtin_rules()).error() ==
        "p.toml:1:19: allowed_causes: expected cause ids such as \"doctor.connections_held_idle\"");
}

TEST_CASE("gate: the plan's checks")
{
  const GatePolicy d = default_gate_policy(builtin_rules());
  SUBCASE("the worked example fits, but not during a rolling deploy at 25 % surge")
  {
    const Plan p = plan({ { "vus", "120" }, { "query_ms", "150" } });
    const GateReport r = run_gate(d, &p, nullptr, nullptr, std::nullopt);
    CHECK_FALSE(r.passed);
    CHECK(check(r, "gate.plan_fits")->passed);
    CHECK_FALSE(check(r, "gate.deploy_surge_fits")->passed);
    CHECK(check(r, "gate.deploy_surge_fits")->value == "100 server connections");
    CHECK(check(r, "gate.p99_wait")->passed);
  }
  SUBCASE("deployed without a surge it passes; a tighter p99 and a pool growth fail it")
  {
    const Plan p = plan({ { "vus", "120" }, { "query_ms", "150" }, { "deploy_surge", "0" } });
    CHECK(run_gate(d, &p, nullptr, nullptr, std::nullopt).passed);
    CHECK(check(run_gate(d, &p, nullptr, nullptr, std::nullopt), "gate.deploy_surge_fits")->what ==
          "a deploy adds no instances (maxSurge 0)");
    GatePolicy growth = d;
    growth.baseline_pool = 30;
    growth.max_pool_growth = 1.5; // 50 / 30 = 1.67
    const GateReport r = run_gate(growth, &p, nullptr, nullptr, std::nullopt);
    CHECK_FALSE(check(r, "gate.pool_growth")->passed);
    CHECK(check(r, "gate.pool_growth")->limit == "at most 45");
  }
  SUBCASE("--target p99_wait<100ms without overhead: the model's 16, rounded up to 20, passes 100 ms and fails 0.001 ms")
  {
    const Plan p =
      plan({ { "vus", "120" }, { "query_ms", "150" }, { "target", "p99_wait<100ms" }, { "overhead", "0" }, { "deploy_surge", "0" } });
    REQUIRE(p.pool_size == 20);
    GatePolicy tight = d;
    tight.max_p99_wait_ms = 0.001;
    CHECK(run_gate(d, &p, nullptr, nullptr, std::nullopt).passed);
    CHECK_FALSE(check(run_gate(tight, &p, nullptr, nullptr, std::nullopt), "gate.p99_wait")->passed);
  }
}

TEST_CASE("gate: a measured run's checks")
{
  Diagnosis diagnosis;
  diagnosis.measured.mean_wait_ms = 12.5;
  diagnosis.causes.push_back({ "doctor.connections_held_idle", "", "", "" });
  GatePolicy policy = default_gate_policy(builtin_rules());
  policy.max_mean_wait_ms = 10;
  K6Figures k6;
  k6.failed_rate = 0.02;
  GateReport r = run_gate(policy, nullptr, nullptr, &diagnosis, k6);
  CHECK_FALSE(check(r, "gate.measured_wait")->passed);
  CHECK_FALSE(check(r, "gate.causes")->passed);
  CHECK(check(r, "gate.causes")->value == "doctor.connections_held_idle");
  CHECK_FALSE(check(r, "gate.k6_failed")->passed);
  policy.max_mean_wait_ms = 20;
  policy.allowed_causes = { "doctor.connections_held_idle" };
  k6.failed_rate = 0.005;
  r = run_gate(policy, nullptr, nullptr, &diagnosis, k6);
  CHECK(r.passed);
  CHECK(r.checks.size() == 4); // and k6's own thresholds, none failed
  k6.failed_thresholds = { "http_req_duration: p(95)<300" };
  CHECK_FALSE(check(run_gate(policy, nullptr, nullptr, &diagnosis, k6), "gate.k6_thresholds")->passed);
}

TEST_CASE("gate: the policy file shown in docs/gate.md is a valid policy")
{
  std::ifstream in(std::string(POOLCALC_SOURCE_DIR) + "/docs/gate.md");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t begin = doc.find("```toml\n");
  REQUIRE(begin != std::string::npos);
  const std::size_t end = doc.find("```", begin + 8);
  const auto policy = parse_gate_policy(doc.substr(begin + 8, end - begin - 8), "docs/gate.md", builtin_rules());
  REQUIRE_MESSAGE(policy.has_value(), policy.error());
  CHECK(*policy->max_p99_wait_ms == 50);
  CHECK(policy->allowed_causes.size() == 1);
}

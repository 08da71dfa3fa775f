#pragma once
// `poolcalc gate` (docs/gate.md): a CI step's verdict. The current plan (its predicted waits, its
// fit, its fit during a rolling deploy, its pool's growth over a baseline) and what was measured
// (a doctor capture's wait and causes, k6's failed requests) against a policy. Pure: no I/O.

#include "poolcalc/doctor.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

struct GatePolicy
{
  std::optional<double> max_p99_wait_ms;  // the plan's predicted p99 wait at its load
  std::optional<double> max_mean_wait_ms; // the measured mean wait per transaction (a capture)
  std::optional<std::int64_t> baseline_pool;
  std::optional<double> max_pool_growth; // the plan's pool over baseline_pool
  bool must_fit = true;                  // the plan fits the server's budget
  bool must_fit_deploy_surge = true;     // ... during a rolling deploy too
  std::optional<double> max_failed_rate; // k6's http_req_failed
  bool k6_thresholds_pass = true;        // k6's own thresholds (the test's) must have passed
  std::vector<std::string> allowed_causes;
  std::string source; // "the defaults", or the policy file
};

// The defaults: the advisor's objective when it bounds the p99 wait, rules
// monitoring.timeout_error_warn_rate for k6's failed requests, both fits required.
GatePolicy default_gate_policy(const Rules& rules);

// A policy file (TOML, every key optional, unknown keys refused), over the defaults. Errors are
// "FILE:LINE:COLUMN: KEY: what is wrong; what is accepted".
poolcalc::expected<GatePolicy, std::string> parse_gate_policy(std::string_view toml_text, std::string_view source_name, const Rules& rules);

struct GateCheck
{
  // gate.plan_findings, gate.plan_fits, gate.deploy_surge_fits, gate.p99_wait, gate.pool_growth,
  // gate.measured_wait, gate.causes, gate.k6_failed, gate.k6_thresholds
  std::string id;
  std::string what;  // one line for people
  std::string value; // what was found
  std::string limit; // what the policy allows
  bool passed = false;
};

struct GateReport
{
  std::vector<GateCheck> checks;
  bool passed = true;
};

// Runs every check that has both a policy and something to judge: the plan's with a plan, the
// measured ones with a diagnosis or k6's summary.
// `findings`: the plan's; a `fail` among them fails gate.plan_findings.
GateReport run_gate(const GatePolicy& policy,
                    const Plan* plan,
                    const std::vector<Finding>* findings,
                    const Diagnosis* diagnosis,
                    const std::optional<K6Figures>& k6);

} // namespace poolcalc

#pragma once
// `poolcalc k6` (docs/k6.md): the progressive load test of the plan as one k6 script. The rules'
// load-test phases become ramping stages, a phase above the target (rules advisor.surge x the
// load, the load the advisor judges the pool at) is the stress test, and every phase carries the
// thresholds the plan implies: its request duration with the pool's predicted wait, and its
// failure rate.

#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// Seconds in a k6 duration: one or more <number><unit> groups with units h, m, s and ms
// ("30s", "5m", "1h30m", "500ms"); none for anything else, an empty text and a bare number
// included.
std::optional<double> k6_duration_seconds(std::string_view text);

// One phase of the test: a rules phase (or the stress phase) at its load, held for its duration
// after a ramp from the phase before.
struct K6Phase
{
  std::string id;              // k6 tag value: "baseline", "light_load", ..., "stress"
  std::string name;            // "Baseline", ..., the rules' name
  double load = 0;             // VUs, or requests per second
  std::string duration;        // how long it holds the load ("30s")
  double seconds = 0;          // the same in seconds
  double expected_peak = 0;    // the concurrent queries the formula expects (the report's column)
  bool stress = false;         // the phase above the target
  QueueMetrics at_load;        // the plan's pool under this phase's load, per instance
  double failed_threshold = 0; // http_req_failed{phase} must stay below this rate
};

struct K6Plan
{
  bool open = false;           // --rps: ramping-arrival-rate; else ramping-vus
  std::vector<K6Phase> phases; // in order, the stress phase last
  std::string ramp;            // each phase's ramp from the one before (rules k6.ramp)
  double ramp_seconds = 0;
  double total_seconds = 0; // ramps and holds, before k6's graceful ramp-down
  double surge = 0;         // the stress phase's multiple of the target (rules advisor.surge)
  std::int64_t pool = 0;    // the pool the predictions are for (per instance)
  std::int64_t instances = 1;
  double queries_per_request = 1;
  // Closed: a VU starts one request every pace_s seconds, so the VUs offer the plan's rate of
  // queries (activity x each active VU's rate / queries per request).
  double pace_s = 0;
  // The endpoint's own time with no pool wait, the default the script states (OWN_P95_MS /
  // OWN_P99_MS): the database's part alone, the queries' hold quantiles x queries per request.
  double own_p95_ms = 0;
  double own_p99_ms = 0;
  std::string hold_text;        // "exponential holds, mean 150 ms": what the defaults assume
  double request_timeout_s = 0; // the script's HTTP timeout (rules timeouts.client_request_timeout_s, k6's default)
  double failed_warn = 0;       // rules monitoring.timeout_error_warn_rate
  double failed_abort = 0;      // rules monitoring.timeout_error_critical_rate: a phase above it stops the test
  // Open: k6's VU pool for the arrival rate (ramping-arrival-rate needs them allocated).
  std::int64_t pre_allocated_vus = 0;
  std::int64_t max_vus = 0;
  std::string abort_delay; // rules k6.abort_delay
};

// The test for `plan`: its phases with the model's figures at each phase's load.
K6Plan plan_k6(const Plan& plan, const Rules& rules);

// The k6 script: an ES module importing k6/http, k6/execution and (for VUs) k6's sleep.
std::string render_k6_script(const Plan& plan, const K6Plan& test);

} // namespace poolcalc

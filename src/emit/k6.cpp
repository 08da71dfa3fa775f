#include "poolcalc/k6.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <cmath>

namespace poolcalc {

using namespace detail;

namespace {

// "33m30s": a whole number of seconds as k6 writes durations.
std::string duration_text(double seconds)
{
  const auto total = static_cast<std::int64_t>(std::llround(seconds));
  const std::int64_t h = total / 3600;
  const std::int64_t m = total % 3600 / 60;
  const std::int64_t s = total % 60;
  std::string text;
  if (h > 0) {
    text += fmt::format("{}h", h);
  }
  if (m > 0) {
    text += fmt::format("{}m", m);
  }
  if (s > 0 || text.empty()) {
    text += fmt::format("{}s", s);
  }
  return text;
}

// A wait the script adds to the endpoint's own time: the model's figure, or the request timeout
// when the pool cannot keep up (an open load at or above its capacity).
double wait_ms(const K6Plan& test, const QueueMetrics& m, double figure)
{
  return m.stable && std::isfinite(figure) ? round_decimal(figure) : test.request_timeout_s * 1000.0;
}

std::string load_unit(const K6Plan& test, double load)
{
  return test.open ? fmt::format("{} requests/s", format_number(load)) : fmt::format("{} VU{}", format_number(load), load == 1 ? "" : "s");
}

// ramping-arrival-rate's targets are whole iterations per timeUnit: the shortest of 1s, 1m and
// 1h that makes every rate whole (1h rounds what is left).
std::pair<std::string, double> time_unit(const K6Plan& test)
{
  for (const auto& [unit, seconds] : { std::pair<std::string, double>{ "1s", 1.0 }, { "1m", 60.0 }, { "1h", 3600.0 } }) {
    bool whole = true;
    for (const K6Phase& p : test.phases) {
      const double target = p.load * seconds;
      whole = whole && std::abs(target - std::round(target)) < 1e-3;
    }
    if (whole || seconds == 3600.0) {
      return { unit, seconds };
    }
  }
  return { "1h", 3600.0 };
}

void write_header(std::string& out, const Plan& plan, const K6Plan& test)
{
  out += fmt::format("// k6 load test for a connection pool, made by poolcalc for {}, {} ms per query.\n",
                     load_text(plan),
                     format_number(plan.scenarios[plan.design_index].query_ms));
  out += "// Run it against a staging copy of the application (never production):\n";
  out += "//   k6 run -e BASE_URL=https://staging.example.com -e REQUEST_PATH=/api/messages pool-test.js\n";
  out += "// docs/k6.md explains each part; replace request() below with your workload's request.\n//\n";
  if (plan.recommendation == Recommendation::pgbouncer && plan.pgbouncer) {
    out += fmt::format("// The plan: PgBouncer with a server pool of {} (default_pool_size) for {} instance{}; the predicted waits\n"
                       "// are the queueing model's for",
                       test.pool,
                       test.instances,
                       test.instances == 1 ? "" : "s");
  } else {
    out += fmt::format("// The plan: a pool of {} per {} ({} of them); the predicted waits are the queueing model's for\n//",
                       test.pool,
                       plan.scenario.serverless ? "execution" : "instance",
                       test.instances);
  }
  out += fmt::format(" that pool under each phase's load; holds: {}; {} {} per request.\n",
                     test.hold_text,
                     format_number(test.queries_per_request),
                     test.queries_per_request == 1 ? "query" : "queries");
  if (!test.open) {
    out += fmt::format("// Each VU starts a request every {} s (PACE_S), so the VUs offer the plan's queries per second\n"
                       "// whatever the endpoint's own time; a VU whose request takes longer starts the next at once.\n",
                       format_number(test.pace_s, 6));
  }
  out += "//\n// Phases (each ramps over " + test.ramp + " from the load before, then holds):\n";
  for (const K6Phase& p : test.phases) {
    out += fmt::format("//   {:<24} {:>16}  {:>5}  expected {} queries at once, pool wait p95 {} ms, p99 {} ms{}\n",
                       p.name,
                       load_unit(test, p.load),
                       p.duration,
                       format_number(p.expected_peak),
                       format_number(wait_ms(test, p.at_load, p.at_load.p95_wait_ms), 1),
                       format_number(wait_ms(test, p.at_load, p.at_load.p99_wait_ms), 1),
                       p.at_load.stable ? "" : " (the pool cannot keep up: requests time out)");
  }
  out += fmt::format("// In all {}, then up to k6's gracefulRampDown (30s, its default) for the iterations still running.\n//\n",
                     duration_text(test.total_seconds));
  out += "// k6 behaviour this script relies on (k6 documentation):\n";
  out += fmt::format("//  - an HTTP request times out after 60 s unless its params say otherwise; the script sets {} s\n"
                     "//    (rules timeouts.client_request_timeout_s), above the pool's own timeout of {} s, so a request\n"
                     "//    that waits out the pool fails with the application's error, not k6's.\n",
                     format_number(test.request_timeout_s),
                     format_number(plan.scenario.pool_timeout_s));
  out += "//  - a threshold that fails makes `k6 run` exit with code 99; abortOnFail stops the test when it fails.\n";
  out += "//  - each request carries a `phase` tag, and a threshold on `metric{phase:NAME}` judges that phase alone.\n";
  if (test.open) {
    out += "//  - ramping-arrival-rate starts iterations on pre-allocated VUs; past maxVUs it drops them and counts\n"
           "//    dropped_iterations (the application is slower than planned).\n";
  }
  out += "\n";
}

void write_constants(std::string& out, const K6Plan& test)
{
  out += "import http from 'k6/http';\nimport exec from 'k6/execution';\n";
  if (!test.open) {
    out += "import { sleep } from 'k6';\n";
  }
  out += "\n// Where the requests go.\n";
  out += "const BASE_URL = __ENV.BASE_URL || 'http://localhost:3000';\nconst REQUEST_PATH = __ENV.REQUEST_PATH || '/';\n\n";
  out += "// The endpoint's own response time with no pool wait, in ms: give its p95 and p99 at the Baseline\n";
  out += fmt::format("// phase. Unset, the database's part alone: {} x the hold's p95 and p99 ({}).\n",
                     format_number(test.queries_per_request),
                     test.hold_text);
  out += fmt::format("const OWN_P95_MS = Number(__ENV.OWN_P95_MS || {});\n", format_number(test.own_p95_ms, 1));
  out += fmt::format("const OWN_P99_MS = Number(__ENV.OWN_P99_MS || {});\n", format_number(test.own_p99_ms, 1));
  if (!test.open) {
    out += fmt::format("\n// Seconds between the starts of one VU's requests.\nconst PACE_S = {};\n", format_number(test.pace_s, 6));
  }
  out += "\n// The phase each stage belongs to, with its end in seconds from the start ('ramp': between phases).\n";
  out += "const PHASE_ENDS = [\n";
  double at = 0;
  for (const K6Phase& p : test.phases) {
    at += test.ramp_seconds;
    out += fmt::format("  {{ tag: 'ramp', end: {} }},\n", format_number(at));
    at += p.seconds;
    out += fmt::format("  {{ tag: '{}', end: {} }},\n", p.id, format_number(at));
  }
  out += "];\n\n";
}

void write_options(std::string& out, const K6Plan& test)
{
  out += "/** @type {import('k6/options').Options} */\n";
  out += "export const options = {\n  scenarios: {\n    pool_test: {\n";
  double unit_seconds = 1;
  if (test.open) {
    const auto [unit, seconds] = time_unit(test);
    unit_seconds = seconds;
    out += "      executor: 'ramping-arrival-rate',\n      startRate: 0,\n";
    out += fmt::format("      timeUnit: '{}',\n", unit);
    out += fmt::format("      preAllocatedVUs: {},\n      maxVUs: {},\n", test.pre_allocated_vus, test.max_vus);
  } else {
    out += "      executor: 'ramping-vus',\n      startVUs: 0,\n";
  }
  out += "      stages: [\n";
  const auto target = [&](double load) { return format_number(std::round(load * unit_seconds), 0); };
  for (const K6Phase& p : test.phases) {
    out += fmt::format("        {{ duration: '{}', target: {} }}, // ramp to {}\n", test.ramp, target(p.load), p.name);
    out += fmt::format("        {{ duration: '{}', target: {} }}, // {}\n", p.duration, target(p.load), p.name);
  }
  out += fmt::format("        {{ duration: '{}', target: 0 }}, // ramp down\n", test.ramp);
  out += "      ],\n";
  if (!test.open) {
    out += "      gracefulRampDown: '30s',\n";
  }
  out += "    },\n  },\n  thresholds: {\n";
  out +=
    fmt::format("    // Stop the test when over {} of all requests fail (after its first minute).\n", format_percent(test.failed_abort));
  out += fmt::format("    http_req_failed: [{{ threshold: 'rate<{}', abortOnFail: true, delayAbortEval: '{}' }}],\n",
                     format_number(test.failed_abort, 6),
                     test.abort_delay);
  if (test.open) {
    out += "    dropped_iterations: ['count<1'],\n";
  }
  for (const K6Phase& p : test.phases) {
    const double w95 = wait_ms(test, p.at_load, p.at_load.p95_wait_ms);
    const double w99 = wait_ms(test, p.at_load, p.at_load.p99_wait_ms);
    out += fmt::format("    'http_req_failed{{phase:{}}}': ['rate<{}'],\n", p.id, format_number(p.failed_threshold, 6));
    out += fmt::format("    'http_req_duration{{phase:{}}}': [`p(95)<${{OWN_P95_MS + {}}}`, `p(99)<${{OWN_P99_MS + {}}}`],\n",
                       p.id,
                       format_number(w95, 1),
                       format_number(w99, 1));
  }
  out += "  },\n};\n\n";
}

void write_functions(std::string& out, const K6Plan& test)
{
  out += "// The phase the test is in now: the tag of this moment's stage.\n";
  out += "function phase() {\n";
  out += "  const elapsed = (Date.now() - exec.scenario.startTime) / 1000;\n";
  out += "  for (const { tag, end } of PHASE_ENDS) {\n    if (elapsed < end) {\n      return tag;\n    }\n  }\n";
  out += "  return 'ramp';\n}\n\n";
  out += "// One request of the workload. Replace it with yours; keep passing `params` (the phase tag and\n";
  out += "// the timeout) to every request it makes.\n";
  out += "/** @param {import('k6/http').Params} params */\n";
  out += "function request(params) {\n  return http.get(`${BASE_URL}${REQUEST_PATH}`, params);\n}\n\n";
  out += "export default function () {\n";
  if (!test.open) {
    out += "  const started = Date.now();\n";
  }
  out += fmt::format("  request({{ tags: {{ phase: phase() }}, timeout: '{}s' }});\n", format_number(test.request_timeout_s));
  if (!test.open) {
    out += "  sleep(Math.max(0, PACE_S - (Date.now() - started) / 1000));\n";
  }
  out += "}\n";
}

} // namespace

std::string render_k6_script(const Plan& plan, const K6Plan& test)
{
  std::string out;
  write_header(out, plan, test);
  write_constants(out, test);
  write_options(out, test);
  write_functions(out, test);
  return out;
}

} // namespace poolcalc

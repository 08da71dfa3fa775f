// Runs a k6 script poolcalc wrote under node with k6's modules stubbed (register.mjs), and checks
// it against what tests/tools/run.py expects of it:
//   node --import ./register.mjs check_script.mjs SCRIPT EXPECTED_JSON
// EXPECTED_JSON: { executor, stages: [[seconds, target], ...], phases: [id, ...] (the held
// stages' tags in order), timeout: "60s", pace_s (VUs only), time_unit (arrival rate only) }.
// Prints one line per failed check and exits 1 when any failed.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [scriptPath, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

// k6's duration grammar: one or more <number><unit>, units ms, s, m, h.
function seconds(text) {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return NaN;
  let total = 0;
  for (const g of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(g[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[g[2]];
  }
  return total;
}

// A k6 threshold expression: an aggregation, an operator, a number.
const EXPRESSION = /^(avg|min|max|med|count|rate|value|p\(\d+(\.\d+)?\))\s*(<|<=|>|>=|==|===|!=)\s*\d+(\.\d+)?$/;

let now = 1_700_000_000_000;
Date.now = () => now;
globalThis.k6Calls = [];

async function load(env, copy) {
  globalThis.__ENV = env;
  return import(`${pathToFileURL(scriptPath).href}?copy=${copy}`);
}

const script = await load({ BASE_URL: 'http://app.test', REQUEST_PATH: '/api/messages' }, 1);
const options = script.options;
const scenarios = Object.values(options.scenarios ?? {});
check(scenarios.length === 1, `one scenario, got ${scenarios.length}`);
const scenario = scenarios[0];
check(scenario.executor === expected.executor, `executor ${scenario.executor}, expected ${expected.executor}`);
if (expected.time_unit) {
  check(scenario.timeUnit === expected.time_unit, `timeUnit ${scenario.timeUnit}, expected ${expected.time_unit}`);
  check(scenario.preAllocatedVUs >= 1 && scenario.maxVUs >= scenario.preAllocatedVUs, 'preAllocatedVUs <= maxVUs');
}
const stages = scenario.stages.map((s) => [seconds(s.duration), s.target]);
check(JSON.stringify(stages) === JSON.stringify(expected.stages), `stages ${JSON.stringify(stages)}, expected ${JSON.stringify(expected.stages)}`);

// Thresholds: every expression in k6's grammar; the whole test's abort, then each phase's pair.
const thresholds = options.thresholds;
for (const [metric, list] of Object.entries(thresholds)) {
  check(Array.isArray(list), `${metric}: thresholds must be a list`);
  for (const item of list) {
    const expression = typeof item === 'string' ? item : item.threshold;
    check(EXPRESSION.test(expression), `${metric}: '${expression}' is not a k6 threshold expression`);
    if (typeof item === 'object' && item.delayAbortEval !== undefined) {
      check(!Number.isNaN(seconds(item.delayAbortEval)), `${metric}: delayAbortEval '${item.delayAbortEval}'`);
    }
  }
}
const keys = ['http_req_failed'];
if (expected.executor === 'ramping-arrival-rate') keys.push('dropped_iterations');
for (const id of expected.phases) keys.push(`http_req_failed{phase:${id}}`, `http_req_duration{phase:${id}}`);
check(JSON.stringify(Object.keys(thresholds)) === JSON.stringify(keys), `threshold keys ${Object.keys(thresholds)}, expected ${keys}`);
check(thresholds.http_req_failed.some((t) => t.abortOnFail === true), 'http_req_failed aborts the test');

// OWN_P95_MS / OWN_P99_MS move each duration threshold by exactly what they add.
const limit = (thresholdsOf, id, p) =>
  Number(thresholdsOf[`http_req_duration{phase:${id}}`].find((e) => e.startsWith(`p(${p})<`)).slice(`p(${p})<`.length));
const moved = (await load({ OWN_P95_MS: '1000', OWN_P99_MS: '2000' }, 2)).options.thresholds;
const zero = (await load({ OWN_P95_MS: '0', OWN_P99_MS: '0' }, 3)).options.thresholds;
for (const id of expected.phases) {
  for (const [p, own] of [[95, 1000], [99, 2000]]) {
    const wait = limit(zero, id, p);
    check(wait >= 0, `${id}: the p${p} wait ${wait} is negative`);
    check(Math.abs(limit(moved, id, p) - (own + wait)) < 1e-6, `${id}: OWN_P${p}_MS=${own} gives ${limit(moved, id, p)}, not ${own + wait}`);
  }
}
if (expected.waits) {
  expected.phases.forEach((id, i) => {
    check(Math.abs(limit(zero, id, 95) - expected.waits[i][0]) < 0.05, `${id}: p95 wait ${limit(zero, id, 95)}, expected ${expected.waits[i][0]}`);
    check(Math.abs(limit(zero, id, 99) - expected.waits[i][1]) < 0.05, `${id}: p99 wait ${limit(zero, id, 99)}, expected ${expected.waits[i][1]}`);
  });
}

// The default function at the middle of each stage: its request, its tag, its pacing.
let at = 0;
let held = 0;
stages.forEach(([duration], i) => {
  const last = i === stages.length - 1;
  const tag = i % 2 === 1 && !last ? expected.phases[held++] : 'ramp';
  globalThis.k6StartTime = now - (at + duration / 2) * 1000;
  at += duration;
  globalThis.k6Calls = [];
  script.default();
  const calls = globalThis.k6Calls;
  const get = calls.find((c) => c.get !== undefined);
  check(get?.get === 'http://app.test/api/messages', `stage ${i}: requested ${get?.get}`);
  check(get?.params?.tags?.phase === tag, `stage ${i}: tag ${get?.params?.tags?.phase}, expected ${tag}`);
  check(get?.params?.timeout === expected.timeout, `stage ${i}: timeout ${get?.params?.timeout}, expected ${expected.timeout}`);
  const sleeps = calls.filter((c) => c.sleep !== undefined);
  if (expected.pace_s !== undefined) {
    check(sleeps.length === 1 && Math.abs(sleeps[0].sleep - expected.pace_s) < 1e-6, `stage ${i}: slept ${JSON.stringify(sleeps)}, expected ${expected.pace_s}`);
  } else {
    check(sleeps.length === 0, `stage ${i}: an arrival-rate iteration sleeps`);
  }
});
check(held === expected.phases.length, `${held} held stages, expected ${expected.phases.length}`);

// A request slower than the pace: the VU starts its next one at once.
if (expected.pace_s !== undefined) {
  globalThis.k6Calls = [];
  const slow = (expected.pace_s + 1) * 1000;
  globalThis.k6Response = undefined;
  const get = globalThis.k6Calls;
  const realPush = get.push.bind(get);
  get.push = (call) => {
    if (call.get !== undefined) now += slow;
    return realPush(call);
  };
  script.default();
  const sleeps = globalThis.k6Calls.filter((c) => c.sleep !== undefined);
  check(sleeps.length === 1 && sleeps[0].sleep === 0, `a slow request: slept ${JSON.stringify(sleeps)}, expected 0`);
}

for (const failure of failures) console.log(`${scriptPath}: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);

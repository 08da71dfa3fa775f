#!/usr/bin/env python3
"""poolcalc's generated files checked by the tools that read them.

k6 scripts (`poolcalc k6`): each is run under node with k6's modules stubbed
(tests/tools/k6/check_script.mjs: its stages, thresholds, tags and pacing against the figures
this file computes on its own), then type-checked as a whole by TypeScript against k6's published
type definitions (@types/k6, tests/tools/node/package-lock.json). k6 itself is in neither Debian's
nor npm's registry (the npm package `k6` is an empty placeholder), so its own parser cannot run here.

Run: python3 tests/tools/run.py --poolcalc build/poolcalc --work build/tests/tools
A missing tool (node, npm) fails the run with the package that installs it; nothing is skipped.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from fractions import Fraction as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    pass


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def prepare_node(work):
    """npm ci of tests/tools/node's lock file into WORK/node (again only when the lock changes)."""
    for tool, package in (("node", "nodejs"), ("npm", "npm")):
        if shutil.which(tool) is None:
            raise Failure(f"{tool} not found: install it (Debian: apt-get install {package})")
    target = os.path.join(work, "node")
    os.makedirs(target, exist_ok=True)
    lock = open(os.path.join(HERE, "node", "package-lock.json")).read()
    stamp = os.path.join(target, ".installed-lock")
    if os.path.exists(stamp) and open(stamp).read() == lock and os.path.isdir(os.path.join(target, "node_modules")):
        return target
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, "node", name), target)
    done = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target)
    if done.returncode != 0:
        raise Failure(f"npm ci in {target} failed (the npm registry must be reachable):\n{done.stdout}{done.stderr}")
    with open(stamp, "w") as f:
        f.write(lock)
    return target


# The rules' load-test phases (data/rules.toml [[load_test_phases]], the original note's 5, 10, 25,
# 50, 100 and 120 of 120 VUs) with their hold durations, the [k6] ramp and stress duration, and the
# stress phase's multiple, rules advisor.surge.
SHARES = [F(5, 120), F(10, 120), F(25, 120), F(50, 120), F(100, 120), F(1)]
HOLDS = [30, 60, 120, 300, 300, 870]
IDS = ["baseline", "light_load", "medium_load", "high_load", "peak_load", "target_load", "stress"]
RAMP = 30
STRESS_S = 300
SURGE = 2


def stages(loads):
    out = []
    for load, hold in zip(loads, HOLDS + [STRESS_S]):
        out += [[RAMP, load], [hold, load]]
    return out + [[RAMP, 0]]


def vu_loads(vus):
    return [int(math.floor(vus * s + F(1, 2))) for s in SHARES] + [vus * SURGE]


def wait_percentiles(users, hold, think, pool):
    """p95 and p99 of the wait (ms) in M/M/c//N: the exact state probabilities an arrival sees
    (the arrival theorem), then bisection on P(W > t), a sum of Erlang tails of rate c/S."""
    if users <= pool:
        return [0.0, 0.0]
    p = [F(1)]
    for n in range(1, users + 1):
        p.append(p[-1] * (hold / think) * (users - n + 1) / min(n, pool))
    arrivals = [(users - n) * p[n] for n in range(users + 1)]
    total = sum(arrivals)
    a = [float(x / total) for x in arrivals]
    rate = pool / float(hold)

    def tail(t):
        lam = rate * t
        out = 0.0
        for n in range(pool, users):
            out += a[n] * sum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(n - pool + 1))
        return out

    out = []
    for q in (0.95, 0.99):
        if sum(a[pool:users]) <= 1 - q:
            out.append(0.0)
            continue
        lo, hi = 0.0, 60.0
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tail(mid) > 1 - q else (lo, mid)
        out.append(round(hi * 1000, 1))
    return out


def k6_cases():
    """(name, command line, what check_script.mjs expects)."""
    closed_seed = {"executor": "ramping-vus", "stages": stages(vu_loads(120)), "phases": IDS, "timeout": "60s",
                   # each of 120 VUs offers the plan's 84 queries/s: 1 / (0.70 x 1 request/s)
                   "pace_s": 1.428571}
    tight = dict(closed_seed)
    # --burst 1 --overhead 0: a pool of 20 (13 rounded up to the rules' 10), 150 ms holds, each active
    # VU's think 850 ms (1 query/s), users = ceil(VUs x 0.70)
    tight["waits"] = [wait_percentiles(math.ceil(load * F(7, 10)), F(15, 100), F(85, 100), 20) for load in vu_loads(120)]
    think = {"executor": "ramping-vus", "stages": stages(vu_loads(40)), "phases": IDS, "timeout": "60s",
             # --think-ms 400 with 80 ms queries: one request every 0.48 s per active VU, 70 % active
             "pace_s": round((0.4 + 0.08) / 0.7, 6)}
    # --rps: ramping-arrival-rate in whole iterations per timeUnit; 60/s x 5/120 = 2.5/s needs minutes
    open_60 = {"executor": "ramping-arrival-rate", "time_unit": "1m", "phases": IDS, "timeout": "60s",
               "stages": stages([int(60 * s * 60) for s in SHARES] + [60 * SURGE * 60])}
    # 7/s x 5/120 = 0.2916.../s: whole only per hour
    open_7 = {"executor": "ramping-arrival-rate", "time_unit": "1h", "phases": IDS, "timeout": "60s",
              "stages": stages([int(7 * s * 3600) for s in SHARES] + [7 * SURGE * 3600])}
    timeout = dict(closed_seed, timeout="45s")
    return [
        ("seed", ["--vus", "120", "--query-ms", "150"], closed_seed),
        ("tight", ["--vus", "120", "--query-ms", "150", "--burst", "1", "--overhead", "0"], tight),
        ("think", ["--vus", "40", "--query-ms", "80", "--think-ms", "400", "--instances", "2"], think),
        ("open-60", ["--rps", "60", "--query-ms", "150"], open_60),
        ("open-7", ["--rps", "7", "--query-ms", "20", "--query-cv", "1.7"], open_7),
        ("serverless", ["--vus", "120", "--query-ms", "150", "--serverless"], closed_seed),
        ("request-timeout", ["--vus", "120", "--query-ms", "150", "--request-timeout", "45"], timeout),
    ]


def check_k6(poolcalc, work, node_dir):
    scripts = os.path.join(work, "k6")
    shutil.rmtree(scripts, ignore_errors=True)
    os.makedirs(scripts)
    with open(os.path.join(scripts, "package.json"), "w") as f:
        json.dump({"type": "module"}, f)  # the scripts are ES modules, as k6 reads them
    failures = []
    names = []
    for name, args, expected in k6_cases():
        done = run([poolcalc, "k6", *args])
        if done.returncode != 0:
            failures.append(f"k6 {name}: poolcalc k6 {' '.join(args)} exited {done.returncode}: {done.stderr}")
            continue
        script = os.path.join(scripts, f"{name}.js")
        with open(script, "w") as f:
            f.write(done.stdout)
        with open(os.path.join(scripts, f"{name}.expected.json"), "w") as f:
            json.dump(expected, f)
        names.append(f"{name}.js")
        syntax = run(["node", "--check", script])
        if syntax.returncode != 0:
            failures.append(f"k6 {name}: not valid JavaScript: {syntax.stderr}")
            continue
        checked = run(["node", "--import", os.path.join(HERE, "k6", "register.mjs"), os.path.join(HERE, "k6", "check_script.mjs"),
                       script, os.path.join(scripts, f"{name}.expected.json")])
        if checked.returncode != 0:
            failures.append(f"k6 {name}: {checked.stdout}{checked.stderr}")
        else:
            print(f"k6 {name}: stages, thresholds, tags and pacing as expected", flush=True)
    # TypeScript over @types/k6: the options object against k6's Options, every k6 call against its signature.
    with open(os.path.join(scripts, "tsconfig.json"), "w") as f:
        json.dump({"compilerOptions": {"allowJs": True, "checkJs": True, "noEmit": True, "strict": True, "target": "es2022",
                                       "module": "esnext", "moduleResolution": "bundler", "types": ["k6"],
                                       "typeRoots": [os.path.join(node_dir, "node_modules", "@types")]},
                   "files": names}, f)
    typed = run([os.path.join(node_dir, "node_modules", ".bin", "tsc"), "-p", scripts])
    if typed.returncode != 0:
        failures.append(f"k6: TypeScript with @types/k6 refuses the scripts:\n{typed.stdout}{typed.stderr}")
    else:
        print(f"k6: {len(names)} scripts type-check against @types/k6", flush=True)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poolcalc", required=True)
    parser.add_argument("--work", required=True, help="where npm ci and the generated files go (kept between runs)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        node_dir = prepare_node(os.path.abspath(args.work))
        failures = check_k6(os.path.abspath(args.poolcalc), os.path.abspath(args.work), node_dir)
    except Failure as e:
        print(f"tools: error: {e}", file=sys.stderr)
        return 1
    for failure in failures:
        print(f"tools: FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

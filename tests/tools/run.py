#!/usr/bin/env python3
"""poolcalc's generated files checked by the tools that read them.

k6 scripts (`poolcalc k6`): each is run under node with k6's modules stubbed
(tests/tools/k6/check_script.mjs: its stages, thresholds, tags and pacing against the figures
this file computes on its own), then type-checked as a whole by TypeScript against k6's published
type definitions (@types/k6, tests/tools/node/package-lock.json). k6 itself is in neither Debian's
nor npm's registry (the npm package `k6` is an empty placeholder), so its own parser cannot run here.

Run: python3 tests/tools/run.py --poolcalc build/poolcalc --work build/tests/tools
Prometheus alerting rules (`poolcalc alerts`): each file passes `promtool check rules`, and
`promtool test rules` feeds them series as postgres_exporter, pgbouncer_exporter, HikariCP's
Micrometer meters and Prisma 6's metrics name them, asserting which alerts fire at thresholds
taken from their sources (the original note's warning table, PostgreSQL's and PgBouncer's defaults).

A missing tool (node, npm, promtool) fails the run with the package that installs it; nothing is skipped.
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
sys.path.insert(0, os.path.dirname(HERE))
from npm_lock import npm_ci  # noqa: E402


class Failure(Exception):
    pass


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def prepare_node(work):
    """npm ci of tests/tools/node's lock file into WORK/node."""
    for tool, package in (("node", "nodejs"), ("npm", "npm")):
        if shutil.which(tool) is None:
            raise Failure(f"{tool} not found: install it (Debian: apt-get install {package})")
    target = os.path.join(work, "node")
    failed = npm_ci(os.path.join(HERE, "node"), target)
    if failed is not None:
        raise Failure(f"npm ci in {target} failed (the npm registry must be reachable):\n{failed}")
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


SEED_URL = "postgresql://app:s3cret@localhost:5432/chat_backend_db"


def alert_cases():
    """(name, command line): each must pass `promtool check rules`; those in ALERT_TESTS are unit-tested too."""
    return [
        ("seed", ["--vus", "120", "--query-ms", "150", "--database-url", SEED_URL]),
        ("hikaricp", ["--vus", "120", "--query-ms", "150", "--database-url", SEED_URL, "--client", "hikaricp"]),
        ("prisma6", ["--vus", "120", "--query-ms", "150", "--database-url", SEED_URL, "--client", "prisma6"]),
        ("pgbouncer", ["--vus", "600", "--query-ms", "150", "--database-url", SEED_URL]),
        ("no-database", ["--rps", "60", "--query-ms", "150"]),
        # a database name with a quote, a backslash and a line break: PromQL and YAML escaping
        ("odd-name", ["--vus", "120", "--query-ms", "150", "--database-url", "postgresql://app@db:5432/a%22b%5Cc%0Ad"]),
    ]


def series(name, labels, values):
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def alert_tests(name):
    """promtool test groups for one case: input series and the alerts that must (not) fire after 10
    minutes. Thresholds from their sources, not from poolcalc: the original note's warning table (active
    > 40 / > 48 of a pool of 50, idle < 5 / < 2, pending > 0 / > 10, pool timeouts > 1 % / > 5 %),
    the safe band's 70 %, PostgreSQL's default superuser_reserved_connections 3, rules inspect's
    60 s for idle in transaction and long transactions, PgBouncer's reserve_pool_timeout 5 s and the
    advisor's objective p99_wait<100ms (a mean wait above 0.1 s misses it)."""
    const = "x10"
    db = {"datname": "chat_backend_db"}
    if name in ("seed", "odd-name"):
        if name == "odd-name":
            db = {"datname": 'a\\"b\\\\c\\nd'}
        below = [series("pg_up", {"instance": "db:9187"}, "1" + const),
                 series("pg_settings_max_connections", {"server": "db:5432"}, "100" + const),
                 series("pg_settings_superuser_reserved_connections", {"server": "db:5432"}, "3" + const),
                 series("pg_stat_activity_count", {**db, "state": "active", "usename": "app", "application_name": "api"}, "20" + const),
                 series("pg_stat_activity_count", {**db, "state": "active", "usename": "app", "application_name": "jobs"}, "21" + const),
                 # another database's connections count toward max_connections, not toward the plan's pool
                 series("pg_stat_activity_count", {"datname": "other", "state": "active", "usename": "x", "application_name": ""},
                        "30" + const),
                 series("pg_stat_activity_max_tx_duration", {**db, "state": "idle in transaction", "usename": "app"}, "61" + const),
                 series("pg_stat_activity_max_tx_duration", {**db, "state": "active", "usename": "app"}, "59" + const)]
        above = [series("pg_up", {"instance": "db:9187"}, "0" + const),
                 series("pg_settings_max_connections", {"server": "db:5432"}, "100" + const),
                 series("pg_settings_superuser_reserved_connections", {"server": "db:5432"}, "3" + const),
                 series("pg_stat_activity_count", {**db, "state": "active", "usename": "app"}, "49" + const),
                 series("pg_stat_activity_count", {"datname": "other", "state": "idle", "usename": "x"}, "48" + const),
                 series("pg_stat_activity_max_tx_duration", {**db, "state": "active", "usename": "app"}, "61" + const)]
        return [(below, {"PoolcalcActiveConnectionsHigh": [{}], "PoolcalcActiveConnectionsCritical": [],
                         "PoolcalcServerConnectionsAboveSafeBand": [{}], "PoolcalcServerConnectionsExhausted": [],
                         "PoolcalcIdleInTransaction": [{}], "PoolcalcLongRunningTransaction": [],
                         "PoolcalcPostgresExporterDown": []}),
                (above, {"PoolcalcActiveConnectionsHigh": [{}], "PoolcalcActiveConnectionsCritical": [{}],
                         "PoolcalcServerConnectionsExhausted": [{}], "PoolcalcLongRunningTransaction": [{}],
                         "PoolcalcPostgresExporterDown": [{"instance": "db:9187"}]})]
    if name == "hikaricp":
        one, two = {"pool": "HikariPool-1"}, {"pool": "HikariPool-2"}
        inputs = [series("hikaricp_connections_active", one, "41" + const), series("hikaricp_connections_active", two, "10" + const),
                  series("hikaricp_connections_idle", one, "4" + const), series("hikaricp_connections_idle", two, "40" + const),
                  series("hikaricp_connections_pending", one, "11" + const), series("hikaricp_connections_pending", two, "0" + const),
                  # 2 timeouts per 100 acquisitions: 2 %
                  series("hikaricp_connections_timeout_total", one, "0+2x10"),
                  series("hikaricp_connections_acquire_seconds_count", one, "0+100x10")]
        return [(inputs, {"PoolcalcAppPoolActiveHigh": [one], "PoolcalcAppPoolActiveCritical": [],
                          "PoolcalcAppPoolIdleLow": [one], "PoolcalcAppPoolIdleCritical": [],
                          "PoolcalcAppPoolPending": [one], "PoolcalcAppPoolPendingCritical": [one],
                          "PoolcalcAppPoolTimeouts": [one], "PoolcalcAppPoolTimeoutsCritical": []})]
    if name == "prisma6":
        inputs = [series("prisma_pool_connections_busy", {"instance": "api-1"}, "49" + const),
                  series("prisma_pool_connections_idle", {"instance": "api-1"}, "1" + const),
                  series("prisma_client_queries_wait", {"instance": "api-1"}, "3" + const)]
        return [(inputs, {"PoolcalcAppPoolActiveHigh": [{}], "PoolcalcAppPoolActiveCritical": [{}],
                          "PoolcalcAppPoolIdleLow": [{}], "PoolcalcAppPoolIdleCritical": [{}],
                          "PoolcalcAppPoolPending": [{}], "PoolcalcAppPoolPendingCritical": []})]
    if name == "pgbouncer":
        pool = {"database": "chat_backend_db", "user": "app"}
        stats = {"database": "chat_backend_db"}
        inputs = [series("pgbouncer_up", {"instance": "pgb:9127"}, "1" + const),
                  series("pgbouncer_pools_client_waiting_connections", pool, "11" + const),
                  series("pgbouncer_pools_client_active_connections", pool, "800" + const),
                  series("pgbouncer_pools_client_maxwait_seconds", pool, "5" + const),
                  series("pgbouncer_config_max_client_connections", {"instance": "pgb:9127"}, "1000" + const),
                  # 30 s of waiting over 100 transactions a minute: 0.3 s each
                  series("pgbouncer_stats_totals_client_wait_seconds_total", stats, "0+30x10"),
                  series("pgbouncer_stats_totals_sql_transactions_pooled_total", stats, "0+100x10")]
        quiet = [series("pgbouncer_up", {"instance": "pgb:9127"}, "1" + const),
                 series("pgbouncer_pools_client_waiting_connections", pool, "0" + const),
                 series("pgbouncer_pools_client_active_connections", pool, "700" + const),
                 series("pgbouncer_pools_client_maxwait_seconds", pool, "4" + const),
                 series("pgbouncer_config_max_client_connections", {"instance": "pgb:9127"}, "1000" + const),
                 series("pgbouncer_stats_totals_client_wait_seconds_total", stats, "0+5x10"),
                 series("pgbouncer_stats_totals_sql_transactions_pooled_total", stats, "0+100x10")]
        return [(inputs, {"PoolcalcPgBouncerClientsWaiting": [{}], "PoolcalcPgBouncerClientsWaitingCritical": [{}],
                          "PoolcalcPgBouncerWaitPastReserveTimeout": [{}], "PoolcalcPgBouncerMeanWaitAboveObjective": [{}],
                          "PoolcalcPgBouncerClientConnectionsHigh": [{}], "PoolcalcPgBouncerExporterDown": []}),
                (quiet, {"PoolcalcPgBouncerClientsWaiting": [], "PoolcalcPgBouncerWaitPastReserveTimeout": [],
                         "PoolcalcPgBouncerMeanWaitAboveObjective": [], "PoolcalcPgBouncerClientConnectionsHigh": []})]
    return []


def check_alerts(poolcalc, work):
    import yaml
    if shutil.which("promtool") is None:
        return ["alerts: promtool not found: install it (Debian: apt-get install prometheus)"]
    folder = os.path.join(work, "alerts")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    failures = []
    for name, args in alert_cases():
        done = run([poolcalc, "alerts", *args])
        if done.returncode != 0:
            failures.append(f"alerts {name}: poolcalc alerts {' '.join(args)} exited {done.returncode}: {done.stderr}")
            continue
        if "s3cret" in done.stdout:
            failures.append(f"alerts {name}: the database password is in the rules file")
        rules_file = os.path.join(folder, f"{name}.yml")
        with open(rules_file, "w") as f:
            f.write(done.stdout)
        checked = run(["promtool", "check", "rules", rules_file])
        if checked.returncode != 0:
            failures.append(f"alerts {name}: promtool check rules refuses it:\n{checked.stdout}{checked.stderr}")
            continue
        groups = alert_tests(name)
        if not groups:
            print(f"alerts {name}: promtool check rules: valid", flush=True)
            continue
        declared = {rule["alert"]: rule for group in yaml.safe_load(done.stdout)["groups"] for rule in group["rules"]}
        tests = []
        for inputs, expectations in groups:
            cases = []
            for alert, firing in expectations.items():
                if alert not in declared:
                    failures.append(f"alerts {name}: no alert {alert} in the rules")
                    continue
                rule = declared[alert]
                cases.append({"eval_time": "10m", "alertname": alert,
                              "exp_alerts": [{"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": rule["annotations"]}
                                             for labels in firing]})
            tests.append({"interval": "1m", "input_series": inputs, "alert_rule_test": cases})
        test_file = os.path.join(folder, f"{name}.test.yml")
        with open(test_file, "w") as f:
            yaml.safe_dump({"rule_files": [f"{name}.yml"], "evaluation_interval": "1m", "tests": tests}, f, sort_keys=False)
        tested = run(["promtool", "test", "rules", test_file], cwd=folder)
        if tested.returncode != 0:
            failures.append(f"alerts {name}: promtool test rules:\n{tested.stdout}{tested.stderr}")
        else:
            print(f"alerts {name}: promtool check rules and test rules: {sum(len(e) for _, e in groups)} expectations hold",
                  flush=True)
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
        failures += check_alerts(os.path.abspath(args.poolcalc), os.path.abspath(args.work))
    except Failure as e:
        print(f"tools: error: {e}", file=sys.stderr)
        return 1
    for failure in failures:
        print(f"tools: FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""poolcalc's queueing predictions against a real PostgreSQL 15 and PgBouncer 1.18 under pgbench.

    tests/validation/validate.py --short                 # CI: a few cases, about 2 minutes
    tests/validation/validate.py                         # every case (about 25 minutes)
    tests/validation/validate.py --measure-only --output tests/validation/measured.json
    tests/validation/validate.py --compare tests/validation/measured.json --markdown table.md

Measuring: a throwaway PostgreSQL and PgBouncer (servers.py), one pgbench process per group of
looping users (workload.py) for each case and pool size (cases.py). Over a steady window after a
warm-up: throughput and mean wait per database entry from PgBouncer's SHOW STATS (the change of
total_xact_count and total_wait_time over the window), p95 and p99 of the wait from each
transaction's server-side start against its client-side send (workload.py's comment).

Comparing: poolcalc (--poolcalc, JSON output) predicts each case; each figure must fall in its
band: throughput within 5 %, mean wait within 10 % or 2 ms, p95 and p99 within 20 % or 5 ms
(whichever is larger, of the measured value). Exit 0 when every gating figure is in its band, 1
when one is not, 2 when the harness cannot run (a missing tool, a server that does not start, a
poolcalc that does not understand the command).
"""

import argparse
import copy
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time

# No __pycache__ beside the sources: the harness runs from the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as case_table  # noqa: E402
from servers import HarnessError, Servers, check_tools  # noqa: E402
from workload import Run, summarize  # noqa: E402
import replay as replays  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BANDS = {  # figure: (relative, absolute floor in its unit)
    "throughput_rps": (0.05, 0.0),
    "mean_wait_ms": (0.10, 2.0),
    "p95_wait_ms": (0.20, 5.0),
    "p99_wait_ms": (0.20, 5.0),
}
FIGURES = list(BANDS)


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


# -- measuring ------------------------------------------------------------------------------------

def entry_name(case, pool, index):
    return f"{case['name']}_{pool}_{index}".replace("-", "_")


def stats_snapshot(servers, names):
    """(time, {database: (xact_count, wait_time_us)}) from SHOW STATS. PgBouncer 1.18's totals
    move with every transaction; stats_period (1 s here) only paces the averages."""
    before = time.time()
    rows = servers.admin_table("SHOW STATS")
    after = time.time()
    totals = {r["database"]: (int(r["total_xact_count"]), int(r["total_wait_time"])) for r in rows
              if r["database"] in names}
    return (before + after) / 2.0, totals


def server_connections(servers, names):
    """Server connections PgBouncer holds for these entries (every state)."""
    total = 0
    for r in servers.admin_table("SHOW POOLS"):
        if r["database"] in names:
            total += sum(int(r.get(k, 0) or 0) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
    return total


def fleet_ini(case, max_connections, poolcalc, workdir):
    """The pgbouncer.ini that poolcalc writes for a fleet case's file."""
    path = os.path.join(workdir, f"{case['name']}-{max_connections}.toml")
    with open(path, "w") as f:
        f.write(case_table.fleet_toml(case, max_connections, with_think_cv=False))
    try:
        done = subprocess.run([poolcalc, "config", "--for", "pgbouncer", "--fleet", path], capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"cannot run `{poolcalc} config --for pgbouncer --fleet`: {e}")
    if done.returncode not in (0, 3) or "[databases]" not in done.stdout:
        raise HarnessError(f"`{poolcalc} config --for pgbouncer --fleet` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def fleet_bouncer(case, max_connections, servers, ini):
    """PgBouncer's [databases], [pgbouncer] and [users] from the pgbouncer.ini that poolcalc
    writes for the fleet: the test bed's host, port, database and entry name, the rest as written."""
    sections, section = {"databases": {}, "pgbouncer": {}, "users": {}}, None
    for raw in ini.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections.setdefault(section, {})[key.strip()] = value.strip()
    if len(sections["databases"]) != 1:
        raise HarnessError(f"expected one [databases] entry from poolcalc for {case['name']}, got {sections['databases']}")
    (line,) = sections["databases"].values()
    params = dict(p.split("=", 1) for p in line.split())
    params.update(host="127.0.0.1", port=str(servers.pg_port), dbname="bench")
    entry = f"{case['name']}_{max_connections}".replace("-", "_")
    settings = {k: v for k, v in sections["pgbouncer"].items() if k not in servers.bed_keys()}
    return {entry: " ".join(f"{k}={v}" for k, v in params.items())}, settings, sections["users"], int(params["pool_size"])


def measure_case(servers, case, pool, opts, workdir, run_ids, fleet_inis):
    groups = case["groups"]
    record = {"case": case["name"], "kind": case["kind"], "held_out": case.get("held_out", False),
              "spec": case, "pool": pool}
    if case["kind"] == "fleet":
        for g in groups:
            servers.ensure_user(g["user"])
        ini = fleet_inis[(case["name"], pool)]
        databases, settings, users, pool_size = fleet_bouncer(case, pool, servers, ini)
        # A user's server connections: the entry's pool_size, or its max_user_connections when smaller.
        caps = {u: int(dict(p.split("=", 1) for p in line.split()).get("max_user_connections", pool_size))
                for u, line in users.items()}
        record.update(pool=pool_size, max_connections=pool, pgbouncer_ini=ini,
                      fleet_toml=case_table.fleet_toml(case, pool),
                      unit_pools={g["service"]: min(pool_size, caps.get(g["user"], pool_size)) for g in groups})
        servers.configure_bouncer(databases, settings, users)
        placements = [(g, next(iter(databases))) for g in groups]
    else:
        # An instances case's copies are its application instances; a closed or open case's are
        # its replicas (--replicas): the same load measured that many times at once, each copy
        # with a pool and a pgbench of its own, for that many times the transactions per window.
        copies = case.get("instances", replicas_of(case, opts))
        if copies > 1 and case["kind"] != "instances":
            record["replicas"] = copies
        names = [entry_name(case, pool, i) for i in range(copies)]
        databases = {n: f"host=127.0.0.1 port={servers.pg_port} dbname=bench pool_size={pool} reserve_pool=0"
                     for n in names}
        servers.configure_bouncer(databases)
        placements = [(groups[0], n) for n in names]
    names = sorted({db for _, db in placements})
    seconds = opts.warmup + opts.window + 2
    runs = []
    try:
        for i, (group, database) in enumerate(placements):
            run_ids[0] += 1
            runs.append(Run(servers, workdir, run_ids[0], group, database, seconds, seed=opts.seed + i))
        time.sleep(opts.warmup)
        t0, s0 = stats_snapshot(servers, names)
        time.sleep(max(0.0, t0 + opts.window - time.time()))
        t1, s1 = stats_snapshot(servers, names)
        record["server_connections"] = server_connections(servers, names)
        record["load_average"] = load_average()
        for run in runs:
            run.wait(timeout=seconds + 60)
    finally:
        for run in runs:
            run.kill()
    window = t1 - t0
    record["window_s"] = round(window, 3)
    stats = {}
    for name in names:
        xacts = s1[name][0] - s0[name][0]
        wait_us = s1[name][1] - s0[name][1]
        stats[name] = {"transactions": xacts, "throughput_rps": xacts / window,
                       "mean_wait_ms": wait_us / 1000.0 / xacts if xacts else float("nan")}
    record["show_stats"] = stats
    per_run = [(g, db, run.transactions()) for (g, db), run in zip(placements, runs)]
    units = {}
    if case["kind"] == "fleet":
        for g, _, rows in per_run:
            units[g["service"]] = summarize(rows, t0, t1, think=bool(g.get("think_ms")))
        all_rows = [r for _, _, rows in per_run for r in rows]
        combined = summarize(all_rows, t0, t1)
        del combined["hold_quantiles_ms"]
        record["log_vs_stats"] = {"log_mean_wait_ms": combined["mean_wait_ms"],
                                  "stats_mean_wait_ms": stats[names[0]]["mean_wait_ms"]}
    else:
        all_rows = [r for _, _, rows in per_run for r in rows]
        unit = summarize(all_rows, t0, t1, think=bool(groups[0].get("think_ms")))
        xacts = sum(s["transactions"] for s in stats.values())
        wait_ms = sum(s["mean_wait_ms"] * s["transactions"] for s in stats.values() if s["transactions"])
        unit["log_mean_wait_ms"] = unit["mean_wait_ms"]
        unit["log_throughput_rps"] = unit["throughput_rps"] / len(names)
        # Throughput and mean wait from SHOW STATS; per instance for an instances case.
        unit["throughput_rps"] = xacts / window / len(names)
        unit["mean_wait_ms"] = wait_ms / xacts if xacts else float("nan")
        if case["kind"] != "instances":
            # The window's own sample path through a FIFO pool, and the range of windows like it
            # (replay.py); replicas each through a pool of their own.
            closed = case["kind"] == "closed"
            row_sets = [rows for _, _, rows in per_run]
            unit["replay"] = {f: round(v, 3) for f, v in replays.replay_runs(row_sets, pool, t0, t1, closed).items()}
            unit["spread95"], unit["resampled_mean"] = replays.spread_runs(row_sets, pool, t0, t1, closed, seed=opts.seed)
        units["per instance" if case["kind"] == "instances" else "all"] = unit
    record["units"] = units
    return record


def replicas_of(case, opts):
    """How many copies of a case run at once: --replicas for a closed or open case, else 1 (the
    calibration is always one)."""
    if case["kind"] in ("closed", "open") and not case.get("calibration"):
        return max(1, getattr(opts, "replicas", 1))
    return 1


def calibrate(servers, opts, workdir, run_ids, fleet_inis):
    """The unloaded case again, briefly (2 s warm-up, 5 s window), right before a case: the
    harness's overhead on the machine as it is then (a busy machine shows as a larger p99)."""
    case = case_table.CALIBRATION
    quick = argparse.Namespace(**dict(vars(opts), warmup=2.0, window=5.0))
    u = measure_case(servers, case, case["pools"][0], quick, workdir, run_ids, fleet_inis)["units"]["all"]
    overhead = {"log_mean_ms": round(u["log_mean_wait_ms"], 3), "log_p50_ms": round(u["p50_wait_ms"], 3),
                "log_p99_ms": round(u["p99_wait_ms"], 3)}
    log(f"  overhead just before: median {overhead['log_p50_ms']:.2f} ms, p99 {overhead['log_p99_ms']:.2f} ms")
    return overhead


def measure(selected, opts):
    check_tools()
    servers = None
    workdir = tempfile.mkdtemp(prefix="poolcalc-validation-runs-")
    results, failures = [], []
    started = time.time()
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "mode": "short" if opts.short else "full",
            "started_unix": round(started, 3), "warmup_s": opts.warmup, "window_s": opts.window, "seed": opts.seed,
            "replicas": opts.replicas}
    try:
        # poolcalc writes the fleet cases' pgbouncer.ini before anything is measured, so a
        # poolcalc that cannot stops the run at once.
        fleet_inis = {(c["name"], p): fleet_ini(c, p, opts.poolcalc, workdir) for c, p in selected if c["kind"] == "fleet"}
        servers = Servers()
        pg_version, bouncer_version = servers.versions()
        meta.update(postgresql=pg_version, pgbouncer=bouncer_version)
        run_ids = [0]
        for case, pool in selected:
            case_opts = opts
            if case.get("calibration"):
                # The unloaded case's figures settle quickly: a 10 s window at most.
                case_opts = argparse.Namespace(**dict(vars(opts), window=min(opts.window, 10.0)))
            copies = replicas_of(case, case_opts)
            log(f"measuring {case['name']} pool {pool} ({case_opts.warmup:g} s warm-up, {case_opts.window:g} s window"
                + (f", {copies} replicas" if copies > 1 else "") + ")")
            try:
                before = None
                if opts.calibrate_each and not case.get("calibration"):
                    before = calibrate(servers, opts, workdir, run_ids, fleet_inis)
                record = measure_case(servers, case, pool, case_opts, workdir, run_ids, fleet_inis)
                if before is not None:
                    record["overhead_before"] = before
            except HarnessError as e:
                # One case's failure (a pgbench that dies, say) is reported; the others still run.
                log(f"  failed: {e}")
                failures.append({"case": case["name"], "pool": pool, "error": str(e)})
                continue
            results.append(record)
            if opts.output:  # after each case, so an interrupted run keeps what it measured
                write_json(opts.output, assemble(meta, results, failures, opts, complete=False))
            for unit, m in record["units"].items():
                log(f"  {unit}: {m['throughput_rps']:.2f}/s, wait mean {m['mean_wait_ms']:.1f} ms "
                    f"(log {m.get('log_mean_wait_ms', m['mean_wait_ms']):.1f}), p95 {m['p95_wait_ms']:.1f}, "
                    f"p99 {m['p99_wait_ms']:.1f}; hold mean {m['mean_hold_ms']:.1f} ms"
                    + (f", think mean {m['mean_think_ms']:.1f} ms (cv {m['think_cv']:.2f})" if "mean_think_ms" in m else "")
                    + f"; load {record['load_average']}")
    finally:
        if servers is not None:
            servers.close()
        subprocess.run(["rm", "-rf", workdir])
    data = assemble(meta, results, failures, opts, complete=True)
    if failures:
        if opts.output:
            write_json(opts.output, data)
        raise HarnessError(f"{len(failures)} case(s) could not be measured: "
                           + "; ".join(f"{f['case']} pool {f['pool']}: {f['error']}" for f in failures))
    return data


def compact_json(data):
    """JSON with one key a line, but a list of numbers (the hold quantiles) on one line."""
    text = json.dumps(data, indent=1)
    return re.sub(r"\[\s*([-0-9.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)


def write_json(path, data):
    with open(path + ".tmp", "w") as f:
        f.write(compact_json(data))
        f.write("\n")
    os.replace(path + ".tmp", path)


def assemble(meta, results, failures, opts, complete):
    calibration = [r for r in results if r["spec"].get("calibration")]
    overhead = None
    if calibration:
        u = calibration[0]["units"]["all"]
        overhead = {"log_mean_ms": u["log_mean_wait_ms"], "log_p50_ms": u["p50_wait_ms"],
                    "log_p99_ms": u["p99_wait_ms"], "show_stats_mean_ms": u["mean_wait_ms"]}
    return dict(meta, complete=complete and not failures,
                duration_s=round(time.time() - meta["started_unix"], 1),
                machine=dict(machine(), load_average_start=opts.load_start, load_average_end=load_average()),
                overhead=overhead, failures=failures,
                results=[r for r in results if not r["spec"].get("calibration")])


# -- predicting and comparing ---------------------------------------------------------------------

class PoolcalcError(HarnessError):
    pass


def run_poolcalc(poolcalc, args):
    try:
        done = subprocess.run([poolcalc] + args, capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise PoolcalcError(f"cannot run poolcalc ({poolcalc}): {e}")
    # 3: a `fail` finding (a pool too small for the load, say); the JSON is still complete.
    if done.returncode not in (0, 3):
        raise PoolcalcError(f"poolcalc {' '.join(args)}\n  exited {done.returncode}: {done.stderr.strip()}\n"
                            "  (the comparison needs poolcalc's --think-cv, --pool-timeout 0 and the fleet's waits:"
                            " docs/validation.md, 'Predictions')")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise PoolcalcError(f"poolcalc {' '.join(args)} gave no JSON: {e}")


def figures_of(obj, where):
    missing = [f for f in FIGURES if f not in obj]
    if missing:
        raise PoolcalcError(f"{where}: no {', '.join(missing)} in poolcalc's JSON")
    return {f: obj[f] for f in FIGURES}


def realized(record):
    """The case as pgbench actually ran it, never its waits: each group's holds and think as
    measured, and an open group's rate as measured. One run's random draws (and pg_sleep's
    overshoot) leave the holds' mean and spread a few per cent off the nominal, and the think
    (from the server connection's release to the next query: return trip, \\sleep, pgbench's own
    work) the same; a pool near saturation moves by as much. The hold mean and think mean replace
    the nominal ones here; predict() gives a non-fleet case the whole hold distribution. The
    think's shape stays the nominal one (constant or exponential)."""
    case = copy.deepcopy(record["spec"])
    for g in case["groups"]:
        unit = g.get("service", "all")
        measured = record["units"].get(unit) or next(iter(record["units"].values()))
        if measured.get("mean_hold_ms"):
            g["hold_ms"] = round(measured["mean_hold_ms"], 3)
        if g.get("think_ms") and measured.get("mean_think_ms"):
            g["think_ms"] = round(measured["mean_think_ms"], 3)
        if "rate" in g and measured.get("throughput_rps"):
            g["rate"] = round(measured["throughput_rps"], 3)
    return case


def predict(record, poolcalc):
    """{unit: figures} poolcalc predicts for a measured record, given the load that ran."""
    case = realized(record)
    if case["kind"] == "fleet":
        # A fleet service takes no sample file: its measured hold mean (nominal cv) and think mean.
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(case_table.fleet_toml(case, record["max_connections"]) if "max_connections" in record else record["fleet_toml"])
            path = f.name
        try:
            out = run_poolcalc(poolcalc, ["fleet", path, "--format", "json"])
        finally:
            os.unlink(path)
        waits = out.get("waits")
        if not isinstance(waits, list):
            raise PoolcalcError(f"{case['name']}: `poolcalc fleet --format json` has no `waits` array")
        by_service = {w.get("service"): w for w in waits}
        return {unit: figures_of(by_service.get(unit, {}), f"{case['name']}: waits of {unit}") for unit in record["units"]}
    (unit,) = record["units"]
    quantiles = record["units"][unit].get("hold_quantiles_ms")
    sample = None
    if quantiles:  # the measured hold distribution; a measurement from before it was kept: the mean
        # The stored quantiles at 0, 1/1000, ..., 1 bound 1000 slices of a thousandth of the holds
        # each; the sample is each slice's midpoint, so that poolcalc's equally likely draws follow
        # the measured distribution. The last slice runs from the 99.9th percentile to the longest
        # hold, and its midpoint would give a single extreme hold a full thousandth of the draws
        # (in a 300 s window of lognormal holds, one hold of 19.8 s made the sample's mean 4 % and
        # its cv 50 % too large): it takes the value that gives the sample the measured mean.
        mids = [(a + b) / 2 for a, b in zip(quantiles, quantiles[1:])]
        mean = record["units"][unit].get("mean_hold_ms")
        if mean is not None and len(mids) > 1:
            mids[-1] = min(max(mean * len(mids) - sum(mids[:-1]), quantiles[-2]), quantiles[-1])
        with tempfile.NamedTemporaryFile("w", suffix=".holds", delete=False) as f:
            f.write("".join(f"{m:.3f}\n" for m in mids))
            sample = f.name
    try:
        out = run_poolcalc(poolcalc, case_table.predict_args(case, [record["pool"]], sample))
    finally:
        if sample:
            os.unlink(sample)
    rows = [q for q in out.get("queueing", []) if q.get("pool") == record["pool"]]
    if not rows:
        raise PoolcalcError(f"{case['name']}: no `queueing` entry for pool {record['pool']} in poolcalc's JSON")
    return {unit: figures_of(rows[0], f"{case['name']} pool {record['pool']}")}


def nominal_think(record, unit):
    groups = record["spec"]["groups"]
    return next((g.get("think_ms") for g in groups if g.get("service", unit) == unit), groups[0].get("think_ms"))


def nominal_hold(record, unit):
    groups = record["spec"]["groups"]
    return next((g["hold_ms"] for g in groups if g.get("service", unit) == unit), groups[0]["hold_ms"])


def tolerance(figure, value):
    """The band's half-width around `value`: its relative share, or the floor when larger."""
    rel, floor = BANDS[figure]
    return max(rel * abs(value), floor)


def verdict(figure, predicted, measured):
    if predicted is None or (isinstance(predicted, float) and math.isnan(predicted)):
        return False
    return abs(predicted - measured) <= tolerance(figure, measured)


def within_spread(figure, predicted, interval):
    """True when a prediction lies within the range that windows of the measured length show by
    chance (replay.py's spread), widened by the figure's band: a miss that the measurement cannot
    tell from noise."""
    if not interval or predicted is None or (isinstance(predicted, float) and math.isnan(predicted)):
        return False
    low, high = interval
    return low - tolerance(figure, low) <= predicted <= high + tolerance(figure, high)


def compare(data, poolcalc, short):
    rows = []
    for record in data["results"]:
        predicted = predict(record, poolcalc)
        gates = short or not record["held_out"]
        for unit, measured in record["units"].items():
            row = {"case": record["case"], "pool": record["pool"], "unit": unit, "held_out": record["held_out"],
                   "replicas": record.get("replicas"),
                   "unit_pool": record.get("unit_pools", {}).get(unit), "gates": gates, "figures": {},
                   "hold_ms": measured.get("mean_hold_ms"), "nominal_hold_ms": nominal_hold(record, unit),
                   "think_ms": measured.get("mean_think_ms"), "nominal_think_ms": nominal_think(record, unit),
                   "replay": measured.get("replay"), "spread95": measured.get("spread95"),
                   "resampled_mean": measured.get("resampled_mean")}
            for figure in FIGURES:
                p, m = predicted[unit][figure], measured[figure]
                resampled = measured.get("resampled_mean", {}).get(figure)
                row["figures"][figure] = {"predicted": p, "measured": m, "pass": verdict(figure, p, m),
                                          "chance": within_spread(figure, p, measured.get("spread95", {}).get(figure)),
                                          "vs_resampled": None if resampled is None else verdict(figure, p, resampled)}
            rows.append(row)
    return rows


def summary(rows):
    """Counts: figures in their band against the measurement; marked chance; and, where the window
    was replayed, waits in their band against the resampled replays' average."""
    figures = [v for r in rows for v in r["figures"].values()]
    in_band = sum(1 for v in figures if v["pass"])
    chance = sum(1 for v in figures if not v["pass"] and v.get("chance"))
    replayed = [(f, v) for r in rows for f, v in r["figures"].items() if v.get("vs_resampled") is not None and f != "throughput_rps"]
    near = sum(1 for _, v in replayed if v["vs_resampled"])
    return (f"in band against the measurement: {in_band} of {len(figures)} figures; out of band but within chance: {chance}; "
            f"waits in band against the resampled replays' average: {near} of {len(replayed)}")


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def table(rows, markdown=False):
    head = ["case", "pool", "unit", "hold ms (nominal)", "think ms (nominal)", "throughput /s", "mean wait ms", "p95 wait ms", "p99 wait ms",
            "FIFO replay ms", "resampled replays ms"]
    body = []
    for r in rows:
        cells = [r["case"] + (" (held out)" if r["held_out"] else "") + (f" ×{r['replicas']}" if r.get("replicas") else ""),
                 str(r["pool"]), r["unit"]]
        if r.get("unit_pool") not in (None, r["pool"]):
            cells[2] += f" (at most {r['unit_pool']})"
        cells.append(f"{fmt(r.get('hold_ms'))} ({r['nominal_hold_ms']:g})")
        cells.append(f"{fmt(r.get('think_ms'))} ({r['nominal_think_ms']:g})" if r.get("nominal_think_ms") else "-")
        for figure in FIGURES:
            f = r["figures"][figure]
            digits = 2 if figure == "throughput_rps" else 1
            mark = "PASS" if f["pass"] else ("chance" if f.get("chance") else "FAIL")
            cells.append(f"{fmt(f['predicted'], digits)} / {fmt(f['measured'], digits)} {mark}")
        replayed, chance, resampled = r.get("replay"), r.get("spread95"), r.get("resampled_mean")
        cells.append(" / ".join(fmt(replayed[f]) for f in replays.FIGURES) if replayed else "-")
        cells.append(f"{fmt(resampled['mean_wait_ms'])} ({fmt(chance['mean_wait_ms'][0])}-{fmt(chance['mean_wait_ms'][1])})"
                     if chance and resampled else "-")
        body.append(cells)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c) + " |" for c in body]
        return "\n".join(lines) + ("\n\nEach figure: predicted / measured. Hold: the measured holds' mean in the window (the case's"
                                   " nominal mean); think: the measured mean from a server connection's release to the user's next query (the"
                                   " nominal \\sleep). Bands: throughput 5 %, mean wait 10 % or 2 ms, p95 and p99 20 % or 5 ms."
                                   " chance: outside its band, but inside the band around the range that windows of this length show by"
                                   " chance (tests/validation/replay.py). FIFO replay: the mean, p95 and p99 wait of a first-come-first-served"
                                   " pool fed the window's own transactions; resampled replays: the mean wait over 100 replays with the"
                                   " holds and thinks drawn from the window's, an open load's arrivals drawn anew, and its 2.5-97.5 % range.\n")
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    out = ["  ".join(c.ljust(w) for c, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in body]
    return "\n".join(out) + "\n(each figure: predicted / measured; hold, think: measured mean (nominal))\n"


def measured_table(data, markdown=False):
    """The measured figures alone (--measure-only): per case, pool and unit."""
    head = ["case", "pool", "unit", "hold mean ms", "think mean ms", "throughput /s", "mean wait ms", "p95 wait ms", "p99 wait ms",
            "load average"]
    body = []
    for r in data["results"]:
        for unit, m in r["units"].items():
            pool = r.get("unit_pools", {}).get(unit, r["pool"])
            body.append([r["case"] + (" (held out)" if r["held_out"] else ""), str(pool), unit,
                         fmt(m["mean_hold_ms"]), fmt(m.get("mean_think_ms")), fmt(m["throughput_rps"], 2), fmt(m["mean_wait_ms"]),
                         fmt(m["p95_wait_ms"]), fmt(m["p99_wait_ms"]), f"{r['load_average'][0]:.2f}"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in body]) + "\n"
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in [head] + body) + "\n"


# -- the command ----------------------------------------------------------------------------------

def select(short, only, pools=None):
    """(case, pool) pairs to measure: the unloaded calibration first, then each case (of `only`,
    when given) at its pools (its short ones with `short`; of those, only `pools` when given)."""
    chosen = [case_table.CALIBRATION]
    for case in case_table.CASES + case_table.HELD_OUT:
        if only and case["name"] not in only:
            continue
        chosen.append(case)
    return [(c, p) for c in chosen for p in (c["short"] if short else c["pools"])
            if c.get("calibration") or pools is None or p in pools]


def load_measurements(paths):
    """The stored measurements of several files as one: a case and pool measured again in a later
    file replaces the earlier record, in its place; the later files' overhead is the first's."""
    data = None
    for path in paths:
        with open(path) as f:
            more = json.load(f)
        if data is None:
            data = more
            data["sources"] = [{"file": os.path.basename(path), "date": more.get("date")}]
            continue
        data["sources"].append({"file": os.path.basename(path), "date": more.get("date")})
        index = {(r["case"], r["pool"]): i for i, r in enumerate(data["results"])}
        for r in more["results"]:
            key = (r["case"], r["pool"])
            if key in index:
                data["results"][index[key]] = r
            else:
                data["results"].append(r)
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a few cases with 20 s windows (CI); every case gates")
    parser.add_argument("--poolcalc", default=os.path.join(REPO, "build", "poolcalc"), help="the binary (default build/poolcalc)")
    parser.add_argument("--measure-only", action="store_true", help="measure and write --output, run no poolcalc prediction")
    parser.add_argument("--compare", metavar="FILE", nargs="+",
                        help="predict and compare against stored measurement files (a later file's case and pool replaces an earlier's); start no server")
    parser.add_argument("--output", metavar="FILE", help="write the measurements as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the comparison table (with --measure-only: the measured figures) as Markdown")
    parser.add_argument("--cases", help="comma-separated case names to measure, or to compare with --compare (default: all)")
    parser.add_argument("--pools", help="comma-separated pool sizes: measure only these of the chosen cases' pools")
    parser.add_argument("--warmup", type=float, help="seconds before the window (default 10, --short 5)")
    parser.add_argument("--window", type=float, help="seconds measured (default 40, --short 20)")
    parser.add_argument("--calibrate-each", action="store_true",
                        help="measure the unloaded overhead again (7 s) right before each case; stored as overhead_before")
    parser.add_argument("--random-seed", dest="seed", type=int, default=20261130, help="pgbench --random-seed of the first group")
    parser.add_argument("--replicas", type=int, default=1,
                        help="measure each closed or open case this many times at once, each copy on a pool and a pgbench of its own "
                             "(pgbench seeds --random-seed, +1, ...): that many times the transactions per window (default 1)")
    opts = parser.parse_args()
    opts.warmup = opts.warmup if opts.warmup is not None else (5.0 if opts.short else 10.0)
    opts.window = opts.window if opts.window is not None else (20.0 if opts.short else 40.0)
    opts.load_start = load_average()
    if opts.measure_only and opts.compare:
        parser.error("--measure-only and --compare exclude each other")
    if opts.measure_only and not opts.output:
        parser.error("--measure-only needs --output FILE")
    if not 1 <= opts.replicas <= 6:
        parser.error("--replicas: expected 1 to 6 (each copy of an open case brings 150 pgbench clients; PgBouncer takes 1000)")

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        if opts.compare:
            data = load_measurements(opts.compare)
            if opts.cases:  # compare only these of the stored cases
                data["results"] = [r for r in data["results"] if r["case"] in opts.cases.split(",")]
        else:
            if not opts.measure_only and not os.access(opts.poolcalc, os.X_OK):
                raise HarnessError(f"poolcalc binary not found: {opts.poolcalc} (build it, or pass --poolcalc PATH)")
            only = set(opts.cases.split(",")) if opts.cases else None
            try:
                pools = {int(p) for p in opts.pools.split(",")} if opts.pools else None
            except ValueError:
                parser.error(f"--pools: expected comma-separated pool sizes, got '{opts.pools}'")
            data = measure(select(opts.short, only, pools), opts)
            if opts.output:
                write_json(opts.output, data)
        if data.get("overhead"):
            o = data["overhead"]
            print(f"overhead on an unloaded pool (loopback, PgBouncer, pgbench): per-transaction mean {o['log_mean_ms']:.3f} ms, "
                  f"median {o['log_p50_ms']:.3f} ms, p99 {o['log_p99_ms']:.3f} ms; SHOW STATS mean {o['show_stats_mean_ms']:.3f} ms")
        for r in data["results"]:
            for unit, m in r["units"].items():
                if "log_mean_wait_ms" in m:
                    print(f"cross-check {r['case']} pool {r['pool']}: mean wait SHOW STATS {m['mean_wait_ms']:.2f} ms, "
                          f"per transaction {m['log_mean_wait_ms']:.2f} ms; throughput SHOW STATS {m['throughput_rps']:.2f}/s, "
                          f"log {m['log_throughput_rps']:.2f}/s")
            if "log_vs_stats" in r:
                c = r["log_vs_stats"]
                print(f"cross-check {r['case']} pool {r['pool']}: mean wait SHOW STATS {c['stats_mean_wait_ms']:.2f} ms, "
                      f"per transaction {c['log_mean_wait_ms']:.2f} ms")
        if opts.measure_only:
            print("\nmeasured:\n" + measured_table(data))
            if opts.markdown:
                with open(opts.markdown, "w") as f:
                    f.write(measured_table(data, markdown=True))
            print(f"measurements written to {opts.output}")
            return 0
        rows = compare(data, opts.poolcalc, opts.short or data.get("mode") == "short")
        for title, part in (("cases", [r for r in rows if not r["held_out"]]), ("held-out cases", [r for r in rows if r["held_out"]])):
            if part:
                print(f"\n{title}:\n" + table(part))
        if opts.markdown:
            with open(opts.markdown, "w") as f:
                f.write(table(rows, markdown=True))
        print(summary(rows))
        failed = [(r["case"], r["pool"], r["unit"], fig) for r in rows if r["gates"]
                  for fig, v in r["figures"].items() if not v["pass"]]
        if failed:
            print(f"{len(failed)} figure(s) out of their band: " + "; ".join(f"{c} pool {p} {u} {f}" for c, p, u, f in failed))
            return 1
        print("every gating figure is in its band")
        return 0
    except (HarnessError, KeyboardInterrupt) as e:
        print(f"validation: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

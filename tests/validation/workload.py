"""pgbench scripts for the validation's looping users, and the per-transaction waits they give.

Each pgbench client is one looping user. Per transaction it draws a hold and a think, runs one
statement that holds its server connection for the hold, then sleeps the think:

    WITH s AS (SELECT statement_timestamp() AS t)
      INSERT INTO waits SELECT :run, :client_id, :n, s.t, clock_timestamp()
      FROM s, pg_sleep(:hold_us / 1000000.0)

The statement stores the server-side start of itself (statement_timestamp(): when PostgreSQL got
the query, so after PgBouncer found a server connection for it), and the end of its hold
(clock_timestamp() after pg_sleep, for the holds' own figures), under the client's own
transaction counter n, which is the transaction number in pgbench's per-transaction log (-l). The
statement is the script's first command after a few client-side \\set, so the moment the client
sent it is the log's end time minus its latency (under -R the latency counts from the scheduled
start, so the logged schedule lag is added back). The wait of a transaction is then

    wait = server start - client send

which includes a small constant (loopback round trips, PgBouncer's own work): the harness
measures it on an unloaded pool and reports it. The one insert into an UNLOGGED table costs a
few tens of microseconds of the hold.
"""

import glob
import math
import os
import subprocess

from servers import PG_BINDIR, SUPERUSER, HarnessError

RAND_TOP = 2147483646
# random_gaussian(lb, ub, param) gives integers with mean (lb + ub) / 2 and standard deviation
# (ub - lb) / 2 / param, cut at +-param deviations: this range and param give a standard normal
# z = value / 1e8, cut at 10 deviations (a cut nothing ever reaches).
GAUSS_RANGE = 1000000000
GAUSS_PARAM = 10.0
GAUSS_SCALE = GAUSS_RANGE / GAUSS_PARAM


def lognormal_params(mean, cv):
    """mu and sigma of the lognormal with this mean and coefficient of variation."""
    sigma2 = math.log(1.0 + cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def draw(var, dist, mean_ms, cv=None):
    """pgbench lines that set the integer variable `var` (microseconds) to one draw."""
    mean_us = mean_ms * 1000.0
    if dist == "constant" or mean_us == 0:
        return [f"\\set {var} {int(round(mean_us))}"]
    if dist == "exponential":
        # -mean ln(u), u uniform on (0, 1) without its ends.
        return [f"\\set {var} int(-{mean_us:.1f} * ln((random(0, {RAND_TOP}) + 0.5) / {RAND_TOP + 1}.0))"]
    if dist == "lognormal":
        mu, sigma = lognormal_params(mean_us, cv)
        return [
            f"\\set {var}_z random_gaussian(-{GAUSS_RANGE}, {GAUSS_RANGE}, {GAUSS_PARAM})",
            f"\\set {var} int(exp({mu:.9f} + {sigma:.9f} * :{var}_z / {GAUSS_SCALE:.1f}))",
        ]
    raise ValueError(f"unknown distribution {dist}")


def script(group):
    """The pgbench script of one group of looping users (see the module's comment)."""
    lines = []
    if group.get("think_ms", 0) > 0:
        # Spread the users' first transactions over one cycle, so a constant-time load does not
        # start (and stay) in lockstep. Only transaction 1 carries it, and that one is never in
        # the measured window.
        cycle_us = int((group["think_ms"] + group["hold_ms"]) * 1000)
        lines += ["\\if :n = 0", f"\\set stagger_us random(0, {cycle_us})", "\\sleep :stagger_us us", "\\endif"]
    lines.append("\\set n :n + 1")
    lines += draw("hold_us", group["hold_dist"], group["hold_ms"], group.get("hold_cv"))
    if group.get("think_ms", 0) > 0:
        lines += draw("think_us", group["think_dist"], group["think_ms"])
    lines.append("WITH s AS (SELECT statement_timestamp() AS t) INSERT INTO waits "
                 "SELECT :run, :client_id, :n, s.t, clock_timestamp() FROM s, pg_sleep(:hold_us / 1000000.0);")
    if group.get("think_ms", 0) > 0:
        lines.append("\\sleep :think_us us")
    return "\n".join(lines) + "\n"


class Run:
    """One pgbench process: a group of users on one PgBouncer database entry."""

    def __init__(self, servers, workdir, run_id, group, database, seconds, seed):
        self.servers, self.run_id, self.group = servers, run_id, group
        self.prefix = os.path.join(workdir, f"run{run_id}")
        with open(self.prefix + ".sql", "w") as f:
            f.write(script(group))
        clients = group["clients"]
        threads = max(1, min(4, clients // 10))
        args = [os.path.join(PG_BINDIR, "pgbench"), "-n", "-f", self.prefix + ".sql", "-c", str(clients),
                "-j", str(threads), "-T", str(int(math.ceil(seconds))), "-D", "n=0", "-D", f"run={run_id}",
                "-l", "--log-prefix", self.prefix + ".log", "--random-seed", str(seed),
                "-h", "127.0.0.1", "-p", str(servers.bouncer_port), "-U", group.get("user", SUPERUSER), database]
        if group.get("rate"):
            args[1:1] = ["-R", str(group["rate"])]
        self.args = args
        self.out = open(self.prefix + ".out", "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HarnessError(f"pgbench run {self.run_id} did not end in time")
        finally:
            self.out.close()
        if self.proc.returncode != 0:
            with open(self.prefix + ".out") as f:
                raise HarnessError(f"pgbench failed ({' '.join(self.args)}):\n{f.read()[-3000:]}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def transactions(self):
        """(client, n, send, server_start, end, lag, hold_end) per transaction, times in epoch
        seconds; end is the script's end in the log (after the think)."""
        starts = {}
        out = self.servers.sql("SELECT client, n, extract(epoch FROM t), extract(epoch FROM t_end) FROM waits"
                               f" WHERE run = {self.run_id}")
        for line in out.splitlines():
            client, n, t, t_end = line.split("\t")
            starts[(int(client), int(n))] = (float(t), float(t_end))
        self.servers.sql(f"DELETE FROM waits WHERE run = {self.run_id}")
        rows = []
        for path in glob.glob(self.prefix + ".log.*"):
            with open(path) as f:
                for line in f:
                    # client_id transaction_no time script_no time_epoch time_us [schedule_lag]
                    parts = line.split()
                    client, n, latency_us = int(parts[0]), int(parts[1]), int(parts[2])
                    end = int(parts[4]) + int(parts[5]) / 1e6
                    lag = int(parts[6]) / 1e6 if len(parts) > 6 else 0.0
                    send = end - latency_us / 1e6 + lag
                    server = starts.get((client, n))
                    if server is not None and n > 1:
                        rows.append((client, n, send, server[0], end, lag, server[1]))
        if not rows:
            raise HarnessError(f"pgbench run {self.run_id}: no transaction matched its server-side start")
        return rows


def percentile(values, q):
    """The q-quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


HOLD_QUANTILES = 1000  # the hold distribution as its quantiles at p = 0, 1/1000, ..., 1


def summarize(rows, t0, t1, overhead_ms=0.0, think=False):
    """Figures of the transactions in the window [t0, t1]: waits of those whose server start is in
    it, throughput of those that ended in it, holds of those that started in it.

    The holds are kept as their distribution (1001 quantiles, ms); with `think` (a closed group)
    also the realized think: per transaction, the log's end (the script's end, after the \\sleep)
    minus the server-side end of the hold. That is the time from the server connection's release
    to the user's next query (return trip, \\sleep, pgbench's own work): the model's think time."""
    waits = [(r[3] - r[2]) * 1000.0 for r in rows if t0 <= r[3] <= t1]
    holds = [(r[6] - r[3]) * 1000.0 for r in rows if t0 <= r[3] <= t1]
    thinks = [(r[4] - r[6]) * 1000.0 for r in rows if t0 <= r[3] <= t1]
    ended = sum(1 for r in rows if t0 <= r[4] <= t1)
    lags = [r[5] * 1000.0 for r in rows if t0 <= r[3] <= t1]
    if not waits:
        raise HarnessError("no transaction in the measured window")
    figures = {
        "transactions": len(waits),
        "throughput_rps": ended / (t1 - t0),
        "mean_wait_ms": sum(waits) / len(waits),
        "p50_wait_ms": percentile(waits, 0.50),
        "p95_wait_ms": percentile(waits, 0.95),
        "p99_wait_ms": percentile(waits, 0.99),
        "p_wait": sum(1 for w in waits if w > 1.0 + overhead_ms) / len(waits),
        "mean_hold_ms": sum(holds) / len(holds),
        "p95_hold_ms": percentile(holds, 0.95),
        "p99_hold_ms": percentile(holds, 0.99),
        "max_schedule_lag_ms": max(lags) if lags else 0.0,
    }
    ordered = sorted(holds)
    figures["hold_quantiles_ms"] = [round(quantile_sorted(ordered, i / HOLD_QUANTILES), 3)
                                    for i in range(HOLD_QUANTILES + 1)]
    if think:
        mean = sum(thinks) / len(thinks)
        sd = math.sqrt(sum((x - mean) ** 2 for x in thinks) / max(1, len(thinks) - 1))
        figures["mean_think_ms"] = round(mean, 3)
        figures["think_cv"] = round(sd / mean, 4) if mean > 0 else 0.0
    return figures


def quantile_sorted(s, q):
    """percentile() of an already sorted list."""
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)

"""The validation's cases: workloads, pool sizes, and the poolcalc command that predicts each.

A group is one pgbench process: `clients` looping users, each holding a server connection for a
hold drawn from `hold_dist` (mean `hold_ms`, coefficient of variation `hold_cv` for a lognormal)
and then thinking `think_ms` (drawn from `think_dist`); or, with `rate`, an open load of that many
transactions per second on pgbench's Poisson schedule (-R) with no think.

kinds:
  closed     one group on one PgBouncer database entry with pool_size = pool
  instances  `instances` identical groups, each on its own database entry with pool_size = pool
             (application instances with their own pools); compared per instance
  open       one group with a rate
  fleet      groups (services) from a fleet file; PgBouncer runs the pgbouncer.ini that
             `poolcalc config --for pgbouncer --fleet` writes for it, whose pool size the
             fleet's max_connections decides; compared per service

`pools` are the full run's pool sizes, `short` the ones --short measures (none: not in --short):
those whose figures the full comparison put well inside their bands (mostly the saturated pools,
whose waits the throughput decides), so a 20 s window's noise does not move them out.
Held-out cases were never used to tune the model: they are reported apart and gate only in
--short.
"""

K6 = {"clients": 84, "think_ms": 850, "hold_ms": 150}

CASES = [
    {"name": "closed-constant", "kind": "closed", "pools": [10, 13, 14, 16], "short": [10],
     "groups": [dict(K6, think_dist="constant", hold_dist="constant")]},
    {"name": "closed-exponential", "kind": "closed", "pools": [10, 13, 14, 16], "short": [10],
     "groups": [dict(K6, think_dist="exponential", hold_dist="exponential")]},
    {"name": "closed-lognormal", "kind": "closed", "pools": [10, 13, 14, 16], "short": [],
     "groups": [dict(K6, think_dist="constant", hold_dist="lognormal", hold_cv=1.735)]},
    {"name": "instances-3x28", "kind": "instances", "instances": 3, "pools": [5, 6], "short": [],
     "groups": [dict(K6, clients=28, think_dist="exponential", hold_dist="exponential")]},
    {"name": "open-lognormal", "kind": "open", "pools": [10, 11, 12, 14], "short": [],
     "groups": [{"clients": 150, "rate": 60, "hold_ms": 150, "hold_dist": "lognormal", "hold_cv": 1.735}]},
    {"name": "open-constant", "kind": "open", "pools": [10, 12], "short": [],
     "groups": [{"clients": 150, "rate": 60, "hold_ms": 150, "hold_dist": "constant"}]},
    # One pool shared by two services (same database and user): max_connections 23 gives
    # pool_size 13, 31 gives 17 (the plan cuts the pool to 70 % of max_connections).
    {"name": "fleet-shared", "kind": "fleet", "pools": [23, 31], "short": [],
     "groups": [
         {"service": "web", "user": "app", "clients": 60, "instances": 2, "think_ms": 850, "think_dist": "exponential",
          "hold_ms": 150, "hold_dist": "exponential"},
         {"service": "jobs", "user": "app", "clients": 24, "think_ms": 400, "think_dist": "exponential",
          "hold_ms": 100, "hold_dist": "exponential"}]},
    # The same services as two users: two pools on one entry, the smaller one capped by
    # max_user_connections, the entry by max_db_connections.
    {"name": "fleet-users", "kind": "fleet", "pools": [31], "short": [],
     "groups": [
         {"service": "web", "user": "app", "clients": 60, "instances": 2, "think_ms": 850, "think_dist": "exponential",
          "hold_ms": 150, "hold_dist": "exponential"},
         {"service": "jobs", "user": "jobs", "clients": 24, "think_ms": 400, "think_dist": "exponential",
          "hold_ms": 100, "hold_dist": "exponential"}]},
]

HELD_OUT = [
    {"name": "heldout-closed", "kind": "closed", "pools": [5, 7], "short": [5], "held_out": True,
     "groups": [{"clients": 40, "think_ms": 300, "think_dist": "exponential", "hold_ms": 60,
                 "hold_dist": "lognormal", "hold_cv": 1.0}]},
    {"name": "heldout-open", "kind": "open", "pools": [5, 6], "short": [], "held_out": True,
     "groups": [{"clients": 100, "rate": 40, "hold_ms": 100, "hold_dist": "exponential"}]},
]

# An unloaded pool: every transaction finds a free server connection at once, so the waits
# measured are the harness's own constant (loopback, PgBouncer, pgbench).
CALIBRATION = {"name": "unloaded", "kind": "closed", "pools": [20], "short": [20], "calibration": True,
               "groups": [{"clients": 10, "think_ms": 80, "think_dist": "constant", "hold_ms": 20,
                           "hold_dist": "constant"}]}

CV = {"constant": 0, "exponential": 1}


def hold_cv(group):
    return group["hold_cv"] if group["hold_dist"] == "lognormal" else CV[group["hold_dist"]]


def fleet_toml(case, max_connections, with_think_cv=True):
    """The fleet file of a fleet case. `think_cv` is left out for `poolcalc config` when the
    binary does not know it (it does not change the plan's pool sizes)."""
    lines = ["[database]", f"max_connections = {max_connections}", "version = 15",
             'url = "postgresql://app@127.0.0.1:5432/bench"', "", "[database.reserve]", "superuser = 3", ""]
    for g in case["groups"]:
        lines += ["[[service]]", f'name = "{g["service"]}"', f'user = "{g["user"]}"', 'database = "bench"',
                  f"vus = {g['clients']}", "activity = 1", f"think_ms = {g['think_ms']}"]
        # pgbench's clients go to PgBouncer directly: enough instances that each one's client pool
        # (the rule of thumb's, 30 here) has a connection for every VU, as pgbench has.
        if "instances" in g:
            lines.append(f"instances = {g['instances']}")
        if with_think_cv:
            lines.append(f"think_cv = {CV[g['think_dist']]}")
        lines += [f"query_ms = {g['hold_ms']}", f"query_cv = {hold_cv(g)}", "pool_timeout = 0", ""]
    return "\n".join(lines)


def predict_args(case, pools, hold_sample=None):
    """poolcalc's arguments for a closed, instances or open case at these pool sizes. With
    `hold_sample` (a file of holds in ms, one a line) the holds are that sample (its mean the hold,
    its spread the model's) instead of the group's hold_ms and shape."""
    g = case["groups"][0]
    pool = ",".join(str(p) for p in pools)
    hold = (["--query-sample", hold_sample] if hold_sample
            else ["--query-ms", str(g["hold_ms"]), "--query-cv", str(hold_cv(g))])
    common = hold + ["--pool", pool, "--pool-timeout", "0", "--format", "json"]
    if case["kind"] == "open":
        return ["--rps", str(g["rate"])] + common
    vus = g["clients"] * case.get("instances", 1)
    args = ["--vus", str(vus), "--activity", "1", "--think-ms", str(g["think_ms"]),
            "--think-cv", str(CV[g["think_dist"]])] + common
    if case["kind"] == "instances":
        args += ["--instances", str(case["instances"])]
    return args

"""What a measured window says apart from any model: the window's own transactions replayed
through a first-come-first-served pool of c connections, and how far a window of the same length
moves by chance.

Replay. Each transaction of the run is a (send, hold) pair, and a looping user's think is the gap
from the end of its hold to its next send. Fed the same sends (open load) or the same users with
their own holds and thinks in order (closed load), a FIFO pool of c connections gives each
transaction a wait. When these match the waits measured on PgBouncer, PgBouncer behaved as the
pool the models describe, on that very sample path.

Spread. The models describe many windows, not this one. Replaying the run again with every hold
(and, for a closed load, every think) drawn at random from those of the window's transactions, and
an open load's arrivals drawn anew (Poisson at the run's rate), keeps the distributions the
predictions are given and makes the draws independent, as the models assume;
the 2.5 % and 97.5 % points of a figure over such replays are the range a window of this length
shows by chance alone, and their average is what a model should predict. With heavy-tailed holds
the range is wide: a handful of long holds decides the mean wait of a 40 s window.
"""

import heapq
import random

from workload import percentile

FIGURES = ("mean_wait_ms", "p95_wait_ms", "p99_wait_ms")


def _figures(waits_ms):
    if not waits_ms:
        return {f: float("nan") for f in FIGURES}
    return {"mean_wait_ms": sum(waits_ms) / len(waits_ms), "p95_wait_ms": percentile(waits_ms, 0.95),
            "p99_wait_ms": percentile(waits_ms, 0.99)}


def _open_waits(sends, holds, pool, t0, t1):
    """FIFO waits (ms) of the transactions that start in [t0, t1]; sends sorted."""
    free = [sends[0]] * pool  # when each connection is next free
    waits = []
    for send, hold in zip(sends, holds):
        start = max(send, heapq.heappop(free))
        if t0 <= start <= t1:
            waits.append((start - send) * 1000.0)
        heapq.heappush(free, start + hold)
    return waits


def _closed_waits(users, pool, t0, t1):
    """FIFO waits (ms) for looping users: users is [(first send, [(hold, think), ...])]; a
    user's next send is the end of its hold plus its think."""
    events = []  # (time, order, kind, user, step): kind 0 = a hold ends, 1 = a query is sent
    order = 0
    for u, (first, steps) in enumerate(users):
        if steps:
            events.append((first, order, 1, u, 0))
            order += 1
    heapq.heapify(events)
    idle = pool
    queue = []  # FIFO of (send time, user, step)
    head = 0
    waits = []

    def start(now, send, u, step):
        nonlocal order
        if t0 <= now <= t1:
            waits.append((now - send) * 1000.0)
        hold, _ = users[u][1][step]
        heapq.heappush(events, (now + hold, order, 0, u, step))
        order += 1

    while events:
        now, _, kind, u, step = heapq.heappop(events)
        if now > t1 and head == len(queue):
            break
        if kind == 1:
            if idle > 0:
                idle -= 1
                start(now, now, u, step)
            else:
                queue.append((now, u, step))
            continue
        # A hold ends: its connection goes to the longest waiting query, else is idle.
        if head < len(queue):
            send, v, s = queue[head]
            head += 1
            start(now, send, v, s)
        else:
            idle += 1
        _, think = users[u][1][step]
        if step + 1 < len(users[u][1]):
            heapq.heappush(events, (now + think, order, 1, u, step + 1))
            order += 1
    return waits


def _by_client(rows):
    """Each client's rows in its own order (transaction number), clients in order."""
    by_client = {}
    for r in rows:
        by_client.setdefault(r[0], []).append(r)
    return [sorted(by_client[client], key=lambda r: r[1]) for client in sorted(by_client)]


def _paths(rows, closed):
    """The sample path of a run's rows (client, n, send, server start, end, lag, hold end)."""
    if not closed:
        ordered = sorted(rows, key=lambda r: r[2])
        return [r[2] for r in ordered], [r[6] - r[3] for r in ordered]
    users = []
    for seq in _by_client(rows):
        steps = []
        for i, r in enumerate(seq):
            hold = r[6] - r[3]
            # The think: from this hold's end to the user's next send (the last has none).
            think = seq[i + 1][2] - r[6] if i + 1 < len(seq) else 0.0
            steps.append((hold, max(0.0, think)))
        users.append((seq[0][2], steps))
    return users


def replay_runs(row_sets, pool, t0, t1, closed):
    """The window's figures from a FIFO pool of `pool` connections on the runs' own sample paths:
    each run (one, or a case's replicas measured side by side) through a pool of its own, the
    figures of all their waits together."""
    waits = []
    for rows in row_sets:
        if closed:
            waits += _closed_waits(_paths(rows, True), pool, t0, t1)
        else:
            sends, holds = _paths(rows, False)
            waits += _open_waits(sends, holds, pool, t0, t1)
    return _figures(waits)


def spread_runs(row_sets, pool, t0, t1, closed, replays=100, seed=1):
    """({figure: [2.5 %, 97.5 %]}, {figure: mean}) over `replays` replays whose holds (and thinks)
    are drawn at random from those of the window's transactions, the distributions the predictions
    are given: the range of windows like the measured one, and their average, which is what the
    models predict for the measured distributions (only the replays' number, not the window's
    luck, limits how close). Each replay replays every run (one, or a case's replicas), with draws
    from all the runs' windows (one load, one distribution), and takes the figures of all their
    waits together, as the measurement does."""
    rng = random.Random(seed)
    samples = {f: [] for f in FIGURES}
    window_holds = [r[6] - r[3] for rows in row_sets for r in rows if t0 <= r[3] <= t1]
    paths = []
    if closed:
        window_thinks = [x for rows in row_sets for x in _window_thinks(rows, t0, t1)]
        paths = [_paths(rows, True) for rows in row_sets]
    else:
        for rows in row_sets:
            sends, _ = _paths(rows, False)
            paths.append((sends[0], sends[-1], (len(sends) - 1) / (sends[-1] - sends[0])))
    for _ in range(replays):
        waits = []
        for path in paths:
            if closed:
                # Twice the steps each user took, and ten more: a user whose draws came out short
                # must not run out of steps and leave before the window ends (the replay stops at
                # its end).
                drawn = [(first, [(rng.choice(window_holds), rng.choice(window_thinks)) for _ in range(2 * len(steps) + 10)])
                         for first, steps in path]
                waits += _closed_waits(drawn, pool, t0, t1)
            else:
                # The arrivals are random too: Poisson at the run's rate over the run's span.
                first, last, rate = path
                arrivals, t = [], first
                while t <= last:
                    arrivals.append(t)
                    t += rng.expovariate(rate)
                waits += _open_waits(arrivals, [rng.choice(window_holds) for _ in arrivals], pool, t0, t1)
        figures = _figures(waits)
        for f in FIGURES:
            samples[f].append(figures[f])
    ranges = {f: [round(percentile(v, 0.025), 3), round(percentile(v, 0.975), 3)] for f, v in samples.items()}
    means = {f: round(sum(v) / len(v), 3) for f, v in samples.items()}
    return ranges, means


def _window_thinks(rows, t0, t1):
    """The thinks after the holds that started in the window (a user's last has none)."""
    thinks = []
    for seq in _by_client(rows):
        for a, b in zip(seq, seq[1:]):
            if t0 <= a[3] <= t1:
                thinks.append(max(0.0, b[2] - a[6]))
    return thinks

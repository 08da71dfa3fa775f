#!/usr/bin/env python3
"""Reference values for tests/unit/test_queueing.cpp, computed independently of poolcalc.

State probabilities, Erlang B/C, throughput, P(wait) and mean waits are exact rational
numbers (fractions.Fraction) from the textbook definitions -- the full product form of the
finite-source model and the Erlang B recursion -- and are printed to 17 significant digits.
Wait-time tails use those exact probabilities with math.exp/lgamma term-by-term Poisson sums
(double precision). Run: python3 tests/reference/queueing_reference.py
"""
from fractions import Fraction as F
import math


def closed(N, S, Z, c, t=None):
    """M/M/c//N with hold S and think Z (Fractions). Returns a dict of exact figures."""
    r = S / Z
    p = [F(1)]
    for n in range(1, N + 1):
        p.append(p[-1] * r * (N - n + 1) / min(n, c))
    total = sum(p)
    p = [x / total for x in p]
    busy = sum(min(n, c) * p[n] for n in range(N + 1))
    queued = sum(max(0, n - c) * p[n] for n in range(N + 1))
    X = busy / S
    arrivals = [(N - n) * p[n] for n in range(N + 1)]
    a_total = sum(arrivals)
    a = [x / a_total for x in arrivals]
    p_wait = sum(a[n] for n in range(c, N))
    # Arrival theorem: the wait given n >= c ahead is n - c + 1 stages of mean S / c.
    mean_wait_arrival = sum(a[n] * (n - c + 1) * S / c for n in range(c, N))
    out = {"throughput": X, "utilization": busy / c, "p_wait": p_wait,
           "mean_wait_little": queued / X, "mean_wait_arrival": mean_wait_arrival}
    if t is not None:
        lam = float(c / S) * t
        tail = 0.0
        for n in range(c, N):
            k = n - c
            cdf = sum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k + 1))
            tail += float(a[n]) * cdf
        out["tail"] = tail
    return out


def erlang(a, c):
    b = F(1)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    C = c * b / (c - a * (1 - b))
    return b, C


def show(name, value):
    print(f"{name} = {float(value):.17g}")


if __name__ == "__main__":
    # The seed's load: 84 active VUs (120 x 0.70), 150 ms holds, one query per second each
    # (think 850 ms), pools of 10 and 14.
    for c in (10, 14):
        r = closed(84, F(15, 100), F(85, 100), c, t=0.1)
        for key, value in r.items():
            show(f"closed N=84 S=0.15 Z=0.85 c={c} {key}", value)
    # A small hand-checkable case: N=3 users, c=1, S=1, Z=2.
    for key, value in closed(3, F(1), F(2), 1, t=1.0).items():
        show(f"closed N=3 S=1 Z=2 c=1 {key}", value)
    # Erlang B and C: a = 9 Erlangs (60 rps x 150 ms) on 10, 11, 12, 14, 20 servers.
    for c in (10, 11, 12, 14, 20):
        b, C = erlang(F(9), c)
        show(f"erlang a=9 c={c} B", b)
        show(f"erlang a=9 c={c} C", C)
    b, C = erlang(F(2), 3)
    show("erlang a=2 c=3 B", b)
    show("erlang a=2 c=3 C", C)

#!/usr/bin/python3
"""The closed pool model of bench/simulate.cpp in SimPy, for comparing event rates.

`users` looping users share one pool of `pool` connections (a FIFO simpy.Resource); each thinks,
asks for a connection, holds it and releases it. Events are counted as poolcalc's simulation counts
them (include/poolcalc/simulate.hpp): a think end (the query's arrival) and a hold end, one each per
query; SimPy's own internal events (requests, releases) are not counted.

Runs under Debian's python3-simpy3 (/usr/bin/python3). Prints one line:
  events N simulated_s D cpu_s C mean_wait_ms W
"""

import argparse
import random
import time

import simpy


def draw(rng, kind, mean):
    if kind == "exp":
        return rng.expovariate(1.0 / mean)
    return mean


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=84)
    parser.add_argument("--pool", type=int, default=13)
    parser.add_argument("--hold", type=float, default=0.150, help="mean hold, seconds")
    parser.add_argument("--think", type=float, default=0.850, help="mean think, seconds")
    parser.add_argument("--hold-dist", choices=("exp", "const"), default="exp")
    parser.add_argument("--think-dist", choices=("exp", "const"), default="exp")
    parser.add_argument("--duration", type=float, default=2000.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=args.pool)
    totals = {"events": 0, "queries": 0, "wait": 0.0}

    def user():
        # A random phase over one cycle, as poolcalc's simulation starts its users.
        yield env.timeout(rng.uniform(0, args.think + args.hold))
        while True:
            totals["events"] += 1  # think end: the query arrives
            arrival = env.now
            with pool.request() as request:
                yield request
                totals["wait"] += env.now - arrival
                totals["queries"] += 1
                yield env.timeout(draw(rng, args.hold_dist, args.hold))
            totals["events"] += 1  # hold end
            yield env.timeout(draw(rng, args.think_dist, args.think))

    for _ in range(args.users):
        env.process(user())
    start = time.process_time()
    env.run(until=args.duration)
    cpu = time.process_time() - start
    mean_wait_ms = 1000.0 * totals["wait"] / max(totals["queries"], 1)
    print(f"events {totals['events']} simulated_s {args.duration:g} cpu_s {cpu:.6f} mean_wait_ms {mean_wait_ms:.3f}")


if __name__ == "__main__":
    main()

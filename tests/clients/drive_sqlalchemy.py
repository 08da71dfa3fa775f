"""Drives poolcalc's SQLAlchemy snippet (tests/clients/run.py): imports `engine` from engine.py in
the current directory, checks one query, then starts QUERIES threads at once, each running
`pg_sleep(HOLD)` on a connection from the engine's pool, and prints one JSON line: each query's
outcome and seconds from its start. Python warnings go to stderr, where run.py looks for them.

    python3 drive_sqlalchemy.py QUERIES HOLD
"""

import json
import os
import sys
import threading
import time
import warnings

warnings.simplefilter("always")  # every warning, every time, on stderr
sys.path.insert(0, os.getcwd())


def message(error):
    lines = [line for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def main():
    queries, hold = int(sys.argv[1]), float(sys.argv[2])
    out = {"opened": False, "open_error": None, "results": []}
    engine = None
    try:
        from sqlalchemy import text

        from engine import engine  # the snippet, unchanged

        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        out["opened"] = True
    except Exception as error:  # reported, not raised: run.py judges it
        out["open_error"] = message(error)
    if out["opened"]:
        results = [None] * queries
        barrier = threading.Barrier(queries)

        def one(i):
            barrier.wait()  # all at once; each query's seconds count from its own start
            start = time.monotonic()
            try:
                with engine.connect() as connection:
                    connection.execute(text(f"SELECT pg_sleep({hold})"))
                results[i] = {"ok": True, "seconds": time.monotonic() - start, "error": None}
            except Exception as error:
                results[i] = {"ok": False, "seconds": time.monotonic() - start, "error": message(error)}

        threads = [threading.Thread(target=one, args=(i,)) for i in range(queries)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        out["results"] = results
    if engine is not None:
        engine.dispose()
    print(json.dumps(out), flush=True)


main()

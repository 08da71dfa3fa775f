"""npm ci of a pinned package-lock.json into a work directory, shared by the suites that drive
npm packages (tests/clients/run.py, tests/tools/run.py). Again only when the lock changes."""
import os
import shutil
import subprocess


def npm_ci(source, target):
    """Copies SOURCE's package.json and package-lock.json into TARGET and runs npm ci there.
    Returns None on success, else npm's output (the registry must be reachable)."""
    os.makedirs(target, exist_ok=True)
    lock = open(os.path.join(source, "package-lock.json")).read()
    stamp = os.path.join(target, ".installed-lock")
    if os.path.exists(stamp) and open(stamp).read() == lock and os.path.isdir(os.path.join(target, "node_modules")):
        return None
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(source, name), target)
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target, capture_output=True, text=True)
    if done.returncode != 0:
        return done.stdout + done.stderr
    with open(stamp, "w") as f:
        f.write(lock)
    return None

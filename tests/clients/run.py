#!/usr/bin/env python3
"""The real-client conformance suite: poolcalc's `config --for TARGET` snippets, run unchanged in
the real client libraries against a real PostgreSQL 15, directly and through the PgBouncer 1.18
that `poolcalc pgbouncer` configures (issue 12, "A real-client conformance suite").

For each client and each route (direct, pgbouncer) the suite:
  1. runs `poolcalc config --for TARGET` for a small plan (pool 3, --pool-timeout 2) with the test
     server's URL, splits the output on its `# file: NAME` / `// file: NAME` lines and writes each
     file unchanged into a temporary project; through PgBouncer it then points the URL at
     PgBouncer's port, as the snippet's own comment tells the user (the only edit);
  2. drives it with a small driver of ours (tests/clients/drive_*) that imports the snippet's
     exported object (node-postgres `pool`, Prisma `prisma`, SQLAlchemy `engine`, Go package `db`,
     HikariCP's properties) and runs four times the pool in concurrent `pg_sleep(3)` queries;
  3. checks, while the load runs, pg_stat_activity (and the client's TCP connections to PgBouncer)
     and afterwards the queries' outcomes and the client's, PostgreSQL's and PgBouncer's logs.

Every check is real. A check that fails today because of an issue-12 defect not yet fixed is in
KNOWN_DEFECTS below: it is reported as an expected failure; if it passes, the suite fails and
asks for its line to be removed (so the list empties as the fixes land and the checks then
must pass). Any missing library or tool is a failure with the command that installs it.

    python3 tests/clients/run.py --poolcalc build/poolcalc [--work build/tests/clients] [--only NAME]
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from npm_lock import npm_ci  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "validation"))
import servers  # noqa: E402  (tests/validation/servers.py: the throwaway PostgreSQL and its helpers)

# Checks that fail today because of an issue-12 item not fixed yet: (client, route, check) -> item.
# Remove a line when its fix lands; a listed check that passes fails the suite until then.
KNOWN_DEFECTS = {}

# The plan: pool 3 and a 2 s pool timeout, small so the run is quick and the pool differs from
# every library's default (node-postgres and HikariCP 10, SQLAlchemy 5 + 10 overflow, pgxpool
# max(4, CPUs): docs/clients.md cites each), so a snippet the library ignores shows. Pool = ceil(1 VU x 0.70 x 0.1 s) x
# burst 1 + overhead 2 = 3, once the rules' round_to (10) is 1 (a --rules file: `poolcalc rules`
# with that one line changed). --transaction-pooling makes the plan recommend PgBouncer.
POOL_TIMEOUT_S = 2
PLAN = ["--vus", "1", "--query-ms", "100", "--burst", "1", "--overhead", "2",
        "--pool-timeout", str(POOL_TIMEOUT_S), "--connect-timeout", "5"]
LOAD_FACTOR = 4  # four times the pool in concurrent queries (issue 12)
# Each query holds its connection HOLD_S, longer than the pool timeout: the first `pool` queries
# hold every connection past the timeout, so each of the others must fail at the timeout; one
# that waits for a free connection instead gets it only after HOLD_S (1 s after the timeout).
HOLD_S = 3.0
# A waiter's failure counts as the pool timeout within [timeout - 0.1 s, timeout + 0.5 s]. Below:
# the driver's clock starts just before the acquire, so only timer rounding can make it early
# (libraries round to milliseconds). Above: half the 1 s between the timeout and the moment a
# connection frees (HOLD_S), the margin left for start-up and scheduling on a loaded 2-core
# machine while still telling a timeout from a wait that was served.
TIMEOUT_EARLY_S = 0.1
TIMEOUT_LATE_S = 0.5
SAMPLE_EVERY_S = 0.05
DATABASE = servers.DATABASE

JARS = ["HikariCP.jar", "postgresql.jar", "slf4j-api.jar", "slf4j-simple.jar"]
GOCODE = "/usr/share/gocode"
NODE_MIN = (20, 19)  # Prisma 7's engines: "node": "^20.19 || ^22.12 || >=24.0"

INSTALL_HINT = ("install it: ./.ci/install-deps (Debian packages) — the npm packages come from "
                "tests/clients/node/package-lock.json (npm ci, run by this suite)")


class Failure(Exception):
    pass


# -- the client list --------------------------------------------------------------------------

class Client:
    def __init__(self, name, target, kind, project=None, node_options=()):
        self.name, self.target, self.kind, self.project = name, target, kind, project
        self.node_options = list(node_options)


CLIENTS = [
    Client("node-postgres-cjs", "node-postgres", "node-pool", project="cjs"),
    # The same project on a Node without require(esm), as before 20.19 (Debian 12's nodejs is 18).
    Client("node-postgres-cjs-strict", "node-postgres", "node-pool", project="cjs",
           node_options=["--no-experimental-require-module"]),
    Client("node-postgres-esm", "node-postgres", "node-pool", project="esm"),
    Client("prisma", "prisma", "prisma", project="cjs"),
    Client("sqlalchemy", "sqlalchemy", "sqlalchemy"),
    Client("hikaricp", "hikaricp", "hikaricp"),
    Client("go-database-sql", "go-database-sql", "go-database-sql"),
    Client("pgx", "pgx", "pgx"),
]
ROUTES = ["direct", "pgbouncer"]
CHECKS = ["snippet", "open", "connections", "application_name", "timeout", "no_warnings"]


# -- small helpers ----------------------------------------------------------------------------

def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def split_files(text):
    """`poolcalc config` output -> {NAME: content} on its `# file: NAME` / `// file: NAME` lines."""
    files, name, lines = {}, None, []
    for line in text.splitlines(keepends=True):
        match = re.match(r"^(?:#|//) file: (\S+)\s*$", line)
        if match:
            if name is not None:
                files[name] = "".join(lines).rstrip("\n") + "\n"
            name, lines = match.group(1), []
        elif name is not None:
            lines.append(line)
    if name is not None:
        files[name] = "".join(lines).rstrip("\n") + "\n"
    return files


def read_dotenv(text):
    """KEY=value, KEY="value" and KEY='value' lines (the forms poolcalc writes)."""
    env = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
        if not match:
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if match.group(2).strip()[0] == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        else:
            value = value.split(" #")[0].strip()
        env[match.group(1)] = value
    return env


def warning_lines(text):
    return [line for line in text.splitlines()
            if re.search(r"\b(warn(ing)?|error|fatal|deprecat\w*)\b", line, re.IGNORECASE)]


def tcp_connections_to(port):
    """Established TCP connections whose remote port is `port` (the client side of each)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for row in f:
                    fields = row.split()
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            pass
    return count


# -- the test bed -----------------------------------------------------------------------------

def check_prerequisites():
    """Every library and tool, or a Failure naming what is missing and how to install it."""
    missing = []
    try:
        servers.check_tools()
    except servers.HarnessError as error:
        missing.append(str(error))
    for module, package in (("sqlalchemy", "python3-sqlalchemy"), ("psycopg2", "python3-psycopg2")):
        if run([sys.executable, "-c", f"import {module}"]).returncode != 0:
            missing.append(f"Python module {module} for {sys.executable} (Debian: {package})")
    for jar in JARS:
        if not os.path.exists(os.path.join("/usr/share/java", jar)):
            missing.append(f"/usr/share/java/{jar} (Debian: libhikaricp-java, libpostgresql-jdbc-java, libslf4j-java)")
    for tool, package in (("java", "default-jdk-headless"), ("javac", "default-jdk-headless"), ("go", "golang-go"),
                          ("node", "nodejs"), ("npm", "npm")):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian: {package})")
    if not os.path.isdir(os.path.join(GOCODE, "src/github.com/jackc/pgx/v4")):
        missing.append(f"{GOCODE}/src/github.com/jackc/pgx/v4 (Debian: golang-github-jackc-pgx-v4-dev)")
    if shutil.which("node"):
        version = run(["node", "--version"]).stdout.strip().lstrip("v")
        parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
        if parts < NODE_MIN:
            missing.append(f"Node.js >= {NODE_MIN[0]}.{NODE_MIN[1]} for Prisma 7 (found {version}; Debian 12's nodejs is "
                           "18: use trixie's nodejs 20 or NodeSource's)")
    if missing:
        raise Failure("missing: " + "; ".join(missing) + ". " + INSTALL_HINT)


def prepare_node(work):
    """npm ci of tests/clients/node's lock file into WORK/node (again only when the lock changes)."""
    target = os.path.join(work, "node")
    failed = npm_ci(os.path.join(HERE, "node"), target)
    if failed is not None:
        raise Failure(f"npm ci in {target} failed (the npm registry must be reachable):\n{failed}")
    return target


def prepare_java(work):
    target = os.path.join(work, "java")
    os.makedirs(target, exist_ok=True)
    classpath = ":".join(os.path.join("/usr/share/java", jar) for jar in JARS)
    done = run(["javac", "-d", target, "-cp", classpath, os.path.join(HERE, "Drive.java")])
    if done.returncode != 0:
        raise Failure("javac Drive.java failed:\n" + done.stderr)
    return target + ":" + classpath


def start_pgbouncer(ini_text, bed, dir):
    """Writes the emitted pgbouncer.ini with what only the test bed can know filled in, the
    auth_file as `poolcalc pgbouncer --userlist` says (from pg_authid), and starts PgBouncer in
    the foreground with its log on stderr, captured into a file."""
    port = servers.free_port()
    auth_file = os.path.join(dir, "userlist.txt")
    filled, seen = [], set()
    for line in ini_text.splitlines():
        key = re.match(r"^\s*([a-z_]+)\s*=", line)
        if key and key.group(1) == "listen_port":
            line, _ = f"listen_port = {port}", seen.add("listen_port")
        elif key and key.group(1) == "auth_file":
            line, _ = f"auth_file = {auth_file}", seen.add("auth_file")
        filled.append(line)
    if seen != {"listen_port", "auth_file"}:
        raise Failure(f"the emitted pgbouncer.ini has no {sorted({'listen_port', 'auth_file'} - seen)}")
    ini = os.path.join(dir, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write("\n".join(filled) + "\n")
    roles = sorted(bed.roles)
    userlist = bed.sql("SELECT '\"' || replace(rolname, '\"', '\"\"') || '\" \"' || replace(rolpassword, '\"', '\"\"') || '\"' "
                       "FROM pg_authid WHERE rolname IN (" + ", ".join(f"'{r}'" for r in roles) + ") "
                       "AND rolpassword IS NOT NULL ORDER BY rolname", database="postgres")
    with open(auth_file, "w") as f:
        f.write(userlist)
    os.chmod(auth_file, 0o600)
    for path in (ini, auth_file):
        servers._chown(path)
    log_path = os.path.join(dir, "pgbouncer.log")
    log = open(log_path, "w")
    servers._chown(log_path)
    proc = subprocess.Popen([servers.PGBOUNCER, ini], stdout=log, stderr=subprocess.STDOUT, cwd=dir,
                            **servers._owner_kwargs())
    log.close()
    servers._wait_port(port, proc, "PgBouncer", log_path)
    return proc, port, log_path, ini


class Bed:
    def __init__(self):
        self.servers = servers.Servers(max_connections=100)
        self.pg_port = self.servers.pg_port
        self.roles = set()

    def sql(self, text, database=DATABASE):
        return self.servers.sql(text, database=database)

    def role(self, name, password):
        self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        self.roles.add(name)


# -- one client on one route ------------------------------------------------------------------

class Run:
    def __init__(self, client, route):
        self.client, self.route = client, route
        self.results = {}  # check -> (passed, detail)
        self.summary = ""

    def check(self, name, passed, detail):
        self.results[name] = (bool(passed), detail)

    def blocked(self, after, reason):
        for name in CHECKS[CHECKS.index(after) + 1:]:
            self.results.setdefault(name, (False, f"not reached: {reason}"))


def feature_flags(poolcalc, client, project_dir, route, bouncer_port):
    """Inputs of later poolcalc versions, passed when this poolcalc offers them: the project's
    package.json (module system, Prisma major), pgx v4 (what Debian ships), PgBouncer's address."""
    help_text = run([poolcalc, "config", "--help"]).stdout
    config_only, inputs = [], []
    if client.kind in ("node-pool", "prisma") and "--package-json" in help_text:
        config_only += ["--package-json", os.path.join(project_dir, "package.json")]
    if client.kind in ("go-database-sql", "pgx") and "--pgx-version" in help_text:
        config_only += ["--pgx-version", "4"]
    if route == "pgbouncer" and "--pgbouncer-host" in help_text:
        inputs += ["--pgbouncer-host", f"127.0.0.1:{bouncer_port}"]
    return config_only, inputs


def node_project(dir, work, kind):
    """A project as `npm init -y` makes it (CommonJS), or with "type": "module"; its
    node_modules is the suite's npm ci."""
    package = {"name": "app", "version": "1.0.0", "main": "index.js", "license": "ISC"}
    if kind == "esm":
        package["type"] = "module"
    with open(os.path.join(dir, "package.json"), "w") as f:
        json.dump(package, f, indent=2)
    os.symlink(os.path.join(work, "node", "node_modules"), os.path.join(dir, "node_modules"))


def fill_url(files, pg_port, bouncer_port):
    """Through PgBouncer: the URL lines point at PgBouncer's port instead of the server's, as the
    snippet's comment says to once PgBouncer runs. Nothing else changes."""
    server, bouncer = f"127.0.0.1:{pg_port}", f"127.0.0.1:{bouncer_port}"
    changed = 0
    for name, text in files.items():
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if re.match(r"^\s*(DATABASE_URL|jdbcUrl)\s*=", line) and server in line:
                lines[i] = line.replace(server, bouncer)
                changed += 1
        files[name] = "\n".join(lines)
    urls = [line for text in files.values() for line in text.split("\n")
            if re.match(r"^\s*(DATABASE_URL|jdbcUrl)\s*=", line)]
    return changed, urls


def sample_load(stop, role, bouncer_port, dsn, samples):
    import psycopg2

    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        while not stop.is_set():
            # Every connection of the role counts; the name is judged on those running the test's
            # query now (a backend still starting up shows no application_name yet). Through
            # PgBouncer in transaction mode a server connection runs the query under the name
            # PgBouncer tracks for the client, so an unnamed row here is a real unnamed session:
            # PgBouncer before 1.22 loses a name set by SET after connecting when the server
            # connection already had it (PostgreSQL 14+ reports a setting only when it changes;
            # pgbouncer/pgbouncer#993), which the HikariCP snippet avoids (docs/clients.md).
            cursor.execute("SELECT count(*), array_agg(DISTINCT coalesce(application_name, '')) "
                           "FILTER (WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(%%') FROM pg_stat_activity "
                           "WHERE usename = %s", (role,))
            count, names = cursor.fetchone()
            samples.append((count, names or [], tcp_connections_to(bouncer_port) if bouncer_port else None))
            time.sleep(SAMPLE_EVERY_S)
    connection.close()


def log_since(path, offset):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def role_name(client, route):
    return re.sub(r"[^a-z0-9]", "_", f"c_{client.name}_{route}")


def role_password(client, route):
    return f"pw-{client.name}-{route}"


def drive(client, route, ctx):
    result = Run(client, route)
    poolcalc, bed, work = ctx["poolcalc"], ctx["bed"], ctx["work"]
    role, password = role_name(client, route), role_password(client, route)
    bouncer_port = ctx["bouncer_port"] if route == "pgbouncer" else None
    dir = tempfile.mkdtemp(prefix=f"poolcalc-client-{client.name}-{route}-")
    try:
        if client.project:
            node_project(dir, work, client.project)
        url = f"postgresql://{role}:{password}@127.0.0.1:{bed.pg_port}/{DATABASE}"
        args = ctx["plan_args"] + (["--transaction-pooling"] if route == "pgbouncer" else []) + ["--database-url", url]
        config_only, inputs = feature_flags(poolcalc, client, dir, route, bouncer_port)
        args += inputs
        planned = run([poolcalc, "--format", "json"] + args)
        plan = json.loads(planned.stdout) if planned.returncode == 0 else {}
        pool = plan.get("pool_size")
        server_limit = plan.get("server_connections") if route == "pgbouncer" else pool
        done = run([poolcalc, "config", "--for", client.target] + args + config_only)
        files = split_files(done.stdout)
        snippet_text = "".join(files.values())
        code_file = {"node-pool": r"pool\.(c|m)?js", "prisma": r"prisma\.(c|m)?js", "sqlalchemy": r"engine\.py",
                     "hikaricp": r"hikari\.properties", "go-database-sql": r"db\.go", "pgx": r"db\.go"}[client.kind]
        code = next((name for name in files if re.fullmatch(code_file, name)), None)
        result.check("snippet", done.returncode == 0 and code is not None and pool is not None,
                     f"exit {done.returncode}, files {', '.join(files) or 'none'}"
                     + ("" if pool is not None else f"; the plan (--format json) gave no pool_size: {planned.stderr.strip()}")
                     + ("" if code else f"; none matches {code_file}") + (f"; {done.stderr.strip()}" if done.stderr.strip() else ""))
        if done.returncode != 0 or pool is None or (code is None and client.kind != "prisma"):
            result.blocked("snippet", "no snippet")
            return result
        if route == "pgbouncer":
            changed, urls = fill_url(files, bed.pg_port, bouncer_port)
            if not urls or any(f"127.0.0.1:{bouncer_port}" not in u for u in urls):
                result.check("open", False, f"the URL does not reach PgBouncer after filling in its port: {urls}")
                result.blocked("open", "no URL to PgBouncer")
                return result
        for name, text in files.items():
            with open(os.path.join(dir, name), "w") as f:
                f.write(text)
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if ".env" in files:
            env.update(read_dotenv(files[".env"]))
        queries = LOAD_FACTOR * pool
        argv, build_error = driver_command(client, code, dir, work, env, queries, ctx)
        if build_error:
            result.check("open", False, build_error)
            result.blocked("open", "the snippet does not build or load")
            return result

        pg_offset, bouncer_offset = log_size(bed.servers.pg_log), log_size(ctx["bouncer_log"])
        samples, stop = [], threading.Event()
        sampler = threading.Thread(target=sample_load, args=(stop, role, bouncer_port, ctx["monitor_dsn"], samples))
        sampler.start()
        try:
            proc = run(argv, cwd=dir, env=env, timeout=120)
        finally:
            stop.set()
            sampler.join()
        time.sleep(0.2)  # the servers' last log lines
        pg_log = log_since(bed.servers.pg_log, pg_offset)
        bouncer_log = log_since(ctx["bouncer_log"], bouncer_offset) if route == "pgbouncer" else ""
        try:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            out = {"opened": False, "open_error": f"the driver exited {proc.returncode}: {proc.stderr.strip()[-600:]}",
                   "results": []}
        result.check("open", out["opened"], out.get("open_error") or "opened, SELECT 1 ran")
        if not out["opened"]:
            result.blocked("open", "the pool did not open")
            result.summary = f"{client.name} {route}: did not open: {out.get('open_error')}"
            return result

        # connections: the most the server (and PgBouncer) saw at once during the load
        server_max = max((count for count, _, _ in samples), default=0)
        bouncer_max = max((n for _, _, n in samples if n is not None), default=None)
        names = sorted({name for _, sample_names, _ in samples for name in sample_names})
        ok = 0 < server_max <= server_limit
        detail = f"server {server_max} (at most {server_limit})"
        if route == "pgbouncer":
            ok = ok and bouncer_max is not None and 0 < bouncer_max <= pool
            detail += f", client to PgBouncer {bouncer_max} (at most {pool})"
        result.check("connections", ok, detail + f", {len(samples)} samples")

        # application_name: one name, set by the snippet (it appears in the snippet's text)
        named = [n for n in names if n]
        ok = len(names) == 1 and named and re.search(r"\b" + re.escape(named[0]) + r"\b", snippet_text) is not None
        result.check("application_name", ok, f"the server saw {names or 'no pg_sleep query'}"
                     + ("" if ok else " (expected one name, set by the snippet)"))

        # timeout: `pool` queries ran; every other one failed at the pool timeout
        results = out["results"]
        succeeded = [r for r in results if r["ok"]]
        failed = [r for r in results if not r["ok"]]
        low, high = POOL_TIMEOUT_S - TIMEOUT_EARLY_S, POOL_TIMEOUT_S + TIMEOUT_LATE_S
        late = [r for r in succeeded if r["seconds"] > HOLD_S + POOL_TIMEOUT_S - 1]
        waits = sorted(r["seconds"] for r in failed)
        ok = (len(succeeded) == pool and len(failed) == queries - pool
              and all(low <= s <= high for s in waits))
        if failed:
            span = f"{waits[0]:.2f}-{waits[-1]:.2f} s"
        elif late:
            span = f"none: waiting queries got a connection after {max(r['seconds'] for r in late):.2f} s"
        else:
            span = "none"
        result.check("timeout", ok, f"{len(succeeded)} of {queries} ran (expected {pool}); {len(failed)} failed at {span} "
                     f"(expected {queries - pool} at {POOL_TIMEOUT_S} s, {low:.1f}-{high:.1f})"
                     + (f"; first error: {failed[0]['error']}" if failed else ""))

        # no warnings: from the client, and from PostgreSQL and PgBouncer during the run
        # (a waiter's timeout is the driver's JSON, not a log line)
        client_warnings = warning_lines(proc.stderr)
        server_warnings = [l for l in pg_log.splitlines() if re.search(r"\b(WARNING|ERROR|FATAL|PANIC):", l)]
        bouncer_warnings = [l for l in bouncer_log.splitlines() if re.search(r"\b(WARNING|ERROR|FATAL)\b", l)]
        everything = [f"client: {l}" for l in client_warnings] + [f"PostgreSQL: {l}" for l in server_warnings] \
            + [f"PgBouncer: {l}" for l in bouncer_warnings]
        result.check("no_warnings", not everything, "; ".join(everything[:4]) or "none from the client, PostgreSQL"
                     + (" or PgBouncer" if route == "pgbouncer" else ""))
        result.summary = (f"{client.name} {route}: connections observed {server_max} vs recommended {server_limit}"
                          + (f" (client to PgBouncer {bouncer_max} vs pool {pool})" if route == "pgbouncer" else "")
                          + f"; timeout observed {span} vs configured {POOL_TIMEOUT_S} s")
        return result
    except subprocess.TimeoutExpired:
        result.check("open", False, "the driver ran for more than 120 s")
        result.blocked("open", "the driver hung")
        return result
    finally:
        if not ctx["keep"]:
            shutil.rmtree(dir, ignore_errors=True)


def driver_command(client, code, dir, work, env, queries, ctx):
    """The driver's argv (building it when needed), or an error when the snippet cannot be
    built or prepared."""
    hold = str(HOLD_S)
    if client.kind == "node-pool":
        return ["node"] + client.node_options + [os.path.join(HERE, "drive_node.mjs"), "pool", code, str(queries), hold], None
    if client.kind == "prisma":
        # prisma generate starts by downloading the schema engine from Prisma's servers, which generate
        # does not run; it needs no download when given a path to one. The client it writes is
        # the project's (node_modules/.prisma/client, through the symlink: one run at a time).
        env["PRISMA_SCHEMA_ENGINE_BINARY"] = "/bin/true"
        env["PRISMA_HIDE_UPDATE_MESSAGE"] = "1"
        env["CHECKPOINT_DISABLE"] = "1"
        schema = os.path.join(dir, "schema.prisma")
        if code is None:
            # No Prisma 7 snippet (KNOWN_DEFECTS): Prisma 7's documented setup from DATABASE_URL,
            # with a schema of ours (today's schema.prisma is Prisma 6's, with url in the datasource).
            schema = os.path.join(dir, "prisma-7-docs.prisma")
            with open(schema, "w") as f:
                f.write('generator client {\n  provider = "prisma-client-js"\n}\n\n'
                        'datasource db {\n  provider = "postgresql"\n}\n')
        done = run([os.path.join(dir, "node_modules", ".bin", "prisma"), "generate", "--schema", schema],
                   cwd=dir, env=env, timeout=120)
        if done.returncode != 0:
            return None, f"prisma generate failed: {(done.stdout + done.stderr).strip()[-600:]}"
        if code is None:
            return ["node", os.path.join(HERE, "drive_node.mjs"), "prisma-docs", "-", str(queries), hold], None
        return ["node", os.path.join(HERE, "drive_node.mjs"), "prisma", code, str(queries), hold], None
    if client.kind == "sqlalchemy":
        return [sys.executable, os.path.join(HERE, "drive_sqlalchemy.py"), str(queries), hold], None
    if client.kind == "hikaricp":
        # HikariCP checks a connection idle for over 500 ms before lending it; that check would run
        # on a server connection of its own and could name it by luck: off for the test's short run.
        return ["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dcom.zaxxer.hikari.aliveBypassWindowMs=60000",
                "-cp", ctx["classpath"], "Drive",
                str(queries), hold], None
    # Go: GOPATH mode over Debian's packages (/usr/share/gocode holds pgx v4 at its import path,
    # github.com/jackc/pgx/v4); no module proxy, the build cache in the work directory.
    gopath = os.path.join(dir, "gopath")
    package = os.path.join(gopath, "src", "conformance")
    os.makedirs(os.path.join(package, "db"))
    os.makedirs(os.path.join(package, "drive"))
    shutil.copy(os.path.join(dir, code), os.path.join(package, "db", code))
    shutil.copy(os.path.join(HERE, "go", "database_sql.go" if client.kind == "go-database-sql" else "pgxpool.go"),
                os.path.join(package, "drive", "main.go"))
    shutil.copy(os.path.join(HERE, "go", "drive.go"), os.path.join(package, "drive", "drive.go"))
    go_env = dict(env, GO111MODULE="off", GOPATH=f"{gopath}:{GOCODE}", GOPROXY="off", GOFLAGS="",
                  GOCACHE=os.path.join(work, "go-cache"))
    binary = os.path.join(dir, "drive-go")
    done = run(["go", "build", "-o", binary, "conformance/drive"], cwd=package, env=go_env, timeout=300)
    if done.returncode != 0:
        return None, "go build (GOPATH with Debian's pgx v4): " + " | ".join(done.stderr.strip().splitlines()[:3])
    return [binary, str(queries), hold], None


# -- main -------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poolcalc", required=True)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "poolcalc-clients"),
                        help="where npm ci, the Java classes and Go's build cache go (kept between runs)")
    parser.add_argument("--only", action="append", help="a client name (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep each run's temporary project")
    options = parser.parse_args()
    started = time.monotonic()
    poolcalc = os.path.abspath(options.poolcalc)
    work = os.path.abspath(options.work)
    os.makedirs(work, exist_ok=True)
    clients = [c for c in CLIENTS if not options.only or c.name in options.only]
    bed = None
    bouncer = None
    bouncer_dir = tempfile.mkdtemp(prefix="poolcalc-clients-bouncer-")
    os.chmod(bouncer_dir, 0o755)
    servers._chown(bouncer_dir)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    runs = []
    try:
        check_prerequisites()
        if not os.access(poolcalc, os.X_OK):
            raise Failure(f"no poolcalc at {poolcalc}")
        t = time.monotonic()
        prepare_node(work)
        classpath = prepare_java(work)
        print(f"clients: npm ci and javac {time.monotonic() - t:.1f} s", flush=True)
        rules = run([poolcalc, "rules"]).stdout
        if len(re.findall(r"(?m)^round_to = 10\b", rules)) != 1:
            raise Failure("`poolcalc rules` has no single `round_to = 10` line to lower to 1 for a pool of 3")
        rules_file = os.path.join(work, "rules-round-to-1.toml")
        with open(rules_file, "w") as f:
            f.write(re.sub(r"(?m)^round_to = 10\b", "round_to = 1", rules))
        plan_args = ["--rules", rules_file] + PLAN
        bed = Bed()
        # One login role per client and route, so each run's connections are told apart by user
        # (as well as by application_name); PgBouncer's auth_file lists them all.
        for client in clients:
            for route in ROUTES:
                bed.role(role_name(client, route), role_password(client, route))
        ini = run([poolcalc, "pgbouncer"] + plan_args + ["--transaction-pooling", "--database-url",
                  f"postgresql://app@127.0.0.1:{bed.pg_port}/{DATABASE}"])
        if ini.returncode != 0:
            raise Failure(f"poolcalc pgbouncer exited {ini.returncode}: {ini.stderr.strip()}")
        bouncer, bouncer_port, bouncer_log, _ = start_pgbouncer(ini.stdout, bed, bouncer_dir)
        startup = [l for l in open(bouncer_log).read().splitlines() if re.search(r"\b(WARNING|ERROR|FATAL)\b", l)]
        ctx = {"poolcalc": poolcalc, "bed": bed, "work": work, "plan_args": plan_args, "bouncer_port": bouncer_port,
               "bouncer_log": bouncer_log, "classpath": classpath, "keep": options.keep,
               "monitor_dsn": f"host=127.0.0.1 port={bed.pg_port} dbname={DATABASE} user=postgres "
                              "application_name=conformance-monitor"}
        print(f"clients: PostgreSQL on 127.0.0.1:{bed.pg_port}, PgBouncer (poolcalc pgbouncer's ini) on "
              f"127.0.0.1:{bouncer_port}", flush=True)
        start = Run(Client("pgbouncer.ini", "pgbouncer", "pgbouncer"), "start")
        start.check("no_warnings", not startup, "; ".join(startup) or "PgBouncer started with no warning")
        runs.append(start)
        print("clients: pgbouncer.ini start", flush=True)
        print(f"  {'no_warnings':16} {verdict(start, 'no_warnings')}: {start.results['no_warnings'][1]}", flush=True)
        for client in clients:
            for route in ROUTES:
                t = time.monotonic()
                result = drive(client, route, ctx)
                runs.append(result)
                print(f"clients: {client.name} {route} ({time.monotonic() - t:.1f} s)", flush=True)
                for name in CHECKS:
                    passed, detail = result.results.get(name, (False, "not run"))
                    print(f"  {name:16} {verdict(result, name)}: {detail}", flush=True)
    except Failure as error:
        print(f"clients: error: {error}", file=sys.stderr)
        return 1
    except servers.HarnessError as error:
        print(f"clients: error: the test bed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clients: interrupted", file=sys.stderr)
        return 1
    finally:
        servers._stop(bouncer, signal.SIGINT)
        if bed is not None:
            bed.servers.close()
        shutil.rmtree(bouncer_dir, ignore_errors=True)

    print("\nclients: summary (poolcalc config's snippets, run unchanged but for the URL)")
    for result in runs:
        if result.summary:
            print(f"  {result.summary}")
    failures, expected, unexpected_passes, blocked = [], [], [], []
    for result in runs:
        for name in (CHECKS if result.client.kind != "pgbouncer" else result.results):
            passed, detail = result.results.get(name, (False, "not run"))
            key = (result.client.name, result.route, name)
            if key in KNOWN_DEFECTS:
                (unexpected_passes if passed else expected).append(key)
            elif not passed:
                blocked.append(key) if verdict(result, name) == "blocked by a known defect" else failures.append(key)
    print(f"clients: {sum(len(r.results) for r in runs)} checks in {len(runs)} runs, {len(failures)} failed, "
          f"{len(expected)} expected failures (KNOWN_DEFECTS), {len(blocked)} not reached behind them, "
          f"{len(unexpected_passes)} known defects passed; "
          f"{time.monotonic() - started:.0f} s")
    for key in unexpected_passes:
        print(f"clients: FIXED, remove from KNOWN_DEFECTS in tests/clients/run.py: {key} ({KNOWN_DEFECTS[key]})")
    for key in failures:
        print(f"clients: FAILED {key}")
    return 1 if failures or unexpected_passes else 0


def first_failure(result):
    return next((n for n in CHECKS if not result.results.get(n, (False, ""))[0]), None)


def verdict(result, check):
    passed, detail = result.results.get(check, (False, "not run"))
    known = (result.client.name, result.route, check) in KNOWN_DEFECTS
    if passed:
        return "FIXED (remove from KNOWN_DEFECTS)" if known else "ok"
    if known:
        return "expected failure"
    if detail.startswith("not reached") and \
            (result.client.name, result.route, first_failure(result)) in KNOWN_DEFECTS:
        return "blocked by a known defect"
    return "FAILED"


if __name__ == "__main__":
    sys.exit(main())

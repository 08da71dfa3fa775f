"""A throwaway PostgreSQL 15 and PgBouncer on free loopback ports, for the validation harness.

Both run as the `postgres` user when the harness runs as root (initdb refuses root; PgBouncer
should not run as root either), each in its own temporary directory, and are stopped and removed
by close() (the harness calls it in a `finally`, and on SIGTERM/SIGINT).
"""

import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BINDIR = os.environ.get("POOLCALC_PG_BINDIR", "/usr/lib/postgresql/15/bin")
PGBOUNCER = os.environ.get("POOLCALC_PGBOUNCER", "/usr/sbin/pgbouncer")

# The server database every PgBouncer entry points at, and the table the workload writes each
# statement's server-side start into (see workload.py).
DATABASE = "bench"
SUPERUSER = "postgres"


class HarnessError(Exception):
    """A failure of the test bed itself (missing tool, server that does not start)."""


def required_tools():
    """The binaries the harness runs; a missing one is an error, never a skip."""
    return {
        "initdb": os.path.join(PG_BINDIR, "initdb"),
        "postgres": os.path.join(PG_BINDIR, "postgres"),
        "pgbench": os.path.join(PG_BINDIR, "pgbench"),
        "psql": os.path.join(PG_BINDIR, "psql"),
        "pgbouncer": PGBOUNCER,
    }


def check_tools():
    missing = [f"{name} ({path})" for name, path in required_tools().items() if not os.access(path, os.X_OK)]
    if missing:
        raise HarnessError(
            "missing: " + ", ".join(missing) + ": install postgresql-15 and pgbouncer (./.ci/install-deps), "
            "or set POOLCALC_PG_BINDIR / POOLCALC_PGBOUNCER"
        )


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner_kwargs():
    """Popen arguments that drop root to the `postgres` user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError("running as root, but there is no `postgres` user to run initdb and PgBouncer as")
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _chown(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _wait_port(port, proc, what, log_path, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise HarnessError(f"{what} did not listen on 127.0.0.1:{port} within {seconds} s:\n{_tail(log_path)}")


def _tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc, sig=signal.SIGTERM, seconds=15):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Servers:
    """PostgreSQL (max_connections 300, trust on loopback) and PgBouncer in front of it."""

    def __init__(self, max_connections=300):
        # PgBouncer needs a descriptor per client and server connection (max_client_conn 1000
        # here): lift the soft limit, which the servers inherit, to the hard one (at most 65536).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        self.dir = tempfile.mkdtemp(prefix="poolcalc-validation-")
        os.chmod(self.dir, 0o755)
        _chown(self.dir)
        self.pg = None
        self.bouncer = None
        self.pg_port = free_port()
        self.bouncer_port = free_port()
        self.users = {SUPERUSER}
        self._start_postgres(max_connections)

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _start_postgres(self, max_connections):
        data = os.path.join(self.dir, "data")
        env = dict(os.environ, LC_ALL="C")
        done = subprocess.run(
            [os.path.join(PG_BINDIR, "initdb"), "-D", data, "-U", SUPERUSER, "--auth=trust", "--no-sync",
             "-E", "UTF8", "--locale=C"],
            capture_output=True, text=True, env=env, cwd=self.dir, **_owner_kwargs())
        if done.returncode != 0:
            raise HarnessError("initdb failed:\n" + done.stdout + done.stderr)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.pg_port),
            "unix_socket_directories": self.dir,
            "max_connections": str(max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
        }
        with open(os.path.join(data, "postgresql.auto.conf"), "a") as f:
            for key, value in settings.items():
                f.write(f"{key} = '{value}'\n")
        self.pg_log = os.path.join(self.dir, "postgres.log")
        log = open(self.pg_log, "w")
        _chown(self.pg_log)
        self.pg = subprocess.Popen([os.path.join(PG_BINDIR, "postgres"), "-D", data], stdout=log,
                                   stderr=subprocess.STDOUT, env=env, cwd=self.dir, **_owner_kwargs())
        log.close()
        _wait_port(self.pg_port, self.pg, "PostgreSQL", self.pg_log)
        # Accepting TCP connections comes a moment before the server accepts logins.
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sql("SELECT 1", database="postgres")
                break
            except HarnessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.sql(f"CREATE DATABASE {DATABASE}", database="postgres")
        # UNLOGGED: the workload's one insert per transaction writes no WAL worth the name.
        self.sql("CREATE UNLOGGED TABLE waits (run int NOT NULL, client int NOT NULL, n int NOT NULL,"
                 " t timestamptz NOT NULL, t_end timestamptz NOT NULL)")

    def sql(self, text, database=DATABASE, port=None, user=SUPERUSER):
        """Runs `text` with psql (unaligned, tuples only) and returns stdout."""
        done = subprocess.run(
            [os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(port or self.pg_port), "-U", user, "-d", database, "-c", text],
            capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="10", PGAPPNAME="validate"))
        if done.returncode != 0:
            raise HarnessError(f"psql on port {port or self.pg_port} ({text[:60]}...): {done.stderr.strip()}")
        return done.stdout

    def ensure_user(self, name):
        if name not in self.users:
            self.sql(f"CREATE ROLE {name} LOGIN; GRANT ALL ON TABLE waits TO {name}")
            self.users.add(name)

    def versions(self):
        pg = self.sql("SHOW server_version").strip()
        bouncer = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True).stdout.splitlines()
        return pg, (bouncer[0] if bouncer else "unknown")

    # -- PgBouncer ----------------------------------------------------------------------------

    def bed_keys(self):
        """The [pgbouncer] keys of the test bed: where it listens, who logs in, its files, and
        stats_period 1 so SHOW STATS' totals move each second rather than each minute."""
        return {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.bouncer_port),
            "unix_socket_dir": self.dir,
            "auth_type": "trust",
            "auth_file": os.path.join(self.dir, "userlist.txt"),
            "logfile": os.path.join(self.dir, "pgbouncer.log"),
            "pidfile": os.path.join(self.dir, "pgbouncer.pid"),
            "admin_users": SUPERUSER,
            "stats_users": SUPERUSER,
            "stats_period": "1",
            "log_connections": "0",
            "log_disconnections": "0",
        }

    def configure_bouncer(self, databases, settings=None, users=None):
        """Writes pgbouncer.ini ([databases] NAME -> its line, [pgbouncer] the defaults below, then
        `settings`, then the test bed's keys; [users] NAME -> line) and starts PgBouncer, or makes
        the running one RELOAD it. The listen keys never change, so a reload is enough."""
        keys = {
            "pool_mode": "transaction",
            "max_client_conn": "1000",
            "default_pool_size": "20",
            "reserve_pool_size": "0",
            # 0: a client waits for a server connection as long as it takes (poolcalc --pool-timeout 0).
            "query_wait_timeout": "0",
            "server_idle_timeout": "15",
            "server_lifetime": "3600",
            "ignore_startup_parameters": "extra_float_digits",
        }
        keys.update(settings or {})
        keys.update(self.bed_keys())
        lines = ["[databases]"]
        lines += [f"{name} = {line}" for name, line in databases.items()]
        lines += ["", "[pgbouncer]"] + [f"{k} = {v}" for k, v in keys.items()]
        if users:
            lines += ["", "[users]"] + [f"{name} = {line}" for name, line in users.items()]
        ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(keys["auth_file"], "w") as f:
            f.writelines(f'"{user}" ""\n' for user in sorted(self.users))
        _chown(ini)
        _chown(keys["auth_file"])
        if self.bouncer is None or self.bouncer.poll() is not None:
            # Foreground (no -d), so the Popen is PgBouncer itself and close() can stop it.
            self.bouncer = subprocess.Popen([PGBOUNCER, ini], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            cwd=self.dir, **_owner_kwargs())
            _wait_port(self.bouncer_port, self.bouncer, "PgBouncer", keys["logfile"])
        else:
            self.admin("RELOAD")

    def admin(self, command):
        """A command on PgBouncer's admin console; rows as lists of strings."""
        out = self.sql(command, database="pgbouncer", port=self.bouncer_port)
        return [line.split("\t") for line in out.splitlines() if line]

    def admin_table(self, command):
        """SHOW ... as a list of dicts (column names from a second, header-bearing query)."""
        done = subprocess.run(
            [os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-A", "-F", "\t", "-P", "footer=off",
             "-h", "127.0.0.1", "-p", str(self.bouncer_port), "-U", SUPERUSER, "-d", "pgbouncer", "-c", command],
            capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if done.returncode != 0:
            raise HarnessError(f"PgBouncer admin console ({command}): {done.stderr.strip()}")
        lines = [line for line in done.stdout.splitlines() if line]
        if not lines:
            return []
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"))) for line in lines[1:]]

    def close(self):
        _stop(self.bouncer, signal.SIGINT)  # SIGINT: PgBouncer's immediate shutdown
        _stop(self.pg, signal.SIGQUIT)      # SIGQUIT: PostgreSQL's immediate shutdown
        self.bouncer = self.pg = None
        shutil.rmtree(self.dir, ignore_errors=True)

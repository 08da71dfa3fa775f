// `poolcalc config --for TARGET --fleet FILE [--service NAME]` end to end: the example fleet's
// pgbouncer.ini, a service's client snippet through its PgBouncer entry, postgresql.conf for the
// fleet, exit 3 on the scaling-table trap, and every bad input with its exact message.

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;

namespace {

const std::string k_example = std::string(POOLCALC_SOURCE_DIR) + "/data/examples/chat-fleet.toml";
const std::string k_trap = std::string(POOLCALC_SOURCE_DIR) + "/data/examples/trap-fleet.toml";

} // namespace

TEST_CASE("config --fleet: the example fleet's pgbouncer.ini")
{
  const Result r = run_poolcalc({ "config", "--for", "pgbouncer", "--fleet", k_example });
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  // The plan of `poolcalc fleet` (docs/fleet.md): chat_backend_db/chat 33 + 7, min 7; the
  // notifier's session entry 20, both on the example's localhost:5432.
  CHECK(contains(r.out,
                 "\nchat_backend_db = host=localhost port=5432 dbname=chat_backend_db pool_size=33 min_pool_size=7 reserve_pool=7 "
                 "max_db_connections=40\n"));
  CHECK(contains(r.out,
                 "\nchat_backend_db_session = host=localhost port=5432 dbname=chat_backend_db pool_size=20 reserve_pool=0 "
                 "max_db_connections=20 pool_mode=session\n"));
  CHECK(contains(r.out, "\npool_mode = transaction\n"));
  CHECK(contains(r.out, "\nmax_client_conn = 1000\n"));
  CHECK(contains(r.out, "WHERE rolname IN ('chat', 'worker')")); // the userlist note follows
  CHECK_FALSE(contains(r.out, "postgrespassword"));              // the URL's password is postgres's, never PgBouncer's
}

TEST_CASE("pgbouncer --fleet: the same file and note, each on its own")
{
  const Result config = run_poolcalc({ "config", "--for", "pgbouncer", "--fleet", k_example });
  const Result ini = run_poolcalc({ "pgbouncer", "--fleet", k_example });
  const Result note = run_poolcalc({ "pgbouncer", "--fleet", k_example, "--userlist" });
  CHECK(ini.exit_code == 0);
  CHECK(note.exit_code == 0);
  CHECK(ini.out.starts_with("; pgbouncer.ini from poolcalc for the fleet " + k_example));
  CHECK(note.out.starts_with("The auth_file (/etc/pgbouncer/userlist.txt)"));
  // `config` prints both, the note as `;` comments after the ini, so its whole output is one ini.
  CHECK(config.out.starts_with(ini.out + "\n; How to write the auth_file (poolcalc pgbouncer --userlist prints this note alone):\n; " +
                               note.out.substr(0, note.out.find('\n') + 1)));
  check_usage_error({ "pgbouncer", "--fleet", k_example, "--instances", "3" },
                    "--instances: `poolcalc pgbouncer --fleet FILE` takes the workloads from the fleet file; drop --instances");
  const Result trap = run_poolcalc({ "pgbouncer", "--fleet", k_trap });
  CHECK(trap.exit_code == 3);
  CHECK(trap.err.starts_with("poolcalc: fail: fleet.capacity_exceeds_server: "));
}

TEST_CASE("config --fleet --service: a service's snippet through its PgBouncer entry")
{
  // chat-api: 30 per instance (docs/fleet.md), as the role chat, through PgBouncer 1.18. [database]
  // url is the server's (localhost:5432): the URL keeps that address, without pgbouncer=true, and
  // the snippet says what to change once PgBouncer runs.
  const Result prisma =
    run_poolcalc({ "config", "--for", "prisma", "--prisma-version", "6", "--fleet", k_example, "--service", "chat-api" });
  CHECK(prisma.exit_code == 0);
  // The fleet names the role, not its password: the snippet says so.
  CHECK(contains(prisma.out, "\n# The role 'chat' has no password here: add it (or use PGPASSWORD / ~/.pgpass).\n"));
  CHECK(contains(prisma.out,
                 "\n# PgBouncer's address. Once PgBouncer runs (poolcalc pgbouncer --fleet " + std::string(k_example) +
                   " writes its pgbouncer.ini),\n# point DATABASE_URL at its host and port (listen_port 6432 there), and add "
                   "pgbouncer=true.\n"));
  CHECK(contains(prisma.out,
                 "\nDATABASE_URL=\"postgresql://chat@localhost:5432/chat_backend_db?connection_limit=30&pool_timeout=30&"
                 "connect_timeout=10&application_name=chat-api\"\nDIRECT_URL=\"postgresql://chat@localhost:5432/chat_backend_db\"\n"));
  // notifier: pool 10, as worker; the server database until PgBouncer runs, then its session-mode entry.
  const Result node = run_poolcalc({ "config", "--for", "node-postgres", "--fleet", k_example, "--service", "notifier" });
  CHECK(node.exit_code == 0);
  CHECK(contains(node.out,
                 "\n# point DATABASE_URL at its host and port (listen_port 6432 there), database chat_backend_db_session.\n"
                 "DATABASE_URL=\"postgresql://worker@localhost:5432/chat_backend_db\"\n"));
  CHECK_FALSE(contains(prisma.out + node.out, "127.0.0.1"));
  CHECK(contains(node.out, "  max: 10, // default: 10\n"));
  // A fleet service's name is its application_name.
  CHECK(contains(node.out, "  application_name: \"notifier\", // default: none\n"));

  const Result json = run_poolcalc({ "config", "--for", "pgx", "--fleet", k_example, "--service", "chat-api", "--format", "json" });
  CHECK(json.exit_code == 0);
  CHECK(contains(json.out, "\"target\": \"pgx\""));
  CHECK(contains(json.out, "config.MaxConns = 30"));
}

TEST_CASE("config --fleet: postgresql.conf for the fleet")
{
  // PgBouncer's 40 + 20 server connections + the counted reserve 40 (replication has its own
  // slots on 15) = 100, the example's max_connections; its version 15 is the default here.
  const Result r = run_poolcalc({ "config", "--for", "postgresql-conf", "--fleet", k_example });
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "# PostgreSQL 15."));
  CHECK(contains(r.out, "# 60 + 40 = 100 needed.\nmax_connections = 100  # default: 100; your 100: exactly what the plan needs\n"));
  const Result v16 = run_poolcalc({ "config", "--for", "postgresql-conf", "--fleet", k_example, "--server-version", "16" });
  CHECK(contains(v16.out, "\nreserved_connections = 10  # default: 0;"));
}

TEST_CASE("config --fleet: exit 3 still prints the file and names the failure on stderr")
{
  // The seed's scaling-table trap (docs/fleet.md): 53 concurrent queries on 50 server connections.
  const Result r = run_poolcalc({ "config", "--for", "pgbouncer", "--fleet", k_trap });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "pool_size=41 min_pool_size=8 reserve_pool=9 max_db_connections=50\n")); // round(0.2 x 41) = 8
  CHECK(r.err.starts_with("poolcalc: fail: fleet.capacity_exceeds_server: chat_backend_db/chat: the peak of 52.605 concurrent queries "
                          "(chat-api) needs 53 server connections at once"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("config --fleet: bad input")
{
  check_usage_error({ "config", "--for", "prisma", "--fleet", k_example },
                    "--service: `poolcalc config --for prisma --fleet FILE` configures one service of the fleet; expected one of "
                    "chat-api, notifier");
  check_usage_error({ "config", "--for", "prisma", "--fleet", k_example, "--service", "web" },
                    "--service: no service 'web' in " + k_example + "; expected one of chat-api, notifier");
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", k_example, "--service", "chat-api" },
                    "--service: --for pgbouncer configures the whole fleet; drop --service");
  check_usage_error({ "config", "--for", "postgresql-conf", "--fleet", k_example, "--service", "chat-api" },
                    "--service: --for postgresql-conf configures the whole fleet; drop --service");
  check_usage_error({ "config", "--for", "prisma", "--service", "chat-api", "--vus", "120", "--query-ms", "150" },
                    "--service: only with --fleet FILE (the service of a fleet file to configure)");
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", k_example, "--vus", "120" },
                    "--vus: `poolcalc config --fleet FILE` takes the workloads from the fleet file; drop --vus");
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", "/nonexistent/fleet.toml" },
                    "--fleet: cannot read '/nonexistent/fleet.toml': no such file");
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", k_example, "--format", "markdown" },
                    "--format: `poolcalc config` prints text or json, got 'markdown'");

  const std::string dir = "/tmp/poolcalc-config-fleet-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  // One service, one instance, no URL: 10 x 0.7 x 0.01 s = 0.07 -> 1 x 3 + 10 = 13 -> 20 of the
  // 60 available (100 - the rules' reserve 50 + its replication 10, own slots on 15): no trigger.
  std::ofstream(dir + "/small.toml")
    << "[database]\nmax_connections = 100\nversion = 15\n[[service]]\nname = \"a\"\ndatabase = \"chat\"\nuser = \"x\"\nvus = 10\n"
       "query_ms = 10\n";
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", dir + "/small.toml" },
                    "--fleet: " + dir +
                      "/small.toml: the fleet does not use PgBouncer: its 20 connections fit the 60 available and no PgBouncer trigger "
                      "applies");
  std::ofstream(dir + "/broken.toml") << "[database]\nmax_connections = 100\n";
  check_usage_error({ "config", "--for", "pgbouncer", "--fleet", dir + "/broken.toml" },
                    dir + "/broken.toml:1:1: database.version: missing key");
  // A password in the fleet's URL is masked in errors.
  std::ofstream(dir + "/secret.toml") << "[database]\nmax_connections = 100\nversion = 15\nurl = \"postgresql://a:S3CRET@h:0/db\"\n";
  const Result secret = run_poolcalc({ "config", "--for", "pgbouncer", "--fleet", dir + "/secret.toml" });
  CHECK(secret.exit_code == 2);
  CHECK_FALSE(contains(secret.err, "S3CRET"));
  std::filesystem::remove_all(dir);
}

// `poolcalc pgbouncer` end to end: the ini and the userlist note for the seed's workload, the
// same from a scenario file, exit 3 with the failing finding on stderr, and each bad input.
// (That PgBouncer itself loads the file: tests/integration/test_pgbouncer.cpp.)

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;

namespace {

// The seed's example DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

} // namespace

TEST_CASE("pgbouncer: the seed's example, sized from the plan")
{
  // 120 VUs x 0.7 x 0.150 s = 12.6 -> 13 x 3 + 10 = 49 -> 50 (seed); max_connections 200 leaves
  // room for 50 + the 10 reserve (200 - 50 reserved = 150 available).
  const std::vector<std::string> args = { "pgbouncer",         "--vus", "120", "--query-ms", "150", "--transaction-pooling",
                                          "--max-connections", "200" };
  const Result r = run_poolcalc(args, { { "DATABASE_URL", k_seed_url } });
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "\n[databases]\n"));
  CHECK(contains(r.out, "\nchat_backend_db = host=localhost port=5432 dbname=chat_backend_db\n"));
  CHECK(contains(r.out, "\n[pgbouncer]\n"));
  for (const char* line : { "listen_port = 6432",
                            "listen_addr = 127.0.0.1",
                            "auth_type = md5",
                            "auth_file = /etc/pgbouncer/userlist.txt",
                            "pool_mode = transaction",
                            "max_client_conn = 1000",
                            "default_pool_size = 50",
                            "min_pool_size = 10",
                            "reserve_pool_size = 10",
                            "reserve_pool_timeout = 5" }) {
    CHECK_MESSAGE(contains(r.out, std::string("\n") + line + "\n"), line);
  }
  CHECK_FALSE(contains(r.out, "postgrespassword"));

  SUBCASE("--userlist: how to write the auth_file, never the password")
  {
    std::vector<std::string> with_note = args;
    with_note.push_back("--userlist");
    const Result note = run_poolcalc(with_note, { { "DATABASE_URL", k_seed_url } });
    CHECK(note.exit_code == 0);
    CHECK(contains(note.out, "FROM pg_authid WHERE rolname IN ('postgres') AND rolpassword IS NOT NULL ORDER BY rolname;\n"));
    CHECK(contains(note.out, "auth_query"));
    CHECK_FALSE(contains(note.out, "postgrespassword"));
    CHECK_FALSE(contains(note.out, "[pgbouncer]\n"));
  }
  SUBCASE("a scenario file gives the same file")
  {
    const std::string path = std::filesystem::temp_directory_path() / ("poolcalc-pgbouncer-" + std::to_string(getpid()) + ".toml");
    std::ofstream(path) << "vus = 120\nquery_ms = 150\ntransaction_pooling = true\nmax_connections = 200\ndatabase_url = \"" << k_seed_url
                        << "\"\n";
    const Result from_file = run_poolcalc({ "pgbouncer", "--config", path });
    std::filesystem::remove(path);
    CHECK(from_file.exit_code == 0);
    CHECK(from_file.out == r.out);
  }
}

TEST_CASE("pgbouncer: exit 3 with the failing finding on stderr, the file still printed")
{
  // 5000 VUs x 0.7 x 0.150 s = 525 concurrent queries, more than the 50 server connections the
  // default max_connections leaves (100 - 50 reserved); the objective needs more than the 525 the
  // load keeps busy, and max_connections 576 or more is past rules advisor.max_connections_max
  // (docs/model.md, "The advisor"): nothing works.
  const Result r = run_poolcalc({ "pgbouncer", "--vus", "5000", "--query-ms", "150", "--instances", "6" });
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "\ndefault_pool_size = 41\n")); // floor(50 / 1.2), the reserve 9 (docs/model.md)
  CHECK(r.err ==
        "poolcalc: fail: capacity.exceeds_server: the peak of 525 concurrent queries needs 525 server connections at once, "
        "more than PgBouncer's 50 (all of the 50 available): PgBouncer queues clients but cannot run more queries at once than "
        "it has server connections; raise max_connections, shorten queries or add capacity\n"
        "poolcalc: fail: advisor.no_option: no option fits and meets p99_wait<100ms; closest: the rule of thumb through "
        "PgBouncer: 50 server connections (41 connections for a load that keeps 525 busy; meeting it takes a server pool of 526)\n");
}

TEST_CASE("pgbouncer: a plan that fits without PgBouncer still gets its file")
{
  // 120 VUs x 150 ms on one instance trips no trigger (the seed's plan: a pool of 50, direct).
  const Result r = run_poolcalc({ "pgbouncer", "--vus", "120", "--query-ms", "150" });
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.starts_with("; the plan fits without PgBouncer: 1 instance x pool 50 = 50 connections to PostgreSQL directly, and no "
                          "PgBouncer trigger applies: 1 instance (at most 5), 50 connections in total (at most 200), 1 service, database "
                          "location not given\n; this file is written because it was asked for: PgBouncer still helps when"));
  CHECK(contains(r.out, "\n[pgbouncer]\n"));
  // The whole load's 13 x 3 + 10 = 49 -> 50, cut to the budget of min(50 available, 70 % of 100):
  // floor(50 / 1.2) = 41 + 9 (docs/rules.md).
  CHECK(contains(r.out, "\ndefault_pool_size = 41\n"));
  CHECK(contains(r.out, "\nreserve_pool_size = 9\n"));
  CHECK(contains(r.out, "\nignore_startup_parameters = extra_float_digits\n"));
  // --userlist and `config --for pgbouncer` (text and JSON) as well.
  const Result note = run_poolcalc({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--userlist" });
  CHECK(note.exit_code == 0);
  CHECK(contains(note.out, "FROM pg_authid"));
  const Result config = run_poolcalc({ "config", "--for", "pgbouncer", "--vus", "120", "--query-ms", "150" });
  CHECK(config.exit_code == 0);
  CHECK(config.out.starts_with(r.out));
  const Result json = run_poolcalc({ "config", "--for", "pgbouncer", "--vus", "120", "--query-ms", "150", "--format", "json" });
  CHECK(json.exit_code == 0);
  CHECK(contains(json.out, "; the plan fits without PgBouncer"));
}

TEST_CASE("pgbouncer: topology, PgBouncer's address and the open files")
{
  const std::string url = "postgresql://app:S3CRET@db.internal:5432/chat";
  const std::vector<std::string> load = { "--vus", "400", "--query-ms", "80", "--instances", "6", "--database-url", url };
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), load.begin(), load.end());
    return args;
  };
  SUBCASE("shared, host not given: the file and env say what to fill in")
  {
    const Result r = run_poolcalc(with({ "pgbouncer" }));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out,
                   "; topology: shared, one PgBouncer for the application's 6 instances, its host not given (poolcalc "
                   "--pgbouncer-host HOST[:PORT] points the application there); listen_addr below is the rules' 127.0.0.1"));
    // 400 x 0.7 x 0.080 = 22.4 -> 23 x 3 + 10 = 79 -> 80 for the whole load, cut to floor(50 / 1.2) = 41 + 9.
    CHECK(contains(r.out, "\ndefault_pool_size = 41\n"));
    CHECK(contains(r.out, "\nmax_db_connections = 50\n"));
    CHECK(contains(r.out, "\nstats_users = app\n"));
    CHECK(contains(r.out, "\n; admin_users = app: left to you"));
    // PgBouncer 1.18's own count (docs/pgbouncer.md, "Open files"): 1000 + 12 + 41 x 2 users = 1094.
    CHECK(contains(r.out, "PgBouncer expects to need 1094 open files"));
    CHECK(contains(r.out, "set LimitNOFILE=1094 in its systemd unit (systemctl edit pgbouncer) or run ulimit -n 1094"));
    CHECK_FALSE(contains(r.out, "S3CRET"));
    // Any client's URL has no pool parameters (docs/clients.md, "env"); Prisma 6's has them.
    const Result env = run_poolcalc(with({ "env" }));
    CHECK(contains(env.out, "DATABASE_URL=\"postgresql://app:S3CRET@db.internal:5432/chat\"\n"));
    const Result prisma6 = run_poolcalc(with({ "env", "--for", "prisma", "--prisma-version", "6" }));
    CHECK(contains(prisma6.out, "DATABASE_URL=\"postgresql://app:S3CRET@db.internal:5432/chat?connection_limit=30"));
  }
  SUBCASE("shared at the host given: env points there")
  {
    const Result r = run_poolcalc(with({ "pgbouncer", "--pgbouncer-host", "pgb.internal:6543" }));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out,
                   "; topology: shared, one PgBouncer for the application's 6 instances, reached at pgb.internal:6543 "
                   "(--pgbouncer-host); listen_addr below is the rules' 127.0.0.1"));
    CHECK(contains(r.out, "\nlisten_port = 6543\n"));
    const Result env = run_poolcalc(with({ "env", "--pgbouncer-host", "pgb.internal:6543" }));
    CHECK(contains(env.out, "# Through PgBouncer at pgb.internal:6543, --pgbouncer-host.\n"));
    CHECK(contains(env.out, "DATABASE_URL=\"postgresql://app:S3CRET@pgb.internal:6543/chat\"\n"));
    const Result prisma6 =
      run_poolcalc(with({ "env", "--pgbouncer-host", "pgb.internal:6543", "--for", "prisma", "--prisma-version", "6" }));
    CHECK(contains(prisma6.out, "DATABASE_URL=\"postgresql://app:S3CRET@pgb.internal:6543/chat?pgbouncer=true&connection_limit=30"));
    CHECK(contains(env.out, "DIRECT_URL=\"postgresql://app:S3CRET@db.internal:5432/chat\""));
  }
  SUBCASE("sidecar: each PgBouncer gets its share of the server budget")
  {
    const Result r = run_poolcalc(with({ "pgbouncer", "--topology", "sidecar" }));
    CHECK(r.exit_code == 0);
    // One instance's pool: ceil(22.4 / 6) = 4 x 3 + 10 = 22 -> 30, reserve 6; its share of the
    // budget of 50 is floor(50 / 6) = 8: floor(8 / 1.2) = 6 + 2, 6 x 8 = 48 in all; one shared
    // PgBouncer: 41 + 9 = 50 (above).
    CHECK(contains(r.out, "\ndefault_pool_size = 6\n"));
    CHECK(contains(r.out, "\nreserve_pool_size = 2\n"));
    CHECK(contains(r.out, "\nmax_db_connections = 8\n"));
    CHECK(contains(r.out, "\nlisten_addr = 127.0.0.1\n"));
    CHECK(contains(r.out, "; PostgreSQL sees at most 48 connections from the 6 sidecars (8 each)"));
    CHECK(contains(r.out, "48 server connections in all, where one shared PgBouncer would open 50 for the same load"));
    const Result env = run_poolcalc(with({ "env", "--topology", "sidecar" }));
    CHECK(contains(env.out, "# Through PgBouncer at 127.0.0.1:6432, the sidecar beside each instance.\n"));
    CHECK(contains(env.out, "DATABASE_URL=\"postgresql://app:S3CRET@127.0.0.1:6432/chat\"\n"));
    const Result prisma6 = run_poolcalc(with({ "env", "--topology", "sidecar", "--for", "prisma", "--prisma-version", "6" }));
    CHECK(contains(prisma6.out, "DATABASE_URL=\"postgresql://app:S3CRET@127.0.0.1:6432/chat?pgbouncer=true&connection_limit=30"));
    const Result plan = run_poolcalc(with({ "--topology", "sidecar" }));
    CHECK(contains(plan.out,
                   "server connections         48  6 sidecar PgBouncers x (default_pool_size 6 + reserve_pool_size 2); one "
                   "shared: 50"));
    CHECK(contains(plan.out, "pgbouncer topology               sidecar  one beside each instance, at 127.0.0.1:6432\n"));
    CHECK(contains(plan.out,
                   "would exceed each sidecar's share of the 50 available (max_connections 100 - reserved 50), floor(50 / 6 "
                   "instances) = 8; reduced to 6 + 2\n"));
    const Result explain = run_poolcalc(with({ "--topology", "sidecar", "--explain" }));
    CHECK(contains(explain.out, "through PgBouncer, the server sees 6 sidecars x (default_pool_size 6 + reserve_pool_size 2) = 48\n"));
    CHECK(contains(explain.out, "server connections = 6 sidecars x 8 = 48 (one shared PgBouncer: 50)\n"));
  }
}

TEST_CASE("pgbouncer: bad input")
{
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--topology", "mesh" },
                    "--topology: 'mesh' is not a topology; expected shared (one PgBouncer for every instance) or sidecar (one beside each "
                    "instance)");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--topology", "sidecar", "--pgbouncer-host", "pgb" },
                    "--pgbouncer-host: a sidecar PgBouncer is reached on 127.0.0.1 beside each instance; drop --pgbouncer-host or use "
                    "--topology shared");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--pgbouncer-host", "pgb:99999" },
                    "--pgbouncer-host: the port: expected a whole number from 1 to 65535");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--pgbouncer-host", "a b" },
                    "--pgbouncer-host: the host 'a b' cannot be written into a URL or pgbouncer.ini: expected a host name or IP address "
                    "(letters, digits, '.', '-', '_'), optionally :PORT");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--pgbouncer-host", "::1" },
                    "--pgbouncer-host: expected HOST or HOST:PORT, an IPv6 address in brackets: [::1]:6432");
  // An opening bracket without its close: the same message, from the bracketed branch.
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--pgbouncer-host", "[::1" },
                    "--pgbouncer-host: expected HOST or HOST:PORT, an IPv6 address in brackets: [::1]:6432");
  // The same keys in a scenario file are named by their position there.
  const std::string dir = "/tmp/poolcalc-pgbouncer-keys-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/topology.toml") << "vus = 120\nquery_ms = 150\ntopology = \"mesh\"\n";
  std::ofstream(dir + "/host.toml") << "vus = 120\nquery_ms = 150\npgbouncer_host = \"pgb:0\"\n";
  check_usage_error({ "pgbouncer", "--config", dir + "/topology.toml" },
                    dir + "/topology.toml:3:12: topology: 'mesh' is not a topology; expected shared (one PgBouncer for every instance) or "
                          "sidecar (one beside each instance)");
  check_usage_error({ "pgbouncer", "--config", dir + "/host.toml" },
                    dir + "/host.toml:3:18: pgbouncer_host: the port: expected a whole number from 1 to 65535");
  std::filesystem::remove_all(dir);
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--format", "json" },
                    "--format: `poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop --format");
  check_usage_error({ "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--explain" },
                    "--explain: `poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop --explain");
  check_usage_error({ "--vus", "120", "--query-ms", "150", "--userlist" },
                    "The following argument was not expected: --userlist (see poolcalc --help)");
  // The URL's origin is named, its password never shown.
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6" },
    "DATABASE_URL: the database name 'my db' cannot be written into pgbouncer.ini: expected letters, digits, '_', '.' or '-'",
    { { "DATABASE_URL", "postgresql://app:S3CRET@h/my%20db" } });
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--database-url", "postgresql://app:S3CRET@h/db?host=a%20b" },
    "--database-url: the host 'a b' cannot be written into pgbouncer.ini: expected one host name, IP address or socket directory");
  check_usage_error(
    { "pgbouncer", "--vus", "120", "--query-ms", "150", "--instances", "6", "--database-url", "postgresql://app@h/db?port=5432x" },
    "--database-url: the port '5432x' cannot be written into pgbouncer.ini: expected a whole number from 1 to 65535");
}

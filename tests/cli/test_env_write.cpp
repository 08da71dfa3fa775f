// `poolcalc env --write PATH [--dry-run]` against the real binary, in temporary directories:
// what is written, the backups, what a dry run leaves alone (bytes and mtime), every refusal
// (the original byte for byte, no temporary file left), symbolic links, and passwords.

#include "checks.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::read_file;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;
using poolcalc::test::TempDir;
using poolcalc::test::write_file;

namespace fs = std::filesystem;

namespace {

// The seed's workload ("Mathematical Analysis"): 120 VUs at 150 ms give a pool of 50, and its
// .env block sets pool_timeout 30 and connect_timeout 10.
const std::vector<std::string> k_seed_load = { "--vus", "120", "--query-ms", "150" };

// A hand-edited file: comments, blank lines, export, quotes, an unknown key, a duplicate, CRLF.
const std::string k_messy = "# staging\r\n"
                            "\r\n"
                            "export NODE_ENV=staging  # for shells\r\n"
                            "DATABASE_URL='postgresql://shop:s3cret@localhost:5432/shop?sslmode=require'\r\n"
                            "DATABASE_POOL_SIZE=5\r\n"
                            "  DATABASE_POOL_TIMEOUT = \"20\"  # seconds\r\n"
                            "DATABASE_POOL_SIZE=8\r\n"
                            "TLS=\"multi\r\nline\"";

// What poolcalc makes of k_messy with the seed's load: the URL is one every client reads, so it
// stays as it was (no client's own parameter is added: docs/clients.md, "poolcalc env --for
// CLIENT"); the last DATABASE_POOL_SIZE is set; DATABASE_CONNECTION_TIMEOUT is appended after a
// CRLF (the file had no final line ending), with CRLF.
const std::string k_messy_written = "# staging\r\n"
                                    "\r\n"
                                    "export NODE_ENV=staging  # for shells\r\n"
                                    "DATABASE_URL='postgresql://shop:s3cret@localhost:5432/shop?sslmode=require'\r\n"
                                    "DATABASE_POOL_SIZE=5\r\n"
                                    "  DATABASE_POOL_TIMEOUT = \"30\"  # seconds\r\n"
                                    "DATABASE_POOL_SIZE=50\r\n"
                                    "TLS=\"multi\r\nline\"\r\n"
                                    "DATABASE_CONNECTION_TIMEOUT=10\r\n";

struct Stamp
{
  long long seconds = 0;
  long long nanoseconds = 0;
  unsigned mode = 0;
  bool operator==(const Stamp&) const = default;
};

Stamp stamp(const std::string& path)
{
  struct stat st
  {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return { static_cast<long long>(st.st_mtim.tv_sec),
           static_cast<long long>(st.st_mtim.tv_nsec),
           static_cast<unsigned>(st.st_mode & 07777) };
}

std::vector<std::string> args(std::vector<std::string> head, const std::vector<std::string>& tail = k_seed_load)
{
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// The table row of `key` in `out`, blanks collapsed: "DATABASE_POOL_SIZE 7 changed 8 50".
std::string row(const std::string& out, const std::string& key)
{
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(key + " ")) {
      std::istringstream words(line);
      std::string collapsed;
      for (std::string word; words >> word;) {
        collapsed += (collapsed.empty() ? "" : " ") + word;
      }
      return collapsed;
    }
  }
  return "";
}

// A refusal: the exit code, one exact error line, nothing on stdout, the file and the directory
// as they were.
void check_refused(const TempDir& dir, const std::vector<std::string>& command, int code, const std::string& message)
{
  const std::set<std::string> before = dir.names();
  const Result r = run_poolcalc(command);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  CHECK(r.err == "poolcalc: error: " + message + "\n");
  CHECK(dir.names() == before);
}

} // namespace

TEST_CASE("env --write: only the managed values change, a backup keeps the original")
{
  TempDir dir;
  const std::string env = dir / ".env";
  write_file(env, k_messy);
  REQUIRE(::chmod(env.c_str(), 0640) == 0);
  const Result r = run_poolcalc(args({ "env", "--write", env }));
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(read_file(env) == k_messy_written);
  CHECK(read_file(env + ".bak") == k_messy);
  CHECK(stamp(env).mode == 0640); // the original's permission bits, set above
  CHECK(dir.names() == std::set<std::string>{ ".env", ".env.bak" });
  CHECK(contains(r.out, "updated " + env + " (backup: " + env + ".bak)\n"));
  // Lines 5 and 7 of k_messy set the pool; the seed's values 50, 10 and 30.
  CHECK(row(r.out, "DATABASE_POOL_SIZE") == "DATABASE_POOL_SIZE 7 changed 8 50");
  CHECK(row(r.out, "DATABASE_CONNECTION_TIMEOUT") == "DATABASE_CONNECTION_TIMEOUT - added (not set) 10");
  CHECK(row(r.out, "DATABASE_POOL_TIMEOUT") == "DATABASE_POOL_TIMEOUT 6 changed 20 30");
  CHECK(contains(
    r.out, "note: DATABASE_POOL_SIZE is set on lines 5 and 7; dotenv loaders read the last one, so poolcalc reads and sets that one\n"));

  SUBCASE("--for prisma --prisma-version 6: Prisma's parameters in the URL, its single quotes kept")
  {
    // Prisma 6 reads the pool from the URL: the seed's connection_limit=50, pool_timeout=30,
    // connect_timeout=10; the rest of the file as above.
    const Result prisma = run_poolcalc(args({ "env", "--write", env, "--for", "prisma", "--prisma-version", "6" }));
    CHECK(prisma.exit_code == 0);
    std::string expected = k_messy_written;
    const std::string plain = "shop?sslmode=require'";
    expected.replace(expected.find(plain), plain.size(), "shop?sslmode=require&connection_limit=50&pool_timeout=30&connect_timeout=10'");
    CHECK(read_file(env) == expected);
    CHECK(read_file(env + ".bak.1") == k_messy_written);
    // Back to any client: Prisma's own parameters go again; connect_timeout is libpq's, which every
    // client reads, so it stays. Every other line as it was.
    const Result any = run_poolcalc(args({ "env", "--write", env }));
    CHECK(any.exit_code == 0);
    std::string back = k_messy_written;
    back.replace(back.find(plain), plain.size(), "shop?sslmode=require&connect_timeout=10'");
    CHECK(read_file(env) == back);
  }

  SUBCASE("a second write keeps the first backup and adds another")
  {
    // 240 VUs: twice the seed's load, so a different pool (the value itself is not asserted here).
    const Result again = run_poolcalc({ "env", "--write", env, "--vus", "240", "--query-ms", "150", "--max-connections", "400" });
    INFO("stderr: " << again.err);
    CHECK(again.exit_code == 0);
    CHECK(read_file(env + ".bak") == k_messy);
    CHECK(read_file(env + ".bak.1") == k_messy_written);
    CHECK(contains(again.out, "(backup: " + env + ".bak.1)"));
    CHECK(dir.names() == std::set<std::string>{ ".env", ".env.bak", ".env.bak.1" });
  }
  SUBCASE("the same values again: nothing rewritten, no backup")
  {
    const Stamp before = stamp(env);
    const Result again = run_poolcalc(args({ "env", "--write", env }));
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, env + " already has the recommended values: not rewritten\n"));
    CHECK(stamp(env) == before);
    CHECK(dir.names() == std::set<std::string>{ ".env", ".env.bak" });
  }
}

TEST_CASE("env --write --dry-run: current against recommended, nothing written")
{
  TempDir dir;
  const std::string env = dir / ".env";
  write_file(env, k_messy);
  const Stamp before = stamp(env);
  // Sleep past the file system's timestamp granularity so that a rewrite would show in the mtime.
  ::usleep(20000);
  const Result r = run_poolcalc(args({ "env", "--write", env, "--dry-run" }));
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(read_file(env) == k_messy);
  CHECK(stamp(env) == before);
  CHECK(dir.names() == std::set<std::string>{ ".env" });
  CHECK(row(r.out, "DATABASE_POOL_TIMEOUT") == "DATABASE_POOL_TIMEOUT 6 change 20 30");

  SUBCASE("the whole table")
  {
    const std::string small = dir / "small.env";
    write_file(small, "DATABASE_POOL_SIZE=5\n# keep\nDATABASE_POOL_TIMEOUT=30\n");
    const Result table = run_poolcalc(args({ "env", "--write", small, "--dry-run" }));
    // The seed's pool of 50, connect_timeout 10 and pool_timeout 30; lines 1 and 3 of the file.
    CHECK(table.out == "poolcalc: 120 VUs, 150 ms per query -> pool of 50 per instance (direct to PostgreSQL)\n"
                       "dry run: " +
                         small +
                         " is not changed\n"
                         "\n"
                         "key                          line  action  current    recommended\n"
                         "DATABASE_POOL_SIZE              1  change  5          50\n"
                         "DATABASE_CONNECTION_TIMEOUT     -  add     (not set)  10\n"
                         "DATABASE_POOL_TIMEOUT           3  keep    30         30\n");
  }
}

TEST_CASE("env --write: the base URL is --database-url, else the file's, else $DATABASE_URL")
{
  TempDir dir;
  const std::string env = dir / ".env";
  write_file(env, "DATABASE_URL=postgresql://file@localhost/filedb\n");
  const std::map<std::string, std::string> environment = { { "DATABASE_URL", "postgresql://environment@localhost/envdb" } };

  Result r = poolcalc::test::run_poolcalc(args({ "env", "--write", env, "--dry-run" }), environment);
  CHECK(contains(r.out, "postgresql://file@localhost/filedb"));
  CHECK_FALSE(contains(r.out, "connection_limit"));
  CHECK_FALSE(contains(r.out, "envdb"));

  r = poolcalc::test::run_poolcalc(args({ "env", "--write", env, "--dry-run", "--database-url", "postgresql://flag@localhost/flagdb" }),
                                   environment);
  CHECK(contains(r.out, "postgresql://flag@localhost/flagdb"));

  write_file(env, "# no URL yet\n");
  r = poolcalc::test::run_poolcalc(args({ "env", "--write", env }), environment);
  CHECK(r.exit_code == 0);
  CHECK(read_file(env) == "# no URL yet\n"
                          "DATABASE_URL=postgresql://environment@localhost/envdb\n"
                          "DATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");

  SUBCASE("an invalid URL in the file is named by its line")
  {
    write_file(env, "\nDATABASE_URL=mysql://x@y/z\n");
    r = poolcalc::test::run_poolcalc(args({ "env", "--write", env }));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("poolcalc: error: " + env + ":2: DATABASE_URL: "));
    CHECK(read_file(env) == "\nDATABASE_URL=mysql://x@y/z\n");
  }
}

TEST_CASE("env --write: a missing file in an existing directory is created")
{
  TempDir dir;
  const std::string env = dir / "new.env";
  const Result r = run_poolcalc(args({ "env", "--write", env }));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "created " + env + " (it did not exist)\n"));
  CHECK(read_file(env) == "DATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");
  CHECK(dir.names() == std::set<std::string>{ "new.env" });
  // A new .env will hold a database password: its owner's only, whatever the umask.
  CHECK((fs::status(env).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("env --write: a path with terminal controls is shown escaped")
{
  TempDir dir;
  const std::string env = dir / "w\x1b[31mred.env";
  const Result r = run_poolcalc(args({ "env", "--write", env }));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "created " + (dir / "w\\e[31mred.env") + " (it did not exist)\n"));
  CHECK_FALSE(contains(r.out, "\x1b"));
}

TEST_CASE("env --write --dry-run: a quote inside a password does not unmask it")
{
  TempDir dir;
  const std::string env = dir / "quote.env";
  write_file(env, "DATABASE_URL=\"postgresql://u:pa'ss@localhost/db?password=p'q\"\n");
  const Result r = run_poolcalc(args({ "env", "--write", env, "--dry-run" }));
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.out, "pa'ss"));
  CHECK_FALSE(contains(r.out, "p'q"));
  CHECK(contains(r.out, "postgresql://u:****@localhost/db?password=****"));
}

TEST_CASE("env --write: a symbolic link: the file it points to is updated, the link stays")
{
  TempDir dir;
  fs::create_directory(dir.path() / "config");
  const std::string real = dir / "config/prod.env";
  const std::string link = dir / ".env";
  write_file(real, "DATABASE_POOL_SIZE=5\n");
  fs::create_symlink("config/prod.env", link);
  const Result r = run_poolcalc(args({ "env", "--write", link }));
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == "config/prod.env");
  CHECK(read_file(real) == "DATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");
  CHECK(read_file(real + ".bak") == "DATABASE_POOL_SIZE=5\n");
  CHECK(contains(r.out, "(backup: " + fs::canonical(real).string() + ".bak)"));

  SUBCASE("a link to nothing is refused")
  {
    fs::create_symlink("nowhere.env", dir.path() / "dangling.env");
    check_refused(dir,
                  args({ "env", "--write", dir / "dangling.env" }),
                  1,
                  "--write: '" + (dir / "dangling.env") + "' is a symbolic link to a missing file");
  }
  SUBCASE("a loop of links is named as one, not as a missing file")
  {
    // a.env -> b.env -> a.env: following it fails with ELOOP, never with ENOENT.
    fs::create_symlink("b.env", dir.path() / "a.env");
    fs::create_symlink("a.env", dir.path() / "b.env");
    check_refused(dir,
                  args({ "env", "--write", dir / "a.env" }),
                  1,
                  "--write: '" + (dir / "a.env") + "': a loop of symbolic links (Too many levels of symbolic links)");
  }
}

TEST_CASE("env --write: refusals leave the file byte for byte and nothing behind")
{
  TempDir dir;
  const std::string env = dir / ".env";
  SUBCASE("not .env syntax")
  {
    const std::string text = "A=1\nB=\"open\n";
    write_file(env, text);
    check_refused(
      dir, args({ "env", "--write", env }), 2, env + ":2: the double-quoted value of B is not closed (no \" before the end of the file)");
    CHECK(read_file(env) == text);
  }
  SUBCASE("a read-only file (refused by its mode, whoever runs poolcalc)")
  {
    write_file(env, k_messy);
    REQUIRE(::chmod(env.c_str(), 0444) == 0);
    check_refused(dir,
                  args({ "env", "--write", env }),
                  1,
                  "--write: '" + env + "' is read-only (mode 0444): poolcalc does not change a read-only file");
    CHECK(read_file(env) == k_messy);
    // A dry run writes nothing, so a read-only file may be shown.
    CHECK(run_poolcalc(args({ "env", "--write", env, "--dry-run" })).exit_code == 0);
  }
  SUBCASE("a missing directory")
  {
    check_refused(dir,
                  args({ "env", "--write", dir / "missing/.env" }),
                  1,
                  "--write: cannot write '" + (dir / "missing/.env") + "': the directory '" + (dir / "missing") + "' does not exist");
  }
  SUBCASE("a directory")
  {
    fs::create_directory(dir.path() / "sub");
    check_refused(dir, args({ "env", "--write", dir / "sub" }), 1, "--write: '" + (dir / "sub") + "' is a directory, not a .env file");
  }
  SUBCASE("a NUL byte")
  {
    write_file(env, std::string("A=1\n\0\n", 6));
    check_refused(dir, args({ "env", "--write", env }), 2, env + ":2: a NUL byte: not a text file");
  }
  SUBCASE("larger than 1 MiB")
  {
    // 1 MiB is the limit poolcalc sets for every file it reads (--config, --rules and this).
    write_file(env, "# " + std::string(1 << 20, 'x') + "\n");
    check_refused(dir, args({ "env", "--write", env }), 2, "--write: '" + env + "' is larger than 1 MiB: not a .env file");
  }
  SUBCASE("a directory that cannot take the temporary file")
  {
    // Root may create files in a 0555 directory, so as root poolcalc runs as `nobody` here (the
    // file is nobody's, so writing it is allowed; the directory is not, so the temporary file fails).
    write_file(env, k_messy);
    std::vector<std::string> command = args({ "env", "--write", env });
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      REQUIRE(nobody != nullptr);
      REQUIRE(::chown(env.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
      command.insert(command.begin(), { "/usr/sbin/runuser", "-u", "nobody", "--", POOLCALC_BINARY });
    } else {
      command.insert(command.begin(), POOLCALC_BINARY);
    }
    REQUIRE(::chmod(dir.path().c_str(), 0555) == 0);
    const Result r = poolcalc::test::run_process(command);
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("poolcalc: error: --write: cannot create a temporary file in '" + dir.path().string() + "': "));
    CHECK(read_file(env) == k_messy);
    CHECK(dir.names() == std::set<std::string>{ ".env" }); // no temporary file left
  }
  SUBCASE("a file this user may not write, in a directory that would let it be replaced")
  {
    // poolcalc runs as `nobody` on a file root owns (0644) in a 0777 directory, where a rename
    // would replace (and give away) the file. Setting that up takes root: CI runs as root.
    if (::geteuid() == 0) {
      write_file(env, k_messy);
      REQUIRE(::chmod(env.c_str(), 0644) == 0);
      REQUIRE(::chmod(dir.path().c_str(), 0777) == 0);
      const Result r = poolcalc::test::run_process(
        { "/usr/sbin/runuser", "-u", "nobody", "--", POOLCALC_BINARY, "env", "--write", env, "--vus", "120", "--query-ms", "150" });
      CHECK(r.exit_code == 1);
      CHECK(r.out.empty());
      CHECK(r.err == "poolcalc: error: --write: '" + env + "': Permission denied: poolcalc does not replace a file it may not write\n");
      CHECK(read_file(env) == k_messy);
      CHECK(dir.names() == std::set<std::string>{ ".env" });
    }
  }
}

TEST_CASE("env --write: a plan that breaks a hard limit is not written")
{
  TempDir dir;
  const std::string env = dir / ".env";
  write_file(env, k_messy);
  // 10000 VUs at 150 ms: a pool far above the 50 connections available with the default rules.
  const Result r = run_poolcalc(args({ "env", "--write", env }, { "--vus", "10000", "--query-ms", "150" }));
  CHECK(r.exit_code == 3);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "poolcalc: fail: "));
  CHECK(contains(r.err, "poolcalc: " + env + " not written: the plan breaks a hard limit\n"));
  CHECK(read_file(env) == k_messy);
  CHECK(dir.names() == std::set<std::string>{ ".env" });

  SUBCASE("a dry run still shows the table, and exits 3 as well")
  {
    const Result dry = run_poolcalc(args({ "env", "--write", env, "--dry-run" }, { "--vus", "10000", "--query-ms", "150" }));
    CHECK(dry.exit_code == 3);
    CHECK(contains(dry.out, "dry run: " + env + " is not changed\n"));
    CHECK(contains(dry.err, "poolcalc: fail: "));
    CHECK(read_file(env) == k_messy);
  }
}

TEST_CASE("env --write: the password is only in the file")
{
  TempDir dir;
  const std::string env = dir / ".env";
  write_file(env, k_messy);
  for (const auto& extra : std::vector<std::vector<std::string>>{ { "--dry-run" }, {}, { "--vus", "10000" } }) {
    std::vector<std::string> command = args({ "env", "--write", env });
    command.insert(command.end(), extra.begin(), extra.end());
    const Result r = run_poolcalc(command);
    CHECK_FALSE(contains(r.out, "s3cret"));
    CHECK_FALSE(contains(r.err, "s3cret"));
  }
  CHECK(contains(read_file(env), "postgresql://shop:s3cret@localhost:5432/shop"));
  const Result shown = run_poolcalc(args({ "env", "--write", env, "--dry-run" }));
  CHECK(contains(shown.out, "postgresql://shop:****@localhost:5432/shop"));
}

TEST_CASE("env --write: flags it does not go with")
{
  TempDir dir;
  const std::string env = dir / ".env";
  check_refused(dir, args({ "env", "--dry-run" }), 2, "--dry-run: only with --write PATH (poolcalc env --write PATH --dry-run ...)");
  check_refused(dir, args({ "--write", env }), 2, "--write: only `poolcalc env` writes a file (poolcalc env --write PATH ...)");
  check_refused(dir, args({ "report", "--write", env }), 2, "--write: only `poolcalc env` writes a file (poolcalc env --write PATH ...)");
  check_refused(dir, args({ "env", "--write", env, "--format", "json" }), 2, "--format: `poolcalc env` always prints env; drop --format");
  check_refused(dir, args({ "env", "--write", "" }), 2, "--write: expected the path of a .env file, got ''");
}

TEST_CASE("env --write: the file's host and port stay, and through PgBouncer the notes say what is left to do")
{
  // The seed's load, 120 VUs at 150 ms: a pool of 50. A host that is not loopback counts as a remote
  // database, one of the PgBouncer triggers (rules pgbouncer.triggers.remote_database).
  TempDir dir;
  const std::string env = dir / ".env";
  const std::string params = "connection_limit=50&pool_timeout=30&connect_timeout=10";
  const std::string server_note =
    "poolcalc: note: DATABASE_URL still points at the database server (db.internal:5432), as given: once PgBouncer runs (poolcalc "
    "pgbouncer writes its pgbouncer.ini), point DATABASE_URL at PgBouncer's host and port (listen_port 6432 in that file) and, for "
    "Prisma with PgBouncer older than 1.21.0, add pgbouncer=true\n";

  SUBCASE("the server's URL: its address kept, no pgbouncer=true, DIRECT_URL the server, a note")
  {
    write_file(env, "DATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n");
    const Result r = run_poolcalc(args({ "env", "--write", env }));
    CHECK(r.exit_code == 0);
    CHECK(r.err == server_note);
    CHECK(contains(r.out, "(through PgBouncer)\n"));
    CHECK(read_file(env) == "DATABASE_URL=\"postgresql://app:pw@db.internal:5432/chat\"\n"
                            "DIRECT_URL=postgresql://app:pw@db.internal:5432/chat\n"
                            "DATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");
    // A second run starts from DIRECT_URL and finds nothing to change.
    const Result again = run_poolcalc(args({ "env", "--write", env }));
    CHECK(contains(again.out, env + " already has the recommended values: not rewritten\n"));
    CHECK(again.err == server_note);
  }
  SUBCASE("PgBouncer's URL (port 6432): its address kept, pgbouncer=true, no DIRECT_URL invented")
  {
    write_file(env, "DATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat\"\n");
    const Result r = run_poolcalc(args({ "env", "--write", env }));
    CHECK(r.exit_code == 0);
    CHECK(r.err == "poolcalc: note: DATABASE_URL points at PgBouncer (pgbouncer.internal:6432), as given: DIRECT_URL, Prisma's direct "
                   "connection for migrations, must be the database server's own address, which poolcalc does not know and does not "
                   "write\n");
    CHECK(read_file(env) ==
          "DATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat\"\nDATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\n"
          "DATABASE_POOL_TIMEOUT=30\n");
    // For Prisma 6: pgbouncer=true (PgBouncer 1.18 < 1.21.0) and the pool parameters.
    const Result prisma = run_poolcalc(args({ "env", "--write", env, "--for", "prisma", "--prisma-version", "6" }));
    CHECK(prisma.exit_code == 0);
    CHECK(read_file(env) == "DATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&" + params +
                              "\"\nDATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");
  }
  SUBCASE("PgBouncer's URL beside the server's DIRECT_URL: each keeps its address")
  {
    const std::string text = "DIRECT_URL=postgresql://app:pw@db.internal:5432/chat\n"
                             "DATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat?pgbouncer=true&connection_limit=5\"\n";
    write_file(env, text);
    const Result r = run_poolcalc(args({ "env", "--write", env }));
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    // Prisma's pgbouncer=true and connection_limit go (psql refuses them); the port keeps it PgBouncer's.
    CHECK(read_file(env) == "DIRECT_URL=postgresql://app:pw@db.internal:5432/chat\n"
                            "DATABASE_URL=\"postgresql://app:pw@pgbouncer.internal:6432/chat\"\n"
                            "DATABASE_POOL_SIZE=50\nDATABASE_CONNECTION_TIMEOUT=10\nDATABASE_POOL_TIMEOUT=30\n");
    CHECK(read_file(env + ".bak") == text);
  }
}

#pragma once
// `poolcalc env --write PATH [--dry-run]`: updates the keys the .env snippet sets in an existing
// file, and nothing else (the parsing and the update are poolcalc_core's, include/poolcalc/
// dotenv.hpp; the file system is handled here). The write is atomic: a temporary file in the same
// directory with the original's permission bits, fsync, a backup that never overwrites an older
// one (PATH.bak, PATH.bak.1, ...), then rename over the original. On any error the original is
// left byte for byte and no temporary file remains.

#include "poolcalc/dotenv.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <sys/types.h>

#include <ctime>

#include <expected>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace CLI {
class App;
class Option;
} // namespace CLI

namespace poolcalc::cli {

struct EnvWriteOptions
{
  std::string path;
  bool dry_run = false;
};

// Adds --write PATH and --dry-run to `app` (group "Output"); returns the --write option.
CLI::Option* add_env_write_options(CLI::App& app, EnvWriteOptions& options);

struct EnvWriteError
{
  int code; // k_exit_runtime for the file system, k_exit_usage for the file's content
  std::string message;
};

// The .env file to update, read and parsed.
struct EnvTarget
{
  std::string path;           // as given
  std::filesystem::path file; // where the bytes are: `path`, or the file a symbolic link points to
  bool exists = false;        // false: a new file in an existing directory
  std::string original;       // the bytes read
  DotenvFile dotenv;
  mode_t mode = 0; // st_mode of the file (0 when it does not exist)
  uid_t uid = 0;
  gid_t gid = 0;
  // What the file was when read, to notice another writer before replacing it.
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{};
};

// Reads and parses PATH. Errors: a missing directory, a directory, not a regular file, unreadable
// (exit 1); larger than 1 MiB, a NUL byte, not .env syntax (exit 2).
std::expected<EnvTarget, EnvWriteError> read_env_target(const std::string& path);

// The database URL the file gives, as a scenario input named "PATH:LINE: KEY": its DIRECT_URL
// when set and not empty (the direct connection to PostgreSQL: Prisma's directUrl, and what
// poolcalc writes there when it routes DATABASE_URL through PgBouncer, so a second run reads
// the same base), else its DATABASE_URL. Without --database-url this is the URL poolcalc adds
// the pool parameters to, ahead of $DATABASE_URL and --config.
std::optional<RawValue> file_database_url(const EnvTarget& target);

// The file's DATABASE_URL when it points at PgBouncer (is_pgbouncer_url with `listen_port`) and
// the file's DIRECT_URL, set and not empty, is the base: PgBouncer's address as the user gave it,
// which DATABASE_URL keeps (Scenario::pgbouncer_url). None otherwise.
std::optional<DatabaseUrl> file_pgbouncer_url(const EnvTarget& target, std::int64_t listen_port);

// What the user has to do about the URLs themselves (sizing.hpp: pgbouncer_address_note,
// direct_url_note), one "poolcalc: note: ..." line on `err` each.
void report_url_notes(std::ostream& err, const Plan& plan);

// Prints Current vs Recommended for each managed key (dry run, or a plan that breaks a hard
// limit: nothing is written then), or writes the file and prints what changed. Passwords are
// masked in everything printed. Returns the exit code.
int write_env(const EnvTarget& target, const Plan& plan, bool dry_run, bool plan_fails, std::ostream& out, std::ostream& err);

} // namespace poolcalc::cli

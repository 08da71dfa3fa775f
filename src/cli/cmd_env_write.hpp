#pragma once
// `poolcalc env --write PATH [--dry-run]`: updates the keys the .env snippet sets in an existing
// file, and nothing else (the parsing and the update are poolcalc_core's, include/poolcalc/
// dotenv.hpp; the file system is handled here).
//
// Writers are serialized: an flock() on the file's directory, taken with a bounded wait before
// the file is read and held until it is replaced, so two `env --write` runs never both update the
// same text. A program that does not take the lock (an editor) may still save the file meanwhile:
// the new text is swapped in with renameat2(RENAME_EXCHANGE), the text it displaced is compared
// with the one read, and on any difference it is swapped back and the run fails, changing
// nothing. The new text is written to an unnamed temporary file (O_TMPFILE, mode 0600) in the
// directory and named just before the swap; a backup that never overwrites an older one (PATH.bak,
// PATH.bak.1, ...) holds the text read from before the swap on. Temporary files an interrupted run
// left (.PATH.poolcalc-XXXXXX) are found under the lock and settled by the next run. On any error
// the original is left byte for byte and no temporary file remains. docs/usage.md ("Updating a
// .env file") and docs/architecture.md give the details and the remaining windows.

#include "commands.hpp"

#include "poolcalc/dotenv.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <sys/types.h>

#include <ctime>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace poolcalc::cli {

// A file descriptor, closed with its owner.
class UniqueFd
{
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd)
    : m_fd(fd)
  {
  }
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1))
  {
  }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

struct EnvWriteError
{
  int code; // k_exit_runtime for the file system, k_exit_usage for the file's content
  std::string message;
};

// The .env file to update, read and parsed.
struct EnvTarget
{
  std::string path;                // as given
  std::filesystem::path file;      // where the bytes are: `path`, or the file a symbolic link points to
  std::filesystem::path directory; // the directory of `file` ("." for a bare name)
  UniqueFd lock;                   // `directory`, flock()ed from the read to the rename; none for a dry run
  std::string unlocked;            // why a write goes on without the lock (the directory cannot be locked); empty otherwise
  bool exists = false;             // false: a new file in an existing directory
  std::string original;            // the bytes read
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

// How long read_env_target waits for another writer's lock on the directory.
inline constexpr int k_lock_wait_s = 5;

// Reads and parses PATH; with `lock`, first takes the directory's lock (waiting at most
// k_lock_wait_s), which the target then holds. Errors: a missing directory, a directory, not a
// regular file, unreadable, a loop of links, the lock held too long or refused (exit 1); larger
// than 1 MiB, a NUL byte, not .env syntax (exit 2).
poolcalc::expected<EnvTarget, EnvWriteError> read_env_target(const std::string& path, bool lock);

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
// limit: nothing is written then), or writes the file and prints what changed. Before writing
// (the lock held) it settles the temporary files an interrupted run left: one whose bytes are
// also in the file, a backup or the new text is removed, any other is kept as the next backup;
// each is reported. Passwords are masked in everything printed. Returns stdout's text and the
// exit code, or the failure; notes go to `err`.
// `client` (poolcalc env --for) decides DATABASE_URL's parameters (env_variables).
Outcome write_env(const EnvTarget& target, const Plan& plan, bool dry_run, bool plan_fails, std::ostream& err, const EnvFor& client = {});

} // namespace poolcalc::cli

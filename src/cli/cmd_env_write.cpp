#include "cmd_env_write.hpp"

#include "run.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

namespace poolcalc::cli {

namespace {

constexpr std::size_t k_max_env_size = 1 << 20;
constexpr int k_max_backups = 1000;

poolcalc::unexpected<EnvWriteError> io_error(std::string message)
{
  return poolcalc::unexpected(EnvWriteError{ k_exit_runtime, std::move(message) });
}

std::string errno_text(int error)
{
  return std::strerror(error);
}

std::filesystem::path directory_of(const std::filesystem::path& file)
{
  return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

// A value as shown: passwords masked, control characters escaped, "" for an empty one.
std::string shown(const std::optional<std::string>& value)
{
  if (!value) {
    return "(not set)";
  }
  if (value->empty()) {
    return "\"\"";
  }
  // A URL in its own masked form; anything else with its credentials masked the same way; both
  // with what a terminal would act on escaped.
  const auto url = DatabaseUrl::parse(*value);
  return url ? printable(url->masked()) : user_text(*value);
}

std::string lines_text(const std::vector<std::size_t>& lines)
{
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? "" : i + 1 == lines.size() ? " and " : ", ";
    out += std::to_string(lines[i]);
  }
  return out;
}

// Key, line, action, current, recommended: one row per managed key, then a note per duplicated key.
std::string table(const std::vector<DotenvChange>& changes, bool done)
{
  std::vector<std::vector<std::string>> rows = { { "key", "line", "action", "current", "recommended" } };
  for (const DotenvChange& change : changes) {
    const std::string action = change.action == DotenvChange::Action::added     ? (done ? "added" : "add")
                               : change.action == DotenvChange::Action::changed ? (done ? "changed" : "change")
                                                                                : (done ? "unchanged" : "keep");
    rows.push_back(
      { change.key, change.line == 0 ? "-" : std::to_string(change.line), action, shown(change.current), shown(change.recommended) });
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line =
      fmt::format("{:<{}}  {:>{}}  {:<{}}  {:<{}}  {}", row[0], widths[0], row[1], widths[1], row[2], widths[2], row[3], widths[3], row[4]);
    out += line + "\n";
  }
  for (const DotenvChange& change : changes) {
    if (!change.duplicates.empty()) {
      out += fmt::format("note: {} is set on lines {}; dotenv loaders read the last one, so poolcalc reads and sets that one\n",
                         change.key,
                         lines_text(change.duplicates));
    }
  }
  return out;
}

// Reads all of `fd`, at most k_max_env_size + 1 bytes (more is refused by the callers).
poolcalc::expected<std::string, int> read_fd(int fd)
{
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return poolcalc::unexpected(errno);
    }
    if (got == 0 || text.size() > k_max_env_size) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

// The bytes of the regular file `path`, not following a symbolic link.
poolcalc::expected<std::string, int> read_path(const std::filesystem::path& path)
{
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    return poolcalc::unexpected(errno);
  }
  return read_fd(fd.get());
}

bool write_all(int fd, std::string_view text)
{
  while (!text.empty()) {
    const ssize_t put = ::write(fd, text.data(), text.size());
    if (put < 0 && errno == EINTR) {
      continue;
    }
    if (put <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(put));
  }
  return true;
}

// `name` beside the file, as the user would write it: "dir/name", or "name" for a bare file name.
std::filesystem::path beside(const EnvTarget& target, const std::string& name)
{
  return target.file.has_parent_path() ? target.file.parent_path() / name : std::filesystem::path(name);
}

std::filesystem::path backup_name(const EnvTarget& target, int n)
{
  std::filesystem::path candidate = target.file;
  candidate += n == 0 ? std::string(".bak") : fmt::format(".bak.{}", n);
  return candidate;
}

std::string no_backup_name(const EnvTarget& target)
{
  return fmt::format("cannot create a backup: {}.bak to .bak.{} all exist", user_text(target.file.string()), k_max_backups - 1);
}

// A copy of the original next to it, never over an existing file: FILE.bak, FILE.bak.1, ...
// A hard link when the file system allows one (the old bytes, owner, mode and time, at no
// cost: the swap gives FILE a new inode), else a copy of the bytes read, created with the
// original's permission bits (never more permissive).
poolcalc::expected<std::filesystem::path, std::string> make_backup(const EnvTarget& target)
{
  for (int n = 0; n < k_max_backups; ++n) {
    const std::filesystem::path candidate = backup_name(target, n);
    if (::link(target.file.c_str(), candidate.c_str()) == 0) {
      return candidate;
    }
    if (errno == EEXIST) {
      continue;
    }
    const UniqueFd fd(::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, target.mode & 0777));
    if (!fd.valid() && errno == EEXIST) {
      continue;
    }
    if (!fd.valid()) {
      return poolcalc::unexpected(fmt::format("cannot create the backup '{}': {}", user_text(candidate.string()), errno_text(errno)));
    }
    if (!write_all(fd.get(), target.original) || ::fsync(fd.get()) != 0) {
      const int error = errno;
      ::unlink(candidate.c_str());
      return poolcalc::unexpected(fmt::format("cannot write the backup '{}': {}", user_text(candidate.string()), errno_text(error)));
    }
    return candidate;
  }
  return poolcalc::unexpected(no_backup_name(target));
}

// Moves `from` (in the file's directory) to the next free backup name, never over a file.
poolcalc::expected<std::filesystem::path, std::string> keep_as_backup(const EnvTarget& target, const std::filesystem::path& from)
{
  for (int n = 0; n < k_max_backups; ++n) {
    const std::filesystem::path candidate = backup_name(target, n);
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, candidate.c_str(), RENAME_NOREPLACE) == 0) {
      return candidate;
    }
    if (errno == EEXIST) {
      continue;
    }
    // A file system without RENAME_NOREPLACE: a link (which never replaces) and an unlink.
    if ((errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) && ::link(from.c_str(), candidate.c_str()) == 0) {
      ::unlink(from.c_str());
      return candidate;
    }
    if (errno == EEXIST) {
      continue;
    }
    return poolcalc::unexpected(fmt::format("cannot keep '{}' as a backup: {}", user_text(from.string()), errno_text(errno)));
  }
  return poolcalc::unexpected(no_backup_name(target));
}

// The lock every `env --write` takes on the file's directory before reading the file: flock(),
// waiting at most k_lock_wait_s for another writer. The directory, not the file: the file's inode
// changes with each write, the directory's does not, and it covers the temporary files too.
// Where the directory cannot be opened or locked at all (no read permission; NFS, which refuses
// an exclusive flock on a read-only descriptor), the write goes on without it: the swap's
// comparison still refuses a file changed meanwhile. `why` then says so.
struct DirectoryLock
{
  UniqueFd fd;
  std::string why; // empty when locked
};

poolcalc::expected<DirectoryLock, EnvWriteError> lock_directory(const std::filesystem::path& directory, const std::string& path)
{
  DirectoryLock lock;
  const auto unlocked = [&](int error) {
    lock.fd = UniqueFd();
    lock.why = fmt::format("the directory '{}' cannot be locked ({}): writers there are not serialized, a file changed meanwhile is "
                           "still refused",
                           user_text(directory.string()),
                           errno_text(error));
    return std::move(lock);
  };
  lock.fd = UniqueFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock.fd.valid()) {
    return unlocked(errno);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(k_lock_wait_s);
  auto pause = std::chrono::milliseconds(1);
  while (::flock(lock.fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      return unlocked(errno);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return io_error(fmt::format("--write: another program has held the lock on the directory '{}' for {} s (another "
                                  "`poolcalc env --write` there?): '{}' not written, run poolcalc again",
                                  user_text(directory.string()),
                                  k_lock_wait_s,
                                  user_text(path)));
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return lock;
}

// ".NAME.poolcalc-XXXXXX": the name of a temporary file of `file`, six letters or digits.
bool is_temporary_name(std::string_view name, const std::string& file)
{
  const std::string prefix = "." + file + ".poolcalc-";
  if (!name.starts_with(prefix) || name.size() != prefix.size() + 6) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// The regular files in the file's directory named as its temporary files, and its backups.
struct Neighbours
{
  std::vector<std::string> leftovers;
  std::vector<std::string> backups;
};

Neighbours neighbours(const EnvTarget& target)
{
  Neighbours found;
  const std::string file = target.file.filename().string();
  const UniqueFd fd(::open(target.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* dir = fd.valid() ? ::fdopendir(::dup(fd.get())) : nullptr;
  if (dir == nullptr) {
    return found;
  }
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    const bool leftover = is_temporary_name(name, file);
    const bool backup = name.starts_with(file + ".bak");
    struct stat st
    {};
    if ((leftover || backup) && ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      (leftover ? found.leftovers : found.backups).emplace_back(name);
    }
  }
  ::closedir(dir);
  std::sort(found.leftovers.begin(), found.leftovers.end());
  return found;
}

// Settles what interrupted runs left, with the lock held (no live writer owns them): a file whose
// bytes are the file's, a backup's or `text`'s is removed; any other is kept as the next backup,
// never lost. One line of output for each.
poolcalc::expected<std::string, std::string> settle_leftovers(const EnvTarget& target, const std::string& text)
{
  const Neighbours found = neighbours(target);
  std::string report;
  for (const std::string& name : found.leftovers) {
    const std::filesystem::path path = beside(target, name);
    const std::string shown = user_text(path.string());
    const auto bytes = read_path(path);
    if (!bytes) {
      return poolcalc::unexpected(
        fmt::format("cannot read '{}', left by an interrupted poolcalc run: {}", shown, errno_text(bytes.error())));
    }
    std::string same;
    if (target.exists && *bytes == target.original) {
      same = user_text(target.path);
    } else if (*bytes == text) {
      same = "the text written now";
    } else {
      for (const std::string& backup : found.backups) {
        if (read_path(beside(target, backup)) == *bytes) {
          same = user_text(beside(target, backup).string());
          break;
        }
      }
    }
    if (!same.empty()) {
      if (::unlink(path.c_str()) != 0) {
        return poolcalc::unexpected(fmt::format("cannot remove '{}', left by an interrupted poolcalc run: {}", shown, errno_text(errno)));
      }
      report += fmt::format("removed {}, left by an interrupted poolcalc run (the same bytes as {})\n", shown, same);
      continue;
    }
    const auto kept = keep_as_backup(target, path);
    if (!kept) {
      return poolcalc::unexpected(kept.error());
    }
    report += fmt::format(
      "kept {}, left by an interrupted poolcalc run, as {} (its bytes are in no other file)\n", shown, user_text(kept->string()));
  }
  return report;
}

// For a dry run or a plan that is not written: what the next write will settle.
std::string leftover_notes(const EnvTarget& target, std::string_view prefix)
{
  std::string notes;
  for (const std::string& name : neighbours(target).leftovers) {
    notes += fmt::format("{}{} was left by an interrupted poolcalc run: the next env --write removes it, or keeps it as a backup\n",
                         prefix,
                         user_text(beside(target, name).string()));
  }
  return notes;
}

// The new text in a file of its own beside the target, readable by its owner only: an unnamed
// one (O_TMPFILE) when the file system has them, so that a run killed before it names the file
// leaves nothing; else one named like a leftover (mkostemp).
struct TempFile
{
  UniqueFd fd;
  std::filesystem::path path; // empty while unnamed
};

poolcalc::expected<TempFile, std::string> write_temp(const EnvTarget& target, const std::string& text, bool named)
{
  TempFile temp;
  if (!named) {
    temp.fd = UniqueFd(::open(target.directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  }
  if (!temp.fd.valid()) {
    std::string name = beside(target, "." + target.file.filename().string() + ".poolcalc-XXXXXX").string();
    temp.fd = UniqueFd(::mkostemp(name.data(), O_CLOEXEC));
    if (!temp.fd.valid()) {
      return poolcalc::unexpected(
        fmt::format("cannot create a temporary file in '{}': {}", user_text(target.directory.string()), errno_text(errno)));
    }
    temp.path = name;
  }
  if (target.exists && (target.uid != ::geteuid() || target.gid != ::getegid())) {
    [[maybe_unused]] const int owned = ::fchown(temp.fd.get(), target.uid, target.gid); // best effort: only root may give a file away
  }
  if (::fchmod(temp.fd.get(), 0600) != 0 || !write_all(temp.fd.get(), text) || ::fsync(temp.fd.get()) != 0) {
    const int error = errno;
    if (!temp.path.empty()) {
      ::unlink(temp.path.c_str());
    }
    return poolcalc::unexpected(
      fmt::format("cannot write a temporary file in '{}': {}", user_text(target.directory.string()), errno_text(error)));
  }
  return temp;
}

// Gives an unnamed temporary file its name, just before the swap: a link from /proc/self/fd.
bool name_temp(const EnvTarget& target, TempFile& temp)
{
  if (!temp.path.empty()) {
    return true;
  }
  static constexpr std::string_view letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device device;
  std::mt19937 random(device());
  const std::string proc = fmt::format("/proc/self/fd/{}", temp.fd.get());
  for (int attempt = 0; attempt < 100; ++attempt) {
    // Appended piece by piece: g++ 12's -Wrestrict misreads `"." + name + "..."` here once inlined.
    std::string name = ".";
    name += target.file.filename().string();
    name += ".poolcalc-";
    for (int i = 0; i < 6; ++i) {
      name += letters[random() % letters.size()];
    }
    const std::filesystem::path path = beside(target, name);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      temp.path = path;
      return true;
    }
    if (errno != EEXIST) {
      return false;
    }
  }
  return false;
}

void sync_directory(const EnvTarget& target)
{
  if (target.lock.valid()) {
    ::fsync(target.lock.get()); // the rename itself made durable; a failure here cannot be undone
  } else if (const UniqueFd dir(::open(target.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir.valid()) {
    ::fsync(dir.get());
  }
}

bool same_file(const struct stat& a, const struct stat& b)
{
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The file is still, byte for byte, the one read (another program may have saved it meanwhile).
bool unchanged_since_read(const EnvTarget& target)
{
  struct stat now
  {};
  if (::stat(target.file.c_str(), &now) != 0 || now.st_dev != target.device || now.st_ino != target.inode || now.st_size != target.size ||
      now.st_mtim.tv_sec != target.modified.tv_sec || now.st_mtim.tv_nsec != target.modified.tv_nsec) {
    return false;
  }
  return read_path(target.file) == target.original;
}

std::string changed_message(const EnvTarget& target)
{
  return fmt::format("'{}' changed while poolcalc was updating it: not written, run poolcalc again", user_text(target.path));
}

// Puts the new text in place of the file, keeping a backup of an existing one. Returns the
// backup's path (none for a new file).
//
// An existing file: backup, then renameat2(RENAME_EXCHANGE) swaps the new text in and leaves what
// was there under the temporary name; if that is not byte for byte the text read, another program
// saved the file meanwhile: it is swapped back and nothing is changed. Where the file system
// refuses RENAME_EXCHANGE, the file is compared just before a plain rename (a window of a few
// system calls remains). A new file: renameat2(RENAME_NOREPLACE), so that a file another program
// created meanwhile is never replaced.
poolcalc::expected<std::optional<std::filesystem::path>, std::string> replace(const EnvTarget& target, const std::string& text)
{
  auto temp = write_temp(target, text, false);
  if (!temp) {
    return poolcalc::unexpected(temp.error());
  }
  std::optional<std::filesystem::path> backup;
  const auto undo = [&](std::string message) {
    if (!temp->path.empty()) {
      ::unlink(temp->path.c_str());
    }
    if (backup) {
      ::unlink(backup->c_str());
    }
    return poolcalc::unexpected(std::move(message));
  };
  if (target.exists) {
    auto made = make_backup(target);
    if (!made) {
      return undo(made.error());
    }
    backup = *made;
  }
  // Readable by the owner only until now, then the original's permission bits.
  if (target.exists && ::fchmod(temp->fd.get(), target.mode & 07777) != 0) {
    return undo(
      fmt::format("cannot set the mode of a temporary file in '{}': {}", user_text(target.directory.string()), errno_text(errno)));
  }
  if (!name_temp(target, *temp)) {
    auto named = write_temp(target, text, true); // no /proc to name it from: a named one
    if (!named) {
      return undo(named.error());
    }
    *temp = std::move(*named);
    if (target.exists && ::fchmod(temp->fd.get(), target.mode & 07777) != 0) {
      return undo(
        fmt::format("cannot set the mode of a temporary file in '{}': {}", user_text(target.directory.string()), errno_text(errno)));
    }
  }
  const std::string file_shown = user_text(target.file.string());
  if (!target.exists) {
    if (::renameat2(AT_FDCWD, temp->path.c_str(), AT_FDCWD, target.file.c_str(), RENAME_NOREPLACE) != 0) {
      return undo(fmt::format("cannot replace '{}': {}", file_shown, errno_text(errno)));
    }
    sync_directory(target);
    return backup;
  }
  // Compared at the last moment, after the slow steps (fsync), so that a change another program
  // makes meanwhile is found here rather than after the swap: the swap-back below exposes
  // poolcalc's text at the file's name for an instant, and only when a save falls within the few
  // system calls from here to the swap.
  if (!unchanged_since_read(target)) {
    return undo(changed_message(target));
  }
  if (::renameat2(AT_FDCWD, temp->path.c_str(), AT_FDCWD, target.file.c_str(), RENAME_EXCHANGE) != 0) {
    const int error = errno;
    if (error != EINVAL && error != ENOSYS && error != EOPNOTSUPP) {
      return undo(fmt::format("cannot replace '{}': {}", file_shown, errno_text(error)));
    }
    // No RENAME_EXCHANGE here: the comparison above, then a plain rename.
    if (::rename(temp->path.c_str(), target.file.c_str()) != 0) {
      return undo(fmt::format("cannot replace '{}': {}", file_shown, errno_text(errno)));
    }
    sync_directory(target);
    return backup;
  }
  // The temporary name now holds what the file was an instant ago.
  if (read_path(temp->path) == target.original) {
    ::unlink(temp->path.c_str()); // its bytes are the backup's
    sync_directory(target);
    return backup;
  }
  // Another program saved the file after poolcalc read it: its text goes back, unless the file
  // changed yet again since the swap (then what was displaced is kept as a backup, not lost).
  struct stat ours
  {};
  struct stat now
  {};
  if (::fstat(temp->fd.get(), &ours) == 0 && ::stat(target.file.c_str(), &now) == 0 && same_file(ours, now) &&
      ::renameat2(AT_FDCWD, temp->path.c_str(), AT_FDCWD, target.file.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(target);
    // The exchange swaps names, not the file stat() saw: a save between that stat() and the swap
    // is what came back under the temporary name. Only poolcalc's own text is removed; anything
    // else is kept as a backup below.
    struct stat back
    {};
    if (::stat(temp->path.c_str(), &back) == 0 && same_file(ours, back)) {
      return undo(changed_message(target));
    }
    // A newer save came back under the temporary name and the earlier one is at the file's name:
    // one more exchange makes the newest save the file again, and the earlier is kept below.
    ::renameat2(AT_FDCWD, temp->path.c_str(), AT_FDCWD, target.file.c_str(), RENAME_EXCHANGE);
  }
  auto kept = keep_as_backup(target, temp->path);
  sync_directory(target);
  return poolcalc::unexpected(fmt::format("'{}' changed while poolcalc was updating it, and again after: the other program's version it "
                                          "displaced could not be put back and is {}; check the file",
                                          user_text(target.path),
                                          kept ? "kept as " + user_text(kept->string()) : "at " + user_text(temp->path.string())));
}

} // namespace

UniqueFd::~UniqueFd()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

poolcalc::expected<EnvTarget, EnvWriteError> read_env_target(const std::string& path, bool lock)
{
  if (path.empty()) {
    return poolcalc::unexpected(EnvWriteError{ k_exit_usage, "--write: expected the path of a .env file, got ''" });
  }
  EnvTarget target;
  target.path = path;
  target.file = path;
  struct stat link_status
  {};
  const bool found = ::lstat(path.c_str(), &link_status) == 0;
  if (!found && errno != ENOENT) {
    return io_error(fmt::format("--write: cannot read '{}': {}", user_text(path), errno_text(errno)));
  }
  if (found && S_ISLNK(link_status.st_mode)) {
    std::error_code ec;
    target.file = std::filesystem::canonical(path, ec);
    if (ec == std::errc::too_many_symbolic_link_levels) {
      return io_error(fmt::format("--write: '{}': a loop of symbolic links ({})", user_text(path), ec.message()));
    }
    if (ec == std::errc::no_such_file_or_directory) {
      return io_error(fmt::format("--write: '{}' is a symbolic link to a missing file", user_text(path)));
    }
    if (ec) {
      return io_error(fmt::format("--write: cannot follow the symbolic link '{}': {}", user_text(path), ec.message()));
    }
  }
  target.directory = directory_of(target.file);
  struct stat dir_status
  {};
  if (!found && (::stat(target.directory.c_str(), &dir_status) != 0 || !S_ISDIR(dir_status.st_mode))) {
    return io_error(
      fmt::format("--write: cannot write '{}': the directory '{}' does not exist", user_text(path), user_text(target.directory.string())));
  }
  // Every writer reads under the lock, so no two of them start from the same text.
  if (lock) {
    auto locked = lock_directory(target.directory, path);
    if (!locked) {
      return poolcalc::unexpected(locked.error());
    }
    target.lock = std::move(locked->fd);
    target.unlocked = std::move(locked->why);
  }
  // O_NONBLOCK: a FIFO must not hang the open; it is refused below.
  const UniqueFd fd(::open(target.file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) {
    target.dotenv = std::move(*parse_dotenv("", path)); // a new file
    return target;
  }
  struct stat status
  {};
  if (!fd.valid() || ::fstat(fd.get(), &status) != 0) {
    return io_error(fmt::format("--write: cannot read '{}': {}", user_text(path), errno_text(errno)));
  }
  if (S_ISDIR(status.st_mode)) {
    return io_error(fmt::format("--write: '{}' is a directory, not a .env file", user_text(path)));
  }
  if (!S_ISREG(status.st_mode)) {
    return io_error(fmt::format("--write: '{}' is not a regular file", user_text(path)));
  }
  const auto text = read_fd(fd.get());
  if (!text) {
    return io_error(fmt::format("--write: cannot read '{}': {}", user_text(path), errno_text(text.error())));
  }
  if (status.st_size > static_cast<off_t>(k_max_env_size) || text->size() > k_max_env_size) {
    return poolcalc::unexpected(
      EnvWriteError{ k_exit_usage, fmt::format("--write: '{}' is larger than 1 MiB: not a .env file", user_text(path)) });
  }
  target.exists = true;
  target.mode = status.st_mode;
  target.uid = status.st_uid;
  target.gid = status.st_gid;
  target.device = status.st_dev;
  target.inode = status.st_ino;
  target.size = status.st_size;
  target.modified = status.st_mtim;
  target.original = *text;
  auto parsed = parse_dotenv(target.original, path);
  if (!parsed) {
    return poolcalc::unexpected(EnvWriteError{ k_exit_usage, parsed.error() });
  }
  target.dotenv = std::move(*parsed);
  return target;
}

std::optional<RawValue> file_database_url(const EnvTarget& target)
{
  for (const char* key : { "DIRECT_URL", "DATABASE_URL" }) {
    const DotenvEntry* entry = target.dotenv.find(key);
    if (entry != nullptr && !entry->value.empty()) {
      return RawValue{ { entry->value }, fmt::format("{}:{}: {}", user_text(target.path), entry->line, key) };
    }
  }
  return std::nullopt;
}

std::optional<DatabaseUrl> file_pgbouncer_url(const EnvTarget& target, std::int64_t listen_port)
{
  const DotenvEntry* direct = target.dotenv.find("DIRECT_URL");
  const DotenvEntry* application = target.dotenv.find("DATABASE_URL");
  if (direct == nullptr || direct->value.empty() || application == nullptr) {
    return std::nullopt;
  }
  auto url = DatabaseUrl::parse(application->value);
  if (!url || !is_pgbouncer_url(*url, listen_port)) {
    return std::nullopt;
  }
  return *url;
}

void report_url_notes(std::ostream& err, const Plan& plan)
{
  for (const std::string& note : { pgbouncer_address_note(plan), direct_url_note(plan) }) {
    if (!note.empty()) {
      print_line(err, "note", note);
    }
  }
}

Outcome write_env(const EnvTarget& target, const Plan& plan, bool dry_run, bool plan_fails, std::ostream& err, const EnvFor& client)
{
  std::vector<std::pair<std::string, std::string>> values;
  for (const EnvVariable& variable : env_variables(plan, client)) {
    values.emplace_back(variable.key, variable.value);
  }
  const auto update = update_dotenv(target.dotenv, values);
  if (!update) {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--write: " + update.error() });
  }
  report_url_notes(err, plan);
  if (!target.unlocked.empty()) {
    print_line(err, "note", target.unlocked);
  }
  std::string output = fmt::format("poolcalc: {}\n", env_summary(plan));
  if (dry_run || plan_fails) {
    if (!dry_run) {
      err << leftover_notes(target, "poolcalc: note: ");
      err << "poolcalc: " << user_text(target.path) << " not written: the plan breaks a hard limit\n";
      return Output{ "", k_exit_plan_fails };
    }
    output += leftover_notes(target, "note: ");
    output += fmt::format("dry run: {} is not changed\n\n{}", user_text(target.path), table(update->changes, false));
    return Output{ output, plan_fails ? k_exit_plan_fails : k_exit_ok };
  }
  const auto settle = [&]() -> poolcalc::expected<void, Failure> {
    auto settled = settle_leftovers(target, update->text);
    if (!settled) {
      return poolcalc::unexpected(Failure{ k_exit_runtime, "--write: " + settled.error() });
    }
    output += *settled;
    return {};
  };
  if (target.exists && update->text == target.original) {
    if (auto settled = settle(); !settled) {
      return poolcalc::unexpected(settled.error());
    }
    output +=
      fmt::format("{} already has the recommended values: not rewritten\n\n{}", user_text(target.path), table(update->changes, true));
    return Output{ output, k_exit_ok };
  }
  if (target.exists && (target.mode & 0222) == 0) {
    return poolcalc::unexpected(Failure{ k_exit_runtime,
                                         fmt::format("--write: '{}' is read-only (mode {:04o}): poolcalc does not change a read-only file",
                                                     user_text(target.path),
                                                     target.mode & 07777) });
  }
  // The rename would replace a file this user may not write (the directory allows it): refuse.
  if (target.exists && ::faccessat(AT_FDCWD, target.file.c_str(), W_OK, AT_EACCESS) != 0) {
    return poolcalc::unexpected(Failure{
      k_exit_runtime,
      fmt::format("--write: '{}': {}: poolcalc does not replace a file it may not write", user_text(target.path), errno_text(errno)) });
  }
  if (auto settled = settle(); !settled) {
    return poolcalc::unexpected(settled.error());
  }
  const auto replaced = replace(target, update->text);
  if (!replaced) {
    return poolcalc::unexpected(Failure{ k_exit_runtime, "--write: " + replaced.error() });
  }
  if (*replaced) {
    output += fmt::format("updated {} (backup: {})\n\n", user_text(target.path), user_text((*replaced)->string()));
  } else {
    output += fmt::format("created {} (it did not exist)\n\n", user_text(target.path));
  }
  output += table(update->changes, true);
  return Output{ output, k_exit_ok };
}

} // namespace poolcalc::cli

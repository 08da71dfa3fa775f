#include "cmd_env_write.hpp"

#include "run.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/safe_text.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace poolcalc::cli {

namespace {

constexpr std::size_t k_max_env_size = 1 << 20;
constexpr int k_max_backups = 1000;

std::unexpected<EnvWriteError> io_error(std::string message)
{
  return std::unexpected(EnvWriteError{ k_exit_runtime, std::move(message) });
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
  // A URL is shown in its own masked form (a quote inside a password would end mask_passwords'
  // match early); anything else through mask_passwords.
  const auto url = DatabaseUrl::parse(*value);
  const std::string masked = url ? url->masked() : mask_passwords(*value);
  std::string out;
  for (char c : masked) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
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

std::expected<std::string, EnvWriteError> read_all(const std::filesystem::path& file, const std::string& path)
{
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io_error(fmt::format("--write: cannot read '{}': {}", path, errno_text(errno)));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      const int error = errno;
      ::close(fd);
      return io_error(fmt::format("--write: cannot read '{}': {}", path, errno_text(error)));
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > k_max_env_size) {
      ::close(fd);
      return std::unexpected(EnvWriteError{ k_exit_usage, fmt::format("--write: '{}' is larger than 1 MiB: not a .env file", path) });
    }
  }
  ::close(fd);
  return text;
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

// A copy of the original next to it, never over an existing file: FILE.bak, FILE.bak.1, ...
// A hard link when the file system allows one (the old bytes, owner, mode and time, at no
// cost: the rename gives FILE a new inode), else a copy of the bytes read.
std::expected<std::filesystem::path, std::string> make_backup(const EnvTarget& target)
{
  for (int n = 0; n < k_max_backups; ++n) {
    std::filesystem::path candidate = target.file;
    candidate += n == 0 ? std::string(".bak") : fmt::format(".bak.{}", n);
    if (::link(target.file.c_str(), candidate.c_str()) == 0) {
      return candidate;
    }
    if (errno == EEXIST) {
      continue;
    }
    const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, target.mode & 07777);
    if (fd < 0 && errno == EEXIST) {
      continue;
    }
    if (fd < 0) {
      return std::unexpected(fmt::format("cannot create the backup '{}': {}", candidate.string(), errno_text(errno)));
    }
    const bool ok = write_all(fd, target.original) && ::fsync(fd) == 0;
    const int error = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(candidate.c_str());
      return std::unexpected(fmt::format("cannot write the backup '{}': {}", candidate.string(), errno_text(error)));
    }
    return candidate;
  }
  return std::unexpected(fmt::format("cannot create a backup: {}.bak to .bak.{} all exist", target.file.string(), k_max_backups - 1));
}

// The file is still the one read (another program may have saved it meanwhile).
bool unchanged_since_read(const EnvTarget& target)
{
  struct stat now
  {};
  return ::stat(target.file.c_str(), &now) == 0 && now.st_dev == target.device && now.st_ino == target.inode &&
         now.st_size == target.size && now.st_mtim.tv_sec == target.modified.tv_sec && now.st_mtim.tv_nsec == target.modified.tv_nsec;
}

// Writes `text` to a temporary file beside the target, keeps a backup of an existing target,
// and renames the temporary file over the target. Returns the backup's path (none for a new file).
std::expected<std::optional<std::filesystem::path>, std::string> replace(const EnvTarget& target, const std::string& text)
{
  const std::filesystem::path directory = directory_of(target.file);
  std::string temp = (directory / ("." + target.file.filename().string() + ".poolcalc-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return std::unexpected(fmt::format("cannot create a temporary file in '{}': {}", directory.string(), errno_text(errno)));
  }
  mode_t mode = target.mode & 07777;
  if (!target.exists) {
    mode = 0600; // a new .env holds a database password: readable by its owner only
  }
  bool ok = ::fchmod(fd, mode) == 0;
  if (ok && target.exists && (target.uid != ::geteuid() || target.gid != ::getegid())) {
    [[maybe_unused]] const int owned = ::fchown(fd, target.uid, target.gid); // best effort: only root may give a file away
  }
  ok = ok && write_all(fd, text) && ::fsync(fd) == 0;
  const int error = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(temp.c_str());
    return std::unexpected(fmt::format("cannot write a temporary file in '{}': {}", directory.string(), errno_text(error)));
  }
  std::optional<std::filesystem::path> backup;
  if (target.exists && !unchanged_since_read(target)) {
    ::unlink(temp.c_str());
    return std::unexpected(fmt::format("'{}' changed while poolcalc was updating it: not written, run poolcalc again", target.path));
  }
  if (target.exists) {
    auto made = make_backup(target);
    if (!made) {
      ::unlink(temp.c_str());
      return std::unexpected(made.error());
    }
    backup = *made;
  }
  // A new file must not replace one another program created meanwhile (RENAME_NOREPLACE).
  const int renamed = target.exists ? ::rename(temp.c_str(), target.file.c_str())
                                    : ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.file.c_str(), RENAME_NOREPLACE);
  if (renamed != 0) {
    const int rename_error = errno;
    ::unlink(temp.c_str());
    if (backup) {
      ::unlink(backup->c_str());
    }
    return std::unexpected(fmt::format("cannot replace '{}': {}", target.file.string(), errno_text(rename_error)));
  }
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir); // the rename itself made durable; a failure here cannot be undone
    ::close(dir);
  }
  return backup;
}

} // namespace

CLI::Option* add_env_write_options(CLI::App& app, EnvWriteOptions& options)
{
  CLI::Option* write = app.add_option("--write", options.path, "`poolcalc env`: update the keys it sets in this .env file, nothing else")
                         ->type_name("PATH")
                         ->group("Output")
                         ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--dry-run", options.dry_run, "with --write: show current and recommended values, write nothing")->group("Output");
  return write;
}

std::expected<EnvTarget, EnvWriteError> read_env_target(const std::string& path)
{
  if (path.empty()) {
    return std::unexpected(EnvWriteError{ k_exit_usage, "--write: expected the path of a .env file, got ''" });
  }
  EnvTarget target;
  target.path = path;
  target.file = path;
  struct stat link_status
  {};
  if (::lstat(path.c_str(), &link_status) != 0) {
    if (errno != ENOENT) {
      return io_error(fmt::format("--write: cannot read '{}': {}", path, errno_text(errno)));
    }
    const std::filesystem::path directory = directory_of(target.file);
    struct stat dir_status
    {};
    if (::stat(directory.c_str(), &dir_status) != 0 || !S_ISDIR(dir_status.st_mode)) {
      return io_error(fmt::format("--write: cannot write '{}': the directory '{}' does not exist", path, directory.string()));
    }
    auto parsed = parse_dotenv("", path);
    target.dotenv = std::move(*parsed);
    return target;
  }
  if (S_ISLNK(link_status.st_mode)) {
    std::error_code ec;
    target.file = std::filesystem::canonical(path, ec);
    if (ec == std::errc::too_many_symbolic_link_levels) {
      return io_error(fmt::format("--write: '{}': a loop of symbolic links ({})", printable(path), ec.message()));
    }
    if (ec == std::errc::no_such_file_or_directory) {
      return io_error(fmt::format("--write: '{}' is a symbolic link to a missing file", path));
    }
    if (ec) {
      return io_error(fmt::format("--write: cannot follow the symbolic link '{}': {}", printable(path), ec.message()));
    }
  }
  struct stat status
  {};
  if (::stat(target.file.c_str(), &status) != 0) {
    return io_error(fmt::format("--write: cannot read '{}': {}", path, errno_text(errno)));
  }
  if (S_ISDIR(status.st_mode)) {
    return io_error(fmt::format("--write: '{}' is a directory, not a .env file", path));
  }
  if (!S_ISREG(status.st_mode)) {
    return io_error(fmt::format("--write: '{}' is not a regular file", path));
  }
  if (static_cast<std::uintmax_t>(status.st_size) > k_max_env_size) {
    return std::unexpected(EnvWriteError{ k_exit_usage, fmt::format("--write: '{}' is larger than 1 MiB: not a .env file", path) });
  }
  target.exists = true;
  target.mode = status.st_mode;
  target.uid = status.st_uid;
  target.gid = status.st_gid;
  target.device = status.st_dev;
  target.inode = status.st_ino;
  target.size = status.st_size;
  target.modified = status.st_mtim;
  auto text = read_all(target.file, path);
  if (!text) {
    return std::unexpected(text.error());
  }
  target.original = std::move(*text);
  auto parsed = parse_dotenv(target.original, path);
  if (!parsed) {
    return std::unexpected(EnvWriteError{ k_exit_usage, parsed.error() });
  }
  target.dotenv = std::move(*parsed);
  return target;
}

std::optional<RawValue> file_database_url(const EnvTarget& target)
{
  for (const char* key : { "DIRECT_URL", "DATABASE_URL" }) {
    const DotenvEntry* entry = target.dotenv.find(key);
    if (entry != nullptr && !entry->value.empty()) {
      return RawValue{ { entry->value }, fmt::format("{}:{}: {}", target.path, entry->line, key) };
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
      err << "poolcalc: note: " << note << '\n';
    }
  }
}

int write_env(const EnvTarget& target, const Plan& plan, bool dry_run, bool plan_fails, std::ostream& out, std::ostream& err)
{
  std::vector<std::pair<std::string, std::string>> values;
  for (const EnvVariable& variable : env_variables(plan)) {
    values.emplace_back(variable.key, variable.value);
  }
  const auto update = update_dotenv(target.dotenv, values);
  if (!update) {
    err << "poolcalc: error: --write: " << mask_passwords(update.error()) << '\n';
    return k_exit_usage;
  }
  report_url_notes(err, plan);
  std::string output = fmt::format("poolcalc: {}\n", env_summary(plan));
  if (dry_run || plan_fails) {
    if (!dry_run) {
      err << "poolcalc: " << target.path << " not written: the plan breaks a hard limit\n";
      return k_exit_plan_fails;
    }
    output += fmt::format("dry run: {} is not changed\n\n{}", target.path, table(update->changes, false));
    out << output;
    out.flush();
    return !out ? k_exit_runtime : plan_fails ? k_exit_plan_fails : k_exit_ok;
  }
  if (target.exists && update->text == target.original) {
    output += fmt::format("{} already has the recommended values: not rewritten\n\n{}", target.path, table(update->changes, true));
    out << output;
    out.flush();
    return out ? k_exit_ok : k_exit_runtime;
  }
  if (target.exists && (target.mode & 0222) == 0) {
    err << fmt::format("poolcalc: error: --write: '{}' is read-only (mode {:04o}): poolcalc does not change a read-only file\n",
                       target.path,
                       target.mode & 07777);
    return k_exit_runtime;
  }
  // The rename would replace a file this user may not write (the directory allows it): refuse.
  if (target.exists && ::faccessat(AT_FDCWD, target.file.c_str(), W_OK, AT_EACCESS) != 0) {
    err << fmt::format(
      "poolcalc: error: --write: '{}': {}: poolcalc does not replace a file it may not write\n", target.path, errno_text(errno));
    return k_exit_runtime;
  }
  const auto replaced = replace(target, update->text);
  if (!replaced) {
    err << "poolcalc: error: --write: " << mask_passwords(replaced.error()) << '\n';
    return k_exit_runtime;
  }
  if (*replaced) {
    output += fmt::format("updated {} (backup: {})\n\n", target.path, (*replaced)->string());
  } else {
    output += fmt::format("created {} (it did not exist)\n\n", target.path);
  }
  output += table(update->changes, true);
  out << output;
  out.flush();
  return out ? k_exit_ok : k_exit_runtime;
}

} // namespace poolcalc::cli

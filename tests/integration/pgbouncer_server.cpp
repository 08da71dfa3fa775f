#include "pgbouncer_server.hpp"

#include "pg_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace poolcalc::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_lines(const std::string& text)
{
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// The key of a `key = value` line, or "" for anything else (comments, sections, blanks).
std::string key_of(const std::string& line)
{
  const auto equals = line.find('=');
  if (line.empty() || line[0] == ';' || line[0] == '#' || line[0] == '[' || equals == std::string::npos) {
    return {};
  }
  std::string key = line.substr(0, equals);
  while (!key.empty() && key.back() == ' ') {
    key.pop_back();
  }
  return key;
}

std::string read_text(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The pid in PgBouncer's pid file, once the whole line is there; 0 before.
int read_pid(const std::string& path)
{
  const std::string text = read_text(path);
  return text.ends_with('\n') ? std::atoi(text.c_str()) : 0;
}

bool accepts_connections(int port)
{
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

// Whether process `pid` still runs (a zombie nobody has reaped yet counts as gone).
bool running(int pid)
{
  if (kill(pid, 0) != 0) {
    return false;
  }
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

} // namespace

std::string pgbouncer_binary()
{
  const char* configured = std::getenv("POOLCALC_PGBOUNCER");
  return configured != nullptr && *configured != '\0' ? configured : "/usr/sbin/pgbouncer";
}

std::string set_pgbouncer_keys(const std::string& ini, const std::map<std::string, std::string>& keys)
{
  std::vector<std::string> lines = split_lines(ini);
  std::map<std::string, std::string> missing = keys;
  bool in_section = false;
  std::size_t header = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].empty() && lines[i][0] == '[') {
      in_section = lines[i] == "[pgbouncer]";
      if (in_section) {
        header = i;
      }
      continue;
    }
    const std::string key = key_of(lines[i]);
    if (in_section && keys.contains(key)) {
      lines[i] = key + " = " + keys.at(key);
      missing.erase(key);
    }
  }
  if (header == lines.size()) {
    throw std::runtime_error("the generated pgbouncer.ini has no [pgbouncer] section");
  }
  std::vector<std::string> added;
  for (const auto& [key, value] : missing) {
    added.push_back(key + " = " + value);
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(header) + 1, added.begin(), added.end());
  std::string out;
  for (const std::string& line : lines) {
    out += line + '\n';
  }
  return out;
}

std::vector<std::string> lines_without_keys(const std::string& ini, const std::map<std::string, std::string>& keys)
{
  std::vector<std::string> kept;
  for (const std::string& line : split_lines(ini)) {
    if (!keys.contains(key_of(line))) {
      kept.push_back(line);
    }
  }
  return kept;
}

PgBouncerServer::PgBouncerServer()
{
  if (!fs::exists(pgbouncer_binary())) {
    throw std::runtime_error("PgBouncer binary missing: " + pgbouncer_binary() +
                             " (install pgbouncer: ./.ci/install-deps, or set POOLCALC_PGBOUNCER)");
  }
  std::string pattern = (fs::temp_directory_path() / "poolcalc-pgbouncer-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_directory = pattern;
  own_by_cluster_owner(m_directory);
  m_port = free_loopback_port();
}

PgBouncerServer::~PgBouncerServer()
{
  stop();
  std::error_code ec;
  fs::remove_all(m_directory, ec);
}

std::map<std::string, std::string> PgBouncerServer::test_bed_keys() const
{
  return {
    { "listen_port", std::to_string(m_port) },
    { "auth_file", m_directory + "/userlist.txt" },
    { "logfile", m_directory + "/pgbouncer.log" },
    { "pidfile", m_directory + "/pgbouncer.pid" },
    { "unix_socket_dir", m_directory },
  };
}

StartResult PgBouncerServer::start(const std::string& ini, const std::string& userlist)
{
  const std::string ini_path = m_directory + "/pgbouncer.ini";
  const std::string userlist_path = m_directory + "/userlist.txt";
  std::ofstream(ini_path) << ini;
  std::ofstream(userlist_path) << userlist;
  own_by_cluster_owner(ini_path);
  own_by_cluster_owner(userlist_path);

  StartResult result;
  // -d: PgBouncer loads and checks the whole file before it detaches, so a file it refuses is
  // a non-zero exit here, with its complaint on stderr and in the log.
  result.exit_code = run_as_cluster_owner({ pgbouncer_binary(), "-d", ini_path }, result.output);
  if (result.exit_code != 0) {
    return result;
  }
  // The daemon writes its pid file and opens its port after the starting process has exited.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    m_pid = read_pid(m_directory + "/pgbouncer.pid");
    if (m_pid > 0 && accepts_connections(m_port)) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("PgBouncer did not write its pid file and listen on port " + std::to_string(m_port) +
                               " within 10 s: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result;
}

void PgBouncerServer::stop()
{
  if (m_pid <= 0) {
    // Started but not yet seen ready (a failed start check): the pid file, if any, says who runs.
    m_pid = read_pid(m_directory + "/pgbouncer.pid");
  }
  if (m_pid <= 0) {
    return;
  }
  kill(m_pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (running(m_pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (running(m_pid)) {
    kill(m_pid, SIGKILL);
  }
  m_pid = 0;
}

std::string PgBouncerServer::log() const
{
  return read_text(m_directory + "/pgbouncer.log");
}

} // namespace poolcalc::test

#include "pg_server.hpp"

#include "../cli/process.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace poolcalc::test {

namespace fs = std::filesystem;

int free_loopback_port()
{
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw std::runtime_error("socket() failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

std::string pg_bin_dir()
{
  const char* configured = std::getenv("POOLCALC_PG_BINDIR");
  return configured != nullptr && *configured != '\0' ? configured : "/usr/lib/postgresql/15/bin";
}

int run_as_cluster_owner(const std::vector<std::string>& args, std::string& output)
{
  std::vector<std::string> full;
  if (geteuid() == 0) {
    full = { "/usr/sbin/runuser", "-u", "postgres", "--" };
  }
  full.insert(full.end(), args.begin(), args.end());
  const Result result = run_process(full, { { "LC_ALL", "C" } });
  output = result.out + result.err;
  return result.exit_code;
}

void own_by_cluster_owner(const std::string& path)
{
  if (geteuid() != 0) {
    return;
  }
  const passwd* owner = getpwnam("postgres");
  if (owner == nullptr) {
    throw std::runtime_error("running as root, but there is no `postgres` user to run initdb as");
  }
  if (chown(path.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + path);
  }
}

namespace {

std::string quote_setting(const std::string& value)
{
  std::string quoted = "'";
  for (char c : value) {
    quoted += c == '\'' ? std::string("''") : std::string(1, c);
  }
  return quoted + "'";
}

} // namespace

PgServer::PgServer(PgOptions options)
{
  const std::string bin = pg_bin_dir();
  for (const char* tool : { "initdb", "pg_ctl", "postgres", "psql" }) {
    if (!fs::exists(fs::path(bin) / tool)) {
      throw std::runtime_error("PostgreSQL server binary missing: " + (fs::path(bin) / tool).string() +
                               " (install postgresql-15: ./.ci/install-deps, or set POOLCALC_PG_BINDIR)");
    }
  }
  std::string pattern = (fs::temp_directory_path() / "poolcalc-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_directory = pattern;
  own_by_cluster_owner(m_directory);
  const std::string data = m_directory + "/data";
  const std::string password_file = m_directory + "/pwfile";
  {
    std::ofstream(password_file) << k_superuser_password << '\n';
  }
  own_by_cluster_owner(password_file);

  std::string output;
  // Local (socket) connections trust; TCP connections need a SCRAM password, so the tests can
  // try a wrong one.
  if (run_as_cluster_owner({ bin + "/initdb",
                             "-D",
                             data,
                             "-U",
                             k_superuser,
                             "--pwfile=" + password_file,
                             "--auth-local=trust",
                             "--auth-host=scram-sha-256",
                             "--no-sync",
                             "-E",
                             "UTF8",
                             "--locale=C" },
                           output) != 0) {
    const std::string message = "initdb failed: " + output;
    std::error_code ec;
    fs::remove_all(m_directory, ec);
    throw std::runtime_error(message);
  }

  m_port = free_loopback_port();
  std::map<std::string, std::string> settings = {
    { "listen_addresses", "127.0.0.1" },
    { "port", std::to_string(m_port) },
    { "unix_socket_directories", m_directory },
    { "max_connections", std::to_string(options.max_connections) },
    { "superuser_reserved_connections", std::to_string(options.superuser_reserved_connections) },
    { "fsync", "off" },
    { "synchronous_commit", "off" },
    { "full_page_writes", "off" },
    { "shared_buffers", "16MB" },
  };
  if (options.pg_stat_statements) {
    settings["shared_preload_libraries"] = "pg_stat_statements";
    settings["pg_stat_statements.track"] = "all";
  }
  for (const auto& [key, value] : options.settings) {
    settings[key] = value;
  }
  {
    std::ofstream conf(data + "/postgresql.auto.conf", std::ios::app);
    for (const auto& [key, value] : settings) {
      conf << key << " = " << quote_setting(value) << '\n';
    }
  }
  if (run_as_cluster_owner({ bin + "/pg_ctl", "-D", data, "-l", m_directory + "/server.log", "-w", "-t", "60", "start" }, output) != 0) {
    const std::string message = "pg_ctl start failed: " + output + "\n" + log();
    std::error_code ec;
    fs::remove_all(m_directory, ec);
    throw std::runtime_error(message);
  }
  m_running = true;
}

PgServer::~PgServer()
{
  stop();
  std::error_code ec;
  fs::remove_all(m_directory, ec);
}

void PgServer::stop()
{
  if (!m_running) {
    return;
  }
  std::string output;
  run_as_cluster_owner({ pg_bin_dir() + "/pg_ctl", "-D", m_directory + "/data", "-m", "immediate", "-w", "stop" }, output);
  m_running = false;
}

std::string PgServer::log() const
{
  std::ifstream in(m_directory + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string PgServer::url(const std::string& user, const std::string& password, const std::string& database) const
{
  const std::string credentials = password.empty() ? user : user + ":" + password;
  return "postgresql://" + credentials + "@127.0.0.1:" + std::to_string(m_port) + "/" + database;
}

std::string PgServer::conninfo(const std::string& user,
                               const std::string& password,
                               const std::string& database,
                               const std::string& extra) const
{
  std::string info = "host=127.0.0.1 port=" + std::to_string(m_port) + " user=" + user + " dbname=" + database;
  if (!password.empty()) {
    info += " password=" + password;
  }
  if (!extra.empty()) {
    info += " " + extra;
  }
  return info;
}

std::string PgServer::sql(const std::string& statements, const std::string& database) const
{
  const Result result = run_process({ pg_bin_dir() + "/psql",
                                      "-X",
                                      "-q",
                                      "-A",
                                      "-t",
                                      "-v",
                                      "ON_ERROR_STOP=1",
                                      "-h",
                                      m_directory,
                                      "-p",
                                      std::to_string(m_port),
                                      "-U",
                                      k_superuser,
                                      "-d",
                                      database,
                                      "-c",
                                      statements },
                                    { { "LC_ALL", "C" } });
  if (result.exit_code != 0) {
    throw std::runtime_error("psql failed (" + statements + "): " + result.err);
  }
  return result.out;
}

} // namespace poolcalc::test

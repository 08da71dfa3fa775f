#include "poolcalc/emit_pgbouncer.hpp"

#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

#include <string_view>
#include <vector>

namespace poolcalc {

namespace {

// PgBouncer's defaults (https://www.pgbouncer.org/config.html; PgBouncer 1.18's pgbouncer.ini(5)).
namespace pgbouncer_default {
constexpr std::string_view listen_addr = "not set (Unix socket only)";
constexpr std::string_view listen_port = "6432";
constexpr std::string_view auth_type = "md5";
constexpr std::string_view auth_file = "not set";
constexpr std::string_view pool_mode = "session";
constexpr std::string_view max_client_conn = "100";
constexpr std::string_view default_pool_size = "20";
constexpr std::string_view min_pool_size = "0";
constexpr std::string_view reserve_pool_size = "0 (no reserve)";
constexpr std::string_view reserve_pool_timeout = "5";
constexpr std::string_view max_db_connections = "0 (unlimited)";
constexpr std::string_view max_user_connections = "0 (unlimited)";
constexpr std::string_view server_idle_timeout = "600";
constexpr std::string_view server_lifetime = "3600";
constexpr std::string_view query_wait_timeout = "120";
constexpr std::string_view ignore_startup_parameters = "empty (only client_encoding, DateStyle, TimeZone, standard_conforming_strings "
                                                       "and application_name are accepted)";
constexpr std::string_view stats_users = "empty (the console only over the Unix socket, as the OS user PgBouncer runs as)";
} // namespace pgbouncer_default

std::string text_of(const std::string& value)
{
  return value;
}

std::string text_of(std::int64_t value)
{
  return fmt::format("{}", value);
}

std::string text_of(double value)
{
  return format_number(value);
}

template<typename T>
void setting(std::string& out, std::string_view key, const std::optional<Chosen<T>>& chosen, std::string_view pgbouncer_default)
{
  if (!chosen) {
    return;
  }
  out += fmt::format("; PgBouncer's default: {}. poolcalc: {}\n{} = {}\n", pgbouncer_default, chosen->why, key, text_of(chosen->value));
}

void comment(std::string& out, const std::string& why)
{
  if (!why.empty()) {
    out += fmt::format("; {}\n", why);
  }
}

std::string sql_literal(const std::string& text)
{
  std::string quoted = "'";
  for (char c : text) {
    quoted += c == '\'' ? std::string("''") : std::string(1, c);
  }
  return quoted + "'";
}

} // namespace

std::string render_pgbouncer_ini(const PgBouncerConfig& config)
{
  std::string out;
  for (const std::string& line : config.header) {
    out += fmt::format("; {}\n", line);
  }
  if (!config.header.empty()) {
    out += '\n';
  }

  out += "[databases]\n";
  for (const PgBouncerDatabase& db : config.databases) {
    comment(out, db.why);
    std::vector<std::string> fields;
    if (!db.host.empty()) {
      fields.push_back(fmt::format("host={}", db.host));
    }
    if (db.port) {
      fields.push_back(fmt::format("port={}", *db.port));
    }
    if (!db.dbname.empty()) {
      fields.push_back(fmt::format("dbname={}", db.dbname));
    }
    if (db.user) {
      fields.push_back(fmt::format("user={}", *db.user));
    }
    if (db.pool_size) {
      fields.push_back(fmt::format("pool_size={}", *db.pool_size));
    }
    if (db.min_pool_size) {
      fields.push_back(fmt::format("min_pool_size={}", *db.min_pool_size));
    }
    if (db.reserve_pool) {
      fields.push_back(fmt::format("reserve_pool={}", *db.reserve_pool));
    }
    if (db.max_db_connections) {
      fields.push_back(fmt::format("max_db_connections={}", *db.max_db_connections));
    }
    if (db.pool_mode) {
      fields.push_back(fmt::format("pool_mode={}", *db.pool_mode));
    }
    out += db.address_unknown ? "; " : "";
    out += fields.empty() ? fmt::format("{} =\n", db.name) : fmt::format("{} = {}\n", db.name, fmt::join(fields, " "));
  }

  if (!config.users.empty()) {
    out += "\n[users]\n";
    for (const PgBouncerUser& user : config.users) {
      comment(out, user.why);
      std::vector<std::string> fields;
      if (user.pool_mode) {
        fields.push_back(fmt::format("pool_mode={}", *user.pool_mode));
      }
      if (user.max_user_connections) {
        fields.push_back(fmt::format("max_user_connections={}", *user.max_user_connections));
      }
      out += fields.empty() ? fmt::format("{} =\n", user.name) : fmt::format("{} = {}\n", user.name, fmt::join(fields, " "));
    }
  }

  namespace d = pgbouncer_default;
  const PgBouncerSettings& s = config.settings;
  out += "\n[pgbouncer]\n";
  setting(out, "listen_addr", s.listen_addr, d::listen_addr);
  setting(out, "listen_port", s.listen_port, d::listen_port);
  setting(out, "auth_type", s.auth_type, d::auth_type);
  setting(out, "auth_file", s.auth_file, d::auth_file);
  setting(out, "pool_mode", s.pool_mode, d::pool_mode);
  setting(out, "max_client_conn", s.max_client_conn, d::max_client_conn);
  setting(out, "default_pool_size", s.default_pool_size, d::default_pool_size);
  setting(out, "min_pool_size", s.min_pool_size, d::min_pool_size);
  setting(out, "reserve_pool_size", s.reserve_pool_size, d::reserve_pool_size);
  setting(out, "reserve_pool_timeout", s.reserve_pool_timeout_s, d::reserve_pool_timeout);
  setting(out, "max_db_connections", s.max_db_connections, d::max_db_connections);
  setting(out, "max_user_connections", s.max_user_connections, d::max_user_connections);
  setting(out, "server_idle_timeout", s.server_idle_timeout_s, d::server_idle_timeout);
  setting(out, "server_lifetime", s.server_lifetime_s, d::server_lifetime);
  setting(out, "query_wait_timeout", s.query_wait_timeout_s, d::query_wait_timeout);
  setting(out, "ignore_startup_parameters", s.ignore_startup_parameters, d::ignore_startup_parameters);
  setting(out, "stats_users", s.stats_users, d::stats_users);
  for (const std::string& line : config.footer) {
    out += fmt::format("; {}\n", line);
  }
  return out;
}

std::string render_userlist_note(const PgBouncerConfig& config)
{
  const std::string auth_file = config.settings.auth_file ? config.settings.auth_file->value : std::string("userlist.txt");
  std::vector<std::string> roles;
  for (const std::string& role : config.login_roles) {
    roles.push_back(sql_literal(role));
  }
  const bool roles_known = !roles.empty();
  if (!roles_known) {
    roles.push_back("'app_role'");
  }

  std::string out;
  out += fmt::format("The auth_file ({}): one line per role that logs in through PgBouncer, the role's password hash exactly as\n"
                     "PostgreSQL stores it, never the password itself:\n\n",
                     auth_file);
  out += "  \"role\" \"SCRAM-SHA-256$<iterations>:<salt>$<storedkey>:<serverkey>\"\n";
  out += "  \"role\" \"md5<md5 of password followed by role name>\"\n\n";
  out += "With a SCRAM secret PgBouncer checks the client's password and logs into PostgreSQL with the client's own SCRAM\n"
         "exchange: the secret must be PostgreSQL's own (same salt and iterations), and the [databases] entry must not set\n"
         "user= (poolcalc's does not). auth_type = md5 accepts SCRAM secrets too and then uses SCRAM.\n\n";
  out += fmt::format("Write it from pg_authid as a superuser on the database server{}, e.g. save this line as userlist.sql:\n\n",
                     roles_known ? "" : " (replace app_role with the roles your application logs in as)");
  out +=
    fmt::format("SELECT '\"' || replace(rolname, '\"', '\"\"') || '\" \"' || replace(rolpassword, '\"', '\"\"') || '\"' FROM pg_authid "
                "WHERE rolname IN ({}) AND rolpassword IS NOT NULL ORDER BY rolname;\n\n",
                fmt::join(roles, ", "));
  out += fmt::format("and run: psql -X -At -d postgres -f userlist.sql > {}\n", auth_file);
  out += "Keep the file readable by the PgBouncer user only (chmod 600), and write it again when a password changes.\n\n";
  out += "Or, without a file: PgBouncer looks the hash up at login with auth_query, connecting as auth_user (whose own hash\n"
         "stays in the auth_file). In [pgbouncer]:\n\n"
         "  auth_user = pgbouncer\n"
         "  auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1\n\n"
         "(PgBouncer's default auth_query; pg_shadow needs a superuser, so PgBouncer's docs recommend a SECURITY DEFINER\n"
         "function that returns only the looked-up role: https://www.pgbouncer.org/config.html#auth_query)\n";
  return out;
}

} // namespace poolcalc

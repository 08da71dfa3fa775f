// `poolcalc config`: the registry of targets, the input every renderer reads, and the two output
// formats. The renderers themselves are in config_clients.cpp and config_postgresql.cpp.

#include "poolcalc/client_config.hpp"
#include "poolcalc/emit_pgbouncer.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include "common.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace poolcalc {

namespace {

// One dot-separated part of a version: digits only, 0-9999.
std::optional<int> version_part(std::string_view text)
{
  if (text.empty() || text.size() > 4 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

} // namespace

poolcalc::expected<PgBouncerVersion, std::string> parse_pgbouncer_version(std::string_view text)
{
  const auto bad = [&] {
    return poolcalc::unexpected(fmt::format("expected a PgBouncer version such as {} or {}, got '{}'",
                                            to_string(k_default_pgbouncer_version),
                                            major_minor(k_pgbouncer_prepared_statements),
                                            user_text(text)));
  };
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) {
    return bad();
  }
  PgBouncerVersion version{ 0, 0, 0 };
  int* fields[] = { &version.major, &version.minor, &version.patch };
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto part = version_part(parts[i]);
    if (!part) {
      return bad();
    }
    *fields[i] = *part;
  }
  return version;
}

bool valid_application_name(std::string_view name)
{
  return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

poolcalc::expected<JsModule, std::string> parse_js_module(std::string_view text)
{
  if (text == "cjs" || text == "commonjs") {
    return JsModule::commonjs;
  }
  if (text == "esm" || text == "module") {
    return JsModule::esm;
  }
  return poolcalc::unexpected(fmt::format("expected cjs (CommonJS: require) or esm (ES modules: import), got '{}'", user_text(text)));
}

namespace {

// The major of an npm version range: its first run of digits, when nothing but range operators,
// spaces and a 'v' come before it ("^7.10.0", "~6.2", ">=7 <8", "v7", "7.x"). None for "latest",
// "*", a tag, a URL or a path.
std::optional<int> range_major(std::string_view range)
{
  std::size_t i = 0;
  while (i < range.size() &&
         (range[i] == '^' || range[i] == '~' || range[i] == '>' || range[i] == '=' || range[i] == ' ' || range[i] == 'v')) {
    ++i;
  }
  std::size_t end = i;
  while (end < range.size() && end - i < 4 && range[end] >= '0' && range[end] <= '9') {
    ++end;
  }
  if (end == i || (end < range.size() && range[end] != '.' && range[end] != ' ' && range[end] != '<')) {
    return std::nullopt;
  }
  int major = 0;
  std::from_chars(range.data() + i, range.data() + end, major);
  return major;
}

} // namespace

poolcalc::expected<PackageJsonFacts, std::string> parse_package_json(std::string_view text)
{
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    return poolcalc::unexpected(std::string("not valid JSON"));
  }
  if (!json.is_object()) {
    return poolcalc::unexpected(std::string("not a JSON object"));
  }
  PackageJsonFacts facts;
  if (const auto type = json.find("type"); type != json.end()) {
    if (!type->is_string() || (*type != "module" && *type != "commonjs")) {
      return poolcalc::unexpected(std::string("\"type\" must be \"module\" or \"commonjs\""));
    }
    facts.module = *type == "module" ? JsModule::esm : JsModule::commonjs;
  }
  // @prisma/client decides the runtime; the prisma CLI's range is the fallback.
  for (const char* package : { "@prisma/client", "prisma" }) {
    for (const char* section : { "dependencies", "devDependencies" }) {
      const auto deps = json.find(section);
      if (deps == json.end()) {
        continue;
      }
      if (!deps->is_object()) {
        return poolcalc::unexpected(fmt::format("\"{}\" must be an object", section));
      }
      const auto range = deps->find(package);
      if (range == deps->end()) {
        continue;
      }
      if (!range->is_string()) {
        return poolcalc::unexpected(fmt::format("\"{}\".\"{}\" must be a version range (a string)", section, package));
      }
      if (!facts.prisma_major) {
        facts.prisma_major = range_major(range->get<std::string>());
      }
    }
  }
  return facts;
}

const std::vector<std::string_view>& client_only_params()
{
  // Prisma (docs/clients.md, "prisma") and pgx/pgxpool (pgxpool.ParseConfig, pgx.ParseConfig).
  static const std::vector<std::string_view> keys = {
    "connection_limit",
    "pool_timeout",
    "max_connection_lifetime",
    "max_idle_connection_lifetime",
    "pgbouncer",
    "statement_cache_size",
    "socket_timeout",
    "pool_max_conns",
    "pool_min_conns",
    "pool_max_conn_lifetime",
    "pool_max_conn_idle_time",
    "pool_health_check_period",
    "pool_max_conn_lifetime_jitter",
    "default_query_exec_mode",
    "statement_cache_capacity",
    "description_cache_capacity",
    "prefer_simple_protocol",
    "statement_cache_mode",
  };
  return keys;
}

DatabaseUrl without_client_params(const DatabaseUrl& url)
{
  const auto& keys = client_only_params();
  return url.keep_params([&](std::string_view key) { return std::find(keys.begin(), keys.end(), key) == keys.end(); });
}

ConfigInput config_input(const Plan& plan, const Rules& rules)
{
  ConfigInput input;
  input.headline = fmt::format("{}, {} ms per query -> pool of {} per instance",
                               detail::load_text(plan),
                               format_number(plan.scenarios[plan.design_index].query_ms),
                               plan.pool_size);
  input.pool_size = plan.pool_size;
  input.instances = plan.scenario.instances;
  input.pool_timeout_s = plan.settings.pool_timeout_s;
  input.connect_timeout_s = plan.settings.connect_timeout_s;
  input.server_url = plan.scenario.database_url;
  if (input.server_url) {
    if (const auto name = input.server_url->param("application_name"); name && valid_application_name(*name)) {
      input.application_name = *name;
    }
  }
  if (plan.pgbouncer) {
    // Where the application reaches PgBouncer: the address given (--pgbouncer-host, a sidecar's
    // 127.0.0.1), else listen_addr as a placeholder.
    const bool given = !plan.pgbouncer->host.empty();
    input.pgbouncer = PoolerEndpoint{ given ? plan.pgbouncer->host : plan.pgbouncer->listen_addr, plan.pgbouncer->port, {}, given };
    if (auto ini = pgbouncer_config_from_plan(plan)) {
      input.pgbouncer_config = std::move(*ini);
    }
    input.server_connections_source = fmt::format("PgBouncer's default_pool_size {} + reserve_pool_size {}",
                                                  plan.pgbouncer->pools.front().default_pool_size,
                                                  plan.pgbouncer->pools.front().reserve_pool_size);
  } else {
    input.server_connections_source =
      fmt::format("{} per instance x {} instance{}", plan.pool_size, plan.scenario.instances, plan.scenario.instances == 1 ? "" : "s");
    // `config --for pgbouncer` writes the file on request, as `poolcalc pgbouncer` does.
    if (auto ini = pgbouncer_config_from_plan(plan)) {
      input.pgbouncer_config = std::move(*ini);
    }
  }
  input.prisma_default_connection_limit = detail::prisma_default_limit(plan);
  input.prisma_default_pool_timeout_s = plan.prisma_default_pool_timeout_s;
  input.prisma_default_connect_timeout_s = plan.prisma_default_connect_timeout_s;
  // The server's as given: a raise the advisor chose shows as "raised from your N".
  input.max_connections = plan.advice.given_max_connections > 0 ? plan.advice.given_max_connections : plan.scenario.max_connections;
  // The reserve the plan counts: not the entries that take no max_connections slot (a replication
  // reserve from PostgreSQL 12 on, with --postgres-version).
  for (const ReserveEntry& entry : plan.scenario.reserved) {
    if (std::find(plan.reserve_not_counted.begin(), plan.reserve_not_counted.end(), entry.name) == plan.reserve_not_counted.end()) {
      input.reserved.push_back(entry);
    }
  }
  // What PostgreSQL sees at the plan's hardest moment (the autoscaler's maximum).
  input.server_connections = hardest_connections(plan);
  input.superuser_reserved_default = rules.postgres.superuser_reserved_connections_default;
  input.wal_senders_separate_since = static_cast<int>(rules.postgres.wal_senders_separate_since);
  return input;
}

namespace {

// What PostgreSQL sees from the fleet, and PgBouncer's file when it has one.
void fleet_server_figures(const Fleet& fleet, ConfigInput& input)
{
  input.max_connections = fleet.database.max_connections;
  // The reserve the fleet counts (as each service's scenario does): not the entries that take no
  // max_connections slot (a replication reserve from PostgreSQL 12 on).
  for (const ReserveEntry& entry : fleet.database.reserve) {
    const auto& skip = fleet.database.reserve_not_count;
    if (std::find(skip.begin(), skip.end(), entry.name) == skip.end()) {
      input.reserved.push_back(entry);
    }
  }
  if (fleet.database.reserved_connections > 0) {
    input.reserved.push_back({ "reserved_connections", fleet.database.reserved_connections });
  }
  input.server_connections = fleet.server_connections;
  input.pgbouncer.reset();
  input.pgbouncer_config.reset();
  if (fleet.pgbouncer) {
    if (auto ini = pgbouncer_config_from_fleet(fleet)) {
      input.pgbouncer_config = std::move(*ini);
    }
    input.server_connections_source = fmt::format("the fleet's PgBouncer: its entries' max_db_connections summed, over {} pool{}",
                                                  fleet.pgbouncer->pools.size(),
                                                  fleet.pgbouncer->pools.size() == 1 ? "" : "s");
  } else {
    input.server_connections_source = fmt::format(
      "every instance's pool of the fleet's {} service{}, directly", fleet.services.size(), fleet.services.size() == 1 ? "" : "s");
  }
}

} // namespace

ConfigInput config_input(const Fleet& fleet, const FleetService& service, const Rules& rules)
{
  ConfigInput input = config_input(service.plan, rules);
  input.headline = fmt::format("{} of fleet {}: {}, {} ms per query -> pool of {} per instance",
                               service.input.name,
                               fleet.source,
                               detail::load_text(service.plan),
                               format_number(service.plan.scenarios[service.plan.design_index].query_ms),
                               service.plan.pool_size);
  fleet_server_figures(fleet, input);
  input.server_url.reset();
  if (valid_application_name(service.input.name)) {
    input.application_name = service.input.name;
  }
  if (fleet.database.url) {
    input.server_url = fleet.database.url->with_user(service.input.user).with_database(service.input.database);
    input.fleet_role = true;
  }
  if (fleet.pgbouncer) {
    input.pgbouncer = PoolerEndpoint{ fleet.pgbouncer->listen_addr, fleet.pgbouncer->listen_port, service.pgbouncer_database, false };
    input.pgbouncer_ini_command = fmt::format("poolcalc pgbouncer --fleet {}", printable(fleet.source));
  }
  return input;
}

ConfigInput config_input(const Fleet& fleet, const Rules& rules)
{
  ConfigInput input;
  input.headline = fmt::format("fleet {}: {} service{}, {} instance{}",
                               fleet.source,
                               fleet.services.size(),
                               fleet.services.size() == 1 ? "" : "s",
                               fleet.instances,
                               fleet.instances == 1 ? "" : "s");
  input.instances = fleet.instances;
  input.superuser_reserved_default = rules.postgres.superuser_reserved_connections_default;
  input.wal_senders_separate_since = static_cast<int>(rules.postgres.wal_senders_separate_since);
  fleet_server_figures(fleet, input);
  if (fleet.pgbouncer) {
    input.pgbouncer = PoolerEndpoint{ fleet.pgbouncer->listen_addr, fleet.pgbouncer->listen_port, {}, false };
  }
  input.server_url = fleet.database.url;
  return input;
}

bool url_reaches_pgbouncer(const ConfigInput& input)
{
  return input.pgbouncer && input.server_url && is_pgbouncer_url(*input.server_url, input.pgbouncer->port);
}

std::optional<DatabaseUrl> connect_url(const ConfigInput& input)
{
  if (!input.server_url) {
    return std::nullopt;
  }
  DatabaseUrl url = without_client_params(*input.server_url);
  if (url.param("application_name") && url.param("application_name") != input.application_name) {
    // A URL's application_name wins over the code's in node-postgres (its parsed URL is applied
    // last): keep the two the same.
    url = url.with_param("application_name", input.application_name);
  }
  if (!url_reaches_pgbouncer(input)) {
    return url; // the server's own address: PgBouncer's is not known
  }
  if (!input.pgbouncer->database.empty() && input.pgbouncer->database != url.database()) {
    url = url.with_database(input.pgbouncer->database);
  }
  return url;
}

std::optional<DatabaseUrl> prisma_url(const ConfigInput& input, const PgBouncerVersion& pgbouncer_version)
{
  auto url = connect_url(input);
  if (!url) {
    return std::nullopt;
  }
  // Prisma's docs: pgbouncer=true only for PgBouncer below 1.21.0; from 1.21 on (with
  // max_prepared_statements > 0) Prisma's prepared statements work through it. Never on a URL
  // that still points at the server.
  if (url_reaches_pgbouncer(input) && pgbouncer_version < k_pgbouncer_prepared_statements) {
    url = url->with_param("pgbouncer", "true");
  } else {
    url = url->without_param("pgbouncer");
  }
  return url->with_param("connection_limit", fmt::format("{}", input.pool_size))
    .with_param("pool_timeout", format_number(input.pool_timeout_s))
    .with_param("connect_timeout", format_number(input.connect_timeout_s));
}

ServerSettings server_settings(const ConfigInput& input, const ConfigOptions& options)
{
  ServerSettings s;
  std::int64_t reserved_total = 0;
  std::optional<std::int64_t> superuser;
  std::int64_t admin = 0;
  for (const ReserveEntry& entry : input.reserved) {
    reserved_total += entry.connections;
    if (entry.name == "superuser") {
      superuser = entry.connections;
    } else if (entry.name == "admin") {
      admin = entry.connections;
    }
  }
  // The superuser slots come out of max_connections whether poolcalc reserved them or not: without
  // a `superuser` reserve, PostgreSQL's default still holds its slots, so they are added.
  s.superuser_reserved_connections = superuser.value_or(input.superuser_reserved_default);
  s.needed = input.server_connections + reserved_total + (superuser ? 0 : s.superuser_reserved_connections);
  s.max_connections = std::max(s.needed, input.max_connections);
  s.reserved_connections = options.server_version >= 16 ? admin : 0;
  return s;
}

const std::vector<ConfigTarget>& config_targets()
{
  static const std::vector<ConfigTarget> targets = {
    { "pgbouncer", "pgbouncer.ini, and how to write its auth_file (userlist.txt)", &render_config_pgbouncer },
    { "prisma", ".env (DATABASE_URL, DIRECT_URL) and the schema.prisma datasource", &render_config_prisma },
    { "node-postgres", "pg.Pool options (ms)", &render_config_node_postgres },
    { "hikaricp", "HikariCP properties (ms)", &render_config_hikaricp },
    { "sqlalchemy", "create_engine() pool arguments (s)", &render_config_sqlalchemy },
    { "go-database-sql", "database/sql SetMaxOpenConns and friends (time.Duration)", &render_config_go_database_sql },
    { "pgx", "pgxpool DSN parameters (durations like 30s)", &render_config_pgx },
    { "postgresql-conf", "max_connections and the reserved slots for postgresql.conf", &render_config_postgresql_conf },
  };
  return targets;
}

const ConfigTarget* find_config_target(std::string_view name)
{
  for (const ConfigTarget& target : config_targets()) {
    if (target.name == name) {
      return &target;
    }
  }
  return nullptr;
}

std::string config_target_names()
{
  std::vector<std::string_view> names;
  for (const ConfigTarget& target : config_targets()) {
    names.push_back(target.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

std::vector<ConfigFile> render_config_pgbouncer(const ConfigInput& input, const ConfigOptions& options)
{
  (void)options;
  if (!input.pgbouncer_config) {
    return {}; // the command refuses a plan without PgBouncer before rendering
  }
  // The note follows the ini as `;` comments, so the whole text output is still a file PgBouncer
  // accepts (`poolcalc config --for pgbouncer > pgbouncer.ini`).
  std::string note = "; How to write the auth_file (poolcalc pgbouncer --userlist prints this note alone):\n";
  const std::string text = render_userlist_note(*input.pgbouncer_config);
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    note += line.empty() ? ";\n" : "; " + line + "\n";
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return { { "pgbouncer.ini", render_pgbouncer_ini(*input.pgbouncer_config) }, { "userlist-howto.txt", std::move(note) } };
}

std::string render_config_text(const std::vector<ConfigFile>& files)
{
  std::string out;
  for (const ConfigFile& file : files) {
    if (!out.empty()) {
      out += '\n';
    }
    out += file.content;
  }
  return out;
}

std::string render_config_json(std::string_view target, const std::vector<ConfigFile>& files)
{
  nlohmann::ordered_json json;
  json["schema_version"] = 1;
  json["target"] = target;
  json["files"] = nlohmann::ordered_json::array();
  for (const ConfigFile& file : files) {
    json["files"].push_back({ { "name", file.name }, { "content", file.content } });
  }
  return json.dump(2) + "\n";
}

} // namespace poolcalc

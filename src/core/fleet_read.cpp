#include "poolcalc/fleet.hpp"

#include "poolcalc/inputs.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/postgres_version.hpp"
#include "poolcalc/safe_text.hpp"
#include "scenario_toml.hpp"
#include "sizing_detail.hpp"
#include "toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace poolcalc {

namespace {

using detail::InputError;
using detail::TableReader;

// The scenario keys a [[service]] takes: the inputs marked fleet_service (inputs.hpp); the
// fleet's database and deploy are [database]'s, and there is no per-service queueing search.
const std::vector<std::string_view>& workload_keys()
{
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> result;
    for (const InputSpec& spec : inputs()) {
      if (spec.fleet_service) {
        result.push_back(spec.key);
      }
    }
    return result;
  }();
  return keys;
}

const std::vector<std::string_view>& service_own_keys()
{
  static const std::vector<std::string_view> keys = { "name", "client", "session_features", "database", "user" };
  return keys;
}

bool listed(const std::vector<std::string_view>& keys, std::string_view key)
{
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

const std::vector<std::pair<std::string_view, Client>>& client_names()
{
  static const std::vector<std::pair<std::string_view, Client>> names = {
    { "prisma", Client::prisma },         { "node-postgres", Client::node_postgres },     { "hikaricp", Client::hikaricp },
    { "sqlalchemy", Client::sqlalchemy }, { "go-database-sql", Client::go_database_sql }, { "pgx", Client::pgx },
    { "other", Client::other },
  };
  return names;
}

std::string location_of(const TableReader& reader, const toml::node& node)
{
  return detail::location(reader.source_name(), node.source());
}

std::string plain_name(TableReader& reader, std::string_view key)
{
  std::string value = reader.string(key);
  if (!is_plain_name(value)) {
    reader.fail(reader.node(key), key, fmt::format("expected a name of letters, digits, '_' or '-', got '{}'", user_text(value)));
  }
  // PostgreSQL's names and PgBouncer's [databases] and [users] keys end at 63 bytes.
  if (value.size() > 63) {
    reader.fail(
      reader.node(key), key, fmt::format("expected at most 63 characters (PostgreSQL's and PgBouncer's limit), got {}", value.size()));
  }
  // PgBouncer's admin console answers to the database name "pgbouncer" (its FATAL: reserved).
  if (key == "database" && value == "pgbouncer") {
    reader.fail(reader.node(key), key, "'pgbouncer' is PgBouncer's admin console, which a [databases] entry cannot use");
  }
  return value;
}

FleetDatabase read_database(TableReader& reader, const Rules& rules)
{
  FleetDatabase db;
  db.max_connections = reader.integer("max_connections", 1, k_max_connections_limit);
  db.version = reader.integer("version", k_min_server_version, k_max_server_version);
  if (reader.has("reserve")) {
    const toml::table& table = reader.table("reserve");
    TableReader reserve(table, reader.dotted("reserve"), reader.source_name());
    for (const auto& [name, value] : detail::keys_in_file_order(table)) {
      if (!is_plain_name(name)) {
        reserve.fail(*value, name, "expected a name of letters, digits, '_' or '-'");
      }
      db.reserve.push_back({ name, reserve.integer(name, 0, k_max_connections_limit) });
    }
  } else {
    db.reserve = rules.database.reserved;
  }
  if (reader.has("reserved_connections")) {
    db.reserved_connections = reader.integer("reserved_connections", 0, k_max_connections_limit);
    if (db.version < 16) {
      reader.fail(reader.node("reserved_connections"),
                  "reserved_connections",
                  fmt::format("PostgreSQL has reserved_connections from version 16 on; version is {}", db.version));
    }
  }
  // Since PostgreSQL 12, WAL senders have their own slots (max_wal_senders) and take none of
  // max_connections: a replication reserve takes nothing there (the single plan's rule).
  const detail::CountedReserve counted = detail::count_reserve(db.reserve, static_cast<int>(db.version), rules);
  db.reserve_not_count = counted.not_counted;
  db.reserved_total = counted.total + db.reserved_connections;
  if (db.reserved_total > db.max_connections) {
    reader.fail(reader.node("max_connections"),
                "max_connections",
                fmt::format("the reserved connections ({}) exceed max_connections ({}); reserve at most {}",
                            db.reserved_total,
                            db.max_connections,
                            db.max_connections));
  }
  db.available = db.max_connections - db.reserved_total;
  if (reader.has("url")) {
    auto url = DatabaseUrl::parse(reader.string("url"));
    if (!url) {
      reader.fail(reader.node("url"), "url", url.error());
    }
    db.url = std::move(*url);
  }
  if (reader.has("remote")) {
    db.remote = reader.boolean("remote");
  } else if (db.url) {
    db.remote = !db.url->is_local();
  }
  reader.finish();
  return db;
}

FleetDeploy read_deploy(TableReader& reader, const Rules& rules)
{
  FleetDeploy deploy;
  if (reader.has("strategy")) {
    const std::string strategy = reader.string("strategy");
    if (strategy == "rolling") {
      deploy.strategy = DeployStrategy::rolling;
    } else if (strategy == "blue-green") {
      deploy.strategy = DeployStrategy::blue_green;
    } else if (strategy == "recreate") {
      deploy.strategy = DeployStrategy::recreate;
    } else {
      reader.fail(
        reader.node("strategy"), "strategy", fmt::format("expected rolling, blue-green or recreate, got '{}'", user_text(strategy)));
    }
  }
  deploy.max_surge_percent = rules.fleet.rolling_max_surge_percent;
  deploy.max_surge_default = true;
  if (reader.has("max_surge")) {
    const toml::node& node = reader.node("max_surge");
    if (deploy.strategy != DeployStrategy::rolling) {
      reader.fail(node, "max_surge", fmt::format("applies to strategy = \"rolling\" only, not to \"{}\"", to_string(deploy.strategy)));
    }
    const std::string accepted =
      fmt::format("expected a whole number of instances from 0 to {} or a percentage from 0% to 100% such as \"25%\"", k_max_instances);
    deploy.max_surge_default = false;
    if (const auto* count = node.as_integer()) {
      if (count->get() < 0 || count->get() > k_max_instances) {
        reader.fail(node, "max_surge", fmt::format("{}, got {}", accepted, count->get()));
      }
      deploy.max_surge_instances = count->get();
    } else if (const auto* text = node.as_string()) {
      const std::string& value = text->get();
      auto percent = value.ends_with('%') ? parse_number(std::string_view(value).substr(0, value.size() - 1), 0.0, 100.0)
                                          : poolcalc::expected<double, std::string>(poolcalc::unexpected(std::string()));
      if (!percent) {
        reader.fail(node, "max_surge", fmt::format("{}, got '{}'", accepted, user_text(value)));
      }
      deploy.max_surge_percent = *percent;
    } else {
      reader.fail(node, "max_surge", accepted);
    }
  }
  if (reader.has("simultaneous")) {
    deploy.simultaneous = reader.boolean("simultaneous");
  }
  reader.finish();
  return deploy;
}

FleetServiceInput read_service(const toml::table& table,
                               const std::string& prefix,
                               std::string_view source_name,
                               const FleetDatabase& db,
                               const std::string& database_origin,
                               const Rules& rules)
{
  TableReader reader(table, prefix, source_name);
  FleetServiceInput service;
  RawInputs workload;
  for (const auto& [key, node] : detail::keys_in_file_order(table)) {
    if (listed(service_own_keys(), key)) {
      continue;
    }
    if (listed(workload_keys(), key)) {
      workload.emplace(key, detail::scenario_value(*node, key, reader));
      continue;
    }
    if (key == "max_connections" || key == "reserve" || key == "database_url" || key == "remote_database") {
      reader.fail(*node, key, "the database's keys go in [database], for the whole fleet");
    }
    std::vector<std::string_view> accepted = service_own_keys();
    accepted.insert(accepted.end(), workload_keys().begin(), workload_keys().end());
    reader.fail(*node, key, fmt::format("unknown key (accepted: {})", fmt::join(accepted, ", ")));
  }
  const std::string here = fmt::format("{}: {}", location_of(reader, table), prefix);
  service.name = plain_name(reader, "name");
  if (reader.has("client")) {
    const std::string client = reader.string("client");
    const auto it = std::find_if(client_names().begin(), client_names().end(), [&](const auto& c) { return c.first == client; });
    if (it == client_names().end()) {
      std::vector<std::string_view> names;
      for (const auto& c : client_names()) {
        names.push_back(c.first);
      }
      reader.fail(reader.node("client"), "client", fmt::format("expected one of {}, got '{}'", fmt::join(names, ", "), user_text(client)));
    }
    service.client = it->second;
  }
  if (reader.has("session_features")) {
    service.session_features = reader.boolean("session_features");
  }
  if (reader.has("database")) {
    service.database = plain_name(reader, "database");
  } else if (db.url && is_plain_name(db.url->database())) {
    service.database = db.url->database();
  } else {
    throw InputError{ fmt::format("{}.database: missing key (the database the service connects to; or give [database] url with "
                                  "a database name)",
                                  here) };
  }
  service.user = plain_name(reader, "user");

  if (!workload.contains("vus") && !workload.contains("rps")) {
    throw InputError{ fmt::format("{}: vus or rps is required (a closed load, e.g. vus = 120, or an open load, e.g. rps = 64.6)", here) };
  }
  if (!workload.contains("query_ms") && !workload.contains("op")) {
    throw InputError{ fmt::format("{}: query_ms is required: how long one query holds a connection, in milliseconds (e.g. query_ms = 150)",
                                  here) };
  }
  // The shared database, so the core checks each service against the same budget.
  workload["max_connections"] = RawValue{ { fmt::format("{}", db.max_connections) }, database_origin + ".max_connections" };
  RawValue reserve{ {}, database_origin + ".reserve" };
  for (const ReserveEntry& entry : db.reserve) {
    if (std::find(db.reserve_not_count.begin(), db.reserve_not_count.end(), entry.name) == db.reserve_not_count.end()) {
      reserve.items.push_back(fmt::format("{}={}", entry.name, entry.connections));
    }
  }
  if (db.reserved_connections > 0) {
    reserve.items.push_back(fmt::format("reserved_connections={}", db.reserved_connections));
  }
  workload["reserve"] = reserve;
  auto scenario = build_scenario(workload, rules);
  if (!scenario) {
    throw InputError{ scenario.error() };
  }
  service.scenario = std::move(*scenario);
  return service;
}

FleetFile read_fleet(std::string_view text, std::string_view source_name, const Rules& rules)
{
  const toml::table root = detail::parse_toml(text, source_name);
  TableReader reader(root, "", source_name);
  FleetFile file;
  file.source = user_text(source_name); // a path as the user gave it, shown in every output
  const toml::table& database_table = reader.table("database");
  TableReader database(database_table, "database", source_name);
  file.database = read_database(database, rules);
  const std::string database_origin = fmt::format("{}: database", detail::location(source_name, database_table.source()));
  if (reader.has("deploy")) {
    TableReader deploy(reader.table("deploy"), "deploy", source_name);
    file.deploy = read_deploy(deploy, rules);
  } else {
    file.deploy.max_surge_percent = rules.fleet.rolling_max_surge_percent;
    file.deploy.max_surge_default = true;
  }
  const toml::array& services = reader.array("service");
  if (services.empty() || services.size() > k_max_fleet_services) {
    reader.fail(services, "service", fmt::format("expected 1 to {} [[service]] tables, got {}", k_max_fleet_services, services.size()));
  }
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string prefix = fmt::format("service[{}]", i);
    const toml::table* table = services[i].as_table();
    if (table == nullptr) {
      reader.fail(services[i], prefix, "expected a table ([[service]])");
    }
    FleetServiceInput service = read_service(*table, prefix, source_name, file.database, database_origin, rules);
    for (const FleetServiceInput& other : file.services) {
      if (other.name == service.name) {
        TableReader named(*table, prefix, source_name);
        named.fail(named.node("name"), "name", fmt::format("'{}' is the name of another service", user_text(service.name)));
      }
    }
    file.services.push_back(std::move(service));
  }
  reader.finish();
  return file;
}
} // namespace

std::string_view to_string(Client client)
{
  for (const auto& [name, value] : client_names()) {
    if (value == client) {
      return name;
    }
  }
  return "other";
}

std::string_view to_string(DeployStrategy strategy)
{
  switch (strategy) {
  case DeployStrategy::rolling:
    return "rolling";
  case DeployStrategy::blue_green:
    return "blue-green";
  case DeployStrategy::recreate:
    return "recreate";
  }
  return "rolling";
}

poolcalc::expected<FleetFile, std::string> parse_fleet_toml(std::string_view toml_text, std::string_view source_name, const Rules& rules)
{
  try {
    return read_fleet(toml_text, source_name, rules);
  } catch (const InputError& error) {
    return poolcalc::unexpected(error.message);
  }
}

} // namespace poolcalc

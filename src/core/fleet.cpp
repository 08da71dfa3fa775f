#include "poolcalc/fleet.hpp"

#include "poolcalc/inputs.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"
#include "scenario_toml.hpp"
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

// ceil() of a product of decimal inputs after removing floating-point noise (as the core's
// sizing does); any load at all needs a connection.
std::int64_t ceil_count(double value)
{
  const auto count = static_cast<std::int64_t>(std::ceil(round_decimal(value)));
  return value > 0 && count == 0 ? 1 : count;
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
  db.version = reader.integer("version", 9, 99);
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
  for (const ReserveEntry& entry : db.reserve) {
    // Since PostgreSQL 12, WAL senders have their own slots (max_wal_senders) and take none of
    // max_connections: a replication reserve takes nothing there.
    if (entry.name.find("replication") != std::string::npos && db.version >= rules.postgres.wal_senders_separate_since) {
      db.reserve_not_count.push_back(entry.name);
    } else {
      db.reserved_total += entry.connections;
    }
  }
  db.reserved_total += db.reserved_connections;
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

std::int64_t surge_instances(const FleetDeploy& deploy, std::int64_t instances)
{
  switch (deploy.strategy) {
  case DeployStrategy::rolling:
    if (deploy.max_surge_instances) {
      // Kubernetes never runs more new instances than the replicas: the surge is at most them.
      return std::min(*deploy.max_surge_instances, instances);
    }
    // Kubernetes rounds a percentage max_surge up (Deployment spec, maxSurge).
    return std::min(instances, ceil_count(static_cast<double>(instances) * deploy.max_surge_percent / 100.0));
  case DeployStrategy::blue_green:
    return instances;
  case DeployStrategy::recreate:
    return 0;
  }
  return 0;
}

const ScalingRow* scaling_row_for(const std::vector<ScalingRow>& rows, std::int64_t users)
{
  for (const ScalingRow& row : rows) {
    if (users >= row.users_min && (!row.users_max || users <= *row.users_max)) {
      return &row;
    }
  }
  return nullptr;
}

std::vector<Trigger> fleet_triggers(const Fleet& fleet, const Rules& rules)
{
  return pgbouncer_triggers({ fleet.vus,
                              fleet.scaling_row,
                              fleet.instances,
                              fleet.total_connections,
                              static_cast<std::int64_t>(fleet.services.size()),
                              false,
                              fleet.database.remote.value_or(false),
                              " in all" },
                            rules.pgbouncer_triggers);
}

// The hold time of a service's design scenario, in seconds.
double hold_s(const FleetService& s)
{
  const Scenario& sc = s.input.scenario;
  return sc.query_ms[sc.design_index] / 1000.0;
}

// Queries per second the whole service sends.
double arrival_rps(const FleetService& s)
{
  const Scenario& sc = s.input.scenario;
  if (sc.rps) {
    return *sc.rps * sc.queries_per_request;
  }
  return static_cast<double>(sc.vus) * sc.activity * vu_query_rate(sc, hold_s(s));
}

// The wait clients see inside PgBouncer on a transaction pool, with its default_pool_size as the
// servers (the reserve opens only after reserve_pool_timeout). One closed-load service keeps the
// closed model; several services are merged into one open load (their arrival rates summed, the
// hold's mean and variability mixed), which never understates the wait of a closed load.
void pool_wait(FleetPool& pool, const std::vector<const FleetService*>& members)
{
  if (members.size() == 1 && !members.front()->input.scenario.rps) {
    const FleetService& s = *members.front();
    const Scenario& sc = s.input.scenario;
    const double hold = hold_s(s);
    ClosedLoad load;
    load.users = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(round_decimal(static_cast<double>(sc.vus) * sc.activity))));
    load.hold_s = hold;
    load.think_s = 1.0 / vu_query_rate(sc, hold) - hold;
    pool.wait = closed_metrics(load, pool.default_pool_size, 0);
    pool.wait_model = fmt::format("closed (M/M/c//N): {} active VUs, each holding {} ms then thinking {} ms, on {} server connections",
                                  load.users,
                                  format_number(hold * 1000.0),
                                  format_number(load.think_s * 1000.0),
                                  pool.default_pool_size);
    return;
  }
  double rate = 0;
  double busy = 0;
  double second = 0;
  for (const FleetService* s : members) {
    const double lambda = arrival_rps(*s);
    const double hold = hold_s(*s);
    rate += lambda;
    busy += lambda * hold;
    second += lambda * (1.0 + s->input.scenario.hold_cv2) * hold * hold;
  }
  OpenLoad load;
  load.arrival_rps = rate;
  load.hold_s = busy / rate;
  load.hold_cv2 = std::max(0.0, second / rate / (load.hold_s * load.hold_s) - 1.0);
  pool.wait = open_metrics(load, pool.default_pool_size, 0);
  pool.wait_model = fmt::format("open (Erlang C, Allen-Cunneen): {} queries/s, mean hold {} ms, on {} server connections",
                                format_number(rate),
                                format_number(load.hold_s * 1000.0),
                                pool.default_pool_size);
}

FleetPgBouncerPlan plan_pgbouncer(Fleet& fleet, const Rules& rules)
{
  const PgBouncerSettingsRules& r = rules.pgbouncer_settings;
  FleetPgBouncerPlan p;
  p.listen_port = r.listen_port;
  p.listen_addr = r.listen_addr;
  p.auth_type = r.auth_type;
  p.auth_file = r.auth_file;
  p.pool_mode = r.pool_mode;
  p.reserve_pool_timeout_s = r.reserve_pool_timeout_s;
  p.max_client_conn_minimum = r.max_client_conn;
  p.max_client_conn = std::max(r.max_client_conn, fleet.surge_connections);
  p.server_budget = std::min(fleet.database.available,
                             static_cast<std::int64_t>(std::floor(
                               round_decimal(rules.database.safe_utilization_max * static_cast<double>(fleet.database.max_connections)))));

  // Pools by (PgBouncer database, user). A service that needs session features cannot share a
  // transaction-mode database entry: it gets its own session-mode entry for the same database.
  std::vector<std::vector<const FleetService*>> members;
  const auto transaction_db = [&](const std::string& dbname) {
    return std::any_of(fleet.services.begin(), fleet.services.end(), [&](const FleetService& s) {
      return !s.input.session_features && s.input.database == dbname;
    });
  };
  const auto taken = [&](const std::string& name) {
    return std::any_of(fleet.services.begin(), fleet.services.end(), [&](const FleetService& s) { return s.input.database == name; });
  };
  // Session entries get a name of their own: unique (no service's database, no other database's
  // session entry) and within PgBouncer's 63 bytes.
  std::map<std::string, std::string> session_entries; // entry name -> dbname
  for (FleetService& s : fleet.services) {
    std::string name = s.input.database;
    if (s.input.session_features && transaction_db(name)) {
      const auto clash = [&](const std::string& candidate) {
        const auto it = session_entries.find(candidate);
        return taken(candidate) || (it != session_entries.end() && it->second != s.input.database);
      };
      for (int n = 1;; ++n) {
        const std::string suffix = n == 1 ? "_session" : fmt::format("_session{}", n);
        name = s.input.database.substr(0, std::min<std::size_t>(s.input.database.size(), 63 - suffix.size())) + suffix;
        if (!clash(name)) {
          break;
        }
      }
      session_entries[name] = s.input.database;
    }
    s.pgbouncer_database = name;
    const std::string mode = s.input.session_features ? "session" : "transaction";
    auto it = std::find_if(
      p.pools.begin(), p.pools.end(), [&](const FleetPool& pool) { return pool.database == name && pool.user == s.input.user; });
    if (it == p.pools.end()) {
      FleetPool pool;
      pool.database = name;
      pool.dbname = s.input.database;
      pool.user = s.input.user;
      pool.pool_mode = mode;
      p.pools.push_back(pool);
      members.emplace_back();
      it = p.pools.end() - 1;
    }
    const auto index = static_cast<std::size_t>(it - p.pools.begin());
    it->services.push_back(s.input.name);
    members[index].push_back(&s);
  }

  // Session pools hold a server connection per client connection: sized to every client
  // connection, surge included (a new instance's sessions would otherwise wait for the old
  // ones to close). Transaction pools: the rule of thumb over the pair's whole load.
  std::int64_t wanted_total = 0;
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    FleetPool& pool = p.pools[i];
    double peak = 0;
    std::int64_t buffered = 0;
    std::int64_t overhead = 0;
    std::int64_t round_to = 1;
    for (const FleetService* s : members[i]) {
      peak += s->peak;
      buffered += s->buffered;
      overhead = std::max(overhead, s->input.scenario.overhead); // one set of health checks per pair
      round_to = s->input.scenario.round_to;
      pool.client_connections += s->connections;
      pool.surge_client_connections += s->connections + s->surge_connections;
    }
    pool.peak = round_decimal(peak);
    pool.peak_ceil = ceil_count(peak);
    if (pool.pool_mode == "session") {
      pool.default_pool_size_wanted = pool.surge_client_connections;
      pool.default_pool_size = pool.default_pool_size_wanted;
      pool.server_connections = pool.default_pool_size;
      p.session_connections += pool.server_connections;
      continue;
    }
    pool.default_pool_size_wanted = round_up(buffered + overhead, round_to);
    pool.default_pool_size = pool.default_pool_size_wanted;
    pool.reserve_pool_size = static_cast<std::int64_t>(std::llround(r.reserve_pool_ratio * static_cast<double>(pool.default_pool_size)));
    pool.server_connections = pool.default_pool_size + pool.reserve_pool_size;
    wanted_total += pool.server_connections;
  }
  // The transaction pools share what the session pools leave of the budget, in proportion to
  // what each wants, keeping the reserve's ratio and at least one connection per pool.
  const std::int64_t remaining = std::max<std::int64_t>(0, p.server_budget - p.session_connections);
  if (wanted_total > remaining) {
    for (FleetPool& pool : p.pools) {
      if (pool.pool_mode == "session") {
        continue;
      }
      const auto share = static_cast<std::int64_t>(
        std::floor(static_cast<double>(remaining) * static_cast<double>(pool.server_connections) / static_cast<double>(wanted_total)));
      pool.default_pool_size =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(share) / (1.0 + r.reserve_pool_ratio))));
      pool.reserve_pool_size = std::max<std::int64_t>(0, share - pool.default_pool_size);
      pool.server_connections = pool.default_pool_size + pool.reserve_pool_size;
    }
  }
  for (std::size_t i = 0; i < p.pools.size(); ++i) {
    FleetPool& pool = p.pools[i];
    if (pool.pool_mode == "transaction") {
      pool.min_pool_size = static_cast<std::int64_t>(std::llround(r.min_pool_ratio * static_cast<double>(pool.default_pool_size)));
      pool_wait(pool, members[i]);
    }
    p.server_connections += pool.server_connections;
    auto db =
      std::find_if(p.databases.begin(), p.databases.end(), [&](const FleetPgBouncerDatabase& d) { return d.name == pool.database; });
    if (db == p.databases.end()) {
      p.databases.push_back({ pool.database, pool.dbname, pool.pool_mode, 0 });
      db = p.databases.end() - 1;
    }
    db->max_db_connections += pool.server_connections;
  }
  return p;
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

std::string pool_setting(Client client, std::int64_t pool)
{
  switch (client) {
  case Client::prisma:
    return fmt::format("connection_limit={}", pool);
  case Client::node_postgres:
    return fmt::format("max: {}", pool);
  case Client::hikaricp:
    return fmt::format("maximumPoolSize={}", pool);
  case Client::sqlalchemy:
    return fmt::format("pool_size={}, max_overflow=0", pool);
  case Client::go_database_sql:
    return fmt::format("SetMaxOpenConns({})", pool);
  case Client::pgx:
    return fmt::format("pool_max_conns={}", pool);
  case Client::other:
    break;
  }
  return fmt::format("pool size {}", pool);
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

Fleet size_fleet(const FleetFile& file, const Rules& rules)
{
  Fleet fleet;
  fleet.source = file.source;
  fleet.database = file.database;
  fleet.deploy = file.deploy;
  fleet.safe_utilization_max = rules.database.safe_utilization_max;
  std::int64_t largest_surge = -1;
  std::int64_t surge_sum = 0;
  for (const FleetServiceInput& input : file.services) {
    FleetService s;
    s.input = input;
    s.plan = size(input.scenario, rules);
    const ScenarioResult& design = s.plan.scenarios[s.plan.design_index];
    s.peak = design.peak_concurrent;
    s.peak_ceil = design.peak_total_ceil;
    s.buffered = ceil_count(static_cast<double>(s.peak_ceil) * input.scenario.burst);
    s.instances = input.scenario.instances;
    s.pool = s.plan.pool_size;
    s.connections = s.plan.total_connections;
    s.surge_instances = surge_instances(file.deploy, s.instances);
    s.surge_connections = s.surge_instances * s.pool;
    s.pool_setting = pool_setting(input.client, s.pool);
    fleet.instances += s.instances;
    fleet.total_connections += s.connections;
    surge_sum += s.surge_connections;
    if (s.surge_connections > largest_surge) {
      largest_surge = s.surge_connections;
      fleet.surge_service = input.name;
    }
    if (!input.scenario.rps) {
      fleet.vus += input.scenario.vus;
    }
    fleet.services.push_back(std::move(s));
  }
  // One service deploys at a time unless the file says they all do: the worst one counts.
  fleet.surge_connections = fleet.total_connections + (file.deploy.simultaneous ? surge_sum : largest_surge);
  if (file.deploy.simultaneous) {
    fleet.surge_service.clear();
  }
  fleet.fits_direct = fleet.total_connections <= fleet.database.available;
  fleet.surge_fits_direct = fleet.surge_connections <= fleet.database.available;
  fleet.scaling_row = fleet.vus > 0 ? scaling_row_for(rules.scaling, fleet.vus) : nullptr;
  fleet.triggers = fleet_triggers(fleet, rules);

  FleetCapacity& c = fleet.capacity;
  double peak = 0;
  if (fleet.triggers.empty()) {
    fleet.recommendation = Recommendation::pool;
    fleet.server_connections = fleet.total_connections;
    for (const FleetService& s : fleet.services) {
      peak += s.peak;
      c.buffered += s.buffered;
    }
    c.server_connections = std::min(fleet.total_connections, fleet.database.available);
    c.peak = round_decimal(peak);
    c.peak_ceil = ceil_count(peak);
    c.fits = c.peak_ceil <= c.server_connections;
  } else {
    fleet.recommendation = Recommendation::pgbouncer;
    fleet.pgbouncer = plan_pgbouncer(fleet, rules);
    fleet.server_connections = fleet.pgbouncer->server_connections;
    for (const FleetPool& pool : fleet.pgbouncer->pools) {
      if (pool.pool_mode != "transaction") {
        continue;
      }
      peak += pool.peak;
      c.server_connections += pool.server_connections;
      c.fits = c.fits && pool.peak_ceil <= pool.server_connections;
    }
    for (const FleetService& s : fleet.services) {
      if (!s.input.session_features) {
        c.buffered += s.buffered;
      }
    }
    c.peak = round_decimal(peak);
    c.peak_ceil = peak > 0 ? ceil_count(peak) : 0;
  }
  fleet.utilization = static_cast<double>(fleet.server_connections) / static_cast<double>(fleet.database.max_connections);
  return fleet;
}

namespace {

using Findings = std::vector<Finding>;

std::string available_phrase(const Fleet& fleet)
{
  return fmt::format("{} available (max_connections {} - reserved {})",
                     fleet.database.available,
                     fleet.database.max_connections,
                     fleet.database.reserved_total);
}

std::string surge_phrase(const Fleet& fleet)
{
  const FleetDeploy& d = fleet.deploy;
  switch (d.strategy) {
  case DeployStrategy::rolling: {
    const std::string surge = d.max_surge_instances ? fmt::format("max_surge {}", *d.max_surge_instances)
                                                    : fmt::format("max_surge {}", format_percent(d.max_surge_percent / 100.0));
    return fleet.surge_service.empty() ? fmt::format("a rolling deploy of every service at once ({})", surge)
                                       : fmt::format("a rolling deploy of {} ({})", fleet.surge_service, surge);
  }
  case DeployStrategy::blue_green:
    return fleet.surge_service.empty() ? "a blue-green deploy of every service at once (each instance doubled)"
                                       : fmt::format("a blue-green deploy of {} (its instances doubled)", fleet.surge_service);
  case DeployStrategy::recreate:
    break;
  }
  return "a recreate deploy";
}

std::string wait_phrase(const QueueMetrics& m)
{
  if (!m.stable) {
    return "the queue inside PgBouncer grows without bound (the load exceeds what the pool serves)";
  }
  return fmt::format("clients wait inside PgBouncer {} on average, p95 {}, p99 {} ({} of queries wait)",
                     m.mean_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.mean_wait_ms, 1))
                                           : fmt::format("{} s", format_number(m.mean_wait_ms / 1000.0, 2)),
                     m.p95_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.p95_wait_ms, 1))
                                          : fmt::format("{} s", format_number(m.p95_wait_ms / 1000.0, 2)),
                     m.p99_wait_ms < 1000 ? fmt::format("{} ms", format_number(m.p99_wait_ms, 1))
                                          : fmt::format("{} s", format_number(m.p99_wait_ms / 1000.0, 2)),
                     format_percent(round_decimal(m.p_wait)));
}

void exceeds_available(const Fleet& fleet, Findings& out)
{
  if (fleet.pgbouncer || fleet.fits_direct) {
    return;
  }
  std::vector<std::string> parts;
  for (const FleetService& s : fleet.services) {
    parts.push_back(fmt::format("{} {} x {}", s.input.name, s.instances, s.pool));
  }
  out.push_back({ "fleet.exceeds_available",
                  Level::fail,
                  fmt::format("the fleet's pools total {} connections ({}), more than the {}",
                              fleet.total_connections,
                              fmt::join(parts, " + "),
                              available_phrase(fleet)),
                  "database.max_connections, database.reserve" });
}

void surge_exceeds_available(const Fleet& fleet, Findings& out)
{
  if (fleet.pgbouncer || !fleet.fits_direct || fleet.surge_fits_direct) {
    return;
  }
  out.push_back({ "fleet.surge_exceeds_available",
                  Level::fail,
                  fmt::format("{} needs {} connections while old and new instances run side by side ({} steady + {}), more than the {}",
                              surge_phrase(fleet),
                              fleet.surge_connections,
                              fleet.total_connections,
                              fleet.surge_connections - fleet.total_connections,
                              available_phrase(fleet)),
                  "deploy.strategy, deploy.max_surge, fleet.rolling_max_surge_percent" });
}

void capacity_exceeds_server(const Fleet& fleet, Findings& out)
{
  if (!fleet.pgbouncer) {
    return;
  }
  const FleetPgBouncerPlan& p = *fleet.pgbouncer;
  for (const FleetPool& pool : p.pools) {
    if (pool.pool_mode != "transaction" || pool.peak_ceil <= pool.server_connections) {
      continue;
    }
    out.push_back(
      { "fleet.capacity_exceeds_server",
        Level::fail,
        fmt::format("{}/{}: the peak of {} concurrent queries ({}) needs {} server connections at once, more than the pool's {} "
                    "(default_pool_size {} + reserve_pool_size {}; PgBouncer's server budget is {} of max_connections {}): PgBouncer "
                    "queues clients but cannot run more queries at once than it has server connections; {}; raise max_connections, "
                    "shorten the queries or add database capacity",
                    pool.database,
                    pool.user,
                    format_number(pool.peak),
                    fmt::join(pool.services, ", "),
                    pool.peak_ceil,
                    pool.server_connections,
                    pool.default_pool_size,
                    pool.reserve_pool_size,
                    p.server_budget,
                    fleet.database.max_connections,
                    pool.wait ? wait_phrase(*pool.wait) : std::string("no wait estimate")),
        "database.max_connections, database.reserve, database.safe_utilization_max" });
  }
}

// The rule of thumb's burst buffer (2-3x the peak) is what a pool keeps for spikes: when the buffered
// peak exceeds the server connections, a spike waits (inside PgBouncer, or for a pool slot).
void burst_exceeds_server(const Fleet& fleet, Findings& out)
{
  const FleetCapacity& c = fleet.capacity;
  if (!c.fits || c.buffered <= c.server_connections || (!fleet.pgbouncer && !fleet.fits_direct)) {
    return;
  }
  out.push_back({ "fleet.burst_exceeds_server",
                  Level::warn,
                  fmt::format("the peak of {} concurrent queries fits the {} server connections, but with the burst buffer (each "
                              "service's ceil(peak) x burst) it is {}: a spike of that size waits {}",
                              format_number(c.peak),
                              c.server_connections,
                              c.buffered,
                              fleet.pgbouncer ? "inside PgBouncer" : "for a connection"),
                  "sizing.burst" });
}

void session_exceeds_budget(const Fleet& fleet, Findings& out)
{
  if (!fleet.pgbouncer || fleet.pgbouncer->session_connections <= fleet.pgbouncer->server_budget) {
    return;
  }
  out.push_back({ "fleet.session_exceeds_budget",
                  Level::fail,
                  fmt::format("the session-mode pools need {} server connections (one per client connection), more than PgBouncer's "
                              "server budget of {}: shrink those services' pools or move their session features elsewhere",
                              fleet.pgbouncer->session_connections,
                              fleet.pgbouncer->server_budget),
                  "database.max_connections, database.reserve, database.safe_utilization_max" });
}

// Every transaction pool keeps at least one server connection, so many pools on a small budget
// can together open more than the budget (the session pools alone are session_exceeds_budget).
void pools_exceed_budget(const Fleet& fleet, Findings& out)
{
  if (!fleet.pgbouncer || fleet.pgbouncer->session_connections > fleet.pgbouncer->server_budget ||
      fleet.pgbouncer->server_connections <= fleet.pgbouncer->server_budget) {
    return;
  }
  out.push_back({ "fleet.pools_exceed_budget",
                  Level::fail,
                  fmt::format("PgBouncer's {} pools open up to {} server connections, more than its server budget of {} (each pool "
                              "keeps at least one): fewer (database, user) pairs, or raise max_connections",
                              fleet.pgbouncer->pools.size(),
                              fleet.pgbouncer->server_connections,
                              fleet.pgbouncer->server_budget),
                  "database.max_connections, database.reserve, database.safe_utilization_max" });
}

void pgbouncer_recommended(const Fleet& fleet, Findings& out)
{
  if (fleet.triggers.empty()) {
    return;
  }
  std::vector<std::string> reasons;
  std::vector<std::string> keys;
  for (const Trigger& trigger : fleet.triggers) {
    reasons.push_back(trigger.reason);
    keys.push_back(trigger.rule);
  }
  out.push_back({ "fleet.pgbouncer_recommended",
                  Level::warn,
                  fmt::format("use PgBouncer: {}", fmt::join(reasons, "; ")),
                  fmt::format("{}", fmt::join(keys, ", ")) });
}

void pgbouncer_pool_reduced(const Fleet& fleet, const Rules& rules, Findings& out)
{
  if (!fleet.pgbouncer) {
    return;
  }
  const FleetPgBouncerPlan& p = *fleet.pgbouncer;
  for (const FleetPool& pool : p.pools) {
    if (pool.default_pool_size == pool.default_pool_size_wanted) {
      continue;
    }
    const auto wanted_reserve = static_cast<std::int64_t>(
      std::llround(rules.pgbouncer_settings.reserve_pool_ratio * static_cast<double>(pool.default_pool_size_wanted)));
    out.push_back({ "fleet.pgbouncer_pool_reduced",
                    Level::warn,
                    fmt::format("{}/{}: default_pool_size {} + reserve_pool_size {} would not fit the server budget of {} ({} taken by "
                                "session pools); reduced to {} + {}",
                                pool.database,
                                pool.user,
                                pool.default_pool_size_wanted,
                                wanted_reserve,
                                p.server_budget,
                                p.session_connections,
                                pool.default_pool_size,
                                pool.reserve_pool_size),
                    "pgbouncer.settings.reserve_pool_ratio, database.safe_utilization_max" });
  }
}

void session_pool(const Fleet& fleet, Findings& out)
{
  for (const FleetService& s : fleet.services) {
    if (!s.input.session_features) {
      continue;
    }
    std::string where;
    if (fleet.pgbouncer) {
      where = fmt::format("it gets the session-mode database {} in PgBouncer with a server connection for each of its {} client "
                          "connections (surge included), or connect it to PostgreSQL directly: the same connections either way",
                          s.pgbouncer_database,
                          s.connections + s.surge_connections);
    } else {
      where = "it connects directly, as the whole fleet does";
    }
    out.push_back({ "fleet.session_features",
                    Level::info,
                    fmt::format("{} needs session features (LISTEN/NOTIFY, session advisory locks, SET, prepared statements without "
                                "protocol support) and cannot sit behind transaction pooling: {}",
                                s.input.name,
                                where),
                    "service.session_features" });
  }
}

// Prisma behind PgBouncer's transaction mode (Prisma documentation, "Configure Prisma Client with
// PgBouncer"): pgbouncer=true below PgBouncer 1.21.0, and a direct URL for migrations.
void prisma_behind_pgbouncer(const Fleet& fleet, Findings& out)
{
  if (!fleet.pgbouncer) {
    return;
  }
  for (const FleetService& s : fleet.services) {
    if (s.input.client != Client::prisma || s.input.session_features) {
      continue;
    }
    out.push_back({ "fleet.prisma_pgbouncer",
                    Level::info,
                    fmt::format("{} uses Prisma through PgBouncer's transaction mode: add pgbouncer=true to its URL if PgBouncer is older "
                                "than {} (Debian 12 ships {}), and give migrations a direct URL (directUrl = env(\"DIRECT_URL\"))",
                                s.input.name,
                                to_string(k_pgbouncer_prepared_statements),
                                major_minor(k_default_pgbouncer_version)),
                    "service.client" });
  }
}

void surge_fits(const Fleet& fleet, Findings& out)
{
  if (fleet.deploy.strategy == DeployStrategy::recreate) {
    out.push_back({ "fleet.surge",
                    Level::info,
                    "a recreate deploy stops every old instance before the new ones start: no extra connections, but the service is "
                    "down meanwhile",
                    "deploy.strategy" });
    return;
  }
  std::string message;
  if (fleet.pgbouncer) {
    message = fmt::format("{} opens {} client connections for a while ({} steady + {}); max_client_conn {} covers them and "
                          "PostgreSQL still sees PgBouncer's {}",
                          surge_phrase(fleet),
                          fleet.surge_connections,
                          fleet.total_connections,
                          fleet.surge_connections - fleet.total_connections,
                          fleet.pgbouncer->max_client_conn,
                          fleet.pgbouncer->server_connections);
  } else if (fleet.surge_fits_direct) {
    message = fmt::format("{} needs {} connections for a while ({} steady + {}), within the {}",
                          surge_phrase(fleet),
                          fleet.surge_connections,
                          fleet.total_connections,
                          fleet.surge_connections - fleet.total_connections,
                          available_phrase(fleet));
  } else {
    return;
  }
  out.push_back({ "fleet.surge", Level::info, message, "deploy.strategy, deploy.max_surge, fleet.rolling_max_surge_percent" });
}

void replication_not_counted(const Fleet& fleet, const Rules& rules, Findings& out)
{
  for (const std::string& name : fleet.database.reserve_not_count) {
    std::int64_t connections = 0;
    for (const ReserveEntry& entry : fleet.database.reserve) {
      if (entry.name == name) {
        connections = entry.connections;
      }
    }
    out.push_back({ "fleet.replication_not_counted",
                    Level::info,
                    fmt::format("the reserve {} ({}) is not taken from max_connections: PostgreSQL {} gives WAL senders their own slots "
                                "(max_wal_senders) since version {}",
                                name,
                                connections,
                                fleet.database.version,
                                rules.postgres.wal_senders_separate_since),
                    "postgres.wal_senders_separate_since" });
  }
}

} // namespace

std::vector<Finding> evaluate_fleet(const Fleet& fleet, const Rules& rules)
{
  Findings findings;
  exceeds_available(fleet, findings);
  surge_exceeds_available(fleet, findings);
  capacity_exceeds_server(fleet, findings);
  session_exceeds_budget(fleet, findings);
  pools_exceed_budget(fleet, findings);
  pgbouncer_recommended(fleet, findings);
  burst_exceeds_server(fleet, findings);
  pgbouncer_pool_reduced(fleet, rules, findings);
  session_pool(fleet, findings);
  prisma_behind_pgbouncer(fleet, findings);
  surge_fits(fleet, findings);
  replication_not_counted(fleet, rules, findings);
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return static_cast<int>(a.level) > static_cast<int>(b.level);
  });
  return findings;
}

} // namespace poolcalc

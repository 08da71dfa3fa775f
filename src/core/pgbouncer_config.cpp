#include "poolcalc/pgbouncer_config.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

namespace poolcalc {

namespace {

// A URL that insists on TLS: PgBouncer speaks TLS to clients only when told to (client_tls_*).
void add_tls_note(const DatabaseUrl& url, PgBouncerConfig& config)
{
  const std::optional<std::string> sslmode = url.param("sslmode");
  if (sslmode && *sslmode != "disable" && *sslmode != "allow" && *sslmode != "prefer") {
    config.header.push_back(fmt::format("the URL asks for sslmode={}: PgBouncer accepts TLS from the application only with "
                                        "client_tls_sslmode and its key and certificate set (off by default)",
                                        *sslmode));
  }
}

// pgbouncer.ini has no quoting for [databases] keys and connection-string values that poolcalc
// could rely on: only plain names, addresses and socket paths are written.
bool plain(std::string_view value, std::string_view extra)
{
  return !value.empty() && std::all_of(value.begin(), value.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
           extra.find(c) != std::string_view::npos;
  });
}

// Where PgBouncer listens and how it authenticates: the rules' values (the example in docs/pgbouncer.md), for a
// plan's or a fleet's PgBouncer plan alike.
void listen_and_auth(PgBouncerSettings& p, const PgBouncerPlan& b, std::string_view who_connects, std::string_view userlist_hint)
{
  p.listen_addr =
    Chosen<std::string>{ b.listen_addr,
                         fmt::format("rules pgbouncer.settings.listen_addr (the example in docs/pgbouncer.md): {}", who_connects) };
  p.listen_port = Chosen<std::int64_t>{ b.listen_port, "rules pgbouncer.settings.listen_port (the example in docs/pgbouncer.md)" };
  p.auth_type = Chosen<std::string>{ b.auth_type,
                                     b.auth_type == "md5"
                                       ? "rules pgbouncer.settings.auth_type (the example in docs/pgbouncer.md); md5 also accepts SCRAM "
                                         "secrets in the auth_file and then uses SCRAM"
                                       : "rules pgbouncer.settings.auth_type" };
  p.auth_file =
    Chosen<std::string>{ b.auth_file, fmt::format("rules pgbouncer.settings.auth_file: one line per login role{}", userlist_hint) };
}

// What real clients need of [pgbouncer]: the startup parameters common drivers send, and the
// console for the login roles (docs/pgbouncer.md, "What clients send").
void client_compatibility(PgBouncerConfig& config)
{
  PgBouncerSettings& p = config.settings;
  p.ignore_startup_parameters = Chosen<std::string>{
    "extra_float_digits",
    "pgJDBC sends extra_float_digits at every connection and PgBouncer 1.18 refuses any startup parameter it does not track "
    "(\"unsupported startup parameter\"); on PostgreSQL 12 and later any value above 0 prints floats exactly, so ignoring it loses "
    "nothing. options and search_path are not ignored (PgBouncer would drop them unseen): a client sending them (pgJDBC's "
    "currentSchema or options, node-postgres' options, libpq's PGOPTIONS, pgx's URL parameters) is refused; set them on the role "
    "instead (ALTER ROLE ... SET search_path = ...)"
  };
  if (!config.login_roles.empty()) {
    p.stats_users = Chosen<std::string>{
      fmt::format("{}", fmt::join(config.login_roles, ",")),
      "the roles that log in (from the database URL): SHOW POOLS, SHOW STATS and the other read-only commands on the console "
      "(database pgbouncer) over TCP, with the role's own password"
    };
    config.footer.push_back(
      fmt::format("admin_users = {}: left to you; it lets the role PAUSE, RELOAD or SHUTDOWN PgBouncer from the console, so give it to an "
                  "operator's role rather than the application's (PgBouncer's default: empty)",
                  fmt::join(config.login_roles, ",")));
  } else {
    config.footer.push_back("stats_users = ROLE: no user in the database URL; name the role that may run SHOW POOLS over TCP (and "
                            "admin_users an operator's role, which may PAUSE, RELOAD or SHUTDOWN PgBouncer)");
  }
}

// The max_client_conn comment's end: the open files PgBouncer expects to need and the limit to set.
std::string open_files_note(std::int64_t max_client_conn,
                            std::int64_t pool_sizes,
                            std::string_view pool_sizes_name,
                            std::int64_t login_roles,
                            bool roles_known)
{
  const std::int64_t needed = pgbouncer_open_files(max_client_conn, pool_sizes, login_roles);
  return fmt::format(
    "; PgBouncer expects to need {} open files and logs it at start as \"max expected fd use\": max_client_conn {} + 12 + "
    "{} {} x {} users ({} and its own pgbouncer admin user; each further role in the auth_file adds {}){}",
    needed,
    max_client_conn,
    pool_sizes_name,
    pool_sizes,
    login_roles + 1,
    roles_known ? fmt::format("the auth_file's {} role{}", login_roles, login_roles == 1 ? "" : "s")
                : std::string("one role in the auth_file"),
    pool_sizes,
    needed > k_common_open_files_limit
      ? fmt::format(", more than the usual limit of {}: set LimitNOFILE={} in its systemd unit (systemctl edit pgbouncer) or run "
                    "ulimit -n {} before starting it",
                    k_common_open_files_limit,
                    needed,
                    needed)
      : fmt::format(", within the usual limit of {}", k_common_open_files_limit));
}

// Said of an entry without a host.
constexpr const char* k_socket_note = "; no host in the URL: PgBouncer connects over the Unix socket in its unix_socket_dir (default "
                                      "/tmp; Debian's PostgreSQL listens in /var/run/postgresql)";

// The host and port libpq would use for `url`, checked so pgbouncer.ini can hold them, into `db`.
poolcalc::expected<void, std::string> set_server(const DatabaseUrl& url, PgBouncerDatabase& db)
{
  const std::string host = url.effective_host();
  const std::string port = url.effective_port();
  if (!host.empty() && !plain(host, ":/")) {
    return poolcalc::unexpected(fmt::format(
      "the host '{}' cannot be written into pgbouncer.ini: expected one host name, IP address or socket directory", user_text(host)));
  }
  if (!port.empty()) {
    auto number = parse_count(port, 1, 65535);
    if (!number) {
      return poolcalc::unexpected(fmt::format("the port '{}' cannot be written into pgbouncer.ini: {}", user_text(port), number.error()));
    }
    db.port = *number;
  }
  db.host = host;
  return {};
}

poolcalc::expected<PgBouncerDatabase, std::string> database_entry(const Plan& plan)
{
  PgBouncerDatabase db;
  const std::optional<DatabaseUrl>& url = plan.scenario.database_url;
  if (!url) {
    // Without a URL there is no server to name: PgBouncer's fallback entry, commented out, for
    // the user to complete (poolcalc does not guess an address).
    db.name = "*";
    db.host = "HOST";
    db.port = 5432;
    db.address_unknown = true;
    db.why = "no database URL given: write the server's host for HOST (and its port, if not PostgreSQL's default 5432) and remove "
             "the ';'; the fallback entry \"*\" sends every database name a client asks for to the same name there";
    return db;
  }
  const std::string name = url->database();
  if (!name.empty() && !plain(name, "")) {
    return poolcalc::unexpected(fmt::format(
      "the database name '{}' cannot be written into pgbouncer.ini: expected letters, digits, '_', '.' or '-'", user_text(name)));
  }
  if (auto set = set_server(*url, db); !set) {
    return poolcalc::unexpected(set.error());
  }
  if (name.empty()) {
    // libpq would use the user's name as the database: PgBouncer does the same with "*".
    db.name = "*";
    db.why = "the URL names no database: the fallback entry \"*\" sends each client to the database it asks for";
  } else {
    db.name = name;
    db.dbname = name;
    db.why = "from the database URL (host and port as libpq would use them); no user= so each client logs in as itself (SCRAM needs "
             "that), no password: the auth_file holds it";
  }
  if (db.host.empty()) {
    db.why += k_socket_note;
  }
  return db;
}

} // namespace

poolcalc::expected<PgBouncerConfig, std::string> pgbouncer_config_from_plan(const Plan& plan)
{
  if (!plan.pgbouncer && !plan.pgbouncer_unneeded) {
    return poolcalc::unexpected(fmt::format("the plan does not use PgBouncer: {}", plan.recommendation_reason));
  }
  const PgBouncerPlan& b = plan.pgbouncer ? *plan.pgbouncer : *plan.pgbouncer_unneeded;
  const PgBouncerPool& pool = b.pools.front();
  const Scenario& s = plan.scenario;
  const bool sidecar = b.topology == Topology::sidecar;
  PgBouncerConfig config;
  if (!plan.pgbouncer) {
    config.header.push_back(
      fmt::format("the plan fits without PgBouncer: {} instance{} x pool {} = {} connections to PostgreSQL directly, and {}",
                  s.instances,
                  s.instances == 1 ? "" : "s",
                  plan.pool_size,
                  plan.total_connections,
                  plan.recommendation_reason));
    config.header.push_back("this file is written because it was asked for: PgBouncer still helps when instances come and go (each "
                            "restart reconnects to it, not to PostgreSQL), to cap what PostgreSQL sees whatever the application "
                            "does, or to queue a burst instead of failing it");
  }
  config.header.push_back(fmt::format("pgbouncer.ini from poolcalc: PgBouncer in {} mode in front of PostgreSQL", to_string(b.pool_mode)));
  if (plan.pgbouncer) {
    config.header.push_back(fmt::format("why PgBouncer: {}", plan.recommendation_reason));
  }
  config.header.push_back(
    fmt::format("PostgreSQL sees at most {} connections from {} ({} of max_connections {})",
                b.server_connections,
                sidecar ? fmt::format("the {} sidecars ({} each)", b.pgbouncers, b.server_connections_each) : std::string("it"),
                format_percent(static_cast<double>(b.server_connections) / static_cast<double>(s.max_connections)),
                s.max_connections));
  if (sidecar) {
    config.header.push_back(fmt::format(
      "topology: sidecar, one PgBouncer beside each of the {} application instances, each with this same file; the application "
      "connects to 127.0.0.1:{}. Each multiplexes only its own instance's {} connections, so each gets 1/{} of the server budget "
      "of {}: {} server connections in all, where one shared PgBouncer would open {} for the same load",
      s.instances,
      b.listen_port,
      plan.pool_size,
      s.instances,
      b.server_budget,
      b.server_connections,
      b.shared_server_connections));
  } else {
    config.header.push_back(
      fmt::format("topology: shared, one PgBouncer for the application's {} instance{}, {}; listen_addr below is the rules' {}, which only "
                  "this host reaches: set it to the address the application hosts connect to",
                  s.instances,
                  s.instances == 1 ? "" : "s",
                  b.host.empty() ? std::string("its host not given (poolcalc --pgbouncer-host HOST[:PORT] points the application there)")
                                 : fmt::format("reached at {}:{} (--pgbouncer-host)", b.host, b.port),
                  b.listen_addr));
  }
  config.header.push_back("each setting: PgBouncer's default, then why this value (https://www.pgbouncer.org/config.html)");
  config.header.push_back("no password in this file: the auth_file holds the hashes (poolcalc pgbouncer --userlist)");

  if (s.database_url) {
    add_tls_note(*s.database_url, config);
  }

  auto db = database_entry(plan);
  if (!db) {
    return poolcalc::unexpected(db.error());
  }
  config.databases.push_back(std::move(*db));
  if (s.database_url) {
    if (auto user = s.database_url->param("user"); user && !user->empty()) {
      config.login_roles.push_back(*user);
    } else if (const std::string url_user = s.database_url->user(); !url_user.empty()) {
      config.login_roles.push_back(url_user);
    }
  }

  PgBouncerSettings& p = config.settings;
  listen_and_auth(p, b, "the application connects here", " (poolcalc pgbouncer --userlist)");
  if (b.port != b.listen_port) {
    p.listen_port = Chosen<std::int64_t>{ b.port, "the port of --pgbouncer-host, where the application connects" };
  }
  p.pool_mode = Chosen<std::string>{ std::string(to_string(b.pool_mode)),
                                     b.pool_mode == PoolMode::transaction
                                       ? "rules pgbouncer.settings.pool_mode: a server connection serves one transaction, then the next "
                                         "client's, so many clients share few server connections"
                                       : std::string("rules pgbouncer.settings.pool_mode") };
  // The clients at the worst moment: the autoscaler's maximum and a rolling deploy's surge.
  const Moment* worst = nullptr;
  for (const Moment& m : plan.moments) {
    if (worst == nullptr || m.client_connections > worst->client_connections) {
      worst = &m;
    }
  }
  const bool later = !sidecar && worst != nullptr && worst->instances > s.instances;
  const std::string fleet = sidecar ? fmt::format("its instance's pool of {}", plan.pool_size)
                            : later ? fmt::format("the fleet's {} x {} = {}", worst->instances, plan.pool_size, worst->client_connections)
                                    : fmt::format("the fleet's {} x {} = {}", s.instances, plan.pool_size, plan.total_connections);
  const std::string when = later ? fmt::format(" at its worst moment, {}", worst->what) : std::string();
  // The login roles of the URL (one assumed without it); the entry's pool is default_pool_size.
  const auto login_roles = std::max<std::int64_t>(1, static_cast<std::int64_t>(config.login_roles.size()));
  config.open_files = pgbouncer_open_files(b.max_client_conn, pool.default_pool_size, login_roles);
  const std::string open_files =
    open_files_note(b.max_client_conn, pool.default_pool_size, "default_pool_size", login_roles, !config.login_roles.empty());
  p.max_client_conn = Chosen<std::int64_t>{
    b.max_client_conn,
    (b.max_client_conn > b.max_client_conn_minimum
       ? fmt::format("{} client connections (instances x pool){} are more than the rules' {}",
                     fleet,
                     when.empty() ? when : when + ",",
                     b.max_client_conn_minimum)
       : fmt::format("rules pgbouncer.settings.max_client_conn (the example in docs/pgbouncer.md), room for {} client connections{}{}",
                     fleet,
                     sidecar ? "" : " (instances x pool)",
                     when)) +
      open_files
  };

  const ScenarioResult& design = plan.scenarios[plan.design_index];
  std::string pool_why = plan.queueing.fleet_target_pool
                           ? fmt::format("the smallest pool meeting {} for the whole load ({}) + overhead {}, rounded up to {}",
                                         plan.queueing.target ? plan.queueing.target->text : std::string("the target"),
                                         *plan.queueing.fleet_target_pool,
                                         s.overhead,
                                         pool.default_pool_size_wanted)
                           : fmt::format("the whole load's peak of {} concurrent queries x burst {} + overhead {}, rounded up to {}",
                                         static_cast<double>(design.peak_total_ceil) == design.peak_concurrent
                                           ? fmt::format("{}", design.peak_total_ceil)
                                           : fmt::format("{} -> {}", format_number(design.peak_concurrent), design.peak_total_ceil),
                                         format_number(s.burst, 9),
                                         s.overhead,
                                         pool.default_pool_size_wanted);
  if (sidecar) {
    pool_why =
      fmt::format("one instance's share of the load, sized as its own pool: {}, rounded up to {}",
                  plan.queueing.target_pool ? fmt::format("the smallest pool meeting {} + overhead {}",
                                                          plan.queueing.target ? plan.queueing.target->text : std::string("the target"),
                                                          s.overhead)
                                            : fmt::format("ceil(peak {} / {} instances) = {} x burst {} + overhead {}",
                                                          format_number(design.peak_concurrent),
                                                          s.instances,
                                                          design.peak_ceil,
                                                          format_number(s.burst, 9),
                                                          s.overhead),
                  pool.default_pool_size_wanted);
  }
  std::string budget = fmt::format("the server budget of {} (min(available {}, {} of max_connections {}))",
                                   b.server_budget,
                                   plan.available,
                                   format_percent(plan.safe_utilization_max),
                                   s.max_connections);
  if (sidecar) {
    budget = fmt::format(
      "this sidecar's share of {}: {} / {} instances = {}", budget, b.server_budget, s.instances, b.server_budget / s.instances);
  }
  const bool reduced = pool.default_pool_size != pool.default_pool_size_wanted;
  if (reduced) {
    pool_why += fmt::format("; reduced to {} so it and its reserve fit {}", pool.default_pool_size, budget);
  }
  p.default_pool_size = Chosen<std::int64_t>{ pool.default_pool_size, pool_why };
  p.min_pool_size = Chosen<std::int64_t>{
    pool.min_pool_size,
    fmt::format("rules pgbouncer.settings.min_pool_ratio of default_pool_size {} (the example in docs/pgbouncer.md: 10 for 50): "
                "connections kept open for load that comes back after a quiet spell",
                pool.default_pool_size)
  };
  p.reserve_pool_size = Chosen<std::int64_t>{
    pool.reserve_pool_size,
    reduced
      ? fmt::format(
          "what is left of {}: {} - {}", budget, sidecar ? b.server_budget / s.instances : b.server_budget, pool.default_pool_size)
      : fmt::format(
          "rules pgbouncer.settings.reserve_pool_ratio of default_pool_size {} (the example in docs/pgbouncer.md: 10 for 50): extra server "
          "connections for clients that waited reserve_pool_timeout",
          pool.default_pool_size)
  };
  p.reserve_pool_timeout_s =
    Chosen<double>{ b.reserve_pool_timeout_s, "rules pgbouncer.settings.reserve_pool_timeout_s (the example in docs/pgbouncer.md)" };
  p.max_db_connections = Chosen<std::int64_t>{
    b.server_connections_each,
    fmt::format("default_pool_size {} + reserve_pool_size {}: PgBouncer keeps one pool per database and user, this caps the database at "
                "the planned server connections however many users log in{}",
                pool.default_pool_size,
                pool.reserve_pool_size,
                sidecar ? fmt::format(" (per sidecar: {} x {} = {} in all)", b.pgbouncers, b.server_connections_each, b.server_connections)
                        : std::string())
  };
  std::string wait_why;
  if (s.pool_timeout_s == 0) {
    wait_why = "the application's pool_timeout is 0 (wait for ever), and 0 here does the same: queries queue in PgBouncer without a limit";
  } else {
    wait_why = fmt::format("the application's pool_timeout ({} s): a query waits for a server connection no longer than the application "
                           "would wait for a pooled one, so an exhausted pool surfaces as an error",
                           format_number(s.pool_timeout_s));
    if (b.reserve_pool_timeout_s > 0 && s.pool_timeout_s <= b.reserve_pool_timeout_s) {
      wait_why += fmt::format("; it is not above reserve_pool_timeout ({} s), so the reserve pool is never reached",
                              format_number(b.reserve_pool_timeout_s));
    }
  }
  p.query_wait_timeout_s = Chosen<double>{ s.pool_timeout_s, wait_why };
  client_compatibility(config);
  return config;
}

namespace {

// Host and port of [database] url as libpq would use them (the single plan's checks).
poolcalc::expected<PgBouncerDatabase, std::string> fleet_server(const Fleet& fleet)
{
  PgBouncerDatabase server;
  if (!fleet.database.url) {
    server.host = "HOST";
    server.port = 5432;
    server.address_unknown = true;
    server.why = "no [database] url in the fleet file: write the server's host for HOST (and its port, if not PostgreSQL's default "
                 "5432) and remove the ';'";
    return server;
  }
  if (auto set = set_server(*fleet.database.url, server); !set) {
    return poolcalc::unexpected(set.error());
  }
  server.why = "host and port from [database] url as libpq would use them";
  if (server.host.empty()) {
    server.why += k_socket_note;
  }
  return server;
}

std::string pool_name(const PgBouncerPool& pool)
{
  return fmt::format("{}/{}", pool.database, pool.user);
}

std::string service_list(const PgBouncerPool& pool)
{
  return fmt::format("{}", fmt::join(pool.services, ", "));
}

} // namespace

namespace {

// The file's first comment lines: what it is for, why PgBouncer, what PostgreSQL sees.
void fleet_header(const Fleet& fleet, PgBouncerConfig& config)
{
  const PgBouncerPlan& b = *fleet.pgbouncer;
  std::vector<std::string> reasons;
  for (const Trigger& trigger : fleet.triggers) {
    reasons.push_back(trigger.reason);
  }
  config.header = {
    fmt::format("pgbouncer.ini from poolcalc for the fleet {}: {} service{}, one pool per (database, user)",
                fleet.source,
                fleet.services.size(),
                fleet.services.size() == 1 ? "" : "s"),
    fmt::format("why PgBouncer: {}", fmt::join(reasons, "; ")),
    fmt::format("PostgreSQL sees at most {} connections from it ({} of max_connections {}): the entries' max_db_connections summed",
                b.server_connections,
                format_percent(fleet.utilization),
                fleet.database.max_connections),
    "each [databases] entry sets its own pool_size, reserve_pool and max_db_connections; default_pool_size applies to none",
    "each setting: PgBouncer's default, then why this value (https://www.pgbouncer.org/config.html)",
    "no password in this file: the auth_file holds the hashes (poolcalc pgbouncer --fleet FILE --userlist)",
  };
  if (fleet.database.url) {
    add_tls_note(*fleet.database.url, config);
  }
}

// One [databases] entry per PgBouncer database, at the server's address.
void fleet_databases(const Fleet& fleet, const PgBouncerDatabase& server_entry, PgBouncerConfig& config)
{
  const PgBouncerPlan& b = *fleet.pgbouncer;
  const PgBouncerDatabase* server = &server_entry;
  for (const PgBouncerEntry& d : b.databases) {
    std::vector<const PgBouncerPool*> pools;
    for (const PgBouncerPool& pool : b.pools) {
      if (pool.database == d.name) {
        pools.push_back(&pool);
      }
    }
    const auto largest = std::max_element(pools.begin(), pools.end(), [](const PgBouncerPool* x, const PgBouncerPool* y) {
      return x->default_pool_size < y->default_pool_size;
    });
    const PgBouncerPool& top = **largest;
    PgBouncerDatabase db;
    db.name = d.name;
    db.host = server->host;
    db.port = server->port;
    db.address_unknown = server->address_unknown;
    db.dbname = d.dbname;
    db.pool_size = top.default_pool_size;
    db.reserve_pool = top.reserve_pool_size;
    if (top.pool_mode == PoolMode::transaction) {
      db.min_pool_size = top.min_pool_size;
    }
    db.max_db_connections = d.max_db_connections;
    if (d.pool_mode != b.pool_mode) {
      db.pool_mode = std::string(to_string(d.pool_mode));
    }
    std::vector<std::string> why;
    if (top.pool_mode == PoolMode::session) {
      why.push_back(fmt::format("{} ({}) needs session features: session mode, a server connection per client connection, so pool_size "
                                "{} is every client connection of {}, surge included; no reserve",
                                pool_name(top),
                                service_list(top),
                                top.default_pool_size,
                                service_list(top)));
      if (d.name != d.dbname) {
        why.push_back(
          fmt::format("the same server database {} under its own name, as transaction-mode services use {}", d.dbname, d.dbname));
      }
    } else {
      const std::string sized =
        top.default_pool_size == top.default_pool_size_wanted
          ? fmt::format("the rule of thumb over its whole load (peak {}, burst, overhead)", format_number(top.peak))
          : fmt::format("the rule of thumb wants pool_size {} for its whole load (peak {}); cut to {} + {} so every pool fits the "
                        "server budget of {} (min(available {}, {} of max_connections {})), {} taken by session pools",
                        top.default_pool_size_wanted,
                        format_number(top.peak),
                        top.default_pool_size,
                        top.reserve_pool_size,
                        b.server_budget,
                        fleet.database.available,
                        format_percent(fleet.safe_utilization_max),
                        fleet.database.max_connections,
                        b.session_connections);
      why.push_back(fmt::format("{} ({}): transaction pool_size {} + reserve_pool {}, {}; min_pool_size {} (rules "
                                "pgbouncer.settings.min_pool_ratio)",
                                pool_name(top),
                                service_list(top),
                                top.default_pool_size,
                                top.reserve_pool_size,
                                sized,
                                top.min_pool_size));
    }
    for (const PgBouncerPool* pool : pools) {
      if (pool != &top) {
        why.push_back(fmt::format("{} ({}) plans {} + {}, capped in [users]",
                                  pool_name(*pool),
                                  service_list(*pool),
                                  pool->default_pool_size,
                                  pool->reserve_pool_size));
      }
    }
    why.push_back(fmt::format("max_db_connections {}: its pools' server connections summed", d.max_db_connections));
    why.push_back(server->why);
    db.why = fmt::format("{}", fmt::join(why, "; "));
    config.databases.push_back(std::move(db));
  }
}

// [users] for the users whose pool is smaller than its entry's pool_size, and the login roles.
void fleet_users(const Fleet& fleet, PgBouncerConfig& config)
{
  const PgBouncerPlan& b = *fleet.pgbouncer;
  // Users whose pool is smaller than its entry's pool_size: PgBouncer 1.18 sets pool sizes per
  // database only, so the user's total is capped instead.
  std::map<std::string, std::int64_t> user_connections;
  std::vector<std::string> capped;
  for (const PgBouncerPool& pool : b.pools) {
    user_connections[pool.user] += pool.server_connections;
    if (std::find(config.login_roles.begin(), config.login_roles.end(), pool.user) == config.login_roles.end()) {
      config.login_roles.push_back(pool.user);
    }
    const auto entry =
      std::find_if(config.databases.begin(), config.databases.end(), [&](const PgBouncerDatabase& db) { return db.name == pool.database; });
    if (entry != config.databases.end() && entry->pool_size.value_or(0) > pool.default_pool_size &&
        std::find(capped.begin(), capped.end(), pool.user) == capped.end()) {
      capped.push_back(pool.user);
    }
  }
  for (const std::string& user : capped) {
    PgBouncerUser u;
    u.name = user;
    u.max_user_connections = user_connections[user];
    u.why = fmt::format("{}'s pools' server connections summed: its entry's pool_size is a larger pool's, and PgBouncer 1.18 has no "
                        "per-user pool size",
                        user);
    config.users.push_back(std::move(u));
  }
}

// [pgbouncer]: the rules' settings, max_client_conn for the surge, query_wait_timeout the longest
// wait any service accepts.
void fleet_settings(const Fleet& fleet, PgBouncerConfig& config)
{
  const PgBouncerPlan& b = *fleet.pgbouncer;
  PgBouncerSettings& p = config.settings;
  listen_and_auth(p, b, "the services connect here", "");
  p.pool_mode =
    Chosen<std::string>{ std::string(to_string(b.pool_mode)),
                         fmt::format("rules pgbouncer.settings.pool_mode, for every entry that does not set its own{}",
                                     b.pool_mode == PoolMode::transaction ? ": a server connection serves one transaction, then the "
                                                                            "next client's"
                                                                          : "") };
  std::int64_t steady = 0;
  for (const PgBouncerPool& pool : b.pools) {
    steady += pool.client_connections;
  }
  p.max_client_conn = Chosen<std::int64_t>{
    b.max_client_conn,
    b.max_client_conn > b.max_client_conn_minimum
      ? fmt::format("every instance's pool during the deploy: {} client connections ({} {} + the surge), more than the rules' {}",
                    fleet.surge_connections,
                    steady,
                    fleet_base_phrase(fleet),
                    b.max_client_conn_minimum)
      : fmt::format(
          "rules pgbouncer.settings.max_client_conn (the example in docs/pgbouncer.md), room for every instance's pool during the deploy: "
          "{} client connections ({} {} + the surge)",
          fleet.surge_connections,
          steady,
          fleet_base_phrase(fleet))
  };
  p.reserve_pool_timeout_s =
    Chosen<double>{ b.reserve_pool_timeout_s, "rules pgbouncer.settings.reserve_pool_timeout_s (the example in docs/pgbouncer.md)" };

  // query_wait_timeout is global: the longest wait any service accepts (0 = for ever).
  double wait = 0;
  bool forever = false;
  std::string longest;
  for (const FleetService& s : fleet.services) {
    const double timeout = s.input.scenario.pool_timeout_s;
    if (timeout == 0) {
      forever = true;
      longest = s.input.name;
    } else if (!forever && timeout > wait) {
      wait = timeout;
      longest = s.input.name;
    }
  }
  if (forever) {
    p.query_wait_timeout_s = Chosen<double>{
      0,
      fmt::format("{}'s pool_timeout is 0 (wait for ever), and 0 here does the same: queries queue in PgBouncer without a limit", longest)
    };
  } else {
    std::string why = fmt::format("the longest pool_timeout of the services ({}'s {} s): a query waits for a server connection no longer "
                                  "than the application would wait for a pooled one",
                                  longest,
                                  format_number(wait));
    if (b.reserve_pool_timeout_s > 0 && wait <= b.reserve_pool_timeout_s) {
      why += fmt::format("; it is not above reserve_pool_timeout ({} s), so the reserve pools are never reached",
                         format_number(b.reserve_pool_timeout_s));
    }
    p.query_wait_timeout_s = Chosen<double>{ wait, why };
  }
}

} // namespace

poolcalc::expected<PgBouncerConfig, std::string> pgbouncer_config_from_fleet(const Fleet& fleet)
{
  if (!fleet.pgbouncer) {
    return poolcalc::unexpected(fmt::format("the fleet does not use PgBouncer: its {} connections fit the {} available and no PgBouncer "
                                            "trigger applies",
                                            fleet.total_connections,
                                            fleet.database.available));
  }
  auto server = fleet_server(fleet);
  if (!server) {
    return poolcalc::unexpected(server.error());
  }
  PgBouncerConfig config;
  fleet_header(fleet, config);
  fleet_databases(fleet, *server, config);
  fleet_users(fleet, config);
  fleet_settings(fleet, config);
  const PgBouncerPlan& b = *fleet.pgbouncer;
  std::int64_t pool_sizes = 0;
  for (const PgBouncerDatabase& db : config.databases) {
    pool_sizes += db.pool_size.value_or(config.settings.default_pool_size ? config.settings.default_pool_size->value : 20);
  }
  const auto login_roles = std::max<std::int64_t>(1, static_cast<std::int64_t>(config.login_roles.size()));
  config.open_files = pgbouncer_open_files(b.max_client_conn, pool_sizes, login_roles);
  config.settings.max_client_conn->why +=
    open_files_note(b.max_client_conn, pool_sizes, "the entries' pool_size summed", login_roles, !config.login_roles.empty());
  client_compatibility(config);
  return config;
}

} // namespace poolcalc

#pragma once
// `poolcalc config --for TARGET`: the configuration snippet of one client library, pooler or
// server, in that target's own knob names and units, each value with the library's default
// beside it (docs/clients.md cites where each default comes from).
//
// The renderers take a ConfigInput, not a Plan, so anything that knows one instance's pool
// (a single plan, or one service of a fleet) can feed them.

#include "poolcalc/database_url.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/pgbouncer_config.hpp"
#include "poolcalc/pgbouncer_version.hpp"
#include "poolcalc/postgres_version.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// The application_name a snippet sets when neither --app, the URL nor a fleet names one.
inline constexpr std::string_view k_default_application_name = "poolcalc-sized";

// Whether `name` can be an application_name written unquoted into every snippet: 1-63 characters
// (PostgreSQL truncates at NAMEDATALEN - 1 = 63 bytes), each a letter, digit, '.', '_' or '-'.
bool valid_application_name(std::string_view name);

// Parses "X.Y.Z" or "X.Y" (each part 0-9999, digits only). Returns an error string naming what
// is accepted otherwise.
poolcalc::expected<PgBouncerVersion, std::string> parse_pgbouncer_version(std::string_view text);

// Where the application connects when it goes through PgBouncer.
struct PoolerEndpoint
{
  std::string host;
  std::int64_t port = 0;
  std::string database{}; // the [databases] entry to ask for; empty: the server database's own name
  // The host was given (--pgbouncer-host, or 127.0.0.1 for a sidecar --topology); false: `host` is
  // PgBouncer's listen_addr, where it listens, not an address the application is known to reach.
  bool address_given = false;
};

// What the snippets need: one instance's pool, its timeouts, the URLs and the server's budget.
struct ConfigInput
{
  std::string headline;                                     // "120 VUs, 150 ms per query -> pool of 50 per instance"
  std::int64_t pool_size = 0;                               // per application instance
  std::int64_t instances = 1;                               // application instances, each with such a pool
  double pool_timeout_s = 0;                                // wait for a free connection; 0 = wait forever
  double connect_timeout_s = 0;                             // wait for a new connection; 0 = wait forever
  std::optional<DatabaseUrl> server_url;                    // the URL as given: the database itself (DIRECT_URL), or PgBouncer's
                                                            // (url_reaches_pgbouncer); none when not given
  std::optional<PoolerEndpoint> pgbouncer;                  // set when the application goes through PgBouncer (where it listens
                                                            // in the pgbouncer.ini poolcalc writes, not an address poolcalc uses)
  std::string pgbouncer_ini_command = "poolcalc pgbouncer"; // what writes that pgbouncer.ini
  std::optional<PgBouncerConfig> pgbouncer_config;          // PgBouncer's own file, when it is in the plan
  bool fleet_role = false;                                  // a fleet service's own role in server_url: its password was not given
  std::string application_name = std::string(k_default_application_name); // what every snippet sets (--app, the URL's, the
                                                                          // fleet service's name, or k_default_application_name)

  // Prisma's own defaults (rules: [prisma_defaults]), shown beside the chosen values.
  std::string prisma_default_connection_limit; // "physical CPUs x 2 + 1"
  double prisma_default_pool_timeout_s{};
  double prisma_default_connect_timeout_s{};

  // The server: what the user gave and what the plan opens.
  std::int64_t max_connections = 0;          // as given (--max-connections or the rules)
  std::vector<ReserveEntry> reserved;        // poolcalc's reserved budget, by name
  std::int64_t server_connections = 0;       // what PostgreSQL sees: pool x instances, or PgBouncer's pool
  std::string server_connections_source;     // how: "50 per instance x 1 instance"
  std::int64_t superuser_reserved_default{}; // PostgreSQL's default (rules: [postgres])
  int wal_senders_separate_since{};          // PostgreSQL's release (rules: [postgres])
};

// The plan's figures for one instance (Plan::pool_size, Plan::settings, application_url's
// endpoint, the scenario's URL and reserved budget).
ConfigInput config_input(const Plan& plan, const Rules& rules);

// One service of a fleet: its own plan's pool and timeouts (FleetService::plan), logging in as
// its `user` to its `database` on [database] url (the URL's password kept only when the user is
// the URL's), through the fleet's PgBouncer and the service's [databases] entry when the fleet
// uses PgBouncer (whatever the service alone would need), and the fleet's server figures.
ConfigInput config_input(const Fleet& fleet, const FleetService& service, const Rules& rules);

// The fleet as a whole (the `pgbouncer` and `postgresql-conf` targets): PgBouncer's file from
// pgbouncer_config_from_fleet, and what PostgreSQL sees: PgBouncer's server connections, or every
// service's pool directly; [database]'s max_connections and reserve.
ConfigInput config_input(const Fleet& fleet, const Rules& rules);

// The module system of a JavaScript project: CommonJS (require, what `npm init` makes: no "type"
// in package.json) or ES modules ("type": "module").
enum class JsModule
{
  commonjs,
  esm,
};

// The current Prisma ORM major (npm @prisma/client 7.x) and the oldest one poolcalc writes for.
inline constexpr int k_default_prisma_major = 7;
inline constexpr int k_min_prisma_major = 4;
// pgx majors: 5 is upstream's current, 4 what Debian 12 ships (golang-github-jackc-pgx-v4-dev).
inline constexpr int k_default_pgx_major = 5;

// What the user chose beside the plan.
struct ConfigOptions
{
  PgBouncerVersion pgbouncer_version = k_default_pgbouncer_version;
  int server_version = k_default_server_version;
  int prisma_major = k_default_prisma_major; // <= 6: URL parameters; >= 7: the PrismaPg adapter's pg.Pool
  JsModule module = JsModule::commonjs;      // node-postgres and Prisma 7's client file
  int pgx_major = k_default_pgx_major;       // 4 or 5: the pgx API of the Go targets
};

// What a project's package.json says: the Prisma major its @prisma/client (or prisma) range asks
// for, and its module system ("type": "module"). A field not there is none.
struct PackageJsonFacts
{
  std::optional<int> prisma_major;
  std::optional<JsModule> module;
};

// Reads package.json text (nlohmann-json). A range's major is its first number ("^7.10.0",
// "~6.2", ">=7", "7.x"); a range with none ("latest", "*", a tag or URL) says nothing. Errors: not
// JSON, not an object, a dependency that is not a string, a "type" other than "module"/"commonjs".
poolcalc::expected<PackageJsonFacts, std::string> parse_package_json(std::string_view text);

// "cjs" or "esm" (also "commonjs", "module"); an error string otherwise.
poolcalc::expected<JsModule, std::string> parse_js_module(std::string_view text);

// A URL with the pool parameters only one client reads taken out (Prisma's connection_limit,
// pool_timeout, max_connection_lifetime, max_idle_connection_lifetime, pgbouncer,
// statement_cache_size, socket_timeout; pgx's pool_* and query-mode keys): psql refuses them
// ("invalid URI query parameter"), libpq and psycopg2 too ("invalid connection option"). Every
// other parameter stays as given.
DatabaseUrl without_client_params(const DatabaseUrl& url);

// The parameters without_client_params takes out.
const std::vector<std::string_view>& client_only_params();

// One file of a snippet: a name ("schema.prisma", ".env") and its whole text.
struct ConfigFile
{
  std::string name;
  std::string content;
};

struct ConfigTarget
{
  std::string_view name;    // "prisma"
  std::string_view summary; // one line for --help
  std::vector<ConfigFile> (*render)(const ConfigInput& input, const ConfigOptions& options);
};

// Every target `--for` accepts, in --help order.
const std::vector<ConfigTarget>& config_targets();

// The target named `name`, or nullptr.
const ConfigTarget* find_config_target(std::string_view name);

// "prisma, node-postgres, ..." for messages.
std::string config_target_names();

// The renderers (one per target). URLs carry the password: the user asked for the snippet.
std::vector<ConfigFile> render_config_pgbouncer(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_prisma(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_node_postgres(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_hikaricp(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_sqlalchemy(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_go_database_sql(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_pgx(const ConfigInput& input, const ConfigOptions& options);
std::vector<ConfigFile> render_config_postgresql_conf(const ConfigInput& input, const ConfigOptions& options);

// Through PgBouncer, whether the URL given is PgBouncer's own address (is_pgbouncer_url with
// its listen_port): then the application reaches PgBouncer with it; otherwise it still points at
// the server.
bool url_reaches_pgbouncer(const ConfigInput& input);

// The URL an application connects to: the URL as given, whose host and port poolcalc never
// changes, without another client's parameters (without_client_params), and with its
// application_name, if it has one, set to the input's. When it reaches PgBouncer, it names the
// service's [databases] entry (a fleet's PoolerEndpoint::database). None without a URL.
std::optional<DatabaseUrl> connect_url(const ConfigInput& input);

// Prisma's DATABASE_URL: connect_url with connection_limit, pool_timeout and connect_timeout,
// and pgbouncer=true when it reaches PgBouncer older than k_pgbouncer_prepared_statements (removed
// otherwise).
std::optional<DatabaseUrl> prisma_url(const ConfigInput& input, const PgBouncerVersion& pgbouncer_version);

// What postgresql.conf needs for the plan (docs/clients.md, "postgresql-conf").
struct ServerSettings
{
  std::int64_t needed = 0;          // server_connections + the reserved budget (+ the superuser default when not reserved)
  std::int64_t max_connections = 0; // max(needed, the user's): never below what the user gave
  std::int64_t superuser_reserved_connections = 0;
  std::int64_t reserved_connections = 0; // 16+: the `admin` reserve; 0 before 16
};
ServerSettings server_settings(const ConfigInput& input, const ConfigOptions& options);

// The text output: each file under a "# ==> NAME <==" line when there are several.
std::string render_config_text(const std::vector<ConfigFile>& files);

// JSON (docs/json.md, "poolcalc config"): {"schema_version", "target", "files": [{"name", "content"}]}.
std::string render_config_json(std::string_view target, const std::vector<ConfigFile>& files);

} // namespace poolcalc

// The client libraries' snippets (`poolcalc config --for prisma | node-postgres | hikaricp |
// sqlalchemy | go-database-sql | pgx`). Each writes the library's own knob names in its own
// units, the library's default beside each value; docs/clients.md cites the defaults.

#include "poolcalc/client_config.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include "common.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>

#include <algorithm>

#include <cmath>

namespace poolcalc {

namespace {

std::string where(const ConfigInput& input)
{
  if (!input.pgbouncer) {
    return "direct to PostgreSQL";
  }
  return url_reaches_pgbouncer(input) ? fmt::format("through PgBouncer at {}", url_address(*input.server_url)) : "through PgBouncer";
}

// Through PgBouncer with a URL that still points at the server: what to change once PgBouncer
// runs, as comment lines. `variable` is what holds the URL, `add` what else to add there (", and
// add pgbouncer=true").
std::vector<std::string> pending_pgbouncer(const ConfigInput& input, std::string_view variable, std::string_view add)
{
  if (!input.pgbouncer || !input.server_url || url_reaches_pgbouncer(input)) {
    return {};
  }
  std::string at = fmt::format("its host and port (listen_port {} there)", input.pgbouncer->port);
  if (!input.pgbouncer->database.empty() && input.pgbouncer->database != input.server_url->database()) {
    at += fmt::format(", database {}", printable(input.pgbouncer->database));
  }
  return {
    fmt::format("{} still points at the database server ({}), as given: poolcalc does not know", variable, url_address(*input.server_url)),
    fmt::format("PgBouncer's address. Once PgBouncer runs ({} writes its pgbouncer.ini),", input.pgbouncer_ini_command),
    fmt::format("point {} at {}{}.", variable, at, add),
  };
}

// Without a URL, through PgBouncer: where the user's own URL has to point.
std::string no_url_pgbouncer(const ConfigInput& input, std::string_view comment)
{
  return fmt::format("{} and, once PgBouncer runs ({} writes its pgbouncer.ini), point it at PgBouncer (listen_port {} there).\n",
                     comment,
                     input.pgbouncer_ini_command,
                     input.pgbouncer->port);
}

// "# poolcalc: 120 VUs, 150 ms per query -> pool of 50 per instance (direct to PostgreSQL)"
std::string headline(const ConfigInput& input, std::string_view comment)
{
  std::string out = fmt::format("{} poolcalc: {} ({})\n", comment, input.headline, where(input));
  if (input.fleet_role && input.server_url && !input.server_url->has_password()) {
    // A fleet's service logs in as its own role, whose password poolcalc was never given.
    out +=
      fmt::format("{} The role '{}' has no password here: add it (or use PGPASSWORD / ~/.pgpass).\n", comment, input.server_url->user());
  }
  return out;
}

std::int64_t milliseconds(double seconds)
{
  return static_cast<std::int64_t>(std::llround(seconds * 1000.0));
}

// Seconds as a whole number for the knobs that take integers (the timeouts are whole seconds).
std::string whole(double seconds)
{
  return format_number(seconds, 0);
}

// A value of a Java properties file: HikariConfig loads it as ISO 8859-1 with backslash escapes,
// so a backslash, a line break or a leading space would change the value (or add a line), and
// anything beyond ASCII is written as \uXXXX (UTF-16, surrogate pairs above U+FFFF).
std::string properties_value(const std::string& text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      const char c = text[i++];
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == ' ' && out.empty()) {
        out += "\\ ";
      } else if (byte < 0x20 || byte == 0x7f) {
        out += fmt::format("\\u{:04X}", byte);
      } else {
        out += c;
      }
      continue;
    }
    // UTF-8 to a code point; a malformed byte stands for itself (U+0080-U+00FF).
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    char32_t code = length == 4 ? byte & 0x07u : length == 3 ? byte & 0x0Fu : length == 2 ? byte & 0x1Fu : byte;
    bool valid = length > 1 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0u) == 0x80u;
      code = (code << 6) | (next & 0x3Fu);
    }
    if (!valid || code > 0x10FFFF) {
      code = byte;
      i += 1;
    } else {
      i += length;
    }
    if (code > 0xFFFF) {
      const char32_t v = code - 0x10000;
      out += fmt::format("\\u{:04X}\\u{:04X}", static_cast<unsigned>(0xD800 + (v >> 10)), static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
    } else {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(code));
    }
  }
  return out;
}

bool old_pgbouncer(const ConfigInput& input, const ConfigOptions& options)
{
  return input.pgbouncer && options.pgbouncer_version < k_pgbouncer_prepared_statements;
}

// The .env file with DATABASE_URL, or without a --database-url the parameters to add to it.
ConfigFile env_file(const ConfigInput& input,
                    const std::optional<DatabaseUrl>& url,
                    const std::vector<std::string>& comments,
                    const std::vector<std::pair<std::string, std::string>>& params)
{
  std::string out = "# file: .env\n" + headline(input, "#");
  for (const std::string& line : comments) {
    out += "# " + line + "\n";
  }
  if (url) {
    for (const std::string& line : pending_pgbouncer(input, "DATABASE_URL", "")) {
      out += "# " + line + "\n";
    }
    out += fmt::format("DATABASE_URL={}\n", detail::dotenv_quoted(url->to_string()));
  } else {
    std::vector<std::string> pieces;
    for (const auto& [key, value] : params) {
      pieces.push_back(key + "=" + value);
    }
    out += pieces.empty() ? "# No --database-url given: DATABASE_URL is yours as it is.\n"
                          : fmt::format("# No --database-url given: add to your DATABASE_URL: ?{}\n", fmt::join(pieces, "&"));
    if (input.pgbouncer) {
      out += no_url_pgbouncer(input, "#");
    }
  }
  return { ".env", out };
}

} // namespace

namespace {

// Prisma ORM 4 to 6: the query engine's pool, read from DATABASE_URL's query string.
std::vector<ConfigFile> render_prisma_url_parameters(const ConfigInput& input, const ConfigOptions& options)
{
  std::vector<ConfigFile> files;
  auto url = prisma_url(input, options.pgbouncer_version);
  if (url) {
    url = url->with_param("application_name", input.application_name);
  }
  std::string env = "# file: .env\n" + headline(input, "#");
  env += fmt::format("# Prisma ORM {} (4 to 6: the query engine's own pool) reads its pool settings from DATABASE_URL's\n"
                     "# query string (Prisma 7 reads none of them: --prisma-version 7):\n",
                     options.prisma_major);
  env += fmt::format("#   connection_limit={}  (default: {})\n", input.pool_size, input.prisma_default_connection_limit);
  env += fmt::format("#   pool_timeout={}  (seconds; default: {}{})\n",
                     whole(input.pool_timeout_s),
                     format_number(input.prisma_default_pool_timeout_s),
                     input.pool_timeout_s == 0 ? "; 0 waits forever" : "");
  env += fmt::format("#   connect_timeout={}  (seconds; default: {}{})\n",
                     whole(input.connect_timeout_s),
                     format_number(input.prisma_default_connect_timeout_s),
                     input.connect_timeout_s == 0 ? "; 0 waits forever" : "");
  env += fmt::format("#   application_name={}  (default: none; what pg_stat_activity and poolcalc inspect --app group by)\n",
                     input.application_name);
  const bool reaches = url_reaches_pgbouncer(input);
  if (input.pgbouncer) {
    if (url && reaches) {
      env += fmt::format("# DATABASE_URL points at PgBouncer ({}), as given. DIRECT_URL must point at the database\n"
                         "# server, for `prisma migrate` and the other CLI commands, which need a session of their own:\n"
                         "# poolcalc does not know the server's address, so add DIRECT_URL=\"...\" yourself.\n",
                         url_address(*input.server_url));
    } else if (url) {
      for (const std::string& line :
           pending_pgbouncer(input, "DATABASE_URL", old_pgbouncer(input, options) ? ", and add pgbouncer=true" : "")) {
        env += "# " + line + "\n";
      }
      env += "# DIRECT_URL is the server's, for `prisma migrate` and the other CLI commands, which need a\n"
             "# session of their own.\n";
    } else {
      env += "# DATABASE_URL goes to PgBouncer; DIRECT_URL to the server, for `prisma migrate` and the other\n"
             "# CLI commands, which need a session of their own.\n";
    }
    if (old_pgbouncer(input, options)) {
      env += fmt::format("# pgbouncer=true: PgBouncer {0} is older than {1}, which added prepared statements\n"
                         "# (Prisma's docs); with --pgbouncer-version {1} or later poolcalc leaves it out.\n",
                         to_string(options.pgbouncer_version),
                         to_string(k_pgbouncer_prepared_statements));
    } else {
      env += fmt::format("# No pgbouncer=true: PgBouncer {} handles prepared statements (from {}) when its\n"
                         "# max_prepared_statements is above 0 (default 200 since 1.24.0; 0 before).\n",
                         to_string(options.pgbouncer_version),
                         to_string(k_pgbouncer_prepared_statements));
    }
  }
  if (url) {
    env += fmt::format("DATABASE_URL={}\n", detail::dotenv_quoted(url->to_string()));
    if (input.pgbouncer && !reaches) {
      // The server itself, as given.
      env += fmt::format("DIRECT_URL={}\n", detail::dotenv_quoted(input.server_url->without_param("pgbouncer").to_string()));
    }
  } else {
    env += fmt::format(
      "# No --database-url given: add to your DATABASE_URL: ?connection_limit={}&pool_timeout={}&connect_timeout={}&application_name={}\n",
      input.pool_size,
      whole(input.pool_timeout_s),
      whole(input.connect_timeout_s),
      input.application_name);
    if (input.pgbouncer) {
      env += fmt::format("# and, once PgBouncer runs ({} writes its pgbouncer.ini), point it at PgBouncer (listen_port {} there){};\n"
                         "# DIRECT_URL is the server's URL as it is.\n",
                         input.pgbouncer_ini_command,
                         input.pgbouncer->port,
                         old_pgbouncer(input, options) ? " with pgbouncer=true" : "");
    }
  }
  files.push_back({ ".env", env });

  std::string schema = "// file: schema.prisma\n";
  if (input.pgbouncer) {
    schema += "// url goes through PgBouncer; directUrl gives migrations a direct connection. It must be a\n"
              "// different variable: directUrl = env(\"DATABASE_URL\") would send them through the pooler too.\n"
              "// (Prisma 7 moves the direct URL to prisma.config.ts.)\n";
    schema += "datasource db {\n"
              "  provider  = \"postgresql\"\n"
              "  url       = env(\"DATABASE_URL\")\n"
              "  directUrl = env(\"DIRECT_URL\")\n"
              "}\n";
  } else {
    schema += "// Direct to PostgreSQL: no directUrl. It is only needed when url points at a pooler, and\n"
              "// directUrl = env(\"DATABASE_URL\") would repeat url, which gains nothing.\n";
    schema += "datasource db {\n"
              "  provider = \"postgresql\"\n"
              "  url      = env(\"DATABASE_URL\")\n"
              "}\n";
  }
  files.push_back({ "schema.prisma", schema });
  return files;
}

// "pool.js" (CommonJS) or "pool.mjs" (an ES module whatever package.json says).
std::string js_name(std::string_view base, JsModule module)
{
  return fmt::format("{}.{}", base, module == JsModule::esm ? "mjs" : "js");
}

std::string js_module_comment(JsModule module)
{
  return module == JsModule::esm ? "// An ES module (import/export): the .mjs name makes Node load it as one in any project.\n"
                                 : "// CommonJS (require/module.exports), what `npm init` makes (no \"type\" in package.json);\n"
                                   "// --module esm writes an ES module instead.\n";
}

// The pg.Pool options both node-postgres and Prisma 7's PrismaPg take, indented two spaces.
// `v6`: name Prisma 6's URL parameter beside each field.
std::string pg_pool_options(const ConfigInput& input, bool v6)
{
  std::string out = "  connectionString: process.env.DATABASE_URL,\n";
  out += fmt::format("  application_name: \"{}\", // default: none\n", input.application_name);
  out += fmt::format("  max: {}, // {}default: 10\n", input.pool_size, v6 ? "v6 connection_limit; " : "");
  out += fmt::format("{}  // default: 0 (wait forever). --pool-timeout {} s; it also bounds opening a connection,\n"
                     "  // for which pg.Pool has no knob of its own (--connect-timeout {} s).\n",
                     v6 ? "  // v6 pool_timeout and connect_timeout:\n" : "",
                     whole(input.pool_timeout_s),
                     whole(input.connect_timeout_s));
  out += fmt::format("  connectionTimeoutMillis: {},\n", milliseconds(input.pool_timeout_s));
  out += "  idleTimeoutMillis: 10000, // default: 10000 (kept)\n";
  return out;
}

// Prisma ORM 7: the PrismaPg driver adapter over node-postgres' pg.Pool.
std::vector<ConfigFile> render_prisma_adapter(const ConfigInput& input, const ConfigOptions& options)
{
  std::vector<ConfigFile> files;
  const auto url = connect_url(input);
  const bool reaches = url_reaches_pgbouncer(input);
  const std::string client_file = js_name("prisma", options.module);
  std::string env = "# file: .env\n" + headline(input, "#");
  env += fmt::format("# Prisma ORM {} (@prisma/client with @prisma/adapter-pg): the pool is node-postgres' pg.Pool, set\n"
                     "# in {}; Prisma 7 reads no pool parameter from the URL, so DATABASE_URL has none.\n",
                     options.prisma_major,
                     client_file);
  if (input.pgbouncer) {
    if (url && reaches) {
      env += fmt::format("# DATABASE_URL points at PgBouncer ({}), as given. DIRECT_URL must point at the database\n"
                         "# server, for `prisma migrate` and the other CLI commands (prisma.config.ts), which need a\n"
                         "# session of their own: poolcalc does not know the server's address, so add DIRECT_URL=\"...\".\n",
                         url_address(*input.server_url));
    } else if (url) {
      for (const std::string& line : pending_pgbouncer(input, "DATABASE_URL", "")) {
        env += "# " + line + "\n";
      }
      env += "# DIRECT_URL is the server's, for `prisma migrate` and the other CLI commands (prisma.config.ts),\n"
             "# which need a session of their own.\n";
    } else {
      env += "# DATABASE_URL goes to PgBouncer; DIRECT_URL to the server, for `prisma migrate` and the other\n"
             "# CLI commands (prisma.config.ts), which need a session of their own.\n";
    }
    env += "# No pgbouncer=true: that is Prisma 6's query-engine parameter; Prisma 7's adapter does not read it.\n";
  }
  if (url) {
    env += fmt::format("DATABASE_URL={}\n", detail::dotenv_quoted(url->to_string()));
    if (input.pgbouncer && !reaches) {
      env += fmt::format("DIRECT_URL={}\n", detail::dotenv_quoted(without_client_params(*input.server_url).to_string()));
    }
  } else {
    env += "# No --database-url given: DATABASE_URL is yours as it is (without Prisma 6's pool parameters).\n";
    if (input.pgbouncer) {
      env += no_url_pgbouncer(input, "#");
      env += "# DIRECT_URL is the server's URL as it is.\n";
    }
  }
  files.push_back({ ".env", env });

  std::string config = "// file: prisma.config.ts\n" + headline(input, "//");
  config += "// The Prisma CLI's connection (prisma migrate, db pull, studio): Prisma 7 reads it here, not in\n"
            "// schema.prisma, and no longer loads .env itself (hence dotenv: npm install dotenv).\n";
  config += "import \"dotenv/config\";\nimport { defineConfig, env } from \"prisma/config\";\n\n";
  config += "export default defineConfig({\n  schema: \"prisma/schema.prisma\",\n  datasource: {\n";
  if (input.pgbouncer) {
    config += "    // The server itself: migrations need a session of their own, which PgBouncer does not keep.\n"
              "    url: env(\"DIRECT_URL\"),\n";
  } else {
    config += "    url: env(\"DATABASE_URL\"),\n";
  }
  config += "  },\n});\n";
  files.push_back({ "prisma.config.ts", config });

  std::string schema = "// file: schema.prisma\n";
  schema += "// Prisma 7: the datasource has no url (prisma.config.ts gives the CLI its URL; the client gets the\n"
            "// adapter). prisma-client-js generates the client that require(\"@prisma/client\") loads; with the\n"
            "// newer prisma-client generator, load PrismaClient from its output path instead.\n";
  schema += "generator client {\n  provider = \"prisma-client-js\"\n}\n\n";
  schema += "datasource db {\n  provider = \"postgresql\"\n}\n";
  files.push_back({ "schema.prisma", schema });

  std::string js = "// file: " + client_file + "\n" + headline(input, "//");
  js += "// Prisma ORM 7 over node-postgres (@prisma/adapter-pg): PrismaPg takes pg.Pool's options, so the\n"
        "// pool's size and timeouts are node-postgres' (Prisma's docs, \"Connection pool\", map each v6 URL\n"
        "// parameter to these fields). Times in milliseconds.\n";
  js += js_module_comment(options.module);
  if (old_pgbouncer(input, options)) {
    js += fmt::format("// PgBouncer {} (before {}) has no prepared statements: @prisma/adapter-pg sends unnamed ones\n"
                      "// unless its statementNameGenerator option is set, which it is not here.\n",
                      to_string(options.pgbouncer_version),
                      to_string(k_pgbouncer_prepared_statements));
  }
  if (options.module == JsModule::esm) {
    // @prisma/client is CommonJS; its default export is the one form Node's ESM loader always gives.
    js += "import prismaClient from \"@prisma/client\";\nimport { PrismaPg } from \"@prisma/adapter-pg\";\n\n"
          "const { PrismaClient } = prismaClient;\n\n";
  } else {
    js += "const { PrismaClient } = require(\"@prisma/client\");\nconst { PrismaPg } = require(\"@prisma/adapter-pg\");\n\n";
  }
  // Prisma 6 read the schema from the URL's `schema`; PrismaPg takes it as an option of its own.
  std::string schema_option;
  if (input.server_url) {
    if (const auto name = input.server_url->param("schema"); name && !name->empty()) {
      js += "// The URL's schema: Prisma 7 reads it from PrismaPg's own `schema` option.\n";
      schema_option = ", { schema: " + nlohmann::json(*name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " }";
    }
  }
  js += "const adapter = new PrismaPg({\n" + pg_pool_options(input, true) + "}" + schema_option + ");\n\n";
  if (options.module == JsModule::esm) {
    js += "export const prisma = new PrismaClient({ adapter });\n";
  } else {
    js += "const prisma = new PrismaClient({ adapter });\n\nmodule.exports = { prisma };\n";
  }
  files.push_back({ client_file, js });
  return files;
}

} // namespace

std::vector<ConfigFile> render_config_prisma(const ConfigInput& input, const ConfigOptions& options)
{
  return options.prisma_major >= 7 ? render_prisma_adapter(input, options) : render_prisma_url_parameters(input, options);
}

std::vector<ConfigFile> render_config_node_postgres(const ConfigInput& input, const ConfigOptions& options)
{
  std::vector<ConfigFile> files;
  files.push_back(env_file(input, connect_url(input), {}, {}));
  const std::string name = js_name("pool", options.module);
  std::string js = "// file: " + name + "\n" + headline(input, "//");
  js += "// node-postgres (pg 8) pg.Pool: times in milliseconds.\n";
  js += js_module_comment(options.module);
  if (old_pgbouncer(input, options)) {
    js += fmt::format("// PgBouncer {} (before {}) has no prepared statements: do not pass `name` to query().\n",
                      to_string(options.pgbouncer_version),
                      to_string(k_pgbouncer_prepared_statements));
  }
  if (options.module == JsModule::esm) {
    js += "import pg from \"pg\";\n\nexport const pool = new pg.Pool({\n" + pg_pool_options(input, false) + "});\n";
  } else {
    js +=
      "const pg = require(\"pg\");\n\nconst pool = new pg.Pool({\n" + pg_pool_options(input, false) + "});\n\nmodule.exports = { pool };\n";
  }
  files.push_back({ name, js });
  return files;
}

std::vector<ConfigFile> render_config_hikaricp(const ConfigInput& input, const ConfigOptions& options)
{
  std::string out = "# file: hikari.properties\n" + headline(input, "#");
  out += "# HikariCP with pgJDBC: times in milliseconds (pgJDBC's connectTimeout in seconds).\n";
  out += "# Load it with new HikariDataSource(new HikariConfig(\"hikari.properties\")).\n";
  if (const auto url = connect_url(input)) {
    for (const std::string& line : pending_pgbouncer(input, "jdbcUrl", "")) {
      out += "# " + line + "\n";
    }
    std::string host = url->effective_host();
    if (host.empty() || host.starts_with('/')) {
      out += "# The URL names a Unix socket; pgJDBC connects over TCP, so localhost is written: adjust it.\n";
      host = "localhost";
    }
    if (host.find(':') != std::string::npos) {
      host = "[" + host + "]";
    }
    const std::string port = url->effective_port().empty() ? "5432" : url->effective_port();
    std::vector<std::string> params;
    if (const auto sslmode = url->param("sslmode")) {
      params.push_back("sslmode=" + *sslmode);
    }
    if (old_pgbouncer(input, options)) {
      out += fmt::format("# prepareThreshold=0: PgBouncer {} (before {}) has no prepared statements\n"
                         "# (pgJDBC's default: 5, a server-side prepared statement from the fifth use).\n",
                         to_string(options.pgbouncer_version),
                         to_string(k_pgbouncer_prepared_statements));
      params.push_back("prepareThreshold=0");
    }
    out += fmt::format("jdbcUrl=jdbc:postgresql://{}:{}/{}{}{}\n",
                       printable(host),
                       printable(port),
                       printable(url->database()),
                       params.empty() ? "" : "?",
                       fmt::format("{}", fmt::join(params, "&")));
    if (!url->user().empty()) {
      out += fmt::format("username={}\n", properties_value(url->user()));
    }
    if (url->has_password()) {
      out += fmt::format("password={}\n", properties_value(url->password()));
    }
  } else {
    out += "# No --database-url given: set jdbcUrl, username and password";
    out += input.pgbouncer ? no_url_pgbouncer(input, "") : ".\n";
  }
  out += "# default: 10\n";
  out += fmt::format("maximumPoolSize={}\n", input.pool_size);
  out += "# default: same as maximumPoolSize (a fixed-size pool, as HikariCP recommends)\n";
  out += fmt::format("minimumIdle={}\n", input.pool_size);
  out += fmt::format(
    "# default: 30000 (--pool-timeout {} s{})\n", whole(input.pool_timeout_s), input.pool_timeout_s == 0 ? "; 0: no limit" : "");
  out += fmt::format("connectionTimeout={}\n", milliseconds(input.pool_timeout_s));
  out += fmt::format("# pgJDBC, seconds; default: 10 (--connect-timeout {} s{})\n",
                     whole(input.connect_timeout_s),
                     input.connect_timeout_s == 0 ? "; 0: no limit" : "");
  out += fmt::format("dataSource.connectTimeout={}\n", whole(input.connect_timeout_s));
  out += "# pgJDBC's ApplicationName (default: \"PostgreSQL JDBC Driver\"): what pg_stat_activity shows\n";
  out += fmt::format("dataSource.ApplicationName={}\n", input.application_name);
  // Without it pgJDBC sets the name by a SET after connecting, which PgBouncer before 1.22 loses in
  // transaction mode on PostgreSQL 14 and later (pgbouncer/pgbouncer#993): docs/clients.md.
  out += "# pgJDBC sends ApplicationName when it connects, not by a SET after (default: none, then a SET that\n"
         "# PgBouncer before 1.22 can lose in transaction mode: its sessions would show no name)\n";
  out += "dataSource.assumeMinServerVersion=9.0\n";
  return { { "hikari.properties", out } };
}

std::vector<ConfigFile> render_config_sqlalchemy(const ConfigInput& input, const ConfigOptions&)
{
  std::vector<ConfigFile> files;
  // SQLAlchemy has no postgres:// dialect (NoSuchModuleError): the URL is written as postgresql://.
  std::optional<DatabaseUrl> url = connect_url(input);
  if (url) {
    const std::string text = url->to_string();
    if (text.size() > 11 && std::equal(text.begin(), text.begin() + 11, "postgres://", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      url = DatabaseUrl::parse("postgresql://" + text.substr(11)).value_or(*url);
    }
  }
  files.push_back(env_file(input, url, { "SQLAlchemy reads postgresql:// (or postgresql+psycopg://), not postgres://." }, {}));
  std::string py = "# file: engine.py\n" + headline(input, "#");
  py += "# SQLAlchemy (QueuePool): times in seconds. The plan's pool is the whole pool: pool_size carries\n"
        "# it and max_overflow is 0, so an instance never opens more than the connections the server\n"
        "# check counted (the burst buffer and the overhead are already inside pool_size).\n";
  py += "import os\n\nfrom sqlalchemy import create_engine\n\n";
  py += "engine = create_engine(\n";
  py += "    os.environ[\"DATABASE_URL\"],\n";
  py += fmt::format("    pool_size={},  # default: 5\n", input.pool_size);
  py += "    max_overflow=0,  # default: 10\n";
  if (input.pool_timeout_s == 0) {
    py += "    # --pool-timeout 0 (wait forever) has no QueuePool equivalent (0 fails at once): the default stays.\n";
    py += "    pool_timeout=30,  # default: 30\n";
  } else {
    py += fmt::format("    pool_timeout={},  # default: 30\n", whole(input.pool_timeout_s));
  }
  py += "    # libpq's parameters (psycopg 2 and 3): application_name (default: none)";
  if (input.connect_timeout_s > 0) {
    py += fmt::format(", connect_timeout in seconds\n"
                      "    # (default: none, wait forever)\n"
                      "    connect_args={{\"application_name\": \"{}\", \"connect_timeout\": {}}},\n",
                      input.application_name,
                      whole(input.connect_timeout_s));
  } else {
    py += fmt::format("\n    connect_args={{\"application_name\": \"{}\"}},\n", input.application_name);
  }
  py += ")\n";
  files.push_back({ "engine.py", py });
  return files;
}

namespace {

// The pgx import path of a major: "github.com/jackc/pgx/v5".
std::string pgx_path(const ConfigOptions& options)
{
  return fmt::format("github.com/jackc/pgx/v{}", options.pgx_major);
}

// Which pgx a snippet is for, as comment lines.
std::string pgx_note(const ConfigOptions& options)
{
  return options.pgx_major == 4
           ? "// For pgx v4 (Debian 12: golang-github-jackc-pgx-v4-dev 4.15, Go 1.19); --pgx-version 5 for upstream's current.\n"
           : "// For pgx v5 (upstream's current; Go 1.20 or later); --pgx-version 4 for Debian 12's 4.15.\n";
}

// The lines that set the connect timeout, application_name and, for PgBouncer before 1.21, a
// query mode without named prepared statements on `conn` (a *pgx.ConnConfig), one tab deep.
std::string go_conn_settings(const ConfigInput& input, const ConfigOptions& options, std::string_view conn)
{
  std::string out;
  out += fmt::format("\t{}.RuntimeParams[\"application_name\"] = \"{}\" // default: none\n", conn, input.application_name);
  if (input.connect_timeout_s > 0) {
    out += fmt::format("\t// --connect-timeout {} s; default: none (pgconn's connect_timeout in the URL, if any)\n"
                       "\t{}.ConnectTimeout = {} * time.Second\n",
                       whole(input.connect_timeout_s),
                       conn,
                       whole(input.connect_timeout_s));
  }
  if (old_pgbouncer(input, options)) {
    out += fmt::format("\t// PgBouncer {} (before {}) has no prepared statements: ",
                       to_string(options.pgbouncer_version),
                       to_string(k_pgbouncer_prepared_statements));
    if (options.pgx_major == 4) {
      out += fmt::format("the simple protocol, no statement cache\n"
                         "\t// (pgx v4's default prepares and caches named statements).\n"
                         "\t{0}.PreferSimpleProtocol = true\n"
                         "\t{0}.BuildStatementCache = nil\n",
                         conn);
    } else {
      out += fmt::format("exec mode, no named statements\n"
                         "\t// (pgx v5's default, cache_statement, prepares named statements).\n"
                         "\t{}.DefaultQueryExecMode = pgx.QueryExecModeExec\n",
                         conn);
    }
  }
  return out;
}

// Whether the Go code uses the time package: a connect timeout or a pool-timeout deadline.
bool go_uses_time(const ConfigInput& input)
{
  return input.connect_timeout_s > 0 || input.pool_timeout_s > 0;
}

std::string go_deadline(const ConfigInput& input, std::string_view what)
{
  if (input.pool_timeout_s == 0) {
    return fmt::format("\n// --pool-timeout 0: no deadline; {} waits for a connection until its context ends.\n", what);
  }
  return fmt::format("\n// {} waits for a free connection until its context ends:\n"
                     "// --pool-timeout {} s as a deadline (it bounds the query too: add the query's own time).\n"
                     "func WithPoolTimeout(ctx context.Context) (context.Context, context.CancelFunc) {{\n"
                     "\treturn context.WithTimeout(ctx, {}*time.Second)\n"
                     "}}\n",
                     what,
                     whole(input.pool_timeout_s),
                     whole(input.pool_timeout_s));
}

std::vector<std::string> go_env_comments()
{
  return { "The Go code sets the pool, its timeouts and application_name itself: DATABASE_URL carries none." };
}

} // namespace

std::vector<ConfigFile> render_config_go_database_sql(const ConfigInput& input, const ConfigOptions& options)
{
  std::vector<ConfigFile> files;
  files.push_back(env_file(input, connect_url(input), go_env_comments(), {}));
  std::string go = "// file: db.go\n" + headline(input, "//");
  go += fmt::format("// database/sql with pgx's driver ({}/stdlib): sizes are counts, times are\n"
                    "// time.Duration.\n",
                    pgx_path(options));
  go += pgx_note(options);
  go += "package db\n\n";
  go += fmt::format("import (\n\t\"context\"\n\t\"database/sql\"\n\t\"os\"\n\t\"time\"\n\n\t\"{0}\"\n\t\"{0}/stdlib\"\n)\n\n",
                    pgx_path(options));
  go += "// Open opens the pool and checks one connection.\n";
  go += "func Open(ctx context.Context) (*sql.DB, error) {\n";
  go += "\tconfig, err := pgx.ParseConfig(os.Getenv(\"DATABASE_URL\"))\n";
  go += "\tif err != nil {\n\t\treturn nil, err\n\t}\n";
  go += go_conn_settings(input, options, "config");
  go += "\tdb := stdlib.OpenDB(*config)\n";
  go += fmt::format("\tdb.SetMaxOpenConns({}) // default: 0 (unlimited)\n", input.pool_size);
  go += fmt::format("\t// default: 2; below the pool, connections past it close on release and reopen under load\n"
                    "\tdb.SetMaxIdleConns({})\n",
                    input.pool_size);
  go += "\tdb.SetConnMaxLifetime(time.Hour) // default: 0 (kept forever); pgxpool's default lifetime\n";
  go += "\tif err := db.PingContext(ctx); err != nil {\n\t\tdb.Close()\n\t\treturn nil, err\n\t}\n";
  go += "\treturn db, nil\n}\n";
  go += go_deadline(input, "A query");
  files.push_back({ "db.go", go });
  return files;
}

std::vector<ConfigFile> render_config_pgx(const ConfigInput& input, const ConfigOptions& options)
{
  std::vector<ConfigFile> files;
  files.push_back(env_file(input, connect_url(input), go_env_comments(), {}));
  const bool v4 = options.pgx_major == 4;
  std::string go = "// file: db.go\n" + headline(input, "//");
  go += fmt::format("// pgxpool ({}/pgxpool): its Config set in code, so DATABASE_URL stays one every client reads.\n", pgx_path(options));
  go += pgx_note(options);
  go += "package db\n\n";
  const bool exec_mode = old_pgbouncer(input, options) && !v4;
  go += fmt::format("import (\n\t\"context\"\n\t\"os\"\n{}\n{}\t\"{}/pgxpool\"\n)\n\n",
                    go_uses_time(input) ? "\t\"time\"\n" : "",
                    exec_mode ? fmt::format("\t\"{}\"\n", pgx_path(options)) : "",
                    pgx_path(options));
  go += "func Open(ctx context.Context) (*pgxpool.Pool, error) {\n";
  go += "\tconfig, err := pgxpool.ParseConfig(os.Getenv(\"DATABASE_URL\"))\n";
  go += "\tif err != nil {\n\t\treturn nil, err\n\t}\n";
  go += fmt::format("\tconfig.MaxConns = {} // default: max(4, runtime.NumCPU())\n", input.pool_size);
  go += "\t// MaxConnLifetime (default 1h) and MaxConnIdleTime (default 30m) are kept.\n";
  go += go_conn_settings(input, options, "config.ConnConfig");
  go += v4 ? "\treturn pgxpool.ConnectConfig(ctx, config)\n}\n" : "\treturn pgxpool.NewWithConfig(ctx, config)\n}\n";
  go += go_deadline(input, "Acquire (and every query on the pool)");
  files.push_back({ "db.go", go });
  return files;
}

} // namespace poolcalc

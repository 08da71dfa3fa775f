#include "poolcalc/client_config.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <map>

namespace poolcalc {

namespace {

// Prisma 6 and older read their pool from DATABASE_URL's query string.
bool prisma_url_parameters(const EnvFor& target)
{
  return target.client == "prisma" && target.prisma_major <= 6;
}

// DATABASE_URL for `target`: Prisma 6's with its parameters (application_url), any other's the
// application's URL (routed_url: PgBouncer's address when given) without a client's own parameters.
std::optional<DatabaseUrl> env_url(const Plan& plan, const EnvFor& target)
{
  if (prisma_url_parameters(target)) {
    return application_url(plan);
  }
  const std::optional<DatabaseUrl> routed = routed_url(plan);
  if (!routed) {
    return std::nullopt;
  }
  return without_client_params(*routed);
}

// For each pool variable, the line of the client's code that reads it (docs/clients.md).
struct Reader
{
  std::string pool_size;
  std::string connection_timeout;
  std::string pool_timeout;
};

std::optional<Reader> reader(const EnvFor& target)
{
  const std::string& c = target.client;
  if (c == "node-postgres" || (c == "prisma" && !prisma_url_parameters(target))) {
    const std::string where = c == "prisma" ? "new PrismaPg({...})" : "new pg.Pool({...})";
    return Reader{ fmt::format("{}: max: Number(process.env.DATABASE_POOL_SIZE),", where),
                   "none: pg.Pool has no connect timeout of its own (connectionTimeoutMillis bounds both waits)",
                   fmt::format("{}: connectionTimeoutMillis: Number(process.env.DATABASE_POOL_TIMEOUT) * 1000,", where) };
  }
  if (c == "prisma") {
    const std::string copy = "none: Prisma {} reads {} in DATABASE_URL; this copy is your application's own";
    return Reader{ fmt::format(fmt::runtime(copy), target.prisma_major, "connection_limit"),
                   fmt::format(fmt::runtime(copy), target.prisma_major, "connect_timeout"),
                   fmt::format(fmt::runtime(copy), target.prisma_major, "pool_timeout") };
  }
  if (c == "sqlalchemy") {
    return Reader{ "create_engine(...): pool_size=int(os.environ[\"DATABASE_POOL_SIZE\"]),",
                   "create_engine(...): connect_args={\"connect_timeout\": int(os.environ[\"DATABASE_CONNECTION_TIMEOUT\"])},",
                   "create_engine(...): pool_timeout=int(os.environ[\"DATABASE_POOL_TIMEOUT\"]) or 30, (QueuePool fails at once on 0)" };
  }
  if (c == "hikaricp") {
    return Reader{ "config.setMaximumPoolSize(Integer.parseInt(System.getenv(\"DATABASE_POOL_SIZE\")));",
                   "config.addDataSourceProperty(\"connectTimeout\", System.getenv(\"DATABASE_CONNECTION_TIMEOUT\"));",
                   "config.setConnectionTimeout(Long.parseLong(System.getenv(\"DATABASE_POOL_TIMEOUT\")) * 1000);" };
  }
  if (c == "go-database-sql" || c == "pgx") {
    const bool pool = c == "pgx";
    return Reader{ pool ? "n, _ := strconv.Atoi(os.Getenv(\"DATABASE_POOL_SIZE\")); config.MaxConns = int32(n)"
                        : "n, _ := strconv.Atoi(os.Getenv(\"DATABASE_POOL_SIZE\")); db.SetMaxOpenConns(n); db.SetMaxIdleConns(n)",
                   fmt::format("s, _ := strconv.Atoi(os.Getenv(\"DATABASE_CONNECTION_TIMEOUT\")); {}ConnectTimeout = time.Duration(s) * "
                               "time.Second",
                               pool ? "config.ConnConfig." : "config."),
                   "s, _ := strconv.Atoi(os.Getenv(\"DATABASE_POOL_TIMEOUT\")); ctx, cancel := context.WithTimeout(ctx, "
                   "time.Duration(s)*time.Second)" };
  }
  return std::nullopt;
}

} // namespace

std::vector<EnvVariable> env_variables(const Plan& plan)
{
  return env_variables(plan, EnvFor{});
}

std::vector<EnvVariable> env_variables(const Plan& plan, const EnvFor& target)
{
  std::vector<EnvVariable> variables;
  if (const auto url = env_url(plan, target)) {
    variables.push_back({ "DATABASE_URL", detail::dotenv_url(url->to_string()), true });
    if (const auto direct = direct_url(plan)) {
      variables.push_back({ "DIRECT_URL",
                            detail::dotenv_url(without_client_params(*direct).to_string()),
                            true,
                            { "The database server itself, for migrations and admin sessions (Prisma: DIRECT_URL)" } });
    }
  }
  const auto read = reader(target);
  const auto comment = [&](std::string what, const std::string Reader::*line) {
    std::vector<std::string> lines{ std::move(what) };
    if (read) {
      const std::string& code = (*read).*line;
      lines.push_back(code.starts_with("none: ") ? "not read: " + code.substr(6) : "read by " + code);
    }
    return lines;
  };
  variables.push_back({ "DATABASE_POOL_SIZE",
                        fmt::format("{}", plan.settings.connection_limit),
                        false,
                        comment("Maximum connections in pool", &Reader::pool_size) });
  variables.push_back({ "DATABASE_CONNECTION_TIMEOUT",
                        format_number(plan.settings.connect_timeout_s),
                        false,
                        comment("Seconds to wait for new connection", &Reader::connection_timeout) });
  variables.push_back({ "DATABASE_POOL_TIMEOUT",
                        format_number(plan.settings.pool_timeout_s),
                        false,
                        comment("Seconds to wait for available connection from pool", &Reader::pool_timeout) });
  return variables;
}

std::string env_summary(const Plan& plan)
{
  return fmt::format("{}, {} ms per query -> pool of {} per instance ({})",
                     detail::load_text(plan),
                     format_number(plan.scenarios[plan.design_index].query_ms),
                     plan.pool_size,
                     plan.recommendation == Recommendation::pool ? "direct to PostgreSQL" : "through PgBouncer");
}

std::string render_env(const Plan& plan)
{
  return render_env(plan, EnvFor{});
}

std::string render_env(const Plan& plan, const EnvFor& target)
{
  const bool prisma6 = prisma_url_parameters(target);
  std::string out = fmt::format("# poolcalc: {}\n", env_summary(plan));
  if (target.client.empty()) {
    out += "# For any client: DATABASE_URL has no client's own parameter (psql and libpq refuse Prisma's and\n"
           "# pgx's). The pool variables below are your application's own: no library reads them.\n"
           "# `poolcalc env --for CLIENT` names the line that reads each; `poolcalc config --for CLIENT` writes it.\n";
  } else if (prisma6) {
    out += fmt::format("# For Prisma {}: DATABASE_URL carries its pool parameters, which only Prisma 4-6 reads: psql,\n"
                       "# libpq and other clients refuse them (`poolcalc env` without --for writes a URL they all read).\n",
                       target.prisma_major);
  } else {
    out += fmt::format("# For {}{}: DATABASE_URL has no client's own parameter. The pool variables are your\n"
                       "# application's own: each says the line of code that reads it\n"
                       "# (`poolcalc config --for {}` writes the settings in code instead).\n",
                       target.client,
                       target.client == "prisma" ? fmt::format(" {}", target.prisma_major) : "",
                       target.client);
    if (target.client == "hikaricp") {
      out += "# HikariCP does not read DATABASE_URL: its jdbcUrl, username and password are in `poolcalc config\n"
             "# --for hikaricp`'s hikari.properties.\n";
    }
  }
  if (const auto url = env_url(plan, target)) {
    if (const std::string note = pgbouncer_address_note(plan); !note.empty()) {
      // The server's address, as given: PgBouncer's is not known yet.
      out += fmt::format("# Through PgBouncer, but DATABASE_URL still points at the database server ({}), as given:\n"
                         "# once PgBouncer runs (poolcalc pgbouncer writes its pgbouncer.ini), point DATABASE_URL at its\n"
                         "# host and port (listen_port {} there){}. DIRECT_URL stays the server's.\n",
                         url_address(*url),
                         plan.pgbouncer->listen_port,
                         prisma6 ? fmt::format("; pgbouncer=true is then needed with PgBouncer < {}\n# (Prisma docs)",
                                               major_minor(k_pgbouncer_prepared_statements))
                                 : "");
    } else if (plan.pgbouncer) {
      out += fmt::format("# Through PgBouncer at {}, {}.",
                         url_address(*url),
                         plan.pgbouncer->host.empty()                    ? "as given"
                         : plan.pgbouncer->topology == Topology::sidecar ? "the sidecar beside each instance"
                                                                         : "--pgbouncer-host");
      if (prisma6) {
        out += fmt::format(" pgbouncer=true is needed with PgBouncer < {0} (Prisma docs);\n"
                           "# on {0}+ with max_prepared_statements > 0 it can be dropped.\n",
                           major_minor(k_pgbouncer_prepared_statements));
      } else {
        out += "\n";
      }
      if (!direct_url(plan)) {
        out += "# DIRECT_URL (migrations) must be the database server's own address, which poolcalc does not know:\n"
               "# add DIRECT_URL=\"...\" yourself.\n";
      }
    }
    if (plan.pgbouncer && url->param("sslmode") && *url->param("sslmode") != "disable" && *url->param("sslmode") != "prefer" &&
        *url->param("sslmode") != "allow") {
      out += fmt::format("# sslmode={} needs TLS in PgBouncer too (client_tls_sslmode, off by default).\n", *url->param("sslmode"));
    }
  }
  bool pool_header = false;
  for (const EnvVariable& variable : env_variables(plan, target)) {
    if (!pool_header && !variable.quoted) {
      pool_header = true;
      out += "# Your application's own settings (no library reads these variables by itself):\n";
    }
    for (const std::string& line : variable.comments) {
      out += fmt::format("# {}\n", line);
    }
    out += fmt::format("{}={}\n", variable.key, variable.quoted ? "\"" + variable.value + "\"" : variable.value);
  }
  return out;
}

} // namespace poolcalc

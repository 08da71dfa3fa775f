#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <map>

namespace poolcalc {

std::vector<EnvVariable> env_variables(const Plan& plan)
{
  std::vector<EnvVariable> variables;
  if (const auto url = application_url(plan)) {
    variables.push_back({ "DATABASE_URL", detail::dotenv_url(url->to_string()), true });
    if (const auto direct = direct_url(plan)) {
      variables.push_back({ "DIRECT_URL", detail::dotenv_url(direct->to_string()), true });
    }
  }
  variables.push_back({ "DATABASE_POOL_SIZE", fmt::format("{}", plan.settings.connection_limit), false });
  variables.push_back({ "DATABASE_CONNECTION_TIMEOUT", format_number(plan.settings.connect_timeout_s), false });
  variables.push_back({ "DATABASE_POOL_TIMEOUT", format_number(plan.settings.pool_timeout_s), false });
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
  std::string out = fmt::format("# poolcalc: {}\n", env_summary(plan));
  if (const auto url = application_url(plan)) {
    if (const std::string note = pgbouncer_address_note(plan); !note.empty()) {
      // The server's address, as given: PgBouncer's is not known yet.
      out += fmt::format("# Through PgBouncer, but DATABASE_URL still points at the database server ({}), as given:\n"
                         "# once PgBouncer runs (poolcalc pgbouncer writes its pgbouncer.ini), point DATABASE_URL at its\n"
                         "# host and port (listen_port {} there); pgbouncer=true is then needed with PgBouncer < {}\n"
                         "# (Prisma docs). DIRECT_URL stays the server's.\n",
                         url_address(*url),
                         plan.pgbouncer->listen_port,
                         major_minor(k_pgbouncer_prepared_statements));
    } else if (plan.pgbouncer) {
      out += fmt::format("# Through PgBouncer at {0}, as given. pgbouncer=true is needed with PgBouncer < {1} (Prisma docs);\n"
                         "# on {1}+ with max_prepared_statements > 0 it can be dropped.\n",
                         url_address(*url),
                         major_minor(k_pgbouncer_prepared_statements));
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
  // The comment above each variable of the worked example's .env block (docs/model.md).
  const std::map<std::string, std::string> comments = {
    { "DIRECT_URL", "Direct connection for migrations (schema.prisma: directUrl = env(\"DIRECT_URL\"))" },
    { "DATABASE_POOL_SIZE", "Maximum connections in pool" },
    { "DATABASE_CONNECTION_TIMEOUT", "Seconds to wait for new connection" },
    { "DATABASE_POOL_TIMEOUT", "Seconds to wait for available connection from pool" },
  };
  for (const EnvVariable& variable : env_variables(plan)) {
    if (const auto comment = comments.find(variable.key); comment != comments.end()) {
      out += fmt::format("# {}\n", comment->second);
    }
    out += fmt::format("{}={}\n", variable.key, variable.quoted ? "\"" + variable.value + "\"" : variable.value);
  }
  return out;
}

} // namespace poolcalc

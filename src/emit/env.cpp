#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

namespace poolcalc {

std::string render_env(const Plan& plan)
{
  const Scenario& s = plan.scenario;
  std::string out;
  out += fmt::format("# poolcalc: {}, {} ms per query -> pool of {} per instance ({})\n",
                     detail::load_text(plan),
                     format_number(plan.scenarios[plan.design_index].query_ms),
                     plan.pool_size,
                     plan.recommendation == Recommendation::pool ? "direct to PostgreSQL" : "through PgBouncer");
  if (const auto url = application_url(plan)) {
    if (plan.pgbouncer) {
      out += fmt::format("# Through PgBouncer on port {}. pgbouncer=true is needed with PgBouncer < 1.21 (Prisma docs);\n"
                         "# on 1.21+ with max_prepared_statements > 0 it can be dropped.\n",
                         plan.pgbouncer->listen_port);
    }
    if (plan.pgbouncer && url->param("sslmode") && *url->param("sslmode") != "disable" && *url->param("sslmode") != "prefer" &&
        *url->param("sslmode") != "allow") {
      out += fmt::format("# sslmode={} needs TLS in PgBouncer too (client_tls_sslmode, off by default).\n", *url->param("sslmode"));
    }
    out += fmt::format("DATABASE_URL={}\n", detail::dotenv_quoted(url->to_string()));
    if (plan.pgbouncer) {
      out += "# Direct connection for migrations (schema.prisma: directUrl = env(\"DIRECT_URL\"))\n";
      out += fmt::format("DIRECT_URL={}\n", detail::dotenv_quoted(s.database_url->to_string()));
    }
  }
  out += "# Maximum connections in pool\n";
  out += fmt::format("DATABASE_POOL_SIZE={}\n", plan.settings.connection_limit);
  out += "# Seconds to wait for new connection\n";
  out += fmt::format("DATABASE_CONNECTION_TIMEOUT={}\n", format_number(plan.settings.connect_timeout_s));
  out += "# Seconds to wait for available connection from pool\n";
  out += fmt::format("DATABASE_POOL_TIMEOUT={}\n", format_number(plan.settings.pool_timeout_s));
  return out;
}

} // namespace poolcalc

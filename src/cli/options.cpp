#include "options.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/scenario.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

std::vector<OptionSpec> sizing_options(const Rules& rules)
{
  std::vector<std::string> reserved;
  for (const ReserveEntry& entry : rules.database.reserved) {
    reserved.push_back(fmt::format("{}={}", entry.name, entry.connections));
  }
  return {
    { "--vus", "vus", "N", fmt::format("concurrent virtual users or clients (required; 1-{})", k_max_vus), OptionKind::value },
    { "--query-ms",
      "query_ms",
      "MS[,MS...]",
      "ms a query holds a connection (required); 100,150,200 gives three scenarios",
      OptionKind::list },
    { "--design-ms", "design_ms", "MS", "which --query-ms value to size for (default: the middle one)", OptionKind::value },
    { "--activity",
      "activity",
      "RATIO",
      fmt::format("share of VUs sending queries, in (0, 1] (default {:.2f})", rules.sizing.activity),
      OptionKind::value },
    { "--burst",
      "burst",
      "X",
      fmt::format("burst multiplier on the peak, 1-100 (default {})", format_number(rules.sizing.burst)),
      OptionKind::value },
    { "--overhead",
      "overhead",
      "N",
      fmt::format("connections for health checks, migrations, monitoring (default {})", rules.sizing.overhead),
      OptionKind::value },
    { "--max-connections",
      "max_connections",
      "N",
      fmt::format("the server's max_connections (default {})", rules.database.max_connections),
      OptionKind::value },
    { "--reserve",
      "reserve",
      "NAME=N",
      fmt::format("connections kept from the application; repeatable, replaces {}", fmt::join(reserved, ",")),
      OptionKind::list },
    { "--instances", "instances", "N", "application instances, each with its own pool (default 1)", OptionKind::value },
    { "--services", "services", "N", "services sharing the database (default 1)", OptionKind::value },
    { "--transaction-pooling", "transaction_pooling", "", "transaction-level pooling is wanted (a PgBouncer trigger)", OptionKind::flag },
    { "--remote-database", "remote_database", "", "the database is remote (default: judged from the URL's host)", OptionKind::flag },
    { "--pool-timeout",
      "pool_timeout",
      "S",
      fmt::format("seconds to wait for a free connection (default {})", format_number(rules.timeouts.pool_timeout_s)),
      OptionKind::value },
    { "--connect-timeout",
      "connect_timeout",
      "S",
      fmt::format("seconds to wait for a new connection (default {})", format_number(rules.timeouts.connect_timeout_s)),
      OptionKind::value },
    { "--request-timeout",
      "request_timeout",
      "S",
      fmt::format("the client's request timeout in seconds (default {}, k6's)", format_number(rules.timeouts.client_request_timeout_s)),
      OptionKind::value },
    { "--database-url",
      "database_url",
      "URL",
      "postgresql://user:password@host:port/db (default $DATABASE_URL; password shown only by env)",
      OptionKind::value },
  };
}

} // namespace poolcalc::cli

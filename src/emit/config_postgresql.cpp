// `poolcalc config --for postgresql-conf`: the server's connection slots for the plan. The
// numbers come from server_settings() (config.cpp); this file only writes them down with how
// they were reached.

#include "poolcalc/client_config.hpp"

#include <fmt/format.h>

namespace poolcalc {

std::vector<ConfigFile> render_config_postgresql_conf(const ConfigInput& input, const ConfigOptions& options)
{
  const ServerSettings s = server_settings(input, options);
  std::int64_t reserved_total = 0;
  std::vector<std::string> reserved;
  std::optional<std::int64_t> admin;
  std::optional<std::int64_t> replication;
  bool superuser_reserved = false;
  for (const ReserveEntry& entry : input.reserved) {
    reserved_total += entry.connections;
    reserved.push_back(fmt::format("{} {}", entry.name, entry.connections));
    superuser_reserved = superuser_reserved || entry.name == "superuser";
    if (entry.name == "admin") {
      admin = entry.connections;
    } else if (entry.name == "replication") {
      replication = entry.connections;
    }
  }
  const std::string where = input.pgbouncer ? "through PgBouncer" : "direct to PostgreSQL";

  std::string out = "# file: postgresql.conf\n";
  out += fmt::format("# poolcalc: {} ({})\n", input.headline, where);
  out += fmt::format("# PostgreSQL {}. A new max_connections takes effect at the next server restart.\n", options.server_version);
  out += "#\n";
  out += fmt::format("# The plan opens {} connections ({});\n", input.server_connections, input.server_connections_source);
  out += fmt::format(
    "# poolcalc keeps {} more out of the application's reach ({}){}:\n",
    reserved_total,
    reserved.empty() ? "none" : fmt::format("{}", fmt::join(reserved, ", ")),
    superuser_reserved ? "" : fmt::format(", and PostgreSQL's {} superuser slots come on top", s.superuser_reserved_connections));
  out += fmt::format("# {} + {}{} = {} needed.\n",
                     input.server_connections,
                     reserved_total,
                     superuser_reserved ? "" : fmt::format(" + {}", s.superuser_reserved_connections),
                     s.needed);
  std::string max_note;
  if (s.needed > input.max_connections) {
    max_note = fmt::format("raised from your {}: the plan needs {}", input.max_connections, s.needed);
  } else if (s.needed < input.max_connections) {
    max_note = fmt::format("your {} kept: the plan needs {}, so {} are spare (poolcalc never lowers it)",
                           input.max_connections,
                           s.needed,
                           input.max_connections - s.needed);
  } else {
    max_note = fmt::format("your {}: exactly what the plan needs", input.max_connections);
  }
  out += fmt::format("max_connections = {}  # default: 100; {}\n", s.max_connections, max_note);
  out += fmt::format("superuser_reserved_connections = {}  # default: 3; {}\n",
                     s.superuser_reserved_connections,
                     superuser_reserved ? "poolcalc's `superuser` reserve" : "PostgreSQL's default (no `superuser` reserve)");
  if (options.server_version >= 16) {
    out += fmt::format("reserved_connections = {}  # default: 0; {}\n",
                       s.reserved_connections,
                       admin ? "poolcalc's `admin` reserve, for roles granted pg_use_reserved_connections" : "no `admin` reserve");
  } else {
    out += fmt::format("# reserved_connections (PostgreSQL 16+, default 0) would hold {} slots\n"
                       "# for roles granted pg_use_reserved_connections; --server-version 16 writes it.\n",
                       admin ? fmt::format("the `admin` reserve's {}", *admin) : std::string("admin"));
  }
  if (replication) {
    if (options.server_version >= input.wal_senders_separate_since) {
      out += fmt::format("# WAL senders (max_wal_senders, default 10) have their own slots since PostgreSQL {}: the\n"
                         "# `replication` reserve ({}) is headroom for other connections here.\n",
                         input.wal_senders_separate_since,
                         *replication);
    } else {
      out += fmt::format("# Before PostgreSQL {} WAL senders take max_connections slots: the `replication` reserve ({})\n"
                         "# is where they fit; keep max_wal_senders at or below it.\n",
                         input.wal_senders_separate_since,
                         *replication);
    }
  }
  return { { "postgresql.conf", out } };
}

} // namespace poolcalc

#pragma once
// `poolcalc alerts` (docs/alerts.md): Prometheus alerting rules for the plan's monitoring
// thresholds, scaled to its pool and server, over the metrics of postgres_exporter, of
// pgbouncer_exporter (when the plan has PgBouncer) and of the application's pool where the
// client exports one (HikariCP through Micrometer, Prisma 6's metrics preview feature).

#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

enum class AlertClient
{
  none,
  hikaricp, // Micrometer's hikaricp_connections_* with label `pool`
  prisma6,  // Prisma ORM 6's previewFeatures = ["metrics"] (removed in Prisma ORM 7)
};

// "hikaricp", "prisma6"; none for anything else.
std::optional<AlertClient> alert_client(std::string_view name);
std::vector<std::string> alert_client_names();

// The rules file (YAML, `promtool check rules` reads it): groups poolcalc-postgresql,
// poolcalc-pgbouncer (through PgBouncer) and poolcalc-application (with a client). Label values
// are PromQL string literals, escaped.
std::string render_alert_rules(const Plan& plan, const Rules& rules, AlertClient client);

} // namespace poolcalc

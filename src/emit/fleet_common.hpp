#pragma once
// Internal: phrases the fleet's renderers share, so text and Markdown say the same thing.

#include "poolcalc/fleet.hpp"

#include <string>

namespace poolcalc::detail {

// "other_apps 20, admin 10, superuser 10; replication 10 not counted (PostgreSQL 15 ...)"
std::string fleet_reserve_list(const Fleet& fleet);

// "120 VUs" or "5 requests/s"
std::string fleet_load_text(const FleetService& service);

// "3", or "3-6" when the autoscaler may run up to 6 (the connections count the 6).
std::string fleet_instances_text(std::int64_t instances, std::int64_t max_instances);

// The services' design peaks summed.
double fleet_peak_sum(const Fleet& fleet);

// "rolling, max_surge 25 % (the rules' default, Kubernetes'), one service at a time: chat-api +1
// instance (+30) ...; at most 130 connections at once"
std::string fleet_surge_text(const Fleet& fleet);

// "4.2 ms / 12 ms / 30 ms", "unbounded" for an unstable queue, "session: one per client" for a
// session pool.
std::string fleet_wait_text(const PgBouncerPool& pool);

// "peak 14.6 concurrent queries (15) on 40 server connections: fits"
std::string fleet_capacity_text(const Fleet& fleet);

} // namespace poolcalc::detail

#pragma once
// The waits inside a fleet's PgBouncer, for each service and each pool (fleet_waits.cpp).

#include "poolcalc/fleet.hpp"

#include <cstdint>
#include <functional>
#include <string_view>

namespace poolcalc::detail {

struct FleetWaitOptions
{
  std::uint64_t stream = 1; // the simulation's random-number stream
  double precision = 0.05;
  std::int64_t max_events = 200'000'000;
  std::function<void(std::string_view, double)> progress;
};

// Sets each transaction-pooled service's wait and each transaction pool's, from the pgbouncer.ini
// the fleet's plan writes. Needs fleet.pgbouncer.
void model_fleet_waits(Fleet& fleet, const FleetWaitOptions& options);

} // namespace poolcalc::detail

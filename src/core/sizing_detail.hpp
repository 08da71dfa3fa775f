#pragma once
// The steps the single plan (sizing.cpp) and the fleet (fleet.cpp) share: one place for the
// rounding, the scaling table's row and PgBouncer's pool arithmetic.

#include "poolcalc/pgbouncer_plan.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <vector>

namespace poolcalc::detail {

// ceil() of a product of decimal inputs, after removing floating-point noise (see
// round_decimal). Inputs are bounded (scenario.hpp) so the result fits easily. Any load at all
// needs a connection, however small rounding made it.
std::int64_t ceil_count(double value);

// The scaling table's row for `users`, or none.
const ScalingRow* scaling_row_for(const std::vector<ScalingRow>& rows, std::int64_t users);

// PgBouncer's [pgbouncer] settings from the rules (listen, auth, pool_mode, reserve_pool_timeout),
// max_client_conn at least `client_connections`, and the server budget; no pools yet.
PgBouncerPlan pgbouncer_plan_settings(const Rules& rules,
                                      std::int64_t client_connections,
                                      std::int64_t available,
                                      std::int64_t max_connections);

// A transaction pool of `wanted` default connections and the rules' reserve ratio of them, before
// any fitting to the budget.
void size_transaction_pool(PgBouncerPool& pool, std::int64_t wanted, const PgBouncerSettingsRules& rules);

// Fits a pool's default + reserve into `share` server connections, keeping the reserve's ratio:
// default_pool_size = floor(share / (1 + reserve ratio)), at least `at_least`; the reserve takes
// the rest of the share.
void fit_pool(PgBouncerPool& pool, std::int64_t share, std::int64_t at_least, const PgBouncerSettingsRules& rules);

// min_pool_size: the rules' min_pool_ratio of default_pool_size.
void set_min_pool_size(PgBouncerPool& pool, const PgBouncerSettingsRules& rules);

// Everything that follows from the plan's pool (pool_size, total_connections) and the scenario's
// server: the budget, the PgBouncer triggers (PgBouncer regardless with `force_pgbouncer`), the
// fit, the settings and the monitoring thresholds.
void finish_plan(Plan& plan, const Rules& rules, bool force_pgbouncer);

// The load one instance's pool sees (scenario.instances), in the model that fits how it arrives.
QueueingPlan queueing_load(const Scenario& scenario, double hold_ms);

// PgBouncer sized for the plan: its server pool from the rule of thumb, or from
// plan.queueing.fleet_target_pool when set, fitted into the budget.
PgBouncerPlan plan_pgbouncer(const Plan& plan, const Rules& rules);

// A rolling deploy's extra instances for a max surge of `percent`: Kubernetes rounds a percentage
// maxSurge up (Deployment spec) and never runs more new instances than the replicas. 0 for 0 %.
std::int64_t rolling_surge_instances(std::int64_t instances, double percent);

// The reserve as max_connections sees it: a replication entry (its name contains "replication")
// takes nothing from max_connections on PostgreSQL rules postgres.wal_senders_separate_since and
// later, where WAL senders have slots of their own; with the version unknown every entry counts.
// One rule for the plan, the fleet and a live server's plan.
struct CountedReserve
{
  std::int64_t total = 0;
  std::vector<std::string> not_counted; // entry names
};
CountedReserve count_reserve(const std::vector<ReserveEntry>& entries, std::optional<int> version, const Rules& rules);

// The advisor (src/core/advisor.cpp, docs/model.md "The advisor"): fills plan.advice and, when
// the plan's first answer does not do and an option works, makes the plan that option.
void advise(Plan& plan, const Rules& rules);

} // namespace poolcalc::detail

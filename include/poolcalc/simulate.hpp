#pragma once
// A discrete-event simulation of connection pools (docs/model.md, "Simulation"): for loads the
// analytic models do not cover exactly (holds that are not exponential, fleets through one
// PgBouncer). Pure computation, no I/O; replications run on threads but the answer depends only on
// the model and the seed, never on the number of threads.
//
// The system: groups of identical application instances. Each instance has a client-side pool
// (Prisma's connection_limit) of `pool` connections. A query takes a client connection (waiting in
// FIFO order, abandoning after `pool_timeout_s`), then, when the group goes through PgBouncer, a
// server connection of its PgBouncer pool (waiting in PgBouncer's FIFO, abandoning after
// `query_wait_timeout_s`), holds both for its hold time, and releases them. Without PgBouncer the
// client connection is the server connection.
//
// A query's wait is the time from its arrival to the start of its hold: the client pool's wait
// plus PgBouncer's. An abandoned query counts as a timeout, and its wait (up to the moment it gave
// up) counts in the mean and the percentiles.

#include "poolcalc/distribution.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace poolcalc {

// One PgBouncer pool: a (database, user) pair, as PgBouncer 1.18 keeps them.
struct SimServerPool
{
  std::string database;
  std::string user;
  std::int64_t pool_size = 0;         // the [databases] entry's pool_size, else default_pool_size
  std::int64_t reserve_pool_size = 0; // opened when the oldest waiter has waited reserve_pool_timeout
};

struct SimPgBouncer
{
  std::vector<SimServerPool> pools;
  std::int64_t max_db_connections = 0;   // per database, over its users' pools; 0 = no limit
  std::int64_t max_user_connections = 0; // per user, over its databases' pools; 0 = no limit
  double reserve_pool_timeout_s = 5;
  double query_wait_timeout_s = 120; // 0 = wait forever
  double server_connect_s = 0.002;   // opening a new server connection (PostgreSQL fork + login)
  // Per-database and per-user caps that override the two above (a [databases] entry's
  // max_db_connections, a [users] entry's max_user_connections), keyed by SimServerPool::database
  // and ::user; evicting as the global caps do, within that database's or user's pools. A cap of 0
  // (or less) leaves the global one in force, as in PgBouncer.
  std::map<std::string, std::int64_t> database_caps;
  std::map<std::string, std::int64_t> user_caps;
};

// A group of identical instances: a plan's application, or one service of a fleet.
struct SimGroup
{
  std::string name;
  std::int64_t instances = 1;
  std::int64_t users = 0;    // closed load: looping users per instance (VUs), else 0
  double arrival_rps = 0;    // open load: Poisson arrivals per second per instance, else 0
  Distribution think;        // closed load: the pause between a user's queries
  Distribution hold;         // how long a query holds its connection
  std::int64_t pool = 0;     // each instance's client pool; 0 = none (straight to PgBouncer)
  double pool_timeout_s = 0; // 0 = wait forever
  int server_pool = -1;      // index into SimPgBouncer::pools; -1 = straight to PostgreSQL
};

struct SimModel
{
  std::vector<SimGroup> groups;
  std::optional<SimPgBouncer> pgbouncer;
};

// A figure with its 95 % confidence interval: value +- half_width.
struct Estimate
{
  double value = 0;
  double half_width = 0;
};

struct SimMetrics
{
  Estimate throughput_rps; // queries served (not abandoned) per second, over all instances
  Estimate p_wait;         // share of queries that waited at all
  Estimate mean_wait_ms;
  Estimate p95_wait_ms;
  Estimate p99_wait_ms;
  Estimate timeout_rate; // share of queries abandoned
  // A group's: busy client connections / pool (server connections / pool_size without one). A
  // PgBouncer pool's (SimResult::server_pools): busy server-connection time / (pool_size x measured
  // time), above 1 while the reserve is open; 0 for a pool_size of 0.
  Estimate utilization;
};

// When to stop: every gated figure's interval (SimOptions::gate) within max(relative x value,
// absolute), the p95 and p99 waits' within max(relative_percentile x value, absolute_wait_ms), or
// a budget.
struct SimPrecision
{
  double relative = 0.05;
  double absolute_wait_ms = 0.1; // mean, p95, p99 wait
  double absolute_share = 0.002; // p_wait, timeout_rate, utilization
  double relative_throughput = 0.01;
  // The p95 and p99 waits: a tail's quantile needs far more queries than a mean for the same
  // relative interval, and the validation's bands for them are twice as wide (20 %).
  double relative_percentile = 0.10;
};

// The figures of SimMetrics, one bit each, for SimOptions::gate.
inline constexpr unsigned k_sim_throughput = 1U << 0U;
inline constexpr unsigned k_sim_p_wait = 1U << 1U;
inline constexpr unsigned k_sim_mean_wait = 1U << 2U;
inline constexpr unsigned k_sim_p95_wait = 1U << 3U;
inline constexpr unsigned k_sim_p99_wait = 1U << 4U;
inline constexpr unsigned k_sim_timeout_rate = 1U << 5U;
inline constexpr unsigned k_sim_utilization = 1U << 6U;
inline constexpr unsigned k_sim_all = (1U << 7U) - 1U;

struct SimOptions
{
  std::uint64_t seed = 1;
  unsigned threads = 0; // 0: one per hardware thread
  SimPrecision precision;
  std::int64_t max_events = 200'000'000; // the budget over all replications
  // The figures whose intervals must reach the precision before the run stops (a search for the
  // smallest pool meeting one goal needs only that goal's figure); the others are reported with
  // the intervals they have by then.
  unsigned gate = k_sim_all;
  // Called between batches with the share of the budget used so far (0..1); for a progress line.
  std::function<void(double)> progress;
};

struct SimResult
{
  std::vector<SimMetrics> groups; // in SimModel::groups order
  SimMetrics total;               // over every group's queries
  // Over each PgBouncer pool's queries (those of every group whose server_pool is that pool), in
  // SimPgBouncer::pools order; empty without PgBouncer. Their figures count in the stopping rule as
  // the groups' do (through SimOptions::gate).
  std::vector<SimMetrics> server_pools;
  std::int64_t replications = 0;
  std::int64_t events = 0; // over all replications
  double simulated_s = 0;  // measured (after warm-up) simulated seconds per replication
  bool converged = false;  // false: the budget ran out first; the intervals say how far
  // Empty, or why the run stopped before every figure was within the precision: the event budget;
  // an open load at or above its pool's capacity (arrivals x mean hold >= the pool, no timeout),
  // or an open queue that grew past the simulation's memory bound (the waits are then those of
  // the simulated time only, lower bounds of an unbounded wait); a model too large to simulate
  // (over 20 million users or 10 million instances).
  std::string stopped_early;
};

// Out-of-range inputs do not fail: negative counts, rates and times count as 0, a server_pool
// that names no pool as -1, a group with both users and arrival_rps as closed, a closed group whose think and hold means are both 0 as no
// load, and a reserve_pool_timeout_s of 0 turns the reserve off (as in PgBouncer). No load at all gives zero figures, no replications and
// converged = true.
SimResult simulate(const SimModel& model, const SimOptions& options);

} // namespace poolcalc

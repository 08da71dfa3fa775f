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
  Estimate utilization;  // busy client connections / pool (server connections / pool_size without one)
};

// When to stop: every figure's interval within max(relative x value, absolute), or a budget.
struct SimPrecision
{
  double relative = 0.05;
  double absolute_wait_ms = 0.1; // mean, p95, p99 wait
  double absolute_share = 0.002; // p_wait, timeout_rate, utilization
  double relative_throughput = 0.01;
};

struct SimOptions
{
  std::uint64_t seed = 1;
  unsigned threads = 0; // 0: one per hardware thread
  SimPrecision precision;
  std::int64_t max_events = 200'000'000; // the budget over all replications
  // Called between batches with the share of the budget used so far (0..1); for a progress line.
  std::function<void(double)> progress;
};

struct SimResult
{
  std::vector<SimMetrics> groups; // in SimModel::groups order
  SimMetrics total;               // over every group's queries
  std::int64_t replications = 0;
  std::int64_t events = 0; // over all replications
  double simulated_s = 0;  // measured (after warm-up) simulated seconds per replication
  bool converged = false;  // false: the budget ran out first; the intervals say how far
};

SimResult simulate(const SimModel& model, const SimOptions& options);

} // namespace poolcalc

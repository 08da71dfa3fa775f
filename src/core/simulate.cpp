// The pool simulation's driver (include/poolcalc/simulate.hpp): the run's plan, replications in
// batches on threads, and the estimates with their confidence intervals.
//
// Design (docs/model.md, "Simulation"):
// - Length: each replication measures `measure_s` simulated seconds, chosen so that it handles about
//   k_events_per_replication events (from the load's expected event rate: two events per query),
//   after a warm-up of max(a tenth of that, two of the longest cycles (think + hold, or hold for an
//   open load), twice the time PgBouncer takes to open its largest pool one connection at a time);
//   a replication's events stay within a quarter of max_events over a batch, the warm-up
//   shortened if need be (down to a tenth of the measured span).
//   Every closed user starts thinking at a uniform random phase of one cycle; servers start unopened.
// - Batches of k_batch replications. After each whole batch every figure's mean over the
//   replications and its 95 % Student-t half-width are computed (in replication order, so the
//   answer does not depend on the threads); the run stops when every gated figure
//   (SimOptions::gate: of each group, the total and each PgBouncer pool) is within the precision
//   (the p95 and p99 waits within relative_percentile), when the next batch would pass
//   max_events, or when an open queue overflowed.
// - An open load at or above its capacity: when it certainly is (arrivals x mean hold at or above
//   a pool without a timeout), one batch runs and the run stops, converged false, stopped_early
//   saying so: the waits are those of the simulated time, and grow with it. Whatever the cause, a
//   replication stops once more than Plan::max_open_live open queries are in the system (memory);
//   the queries still waiting count with the wait they have had so far, the run stops after that
//   batch, converged is false and stopped_early says why.
// - The budget: at least one batch runs, whatever max_events; then a batch runs only if it would
//   stay within max_events.

#include "simulate_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <string>
#include <thread>

namespace poolcalc {

namespace sim_detail {

namespace {

std::uint64_t splitmix64(std::uint64_t& state)
{
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

} // namespace

Rng::Rng(std::uint64_t seed, std::uint64_t replication)
{
  std::uint64_t a = seed;
  std::uint64_t b = replication;
  std::uint64_t state = splitmix64(a) ^ (splitmix64(b) * 0xD6E8FEB86659FD93ULL);
  for (std::uint64_t& word : s_) {
    word = splitmix64(state);
  }
}

double Rng::normal()
{
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u = 0;
  double v = 0;
  double s = 0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

Sampler::Sampler(const Distribution& d)
  : family(d.family)
  , mean(d.mean_s)
  , mu(d.mu)
  , sigma(d.sigma)
{
  const bool usable_mean = std::isfinite(d.mean_s) && d.mean_s > 0;
  const bool usable_lognormal = std::isfinite(d.mu) && std::isfinite(d.sigma) && d.sigma >= 0;
  const bool usable_sample =
    d.sample_s.size() >= 2 && std::all_of(d.sample_s.begin(), d.sample_s.end(), [](double v) { return std::isfinite(v) && v >= 0; });
  if (!usable_mean) {
    family = Distribution::Family::constant;
    mean = 0;
  } else if ((family == Distribution::Family::lognormal && !usable_lognormal) ||
             (family == Distribution::Family::empirical && !usable_sample)) {
    family = Distribution::Family::constant;
  }
  if (family == Distribution::Family::mixture) {
    if (d.phases.empty()) {
      family = Distribution::Family::constant;
    } else {
      double cumulative = 0;
      for (const auto& [share, phase_mean_s] : d.phases) {
        cumulative += share;
        phase_cumulative.push_back(cumulative);
        phase_mean.push_back(std::isfinite(phase_mean_s) && phase_mean_s > 0 ? phase_mean_s : 0.0);
      }
      size = d.phases.size();
    }
  }
  if (family == Distribution::Family::empirical) {
    sample = d.sample_s.data();
    size = d.sample_s.size();
  }
}

} // namespace sim_detail

namespace {

using namespace sim_detail;

constexpr std::int64_t k_batch = 8;
constexpr double k_events_per_replication = 60'000;
constexpr double k_max_users = 20'000'000;     // closed users over all instances
constexpr double k_max_instances = 10'000'000; // instances over all groups
// Open queries in the system above which a replication stops: far beyond what a stable queue
// reaches (a queue of 10,000 + 100 x the offered load in Erlangs), but within memory.
constexpr double k_min_open_live = 10'000;
constexpr double k_max_open_live = 2'000'000;
constexpr std::int64_t k_max_replications = 1'000'000;

double finite_or_zero(double x)
{
  return std::isfinite(x) && x > 0 ? x : 0;
}

// The model with every out-of-range number made harmless, and each group's load.
struct Load
{
  double events_per_s = 0; // expected, over all groups
  double longest_cycle_s = 0;
  double open_in_system = 0; // expected open queries holding a connection
  double users = 0;
  double instances = 0;
  bool overloaded = false; // an open load at or above a pool's capacity, with no timeout to shed it
};

// The cap on a pool's database's (or user's) server connections: the entry's when positive, else
// the global one (PgBouncer 1.18 objects.c database_max_connections, user_max_connections); 0 =
// no limit.
std::int64_t entry_cap(const std::map<std::string, std::int64_t>& caps, const std::string& name, std::int64_t global)
{
  const auto it = caps.find(name);
  return it != caps.end() && it->second > 0 ? it->second : global;
}

// Whether an open load is certainly at or above capacity: an instance's arrivals x mean hold at or
// above its client pool without a pool_timeout, or a PgBouncer pool's open arrivals x mean hold at
// or above the servers it may open without a query_wait_timeout. (Connection limits and closed
// loads lower the capacity further; the simulation's queue bound catches what this misses.)
bool overloaded(const SimModel& m, const std::vector<bool>& active)
{
  std::vector<double> offered(m.pgbouncer ? m.pgbouncer->pools.size() : 0, 0.0);
  for (std::size_t i = 0; i < m.groups.size(); ++i) {
    const SimGroup& g = m.groups[i];
    if (!active[i] || g.users > 0) {
      continue;
    }
    const double erlangs = g.arrival_rps * std::max(g.hold.mean_s, 0.0);
    if (g.pool > 0 && g.pool_timeout_s <= 0 && erlangs >= static_cast<double>(g.pool)) {
      return true;
    }
    if (g.server_pool >= 0) {
      offered[static_cast<std::size_t>(g.server_pool)] += erlangs * static_cast<double>(g.instances);
    }
  }
  for (std::size_t p = 0; p < offered.size(); ++p) {
    const SimPgBouncer& b = *m.pgbouncer;
    const SimServerPool& sp = b.pools[p];
    double servers = static_cast<double>(sp.pool_size + (b.reserve_pool_timeout_s > 0 ? sp.reserve_pool_size : 0));
    if (const std::int64_t cap = entry_cap(b.database_caps, sp.database, b.max_db_connections); cap > 0) {
      servers = std::min(servers, static_cast<double>(cap));
    }
    if (const std::int64_t cap = entry_cap(b.user_caps, sp.user, b.max_user_connections); cap > 0) {
      servers = std::min(servers, static_cast<double>(cap));
    }
    if (b.query_wait_timeout_s <= 0 && offered[p] > 0 && offered[p] >= servers) {
      return true;
    }
  }
  return false;
}

Load sanitise(Plan& plan)
{
  SimModel& m = plan.model;
  if (m.pgbouncer) {
    SimPgBouncer& b = *m.pgbouncer;
    b.max_db_connections = std::max<std::int64_t>(b.max_db_connections, 0);
    b.max_user_connections = std::max<std::int64_t>(b.max_user_connections, 0);
    for (auto* caps : { &b.database_caps, &b.user_caps }) {
      for (auto& [name, cap] : *caps) {
        cap = std::max<std::int64_t>(cap, 0); // 0: the global cap applies
      }
    }
    b.reserve_pool_timeout_s = finite_or_zero(b.reserve_pool_timeout_s);
    b.query_wait_timeout_s = finite_or_zero(b.query_wait_timeout_s);
    b.server_connect_s = finite_or_zero(b.server_connect_s);
    for (SimServerPool& p : b.pools) {
      p.pool_size = std::max<std::int64_t>(p.pool_size, 0);
      p.reserve_pool_size = std::max<std::int64_t>(p.reserve_pool_size, 0);
    }
  }
  const std::size_t pools = m.pgbouncer ? m.pgbouncer->pools.size() : 0;
  Load load;
  for (SimGroup& g : m.groups) {
    g.instances = std::max<std::int64_t>(g.instances, 0);
    g.users = std::max<std::int64_t>(g.users, 0);
    g.arrival_rps = finite_or_zero(g.arrival_rps);
    g.pool = std::max<std::int64_t>(g.pool, 0);
    g.pool_timeout_s = finite_or_zero(g.pool_timeout_s);
    if (g.server_pool < 0 || static_cast<std::size_t>(g.server_pool) >= pools) {
      g.server_pool = -1;
    }
    const Sampler think(g.think);
    const Sampler hold(g.hold);
    const double n = static_cast<double>(g.instances);
    const double cycle = think.mean + hold.mean;
    bool active = false;
    if (g.users > 0 && n > 0 && cycle > 0) {
      active = true;
      load.events_per_s += 2.0 * n * static_cast<double>(g.users) / cycle;
      load.longest_cycle_s = std::max(load.longest_cycle_s, cycle);
      load.users += n * static_cast<double>(g.users);
    } else if (g.users == 0 && g.arrival_rps > 0 && n > 0) {
      active = true;
      load.events_per_s += 2.0 * n * g.arrival_rps;
      load.longest_cycle_s = std::max(load.longest_cycle_s, hold.mean);
      load.open_in_system += n * g.arrival_rps * hold.mean;
    }
    load.instances += n;
    plan.active.push_back(active);
  }
  load.overloaded = overloaded(m, plan.active);
  return load;
}

void set_lengths(Plan& plan, const Load& load, std::int64_t max_events)
{
  // Events one replication may use: a quarter of the budget over a batch (at least 100).
  const double budget = std::max(static_cast<double>(max_events) / (4.0 * static_cast<double>(k_batch)), 100.0);
  const double measured = std::min(budget, k_events_per_replication);
  plan.measure_s = measured / load.events_per_s;
  double opening = 0;
  if (plan.model.pgbouncer) {
    for (const SimServerPool& p : plan.model.pgbouncer->pools) {
      opening = std::max(opening, static_cast<double>(p.pool_size + p.reserve_pool_size) * plan.model.pgbouncer->server_connect_s);
    }
  }
  // The warm-up wanted, within what is left of the replication's events (a fast group beside a
  // slow one would otherwise spend millions of events warming up the slow one).
  const double wanted = std::max({ plan.measure_s / 10.0, 2.0 * load.longest_cycle_s, 2.0 * opening });
  plan.warmup_s = std::min(wanted, std::max(plan.measure_s / 10.0, (budget - measured) / load.events_per_s));
  plan.max_open_live = static_cast<std::int64_t>(std::min(k_min_open_live + 100.0 * load.open_in_system, k_max_open_live));
}

// The 0.975 quantile of Student's t with `df` degrees of freedom: a table to 30, then the
// Cornish-Fisher expansion in 1/df (error below 1e-4 there).
double t_975(std::int64_t df)
{
  static constexpr std::array<double, 31> table{ 0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                                 2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                                                 2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042 };
  if (df <= 0) {
    return std::numeric_limits<double>::infinity();
  }
  if (df <= 30) {
    return table[static_cast<std::size_t>(df)];
  }
  const double z = 1.959963984540054;
  const double v = static_cast<double>(df);
  const double z3 = z * z * z;
  const double z5 = z3 * z * z;
  const double z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

// Each figure's mean and half-width over the replications so far, in replication order.
std::vector<Estimate> estimates(const std::vector<ReplicationOutcome>& reps, std::size_t figures)
{
  std::vector<Estimate> out(figures);
  const auto n = static_cast<std::int64_t>(reps.size());
  const double t = t_975(n - 1);
  for (std::size_t f = 0; f < figures; ++f) {
    double sum = 0;
    for (const ReplicationOutcome& r : reps) {
      sum += r.figures[f];
    }
    const double mean = sum / static_cast<double>(n);
    double squares = 0;
    for (const ReplicationOutcome& r : reps) {
      squares += (r.figures[f] - mean) * (r.figures[f] - mean);
    }
    const double sd = n > 1 ? std::sqrt(squares / static_cast<double>(n - 1)) : 0;
    out[f] = Estimate{ mean, n > 1 ? t * sd / std::sqrt(static_cast<double>(n)) : 0 };
  }
  return out;
}

// Whether every gated figure (each group's, the total's and each PgBouncer pool's) is within the
// precision; the figure f % k_figures is gated by bit f % k_figures of `gate` (the k_sim_* bits).
bool precise_enough(const std::vector<Estimate>& e, const SimPrecision& p, unsigned gate)
{
  for (std::size_t f = 0; f < e.size(); ++f) {
    if ((gate & (1U << (f % k_figures))) == 0) {
      continue;
    }
    const double value = std::fabs(e[f].value);
    double allowed = 0;
    switch (f % k_figures) {
    case f_throughput:
      allowed = std::max(p.relative_throughput * value, 1e-9);
      break;
    case f_mean_wait:
      allowed = std::max(p.relative * value, p.absolute_wait_ms);
      break;
    case f_p95_wait:
    case f_p99_wait:
      allowed = std::max(p.relative_percentile * value, p.absolute_wait_ms);
      break;
    default:
      allowed = std::max(p.relative * value, p.absolute_share);
      break;
    }
    if (!(e[f].half_width <= allowed)) {
      return false;
    }
  }
  return true;
}

// The figures at position `at`: a group's, the total's (at = groups) or a PgBouncer pool's.
SimMetrics metrics_at(const std::vector<Estimate>& e, std::size_t at)
{
  const Estimate* f = &e[at * k_figures];
  return SimMetrics{ f[f_throughput], f[f_p_wait], f[f_mean_wait], f[f_p95_wait], f[f_p99_wait], f[f_timeout_rate], f[f_utilization] };
}

// Replications [first, first + count) on up to `threads` threads, each into its own slot.
std::vector<ReplicationOutcome> run_batch(const Plan& plan, std::uint64_t seed, std::int64_t first, unsigned threads)
{
  std::vector<ReplicationOutcome> out(static_cast<std::size_t>(k_batch));
  std::atomic<std::int64_t> next{ 0 };
  auto work = [&] {
    for (std::int64_t i = next++; i < k_batch; i = next++) {
      out[static_cast<std::size_t>(i)] = run_replication(plan, seed, static_cast<std::uint64_t>(first + i));
    }
  };
  if (threads <= 1) {
    work();
    return out;
  }
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back(work);
  }
  for (std::thread& th : pool) {
    th.join();
  }
  return out;
}

SimResult zero_result(std::size_t groups, std::size_t pools)
{
  SimResult r;
  r.groups.assign(groups, SimMetrics{});
  r.server_pools.assign(pools, SimMetrics{});
  r.converged = true;
  return r;
}

// Batches until the figures are precise enough, the budget is spent or an open load overflows;
// the estimates over every replication run, in replication order.
std::vector<Estimate> run_batches(const Plan& plan, bool overloaded, const SimOptions& options, unsigned threads, SimResult& result)
{
  const std::size_t pools = plan.model.pgbouncer ? plan.model.pgbouncer->pools.size() : 0;
  const std::size_t figures = (plan.model.groups.size() + 1 + pools) * k_figures;
  std::vector<ReplicationOutcome> reps;
  std::vector<Estimate> e;
  for (;;) {
    std::vector<ReplicationOutcome> batch = run_batch(plan, options.seed, static_cast<std::int64_t>(reps.size()), threads);
    std::int64_t batch_events = 0;
    bool overflowed = false;
    for (ReplicationOutcome& r : batch) {
      batch_events += r.events;
      overflowed = overflowed || r.overflowed;
      reps.push_back(std::move(r));
    }
    result.events += batch_events;
    result.replications = static_cast<std::int64_t>(reps.size());
    e = estimates(reps, figures);
    if (options.progress) {
      options.progress(
        std::min(1.0, static_cast<double>(result.events) / static_cast<double>(std::max<std::int64_t>(options.max_events, 1))));
    }
    if (overloaded) {
      result.stopped_early = "an open load is at or above its pool's capacity: its queue grows without bound, and the waits are "
                             "those of the simulated time only";
      return e;
    }
    if (overflowed) {
      result.stopped_early =
        fmt::format("an open load's queue passed {} waiting queries: the load is at or above the pools' capacity", plan.max_open_live);
      return e;
    }
    if (precise_enough(e, options.precision, options.gate)) {
      result.converged = true;
      return e;
    }
    if (result.events + batch_events > options.max_events || result.replications >= k_max_replications) {
      result.stopped_early = "the event budget ran out";
      return e;
    }
  }
}

} // namespace

SimResult simulate(const SimModel& model, const SimOptions& options)
{
  Plan plan;
  plan.model = model;
  const Load load = sanitise(plan);
  const std::size_t groups = plan.model.groups.size();
  const std::size_t pools = plan.model.pgbouncer ? plan.model.pgbouncer->pools.size() : 0;
  if (load.users > k_max_users || load.instances > k_max_instances) {
    SimResult r = zero_result(groups, pools);
    r.converged = false;
    r.stopped_early = fmt::format("the model has more than {:.0f} users or {:.0f} instances to simulate", k_max_users, k_max_instances);
    return r;
  }
  if (!(load.events_per_s > 0) || !std::isfinite(load.events_per_s)) {
    return zero_result(groups, pools);
  }
  set_lengths(plan, load, options.max_events);
  unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, static_cast<unsigned>(k_batch));
  SimResult result;
  const std::vector<Estimate> e = run_batches(plan, load.overloaded, options, threads, result);
  for (std::size_t g = 0; g < groups; ++g) {
    result.groups.push_back(metrics_at(e, g));
  }
  result.total = metrics_at(e, groups);
  for (std::size_t p = 0; p < pools; ++p) {
    result.server_pools.push_back(metrics_at(e, groups + 1 + p));
  }
  result.simulated_s = plan.measure_s;
  return result;
}

} // namespace poolcalc

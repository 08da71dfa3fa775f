#pragma once
// The simulation's internals (include/poolcalc/simulate.hpp): random numbers, duration sampling,
// the run's plan and one replication. src/core/simulate.cpp runs replications in batches and
// turns them into estimates; src/core/simulate_engine.cpp runs one.

#include "poolcalc/simulate.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace poolcalc::sim_detail {

__extension__ using Uint128 = unsigned __int128; // g++ and clang; __extension__ for -Wpedantic

// xoshiro256++ (Blackman and Vigna, 2019), seeded through splitmix64: replication i's stream
// depends only on (seed, i).
class Rng
{
public:
  Rng(std::uint64_t seed, std::uint64_t replication);
  std::uint64_t next()
  {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in the open interval (0, 1): never 0, so -ln(u) is finite.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>((static_cast<Uint128>(next()) * n) >> 64); }
  // Standard normal, Marsaglia's polar method (the second value of each pair kept for the next call).
  double normal();

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// Draws durations (seconds) from a Distribution; a mean that is not a positive number draws 0.
struct Sampler
{
  explicit Sampler(const Distribution& d);
  double draw(Rng& rng) const
  {
    switch (family) {
    case Distribution::Family::constant:
      return mean;
    case Distribution::Family::exponential:
      return -mean * std::log(rng.uniform());
    case Distribution::Family::lognormal:
      return std::exp(mu + sigma * rng.normal());
    case Distribution::Family::empirical: {
      // One of the measured durations, each as likely: the draws' mean is the sample's mean, which
      // the output states as the hold (drawing between neighbouring values instead would give the
      // longest and shortest half weight, and a heavy-tailed sample a shorter mean).
      return sample[rng.below(size)];
    }
    case Distribution::Family::mixture: {
      // Pick a phase by its share, then draw its exponential.
      const double u = rng.uniform();
      std::size_t k = 0;
      while (k + 1 < size && u >= phase_cumulative[k]) {
        ++k;
      }
      return -phase_mean[k] * std::log(rng.uniform());
    }
    }
    return mean;
  }
  Distribution::Family family = Distribution::Family::constant;
  double mean = 0;
  double mu = 0;
  double sigma = 0;
  const double* sample = nullptr;
  std::size_t size = 0;                 // empirical: the sample's; mixture: the phases'
  std::vector<double> phase_cumulative; // mixture: the shares summed up to each phase
  std::vector<double> phase_mean;       // mixture: each phase's mean
};

// The figures of a SimMetrics, in this order (the order of the k_sim_* bits), for each group, then
// the total, then each PgBouncer pool.
enum Figure : std::size_t
{
  f_throughput,
  f_p_wait,
  f_mean_wait,
  f_p95_wait,
  f_p99_wait,
  f_timeout_rate,
  f_utilization,
  k_figures
};

// What every replication shares: the model (sanitised) and the run's lengths.
struct Plan
{
  SimModel model;                 // every count >= 0, every rate and time finite and >= 0
  std::vector<bool> active;       // per group: it has load (closed users with a cycle > 0, or arrivals)
  double warmup_s = 0;            // simulated time discarded at the start
  double measure_s = 0;           // simulated time measured after the warm-up
  std::int64_t max_open_live = 0; // open queries in the system above which a replication stops
};

struct ReplicationOutcome
{
  std::vector<double> figures; // (groups + 1 + pools) x k_figures: each group's, the total, each pool's
  std::int64_t events = 0;
  bool overflowed = false; // an open group's queue passed Plan::max_open_live
};

ReplicationOutcome run_replication(const Plan& plan, std::uint64_t seed, std::uint64_t replication);

} // namespace poolcalc::sim_detail

#pragma once
// Durations that vary: a query's hold on a connection and a virtual user's think time
// (docs/model.md, "General think and hold times"). Pure functions, no I/O.
//
// A distribution is one of
// - constant: every duration is the mean (a k6 script's fixed `sleep()`);
// - exponential: memoryless, coefficient of variation 1 (the analytic models' assumption);
// - lognormal: ln(duration) is normal with mean mu and standard deviation sigma, the usual shape
//   of query times (a long right tail); given by a mean and a coefficient of variation, or fitted
//   to a mean and any of p50, p95, p99;
// - empirical: a list of measured durations, each drawn with the same probability, so the draws
//   have exactly the sample's mean and coefficient of variation (its quantiles are interpolated
//   between neighbouring order statistics, the usual sample quantile).

#include "poolcalc/expected.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc {

struct Distribution
{
  enum class Family
  {
    constant,
    exponential,
    lognormal,
    empirical,
    mixture, // exponentials with their own means, each picked with its share (an --op mix)
  };
  Family family = Family::exponential;
  double mean_s = 0;            // every family: the mean, in seconds
  double mu = 0;                // lognormal: mean of ln(seconds)
  double sigma = 0;             // lognormal: standard deviation of ln(seconds)
  std::vector<double> sample_s; // empirical: the durations in seconds, ascending
  // mixture: (share, mean in seconds) of each exponential; the shares sum to 1.
  std::vector<std::pair<double, double>> phases;
};

std::string_view to_string(Distribution::Family family);

// The largest coefficient of variation accepted anywhere (cv 10 is already a tail far heavier than
// any query-time measurement poolcalc has seen).
inline constexpr double k_max_cv = 10.0;

Distribution constant_distribution(double mean_s);
Distribution exponential_distribution(double mean_s);
// Lognormal with this mean and coefficient of variation (cv > 0): sigma^2 = ln(1 + cv^2),
// mu = ln(mean) - sigma^2 / 2.
Distribution lognormal_distribution(double mean_s, double cv);
// A mixture of exponentials: each (share, mean_s); shares > 0, normalised to sum to 1.
Distribution mixture_distribution(std::vector<std::pair<double, double>> phases);
// The family poolcalc assumes for a mean and a cv: 0 constant, 1 exponential, else lognormal.
Distribution distribution_from_cv(double mean_s, double cv);

// A lognormal with this mean fitted to the given percentiles (at least one): sigma minimises the
// squared error of ln(percentile) - (mu(sigma) + z sigma) over the given ones, with mu(sigma) =
// ln(mean) - sigma^2 / 2 so that the mean is kept exactly. Errors name the percentile that no
// lognormal with this mean can have (e.g. a p95 below the mean... is possible; a p50 above the
// mean is not), in a sentence for the user.
struct PercentileSet
{
  std::optional<double> p50_s;
  std::optional<double> p95_s;
  std::optional<double> p99_s;
};
poolcalc::expected<Distribution, std::string> lognormal_fit(double mean_s, const PercentileSet& percentiles);

// An empirical distribution of measured durations (seconds, each finite and >= 0, at least 2 and at
// most k_max_sample_values, not all 0).
inline constexpr std::size_t k_max_sample_values = 10'000'000;
poolcalc::expected<Distribution, std::string> empirical_distribution(std::vector<double> durations_s);

// Parses a sample file's text: numbers in milliseconds separated by whitespace, commas or
// newlines; lines starting with '#' are comments. Errors name the line (1-based) and the text.
// Returns the durations in seconds (ready for empirical_distribution); refuses a value that is not
// a finite number, a negative one or one longer than a day, and a text without any value.
poolcalc::expected<std::vector<double>, std::string> parse_sample_text(std::string_view text);

// The same shape with another mean (every duration scaled by new_mean / mean).
Distribution with_mean(const Distribution& d, double mean_s);

double cv2(const Distribution& d);                // squared coefficient of variation
double quantile(const Distribution& d, double p); // seconds, p in [0, 1]

// One line for the output: "constant 850 ms", "exponential, mean 150 ms",
// "lognormal, mean 150 ms, cv 1.735 (p95 526 ms, p99 1191 ms)", "measured sample of 10000 (mean
// 150 ms, cv 1.7, p99 1190 ms)".
std::string describe(const Distribution& d);

} // namespace poolcalc

#include "poolcalc/distribution.hpp"

#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

namespace poolcalc {

namespace {

// Standard normal quantiles of the percentiles a fit accepts.
constexpr double k_z95 = 1.6448536269514722;
constexpr double k_z99 = 2.3263478740408408;
// The widest lognormal a fit looks at (ln-space standard deviation).
constexpr double k_max_fit_sigma = 4.3;
// A sample's longest duration: a day.
constexpr double k_max_sample_ms = 86'400'000.0;

// A number for a line of output: four significant digits, never in exponent form from 1e-4 up.
std::string compact(double value)
{
  if (std::fabs(value) >= 1000) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{:.4g}", value);
}

std::string ms(double seconds)
{
  return compact(seconds * 1000.0) + " ms";
}

// The standard normal quantile: Acklam's rational approximation (relative error 1.15e-9), refined
// by one Halley step on erfc.
double normal_quantile(double p)
{
  if (p <= 0) {
    return -std::numeric_limits<double>::infinity();
  }
  if (p >= 1) {
    return std::numeric_limits<double>::infinity();
  }
  static constexpr double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                  1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00 };
  static constexpr double b[] = {
    -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01
  };
  static constexpr double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                  -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00 };
  static constexpr double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00 };
  double x = 0;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

struct FitPoint
{
  const char* name;
  double z;
  double value_s;
};

// The fit's squared error at sigma.
double fit_error(double ln_mean, const std::vector<FitPoint>& points, double sigma)
{
  double sum = 0;
  for (const FitPoint& p : points) {
    const double r = ln_mean - sigma * sigma / 2 + p.z * sigma - std::log(p.value_s);
    sum += r * r;
  }
  return sum;
}

// The sigma in (0, k_max_fit_sigma] with the least error: a scan of 4,300 steps finds every local
// minimum's neighbourhood (the error is a quartic in sigma: at most two minima), golden-section
// search refines each, and the least wins (the smaller sigma on a tie: the lighter tail).
double best_sigma(double ln_mean, const std::vector<FitPoint>& points)
{
  constexpr int steps = 4300;
  const double h = k_max_fit_sigma / steps;
  auto f = [&](double s) { return fit_error(ln_mean, points, s); };
  double best = std::numeric_limits<double>::infinity();
  double best_s = h;
  for (int i = 1; i <= steps; ++i) {
    const double s = i * h;
    const double here = f(s);
    const bool left_ok = i == 1 || here <= f(s - h);
    const bool right_ok = i == steps || here <= f(s + h);
    if (!left_ok || !right_ok) {
      continue;
    }
    double lo = std::max(s - h, 1e-9);
    double hi = std::min(s + h, k_max_fit_sigma);
    const double g = (std::sqrt(5.0) - 1) / 2;
    for (int k = 0; k < 80; ++k) {
      const double m1 = hi - g * (hi - lo);
      const double m2 = lo + g * (hi - lo);
      if (f(m1) <= f(m2)) {
        hi = m2;
      } else {
        lo = m1;
      }
    }
    const double s_min = (lo + hi) / 2;
    const double err = f(s_min);
    if (err < best - 1e-15) {
      best = err;
      best_s = s_min;
    }
  }
  return best_s;
}

std::optional<std::string> check_order(const PercentileSet& p)
{
  auto pair_message = [](const char* upper, double u, const char* lower, double l) {
    return fmt::format("the {} ({}) is not above the {} ({}): percentiles rise with the rank", upper, ms(u), lower, ms(l));
  };
  if (p.p50_s && p.p95_s && *p.p95_s <= *p.p50_s) {
    return pair_message("p95", *p.p95_s, "p50", *p.p50_s);
  }
  if (p.p95_s && p.p99_s && *p.p99_s <= *p.p95_s) {
    return pair_message("p99", *p.p99_s, "p95", *p.p95_s);
  }
  if (p.p50_s && p.p99_s && *p.p99_s <= *p.p50_s) {
    return pair_message("p99", *p.p99_s, "p50", *p.p50_s);
  }
  return std::nullopt;
}

// Why a single percentile fits no lognormal of this mean with sigma in (0, k_max_fit_sigma]: the
// ratio q / mean = exp(z sigma - sigma^2 / 2) lies between its value at the widest sigma and its
// peak e^(z^2 / 2) at sigma = z (for the p50, z = 0: below 1).
std::string single_bound_message(const FitPoint& p, double mean_s)
{
  const double peak = std::exp(p.z * p.z / 2);
  const double floor = std::exp(p.z * k_max_fit_sigma - k_max_fit_sigma * k_max_fit_sigma / 2);
  if (p.value_s / mean_s > 1 && p.value_s > mean_s * peak) {
    return fmt::format("a {} of {} with a mean of {} fits no lognormal: its {} is at most the mean x e^(z^2/2) = {}",
                       p.name,
                       ms(p.value_s),
                       ms(mean_s),
                       p.name,
                       ms(mean_s * peak));
  }
  return fmt::format("a {} of {} with a mean of {} fits no lognormal with sigma up to {}: its {} is at least {}",
                     p.name,
                     ms(p.value_s),
                     ms(mean_s),
                     compact(k_max_fit_sigma),
                     p.name,
                     ms(mean_s * floor));
}

} // namespace

std::string_view to_string(Distribution::Family family)
{
  switch (family) {
  case Distribution::Family::constant:
    return "constant";
  case Distribution::Family::exponential:
    return "exponential";
  case Distribution::Family::lognormal:
    return "lognormal";
  case Distribution::Family::empirical:
    return "empirical";
  case Distribution::Family::mixture:
    return "mixture";
  }
  return "unknown";
}

Distribution mixture_distribution(std::vector<std::pair<double, double>> phases)
{
  double total = 0;
  for (const auto& [share, mean] : phases) {
    total += share;
  }
  Distribution d;
  d.family = Distribution::Family::mixture;
  for (auto& [share, mean] : phases) {
    share = total > 0 ? share / total : 0.0;
    d.mean_s += share * mean;
  }
  d.phases = std::move(phases);
  return d;
}

Distribution constant_distribution(double mean_s)
{
  Distribution d;
  d.family = Distribution::Family::constant;
  d.mean_s = mean_s;
  return d;
}

Distribution exponential_distribution(double mean_s)
{
  Distribution d;
  d.family = Distribution::Family::exponential;
  d.mean_s = mean_s;
  return d;
}

Distribution lognormal_distribution(double mean_s, double cv)
{
  Distribution d;
  d.family = Distribution::Family::lognormal;
  d.mean_s = mean_s;
  const double s2 = std::log1p(cv * cv);
  d.sigma = std::sqrt(s2);
  d.mu = std::log(mean_s) - s2 / 2;
  return d;
}

Distribution distribution_from_cv(double mean_s, double cv)
{
  if (cv == 0) {
    return constant_distribution(mean_s);
  }
  if (cv == 1) {
    return exponential_distribution(mean_s);
  }
  return lognormal_distribution(mean_s, cv);
}

poolcalc::expected<Distribution, std::string> lognormal_fit(double mean_s, const PercentileSet& percentiles)
{
  if (!std::isfinite(mean_s) || mean_s <= 0) {
    return poolcalc::unexpected(std::string("a lognormal fit needs a mean above 0"));
  }
  std::vector<FitPoint> points;
  if (percentiles.p50_s) {
    points.push_back({ "p50", 0.0, *percentiles.p50_s });
  }
  if (percentiles.p95_s) {
    points.push_back({ "p95", k_z95, *percentiles.p95_s });
  }
  if (percentiles.p99_s) {
    points.push_back({ "p99", k_z99, *percentiles.p99_s });
  }
  if (points.empty()) {
    return poolcalc::unexpected(std::string("a lognormal fit needs at least one of p50, p95 and p99 besides the mean"));
  }
  for (const FitPoint& p : points) {
    if (!std::isfinite(p.value_s) || p.value_s <= 0) {
      return poolcalc::unexpected(fmt::format("the {} must be a duration above 0", p.name));
    }
  }
  if (percentiles.p50_s && *percentiles.p50_s >= mean_s) {
    return poolcalc::unexpected(
      fmt::format("a p50 of {} is not below the mean of {}, which no lognormal has (its median is below its mean)",
                  ms(*percentiles.p50_s),
                  ms(mean_s)));
  }
  if (auto message = check_order(percentiles)) {
    return poolcalc::unexpected(*message);
  }
  const double ln_mean = std::log(mean_s);
  const double sigma = best_sigma(ln_mean, points);
  // One percentile is fitted exactly or not at all; several in the least-squares sense.
  if (points.size() == 1 && fit_error(ln_mean, points, sigma) > 1e-12) {
    return poolcalc::unexpected(single_bound_message(points.front(), mean_s));
  }
  const double cv = std::sqrt(std::expm1(sigma * sigma));
  if (cv > k_max_cv) {
    return poolcalc::unexpected(
      fmt::format("these percentiles fit a lognormal with cv {}, above the largest accepted ({})", compact(cv), compact(k_max_cv)));
  }
  Distribution d;
  d.family = Distribution::Family::lognormal;
  d.mean_s = mean_s;
  d.sigma = sigma;
  d.mu = ln_mean - sigma * sigma / 2;
  return d;
}

poolcalc::expected<Distribution, std::string> empirical_distribution(std::vector<double> durations_s)
{
  if (durations_s.size() < 2) {
    return poolcalc::unexpected(std::string("a measured sample needs at least 2 durations"));
  }
  if (durations_s.size() > k_max_sample_values) {
    return poolcalc::unexpected(fmt::format("a measured sample holds at most {} durations", k_max_sample_values));
  }
  for (const double v : durations_s) {
    if (!std::isfinite(v) || v < 0) {
      return poolcalc::unexpected(std::string("a measured sample's durations must be finite and 0 or more"));
    }
  }
  std::sort(durations_s.begin(), durations_s.end());
  if (durations_s.back() <= 0) {
    return poolcalc::unexpected(std::string("a measured sample's durations are all 0"));
  }
  Distribution d;
  d.family = Distribution::Family::empirical;
  d.mean_s = std::accumulate(durations_s.begin(), durations_s.end(), 0.0) / static_cast<double>(durations_s.size());
  d.sample_s = std::move(durations_s);
  return d;
}

poolcalc::expected<std::vector<double>, std::string> parse_sample_text(std::string_view text)
{
  std::vector<double> values;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const std::size_t first = line.find_first_not_of(" \t\r\f\v");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;
    }
    std::size_t pos = first;
    while (pos < line.size()) {
      const std::size_t token_end = std::min(line.find_first_of(" \t\r\f\v,", pos), line.size());
      const std::string_view token = line.substr(pos, token_end - pos);
      pos = token_end + 1;
      if (token.empty()) {
        continue;
      }
      double value = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec != std::errc() || ptr != token.data() + token.size()) {
        return poolcalc::unexpected(fmt::format("line {}: '{}' is not a number of milliseconds", line_number, user_text(token)));
      }
      if (!std::isfinite(value)) {
        return poolcalc::unexpected(fmt::format("line {}: '{}' is not a finite number of milliseconds", line_number, user_text(token)));
      }
      if (value < 0) {
        return poolcalc::unexpected(fmt::format("line {}: '{}' is negative; a duration is 0 ms or more", line_number, user_text(token)));
      }
      if (value > k_max_sample_ms) {
        return poolcalc::unexpected(
          fmt::format("line {}: '{}' ms is longer than a day (86400000 ms), not a query or think time", line_number, user_text(token)));
      }
      if (values.size() >= k_max_sample_values) {
        return poolcalc::unexpected(fmt::format("line {}: the sample holds more than {} durations", line_number, k_max_sample_values));
      }
      values.push_back(value / 1000.0);
    }
  }
  if (values.empty()) {
    return poolcalc::unexpected(std::string("the sample holds no durations (only blank or '#' comment lines)"));
  }
  return values;
}

Distribution with_mean(const Distribution& d, double mean_s)
{
  Distribution out = d;
  out.mean_s = mean_s;
  switch (d.family) {
  case Distribution::Family::constant:
  case Distribution::Family::exponential:
    break;
  case Distribution::Family::lognormal:
    if (!(mean_s > 0)) {
      return constant_distribution(0);
    }
    out.mu = std::log(mean_s) - d.sigma * d.sigma / 2;
    break;
  case Distribution::Family::empirical: {
    if (!(d.mean_s > 0) || !(mean_s > 0)) {
      return constant_distribution(std::max(mean_s, 0.0));
    }
    const double scale = mean_s / d.mean_s;
    for (double& v : out.sample_s) {
      v *= scale;
    }
    break;
  }
  case Distribution::Family::mixture: {
    if (!(d.mean_s > 0) || !(mean_s > 0)) {
      return constant_distribution(std::max(mean_s, 0.0));
    }
    const double scale = mean_s / d.mean_s;
    for (auto& phase : out.phases) {
      phase.second *= scale;
    }
    break;
  }
  }
  return out;
}

double cv2(const Distribution& d)
{
  switch (d.family) {
  case Distribution::Family::constant:
    return 0;
  case Distribution::Family::exponential:
    return 1;
  case Distribution::Family::lognormal:
    return std::expm1(d.sigma * d.sigma);
  case Distribution::Family::empirical: {
    if (d.sample_s.empty() || !(d.mean_s > 0)) {
      return 0;
    }
    double sum = 0;
    for (const double v : d.sample_s) {
      sum += (v - d.mean_s) * (v - d.mean_s);
    }
    return sum / static_cast<double>(d.sample_s.size()) / (d.mean_s * d.mean_s);
  }
  case Distribution::Family::mixture: {
    if (!(d.mean_s > 0)) {
      return 0;
    }
    double second = 0; // an exponential of mean m has E[S^2] = 2 m^2
    for (const auto& [share, mean] : d.phases) {
      second += share * 2.0 * mean * mean;
    }
    return second / (d.mean_s * d.mean_s) - 1.0;
  }
  }
  return 0;
}

double quantile(const Distribution& d, double p)
{
  p = std::clamp(p, 0.0, 1.0);
  switch (d.family) {
  case Distribution::Family::constant:
    return d.mean_s;
  case Distribution::Family::exponential:
    return -d.mean_s * std::log1p(-p);
  case Distribution::Family::lognormal:
    return std::exp(d.mu + d.sigma * normal_quantile(p));
  case Distribution::Family::empirical: {
    if (d.sample_s.empty()) {
      return d.mean_s;
    }
    // Linear interpolation between neighbouring order statistics (the usual sample quantile).
    const double position = p * static_cast<double>(d.sample_s.size() - 1);
    const std::size_t i = std::min(static_cast<std::size_t>(position), d.sample_s.size() - 1);
    if (i + 1 >= d.sample_s.size()) {
      return d.sample_s.back();
    }
    const double frac = position - static_cast<double>(i);
    return d.sample_s[i] + frac * (d.sample_s[i + 1] - d.sample_s[i]);
  }
  case Distribution::Family::mixture: {
    // The t with P(S <= t) = p: the tail sum of share x exp(-t / mean) falls steadily; bisect.
    if (p <= 0) {
      return 0;
    }
    double longest = 0;
    for (const auto& phase : d.phases) {
      longest = std::max(longest, phase.second);
    }
    const auto tail = [&](double t) {
      double sum = 0;
      for (const auto& [share, mean] : d.phases) {
        sum += mean > 0 ? share * std::exp(-t / mean) : 0.0;
      }
      return sum;
    };
    double low = 0;
    double high = longest * 60.0; // a tail of e^-60: beyond any p a double can hold below 1
    for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
      const double mid = (low + high) / 2;
      (tail(mid) > 1.0 - p ? low : high) = mid;
    }
    return high;
  }
  }
  return d.mean_s;
}

std::string describe(const Distribution& d)
{
  switch (d.family) {
  case Distribution::Family::constant:
    return "constant " + ms(d.mean_s);
  case Distribution::Family::exponential:
    return "exponential, mean " + ms(d.mean_s);
  case Distribution::Family::lognormal:
    return fmt::format(
      "lognormal, mean {}, cv {} (p95 {}, p99 {})", ms(d.mean_s), compact(std::sqrt(cv2(d))), ms(quantile(d, 0.95)), ms(quantile(d, 0.99)));
  case Distribution::Family::empirical:
    return fmt::format(
      "measured sample of {} (mean {}, cv {}, p99 {})", d.sample_s.size(), ms(d.mean_s), compact(std::sqrt(cv2(d))), ms(quantile(d, 0.99)));
  case Distribution::Family::mixture:
    return fmt::format("{} exponentials mixed (mean {}, cv {})", d.phases.size(), ms(d.mean_s), compact(std::sqrt(cv2(d))));
  }
  return {};
}

} // namespace poolcalc

#include "poolcalc/distribution.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace poolcalc;

// Reference values computed with Python 3.11's statistics.NormalDist (exact to double precision):
//   s2 = log(1 + cv^2); mu = log(mean) - s2 / 2; q(p) = exp(mu + sqrt(s2) * NormalDist().inv_cdf(p))
// For mean 0.150 s and cv 1.735: sigma 1.178493678162964, mu -2.591543659620917,
// p50 74.90432401477864 ms, p95 520.4330327038491 ms, p99 1161.8837415743012 ms.

TEST_CASE("lognormal_distribution: mean and cv give mu and sigma, and the percentiles")
{
  const Distribution d = lognormal_distribution(0.150, 1.735);
  CHECK(d.family == Distribution::Family::lognormal);
  CHECK(d.mean_s == 0.150);
  CHECK(d.sigma == doctest::Approx(1.178493678162964).epsilon(1e-12));
  CHECK(d.mu == doctest::Approx(-2.591543659620917).epsilon(1e-12));
  CHECK(cv2(d) == doctest::Approx(1.735 * 1.735).epsilon(1e-12));
  CHECK(quantile(d, 0.5) * 1000 == doctest::Approx(74.90432401477864).epsilon(1e-8));
  CHECK(quantile(d, 0.95) * 1000 == doctest::Approx(520.4330327038491).epsilon(1e-8));
  CHECK(quantile(d, 0.99) * 1000 == doctest::Approx(1161.8837415743012).epsilon(1e-8));
  CHECK(describe(d) == "lognormal, mean 150 ms, cv 1.735 (p95 520.4 ms, p99 1162 ms)");
}

TEST_CASE("lognormal_fit: round trips through the percentiles")
{
  SUBCASE("p95 and p99 of mean 150 ms, cv 1.735 (above) give cv 1.735 back")
  {
    const auto fit = lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.5204330327038491, 1.1618837415743012 });
    REQUIRE(fit.has_value());
    CHECK(fit->mean_s == 0.150);
    CHECK(std::sqrt(cv2(*fit)) == doctest::Approx(1.735).epsilon(1e-6));
    CHECK(fit->mu == doctest::Approx(-2.591543659620917).epsilon(1e-6));
  }
  SUBCASE("all three percentiles")
  {
    const auto fit = lognormal_fit(0.150, PercentileSet{ 0.07490432401477864, 0.5204330327038491, 1.1618837415743012 });
    REQUIRE(fit.has_value());
    CHECK(std::sqrt(cv2(*fit)) == doctest::Approx(1.735).epsilon(1e-6));
  }
  SUBCASE("the p50 alone: sigma = sqrt(2 ln(mean / p50)) exactly")
  {
    const auto fit = lognormal_fit(0.150, PercentileSet{ 0.07490432401477864, std::nullopt, std::nullopt });
    REQUIRE(fit.has_value());
    CHECK(fit->sigma == doctest::Approx(std::sqrt(2 * std::log(0.150 / 0.07490432401477864))).epsilon(1e-9));
  }
  SUBCASE("a single p95 has two solutions, sigma = z +- d; the lighter tail is taken")
  {
    // ln(q / mean) = z sigma - sigma^2 / 2 with z = 1.6448536269514722: the roots for
    // sigma 1.178493678162964 are that and 2 z - that = 2.1112135757399804.
    const auto fit = lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.5204330327038491, std::nullopt });
    REQUIRE(fit.has_value());
    CHECK(fit->sigma == doctest::Approx(1.178493678162964).epsilon(1e-7));
  }
  SUBCASE("a p95 below the mean needs sigma above 2 z = 3.29, a cv above 10: refused")
  {
    const auto fit = lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.100, std::nullopt });
    REQUIRE_FALSE(fit.has_value());
    CHECK(fit.error().find("cv") != std::string::npos);
  }
}

TEST_CASE("lognormal_fit: impossible inputs are refused with one sentence")
{
  SUBCASE("a p50 at or above the mean")
  {
    const auto fit = lognormal_fit(0.150, PercentileSet{ 0.150, std::nullopt, std::nullopt });
    REQUIRE_FALSE(fit.has_value());
    CHECK(fit.error() == "a p50 of 150 ms is not below the mean of 150 ms, which no lognormal has (its median is below its mean)");
  }
  SUBCASE("a p95 above mean x e^(z^2/2)")
  {
    // e^(1.6448536269514722^2 / 2) = 3.8679...: at most 580.2 ms for a mean of 150 ms.
    const auto fit = lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.600, std::nullopt });
    REQUIRE_FALSE(fit.has_value());
    CHECK(fit.error() == "a p95 of 600 ms with a mean of 150 ms fits no lognormal: its p95 is at most the mean x e^(z^2/2) = 580.2 ms");
  }
  SUBCASE("a p99 above mean x e^(z^2/2)")
  {
    // e^(2.3263478740408408^2 / 2) = 14.965...: at most 2245 ms for a mean of 150 ms.
    const auto fit = lognormal_fit(0.150, PercentileSet{ std::nullopt, std::nullopt, 3.0 });
    REQUIRE_FALSE(fit.has_value());
    CHECK(fit.error().find("at most the mean x e^(z^2/2) = 2245 ms") != std::string::npos);
  }
  SUBCASE("percentiles out of order, none at all, a mean of 0")
  {
    CHECK_FALSE(lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.5, 0.4 }).has_value());
    CHECK(lognormal_fit(0.150, PercentileSet{ std::nullopt, 0.5, 0.4 }).error().find("not above the p95") != std::string::npos);
    CHECK_FALSE(lognormal_fit(0.150, PercentileSet{}).has_value());
    CHECK_FALSE(lognormal_fit(0, PercentileSet{ 0.1, std::nullopt, std::nullopt }).has_value());
    CHECK_FALSE(lognormal_fit(0.150, PercentileSet{ 0.0, std::nullopt, std::nullopt }).has_value());
  }
}

TEST_CASE("constant, exponential, distribution_from_cv, with_mean and describe")
{
  CHECK(describe(constant_distribution(0.850)) == "constant 850 ms");
  CHECK(describe(exponential_distribution(0.150)) == "exponential, mean 150 ms");
  CHECK(cv2(constant_distribution(0.850)) == 0);
  CHECK(cv2(exponential_distribution(0.150)) == 1);
  // The exponential's median is mean x ln 2.
  CHECK(quantile(exponential_distribution(0.150), 0.5) == doctest::Approx(0.150 * std::log(2.0)));
  CHECK(distribution_from_cv(0.1, 0).family == Distribution::Family::constant);
  CHECK(distribution_from_cv(0.1, 1).family == Distribution::Family::exponential);
  CHECK(distribution_from_cv(0.1, 2).family == Distribution::Family::lognormal);
  const Distribution scaled = with_mean(lognormal_distribution(0.150, 1.735), 0.300);
  CHECK(scaled.sigma == doctest::Approx(1.178493678162964).epsilon(1e-12));
  CHECK(quantile(scaled, 0.95) * 1000 == doctest::Approx(2 * 520.4330327038491).epsilon(1e-8));
  CHECK(with_mean(exponential_distribution(0.1), 0.2).mean_s == 0.2);
}

TEST_CASE("empirical_distribution: sorted, its mean and cv, interpolated quantiles")
{
  const auto d = empirical_distribution({ 0.3, 0.1, 0.2 });
  REQUIRE(d.has_value());
  CHECK(d->sample_s == std::vector<double>{ 0.1, 0.2, 0.3 });
  CHECK(d->mean_s == doctest::Approx(0.2));
  // Population variance (0.01 + 0 + 0.01) / 3 over mean^2 0.04.
  CHECK(cv2(*d) == doctest::Approx(1.0 / 6.0));
  CHECK(quantile(*d, 0.5) == doctest::Approx(0.2));
  CHECK(quantile(*d, 0.75) == doctest::Approx(0.25)); // halfway between 0.2 and 0.3
  CHECK(quantile(*d, 1.0) == doctest::Approx(0.3));
  CHECK(describe(*d) == "measured sample of 3 (mean 200 ms, cv 0.4082, p99 298 ms)");
  const Distribution doubled = with_mean(*d, 0.4);
  CHECK(doubled.sample_s.back() == doctest::Approx(0.6));
  CHECK_FALSE(empirical_distribution({ 0.1 }).has_value());
  CHECK_FALSE(empirical_distribution({ 0.1, -0.1 }).has_value());
  CHECK_FALSE(empirical_distribution({ 0.0, 0.0 }).has_value());
  CHECK_FALSE(empirical_distribution({ 0.1, std::nan("") }).has_value());
}

TEST_CASE("parse_sample_text: milliseconds to seconds, comments, errors name the line")
{
  SUBCASE("whitespace, commas, CRLF and comment lines")
  {
    const auto values = parse_sample_text("# query times, ms\n12.5, 3\n\n  # another\n 7 8\r\n1e1");
    REQUIRE(values.has_value());
    CHECK(*values == std::vector<double>{ 0.0125, 0.003, 0.007, 0.008, 0.010 });
  }
  SUBCASE("errors")
  {
    CHECK(parse_sample_text("1\nabc").error() == "line 2: 'abc' is not a number of milliseconds");
    CHECK(parse_sample_text("1 12x").error() == "line 1: '12x' is not a number of milliseconds");
    CHECK(parse_sample_text("\n\nnan").error() == "line 3: 'nan' is not a finite number of milliseconds");
    CHECK(parse_sample_text("inf").error() == "line 1: 'inf' is not a finite number of milliseconds");
    CHECK(parse_sample_text("5,-1").error() == "line 1: '-1' is negative; a duration is 0 ms or more");
    // A day is 86,400,000 ms.
    CHECK(parse_sample_text("86400001").error() == "line 1: '86400001' ms is longer than a day (86400000 ms), not a query or think time");
    CHECK(parse_sample_text("86400000").has_value());
    CHECK(parse_sample_text("").error() == "the sample holds no durations (only blank or '#' comment lines)");
    CHECK_FALSE(parse_sample_text("# nothing\n\n").has_value());
    // A control character in the text is escaped in the message (safe_text.hpp).
    CHECK(parse_sample_text("1\x1b[2J").error() == "line 1: '1\\e[2J' is not a number of milliseconds");
  }
}

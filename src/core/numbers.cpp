#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace poolcalc {

namespace {

std::string trim_zeros(std::string text)
{
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') {
      text.pop_back();
    }
    if (!text.empty() && text.back() == '.') {
      text.pop_back();
    }
  }
  if (text == "-0") {
    text = "0";
  }
  return text;
}

} // namespace

poolcalc::expected<std::int64_t, std::string> parse_count(std::string_view text, std::int64_t min, std::int64_t max)
{
  const auto range_error = [&] { return poolcalc::unexpected(fmt::format("expected a whole number from {} to {}", min, max)); };
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return range_error();
  }
  return value;
}

poolcalc::expected<double, std::string> parse_number(std::string_view text, double min, double max)
{
  const auto range_error = [&] {
    return poolcalc::unexpected(fmt::format("expected a number from {} to {}", format_number(min, 9), format_number(max, 9)));
  };
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    return range_error();
  }
  if (value < min || value > max) {
    return range_error();
  }
  if (min >= 0 && value != 0 && value < k_min_nonzero) {
    return poolcalc::unexpected(fmt::format("expected a number from {} to {}, and 0 or at least {} (a smaller one reads as 0)",
                                            format_number(min, 9),
                                            format_number(max, 9),
                                            format_number(k_min_nonzero, 9)));
  }
  return value;
}

std::string format_number(double value, int decimals)
{
  if (!std::isfinite(value)) {
    return "n/a";
  }
  if (std::fabs(value) >= 1e15) {
    return fmt::format("{:.6g}", value);
  }
  return trim_zeros(fmt::format("{:.{}f}", value, decimals));
}

std::string format_percent(double ratio)
{
  return fmt::format("{} %", format_number(ratio * 100.0, 1));
}

std::string wait_text(double ms)
{
  if (!std::isfinite(ms)) {
    return "unbounded";
  }
  if (ms >= 1000) {
    return fmt::format("{} s", format_number(ms / 1000.0, 2));
  }
  return fmt::format("{} ms", format_number(ms, ms < 1 ? 3 : ms < 10 ? 2 : 1));
}

std::string share_text(double ratio)
{
  if (ratio < 5e-10) { // what the JSON rounds to 0
    return "0 %";
  }
  if (ratio < 1e-5) {
    return "< 0.001 %";
  }
  return fmt::format("{} %", format_number(ratio * 100.0, ratio < 0.01 ? 3 : ratio < 0.1 ? 2 : 1));
}

double round_decimal(double value)
{
  // Keep about 15 significant digits (what a double holds) and drop what lies below: 9
  // decimals for everyday magnitudes, fewer for huge ones, none past 1e12.
  const double magnitude = std::fabs(value);
  if (!std::isfinite(value) || magnitude >= 1e15) {
    return value;
  }
  const double scale = magnitude < 1e6 ? 1e9 : magnitude < 1e9 ? 1e6 : magnitude < 1e12 ? 1e3 : 1.0;
  return std::round(value * scale) / scale;
}

} // namespace poolcalc

#pragma once
// Strict parsing of numbers typed by a user: the whole text must be the number, no NaN, no
// infinity, no silent truncation. Errors are values.

#include "poolcalc/expected.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace poolcalc {

// Parses a whole number in [min, max]. Returns an error string ("expected a whole number from
// MIN to MAX") if `text` is not one.
poolcalc::expected<std::int64_t, std::string> parse_count(std::string_view text, std::int64_t min, std::int64_t max);

// The smallest nonzero magnitude any input takes: poolcalc resolves shares to one in a million,
// and a smaller value (a subnormal double among them) would be printed, written to a
// configuration file or compared as 0 while not being 0.
inline constexpr double k_min_nonzero = 0.000001;

// Parses a finite decimal number (plain or with an exponent) in [min, max]. Returns an error
// string naming the accepted range ("expected a number from MIN to MAX") otherwise. Every range
// is closed: a meaningful smallest value rather than "> 0", which a subnormal number passes. In a
// range from 0 (min >= 0), a value above 0 but below k_min_nonzero is refused too.
poolcalc::expected<double, std::string> parse_number(std::string_view text, double min, double max);

// Formats a number for people: at most `decimals` decimals, trailing zeros dropped
// (12.6, 50, 0.15), thousands not grouped.
std::string format_number(double value, int decimals = 3);

// A ratio as a percentage for people: 0.5 -> "50 %", 0.875 -> "87.5 %".
std::string format_percent(double ratio);

// Rounds to 9 decimal places (fewer above a million, keeping ~15 significant digits): removes
// binary floating-point noise from products of decimal inputs before any ceiling is taken
// (100 x 0.5 x 0.140 s is 7, not 7.000000000000001, whose ceiling would be 8).
double round_decimal(double value);

// A wait in ms for people: "0 ms", "4.2 ms", "1.3 s", "unbounded" (an unstable queue).
std::string wait_text(double ms);

// A probability as a percentage: "0 %", "47.9 %", "0.012 %", "< 0.001 %".
std::string share_text(double ratio);

} // namespace poolcalc

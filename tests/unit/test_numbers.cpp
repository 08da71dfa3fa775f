#include "poolcalc/numbers.hpp"

#include <doctest/doctest.h>

using namespace poolcalc;

TEST_CASE("parse_count")
{
  SUBCASE("whole numbers in range")
  {
    CHECK(parse_count("120", 1, 1000).value() == 120);
    CHECK(parse_count("+7", 1, 1000).value() == 7);
    CHECK(parse_count("1", 1, 1).value() == 1);
  }
  SUBCASE("anything else names the range")
  {
    for (const char* text : { "", "0", "1001", "-5", "abc", "12abc", "1.5", "1e3", "1e400", " 5", "99999999999999999999999" }) {
      INFO(text);
      const auto parsed = parse_count(text, 1, 1000);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error() == "expected a whole number from 1 to 1000");
    }
  }
}

TEST_CASE("parse_number")
{
  SUBCASE("decimals and exponents")
  {
    CHECK(parse_number("0.7", 0.001, 1).value() == doctest::Approx(0.7));
    CHECK(parse_number("1.5e2", 0.001, 1000).value() == doctest::Approx(150));
    CHECK(parse_number("1", 0.001, 1).value() == 1);
  }
  SUBCASE("both bounds are included, and nothing below the lower one passes")
  {
    CHECK(parse_number("0.001", 0.001, 1).value() == 0.001);
    CHECK(parse_number("0", 0.001, 1).error() == "expected a number from 0.001 to 1");
    CHECK(parse_number("0", 0, 1).value() == 0);
  }
  SUBCASE("subnormal numbers are below any meaningful lower bound")
  {
    // 1e-320 and 4.9e-324 are subnormal doubles: greater than 0, so a "> 0" check lets them in.
    for (const char* text : { "1e-320", "4.9e-324", "2.2e-308" }) {
      INFO(text);
      CHECK(parse_number(text, 0.001, 1).error() == "expected a number from 0.001 to 1");
    }
  }
  SUBCASE("no NaN, infinity or overflow")
  {
    for (const char* text : { "nan", "NaN", "inf", "-inf", "infinity", "1e400", "-1e400", "", "0x10", "1,5", "1.5.2" }) {
      INFO(text);
      CHECK_FALSE(parse_number(text, 0, 1e9).has_value());
    }
  }
}

TEST_CASE("format_number")
{
  CHECK(format_number(12.6) == "12.6");
  CHECK(format_number(50.0) == "50");
  CHECK(format_number(0.15) == "0.15");
  CHECK(format_number(8.4000000001) == "8.4");
  CHECK(format_number(-0.0) == "0");
  CHECK(format_number(105000000.0) == "105000000");
  CHECK(format_number(2.52e18) == "2.52e+18");
}

TEST_CASE("round_decimal")
{
  // In binary floating point 100 x 0.5 x (140 / 1000) is 7.000000000000001 and
  // 400 x (140 / 1000) is 56.00000000000001 (checked with Python's floats).
  CHECK(100 * 0.5 * (140 / 1000.0) != 7.0);
  CHECK(round_decimal(100 * 0.5 * (140 / 1000.0)) == 7.0);
  CHECK(round_decimal(400 * (140 / 1000.0)) == 56.0);
  CHECK(round_decimal(0.1 + 0.2) == 0.3);
  CHECK(round_decimal(1e9 * 0.7 * 0.15) == 105000000.0);
  CHECK(round_decimal(3.6e14) == 3.6e14);
}

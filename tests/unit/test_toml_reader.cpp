// The TOML files poolcalc reads (scenario, rules, fleet) go through toml++ 3.3.0 (Debian 12's),
// whose parser breaks its own invariants on two kinds of input (src/core/toml.hpp). These cases
// are undefined behaviour in the library as shipped: UndefinedBehaviorSanitizer stops on the
// second, and a build without NDEBUG aborts on the first (the sanitizer build runs them both).

#include <doctest/doctest.h>

#include "poolcalc/fleet.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <string>

using poolcalc::parse_scenario_toml;

namespace {

std::string error_of(const std::string& text)
{
  const auto parsed = parse_scenario_toml(text, "s.toml");
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

} // namespace

TEST_CASE("parse_toml: inputs that break toml++ 3.3.0's invariants are refused with its message")
{
  SUBCASE("a table header whose key starts with a character no key starts with")
  {
    CHECK(error_of("[+a]\n") == "s.toml:1:2: invalid TOML: Error while parsing key: expected bare key starting character or string "
                                "delimiter, saw '+'");
    CHECK(error_of("vus = 1\n[[ =b]]\n").starts_with("s.toml:2:4: invalid TOML: Error while parsing key:"));
  }
  SUBCASE("a non-ASCII character outside a string")
  {
    // U+01A4 (bytes c6 a4) and U+00E9 fall where the library's whitespace table has no entry.
    CHECK(error_of("\xc6\xa4") == "s.toml:1:1: invalid TOML: Error while parsing root table: expected keys, tables, whitespace or "
                                  "comments, saw '\xc6\xa4'");
    CHECK(error_of("vus = 1\n\xc3\xa9\n") == "s.toml:2:1: invalid TOML: Error while parsing root table: expected keys, tables, "
                                             "whitespace or comments, saw '\xc3\xa9'");
    CHECK(error_of("vus = 1\xe2\xb4\x80\n").starts_with("s.toml:1:8: invalid TOML:")); // U+2D00, the second range
  }
  SUBCASE("valid TOML on the same paths still reads")
  {
    // After a line-ending backslash the parser asks whether 'é' is whitespace: it is not.
    const auto scenario =
      parse_scenario_toml("vus = 120\nquery_ms = [150]\ndatabase_url = \"\"\"postgresql://h/\\\n   caf\xc3\xa9\"\"\"\n", "s.toml");
    REQUIRE(scenario.has_value());
    CHECK(scenario->at("database_url").items.front() == "postgresql://h/caf\xc3\xa9");
    // U+3000 and U+00A0 are whitespace to the library (between key and '=' it still wants a
    // space or a tab, as TOML does).
    CHECK(error_of("vus\xc2\xa0= 1\n").starts_with("s.toml:1:4: invalid TOML:"));
  }
  SUBCASE("the same through the rules and fleet readers")
  {
    const auto rules = poolcalc::parse_rules("[+a]\n", "r.toml");
    REQUIRE_FALSE(rules.has_value());
    CHECK(rules.error().starts_with("r.toml:1:2: invalid TOML:"));
    const auto fleet = poolcalc::parse_fleet_toml("\xc6\xa4", "f.toml", poolcalc::builtin_rules());
    REQUIRE_FALSE(fleet.has_value());
    CHECK(fleet.error().starts_with("f.toml:1:1: invalid TOML:"));
  }
}

TEST_CASE("parse_toml: a dotted key or table name of more than 256 parts is refused before toml++ recurses on it")
{
  // toml++ recurses once per part and limits only nesting (256): a key of 175,000 parts (350 KB,
  // under the 1 MiB file limit) overflowed the stack (SIGSEGV) in --config, --rules and fleet files.
  const auto chain = [](std::size_t parts, const std::string& part) {
    std::string text = part;
    for (std::size_t i = 1; i < parts; ++i) {
      text += "." + part;
    }
    return text;
  };
  const std::string message = "a key or table name of more than 256 dotted parts (poolcalc's limit, as for nesting)";
  CHECK(error_of(chain(175'000, "a") + " = 1\n") == "s.toml:1: " + message);
  CHECK(error_of("vus = 1\n[" + chain(257, "a") + "]\n") == "s.toml:2: " + message);
  // Quoted parts, spaces around the dots, and a multi-line string before it (its lines counted).
  CHECK(error_of("x = \"\"\"\n\n\"\"\"\n" + chain(300, "\"q\" ") + " = 1\n") == "s.toml:4: " + message);
  // 256 parts reach toml++, which reads them (as an unknown key here), and so does a long array of
  // floats: their dots join two parts each.
  CHECK(error_of(chain(256, "a") + " = 1\n").find("unknown key") != std::string::npos);
  std::string floats = "x = [";
  for (int i = 0; i < 1000; ++i) {
    floats += "1.5, ";
  }
  CHECK(error_of(floats + "]\n").find("unknown key") != std::string::npos);
}

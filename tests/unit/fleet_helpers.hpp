#pragma once
// Fleets for the unit tests: parsed and sized with the built-in rules, the example file, a service
// by name.

#include "poolcalc/fleet.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace poolcalc::test {

inline FleetFile parse_fleet(const std::string& text)
{
  auto parsed = parse_fleet_toml(text, "fleet.toml", builtin_rules());
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed.has_value());
  return *parsed;
}

inline Fleet fleet(const std::string& text)
{
  return size_fleet(parse_fleet(text), builtin_rules());
}

// data/examples/chat-fleet.toml
inline std::string example_fleet_text()
{
  std::ifstream in(std::string(POOLCALC_SOURCE_DIR) + "/data/examples/chat-fleet.toml");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline const FleetService& service(const Fleet& f, std::string_view name)
{
  for (const FleetService& s : f.services) {
    if (s.input.name == name) {
      return s;
    }
  }
  FAIL("no service " << name);
  return f.services.front();
}

} // namespace poolcalc::test

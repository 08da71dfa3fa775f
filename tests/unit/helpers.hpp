#pragma once
// Builds scenarios and plans from flag-like inputs for the unit tests.

#include "poolcalc/findings.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace poolcalc::test {

inline RawInputs inputs(std::initializer_list<std::pair<std::string, std::string>> values)
{
  RawInputs raw;
  for (const auto& [key, value] : values) {
    auto& slot = raw[key];
    slot.items.push_back(value);
    slot.origin = "--" + key;
  }
  return raw;
}

inline Scenario scenario(std::initializer_list<std::pair<std::string, std::string>> values)
{
  auto built = build_scenario(inputs(values), builtin_rules());
  const std::string error = built.has_value() ? std::string() : built.error();
  INFO(error);
  REQUIRE(built.has_value());
  return *built;
}

inline Plan plan(std::initializer_list<std::pair<std::string, std::string>> values)
{
  return size(scenario(values), builtin_rules());
}

inline const Finding* find(const std::vector<Finding>& findings, std::string_view id)
{
  for (const Finding& f : findings) {
    if (f.id == id) {
      return &f;
    }
  }
  return nullptr;
}

} // namespace poolcalc::test

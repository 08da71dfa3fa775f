#pragma once
// Internal: one scenario key of a TOML table read the way parse_scenario_toml reads it, for the
// fleet file's [[service]] tables.

#include "poolcalc/scenario.hpp"
#include "toml_reader.hpp"

#include <string_view>

namespace poolcalc::detail {

// The value of `key` (an input_keys() name) in the text a flag would have, type checked like a
// --config file's; its origin is "FILE:LINE:COLUMN: PREFIX.KEY". Throws InputError.
RawValue scenario_value(const toml::node& node, std::string_view key, const TableReader& reader);

} // namespace poolcalc::detail

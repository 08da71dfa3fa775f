#pragma once
// Internal: JSON pieces every JSON renderer writes the same way.

#include "poolcalc/findings.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace poolcalc::detail {

// "findings": [{"id", "level", "message", "source"}, ...] (docs/json.md, "findings[]").
inline nlohmann::ordered_json findings_json(const std::vector<Finding>& findings)
{
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Finding& f : findings) {
    list.push_back({ { "id", f.id }, { "level", std::string(to_string(f.level)) }, { "message", f.message }, { "source", f.source } });
  }
  return list;
}

// `json` (as dumped by nlohmann, valid UTF-8) with the code points a terminal or a text renderer
// acts on written as \u escapes: nlohmann escapes only the C0 controls, and leaves DEL, the C1
// controls (U+0080-U+009F), the line and paragraph separators (U+2028, U+2029) and the
// bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) as they are.
// JSON's structure is ASCII, so these can only be inside strings, whose value stays the same.
inline std::string terminal_safe_json(const std::string& json)
{
  std::string out;
  out.reserve(json.size());
  const auto byte = [&](std::size_t i) { return i < json.size() ? static_cast<unsigned char>(json[i]) : 0U; };
  for (std::size_t i = 0; i < json.size(); ++i) {
    const unsigned b0 = byte(i);
    unsigned code = 0;
    std::size_t length = 0;
    if (b0 == 0x7f) {
      code = 0x7f;
      length = 1;
    } else if (b0 == 0xc2 && byte(i + 1) >= 0x80 && byte(i + 1) <= 0x9f) {
      code = byte(i + 1);
      length = 2;
    } else if (b0 == 0xd8 && byte(i + 1) == 0x9c) {
      code = 0x061c;
      length = 2;
    } else if (b0 == 0xe2 && (byte(i + 1) == 0x80 || byte(i + 1) == 0x81)) {
      const unsigned candidate = 0x2000U | ((byte(i + 1) & 0x3fU) << 6U) | (byte(i + 2) & 0x3fU);
      if (candidate == 0x200e || candidate == 0x200f || candidate == 0x2028 || candidate == 0x2029 ||
          (candidate >= 0x202a && candidate <= 0x202e) || (candidate >= 0x2066 && candidate <= 0x2069)) {
        code = candidate;
        length = 3;
      }
    }
    if (length == 0) {
      out += json[i];
      continue;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    out += "\\u";
    for (const unsigned shift : { 12U, 8U, 4U, 0U }) {
      out += k_hex[(code >> shift) & 0xfU];
    }
    i += length - 1;
  }
  return out;
}

} // namespace poolcalc::detail

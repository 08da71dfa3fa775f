#pragma once
// Internal: strict, located reading of toml++ tables for the rules and scenario files. Every
// error names file:line:column and the dotted key; keys never read are reported as unknown.
// Errors are thrown as InputError inside a parse and turned into values at the API boundary.

#include "toml.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc::detail {

struct InputError
{
  std::string message;
};

std::string location(std::string_view source_name, const toml::source_region& region);

class TableReader
{
public:
  TableReader(const toml::table& table, std::string prefix, std::string_view source_name);

  bool has(std::string_view key) const;
  const toml::node& node(std::string_view key);                // required
  double number(std::string_view key, double min, double max); // in [min, max]
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view key);
  std::string string(std::string_view key);
  const toml::table& table(std::string_view key);
  const toml::array& array(std::string_view key);

  // Throws for the first key that no getter asked for.
  void finish() const;

  [[noreturn]] void fail(const toml::node& at, std::string_view key, std::string_view what) const;
  std::string dotted(std::string_view key) const;
  std::string_view source_name() const { return m_source; }

private:
  const toml::table& m_table;
  std::string m_prefix;
  std::string_view m_source;
  std::set<std::string, std::less<>> m_seen;
};

// The keys of a table in the order they stand in the file (toml++ iterates them sorted).
std::vector<std::pair<std::string, const toml::node*>> keys_in_file_order(const toml::table& table);

// Parses TOML text, turning a syntax error into a located InputError.
toml::table parse_toml(std::string_view text, std::string_view source_name);

} // namespace poolcalc::detail

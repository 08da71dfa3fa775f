#include "toml_reader.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace poolcalc::detail {

std::string location(std::string_view source_name, const toml::source_region& region)
{
  return fmt::format("{}:{}:{}", source_name, region.begin.line, region.begin.column);
}

TableReader::TableReader(const toml::table& table, std::string prefix, std::string_view source_name)
  : m_table(table)
  , m_prefix(std::move(prefix))
  , m_source(source_name)
{
}

std::string TableReader::dotted(std::string_view key) const
{
  // A key is the file's text, quoted in messages: masked and escaped like any user text (a
  // quoted key may hold anything, a database URL with its password included).
  return user_text(m_prefix.empty() ? std::string(key) : fmt::format("{}.{}", m_prefix, key));
}

void TableReader::fail(const toml::node& at, std::string_view key, std::string_view what) const
{
  throw InputError{ fmt::format("{}: {}: {}", location(m_source, at.source()), dotted(key), what) };
}

bool TableReader::has(std::string_view key) const
{
  return m_table.contains(key);
}

const toml::node& TableReader::node(std::string_view key)
{
  const toml::node* found = m_table.get(key);
  if (found == nullptr) {
    throw InputError{ fmt::format("{}: {}: missing key", location(m_source, m_table.source()), dotted(key)) };
  }
  m_seen.emplace(key);
  return *found;
}

double TableReader::number(std::string_view key, double min, double max)
{
  const toml::node& found = node(key);
  double value = 0;
  if (const auto* integer_value = found.as_integer()) {
    value = static_cast<double>(integer_value->get());
  } else if (const auto* float_value = found.as_floating_point()) {
    value = float_value->get();
  } else {
    fail(found, key, "expected a number");
  }
  if (!std::isfinite(value) || value < min || value > max) {
    fail(found,
         key,
         fmt::format("expected a number from {} to {}, got {}", format_number(min, 9), format_number(max, 9), fmt::format("{}", value)));
  }
  if (min >= 0 && value != 0 && value < k_min_nonzero) {
    fail(found,
         key,
         fmt::format("expected a number from {} to {}, and 0 or at least {} (a smaller one reads as 0), got {}",
                     format_number(min, 9),
                     format_number(max, 9),
                     format_number(k_min_nonzero, 9),
                     fmt::format("{}", value)));
  }
  return value;
}

std::int64_t TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max)
{
  const toml::node& found = node(key);
  const auto* integer_value = found.as_integer();
  if (integer_value == nullptr) {
    fail(found, key, fmt::format("expected a whole number from {} to {}", min, max));
  }
  const std::int64_t value = integer_value->get();
  if (value < min || value > max) {
    fail(found, key, fmt::format("expected a whole number from {} to {}, got {}", min, max, value));
  }
  return value;
}

bool TableReader::boolean(std::string_view key)
{
  const toml::node& found = node(key);
  const auto* bool_value = found.as_boolean();
  if (bool_value == nullptr) {
    fail(found, key, "expected true or false");
  }
  return bool_value->get();
}

std::string TableReader::string(std::string_view key)
{
  const toml::node& found = node(key);
  const auto* string_value = found.as_string();
  if (string_value == nullptr) {
    fail(found, key, "expected a string");
  }
  return string_value->get();
}

const toml::table& TableReader::table(std::string_view key)
{
  const toml::node& found = node(key);
  const auto* table_value = found.as_table();
  if (table_value == nullptr) {
    fail(found, key, "expected a table");
  }
  return *table_value;
}

const toml::array& TableReader::array(std::string_view key)
{
  const toml::node& found = node(key);
  const auto* array_value = found.as_array();
  if (array_value == nullptr) {
    fail(found, key, "expected an array");
  }
  return *array_value;
}

void TableReader::finish() const
{
  for (const auto& [key, value] : m_table) {
    if (!m_seen.contains(key.str())) {
      throw InputError{ fmt::format("{}: {}: unknown key", location(m_source, key.source()), dotted(key.str())) };
    }
  }
}

std::vector<std::pair<std::string, const toml::node*>> keys_in_file_order(const toml::table& table)
{
  std::vector<std::pair<std::string, const toml::node*>> keys;
  for (const auto& [key, value] : table) {
    keys.emplace_back(std::string(key.str()), &value);
  }
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return keys;
}

TomlGuard& toml_guard()
{
  thread_local TomlGuard guard;
  return guard;
}

void toml_invariant_broken(const char* what) noexcept
{
  TomlGuard& guard = toml_guard();
  if (guard.what == nullptr) {
    guard.what = what;
  }
}

void toml_unreachable_stop(const char* where) noexcept
{
  std::fputs("poolcalc: internal error: toml++ reached a state it marks unreachable at ", stderr);
  std::fputs(where, stderr);
  std::fputs("\n", stderr);
  std::abort();
}

namespace {

// toml++ limits nesting (arrays and inline tables, TOML_MAX_NESTED_VALUES = 256) but not the
// parts of a dotted key or table name, and recurses once per part: a key of some hundred
// thousand parts overflows the stack. poolcalc refuses one of more than k_max_key_parts parts
// before the parser sees it. The scan reads segments (bare runs of letters, digits, '_' and '-',
// or quoted strings, multi-line ones included) joined by dots, and skips comments; a float such
// as 1.5 counts as two parts, far below the limit.
constexpr std::size_t k_max_key_parts = 256;

bool bare_key_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// The end of the string starting at `at` (a quote), past its closing quote(s); text.size() when
// unterminated.
std::size_t string_end(std::string_view text, std::size_t at)
{
  const char quote = text[at];
  const bool multi_line = text.substr(at, 3) == std::string(3, quote);
  std::size_t i = at + (multi_line ? 3 : 1);
  while (i < text.size()) {
    if (quote == '"' && text[i] == '\\') {
      i += 2;
    } else if (multi_line ? text.substr(i, 3) == std::string(3, quote) : text[i] == quote) {
      return i + (multi_line ? 3 : 1);
    } else if (!multi_line && text[i] == '\n') {
      return i;
    } else {
      ++i;
    }
  }
  return text.size();
}

// The line (1-based) of the first chain of more than k_max_key_parts dotted parts, or 0.
std::size_t overlong_key_line(std::string_view text)
{
  std::size_t line = 1;
  std::size_t parts = 0;  // of the chain being read
  bool after_dot = false; // the chain ends in a dot: a segment may follow
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == '.' && parts > 0 && !after_dot) {
      after_dot = true;
      ++i;
    } else if (c == '"' || c == '\'' || bare_key_char(c)) {
      std::size_t end = i;
      if (bare_key_char(c)) {
        while (end < text.size() && bare_key_char(text[end])) {
          ++end;
        }
      } else {
        end = string_end(text, i);
      }
      parts = after_dot ? parts + 1 : 1;
      after_dot = false;
      if (parts > k_max_key_parts) {
        return line;
      }
      line += static_cast<std::size_t>(
        std::count(text.begin() + static_cast<std::ptrdiff_t>(i), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      i = end;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') {
        ++i;
      }
    } else {
      if (c == '\n') {
        ++line;
      }
      parts = 0;
      after_dot = false;
      ++i;
    }
  }
  return 0;
}

} // namespace

toml::table parse_toml(std::string_view text, std::string_view source_name)
{
  if (const std::size_t line = overlong_key_line(text); line != 0) {
    throw InputError{ fmt::format(
      "{}:{}: a key or table name of more than {} dotted parts (poolcalc's limit, as for nesting)", source_name, line, k_max_key_parts) };
  }
  toml_guard() = {};
  try {
    toml::table table = toml::parse(text, source_name);
    if (toml_guard().what != nullptr) {
      // The parser went on past a broken invariant of its own (toml.hpp): its result is not
      // trusted, whatever it is.
      throw InputError{ fmt::format("{}: invalid TOML: a construct the TOML parser does not handle ({})", source_name, toml_guard().what) };
    }
    return table;
  } catch (const toml::parse_error& error) {
    // toml++'s description quotes the text it stopped at, which may be a key holding a password.
    throw InputError{ fmt::format("{}: invalid TOML: {}", location(source_name, error.source()), user_text(error.description())) };
  }
}

} // namespace poolcalc::detail

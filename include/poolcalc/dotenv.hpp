#pragma once
// .env files, read and updated without losing a byte (`poolcalc env --write PATH`).
//
// The syntax is the one the `dotenv` npm package reads (its `LINE` expression and `parse()`,
// unchanged from 16.x to 18.x): `KEY=VALUE` with an optional `export ` prefix and blanks around
// `=`; keys of letters, digits, `_`, `.` and `-`; values unquoted (trimmed; the first `#` starts
// a comment), or in single, double or back quotes, which may span lines (the closing quote is the
// last one followed only by blanks or a comment on its line, up to the first quote without a
// backslash before it; in double quotes `\n` and `\r` read as a line feed and a carriage return);
// `#` comment lines and blank lines anywhere; LF or CRLF line endings; an optional UTF-8 byte
// order mark; no final newline needed. "Blanks" are what JavaScript's \s matches on a line:
// space, tab, \v, \f and the Unicode spaces. dotenv skips what it does not understand; here it is
// an error instead (a quote that is never closed, text after a closing quote, a line that is
// not an assignment, a comment or blank, a carriage return without a line feed, a NUL byte),
// because a file that is not what its author thinks it is must not be rewritten.
// Nothing here does I/O.

#include "poolcalc/expected.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc {

// One entry of a .env file: a blank line, a comment line, or an assignment, with its exact
// bytes (a multi-line quoted value makes one entry of several lines).
struct DotenvEntry
{
  enum class Kind
  {
    blank,
    comment,
    assignment,
  };
  Kind kind = Kind::blank;
  std::string text;           // the exact bytes, line ending(s) included (none on a last line without one)
  std::size_t line = 0;       // 1-based number of its first line in the file
  std::size_t line_count = 1; // physical lines it spans

  // Assignments only:
  std::string key;
  std::string value;           // as dotenv reads it: quotes removed, unquoted values trimmed, \n \r expanded in double quotes
  std::size_t value_begin = 0; // the value as written, quotes included: text[value_begin, value_end)
  std::size_t value_end = 0;
  char quote = 0; // '\'', '"', '`', or 0 when unquoted
};

struct DotenvFile
{
  bool bom = false; // the text starts with a UTF-8 byte order mark (kept, not part of any entry)
  std::vector<DotenvEntry> entries;
  std::string eol = "\n"; // the first line ending in the file ("\r\n" or "\n"); "\n" when there is none

  // The text again: the BOM, if any, and every entry's bytes in order. Equal to what was parsed.
  std::string text() const;

  // The last assignment of `key` (the one dotenv loaders use: each occurrence overwrites the
  // previous one), or nullptr.
  const DotenvEntry* find(std::string_view key) const;

  // How many assignments set `key`.
  std::size_t count(std::string_view key) const;
};

// Parses `text`. Errors read "SOURCE:LINE: what is wrong" (SOURCE is `source`, usually the path).
poolcalc::expected<DotenvFile, std::string> parse_dotenv(std::string_view text, std::string_view source);

struct DotenvChange
{
  enum class Action
  {
    unchanged,
    changed,
    added,
  };
  std::string key;
  std::optional<std::string> current; // the value the file sets now (its last assignment), if any
  std::string recommended;
  Action action = Action::unchanged;
  std::size_t line = 0;                // line of the assignment updated or left (in the file as parsed); 0 when added
  std::vector<std::size_t> duplicates; // lines of every assignment of the key when there are several, else empty
};

struct DotenvUpdate
{
  std::string text;                  // the new file
  std::vector<DotenvChange> changes; // one per key, in the order given
};

// Sets each key of `values` to its value, in order, and touches nothing else:
// - a key already set: the last assignment (the one loaders use) gets the new value, in the
//   same quotes when the value can be written in them (unquoted: only letters, digits and
//   `_ . / : @ % + , = -`), otherwise in double quotes; the `export` prefix, the blanks, the
//   inline comment and the line ending stay. A value equal to the current one leaves the line
//   byte for byte, quotes and all.
// - a key not set: `KEY=VALUE` (double quotes unless the value can go unquoted) is appended at
//   the end with the file's line ending, after a line ending if the file had no final one.
// Every other byte of the file is kept. A value that no quoting can carry for dotenv (a
// newline, `"`, `\`, `$` or a back quote) is an error, as is a key that is not a valid key, and
// so is an update after which the file would read differently elsewhere (a value that loses a
// quote can move where an earlier double-quoted value ends).
poolcalc::expected<DotenvUpdate, std::string> update_dotenv(const DotenvFile& file,
                                                            const std::vector<std::pair<std::string, std::string>>& values);

} // namespace poolcalc

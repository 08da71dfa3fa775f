#include "poolcalc/dotenv.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc {

namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

bool is_key_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool is_blank(char c)
{
  return c == ' ' || c == '\t';
}

bool is_quote(char c)
{
  return c == '\'' || c == '"' || c == '`';
}

// Characters a value may hold without quotes: safe for dotenv and for a shell sourcing the file.
bool is_bare_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("_./:@%+,=-").find(c) != std::string_view::npos;
}

bool is_valid_key(std::string_view key)
{
  return !key.empty() && std::all_of(key.begin(), key.end(), is_key_char);
}

const char* quote_name(char quote)
{
  return quote == '\'' ? "single-quoted" : quote == '"' ? "double-quoted" : "back-quoted";
}

std::string replace_all(std::string text, std::string_view from, std::string_view to)
{
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit = text.find(from); hit != std::string::npos; hit = text.find(from, pos)) {
    out.append(text, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  out.append(text, pos);
  return out;
}

// What dotenv makes of a quoted value's content: CRLF read as LF (it normalises line endings
// first), then in double quotes the two-character sequences \n and \r expanded, in that order.
std::string decode_quoted(std::string_view content, char quote)
{
  std::string value = replace_all(std::string(content), "\r\n", "\n");
  if (quote == '"') {
    value = replace_all(value, "\\n", "\n");
    value = replace_all(value, "\\r", "\r");
  }
  return value;
}

class Parser
{
public:
  Parser(std::string_view text, std::string_view source)
    : m_text(text)
    , m_source(source)
  {
  }

  std::expected<DotenvFile, std::string> parse()
  {
    DotenvFile file;
    if (m_text.starts_with(k_bom)) {
      file.bom = true;
      m_text.remove_prefix(k_bom.size());
    }
    if (const std::size_t nul = m_text.find('\0'); nul != std::string_view::npos) {
      return fail(line_of(nul), "a NUL byte: not a text file");
    }
    if (const std::size_t lf = m_text.find('\n'); lf != std::string_view::npos) {
      file.eol = lf > 0 && m_text[lf - 1] == '\r' ? "\r\n" : "\n";
    }
    while (m_pos < m_text.size()) {
      auto entry = next();
      if (!entry) {
        return std::unexpected(entry.error());
      }
      file.entries.push_back(std::move(*entry));
    }
    return file;
  }

private:
  std::string_view m_text;
  std::string_view m_source;
  std::size_t m_pos = 0;
  std::size_t m_line = 1;

  std::unexpected<std::string> fail(std::size_t line, std::string_view what) const
  {
    return std::unexpected(fmt::format("{}:{}: {}", m_source, line, what));
  }

  std::size_t line_of(std::size_t offset) const
  {
    return 1 + static_cast<std::size_t>(std::count(m_text.begin(), m_text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
  }

  // End of the physical line containing `pos`: the offset of its '\n' (or the end), and the end
  // of its content (before "\r\n" or "\n").
  std::size_t line_end(std::size_t pos) const { return std::min(m_text.find('\n', pos), m_text.size()); }

  std::size_t content_end(std::size_t newline) const
  {
    return newline > 0 && newline < m_text.size() && m_text[newline - 1] == '\r' ? newline - 1 : newline;
  }

  // A carriage return not followed by a line feed between `from` and `to`: dotenv would take it
  // for a line break, an editor might not, so it is refused rather than guessed.
  std::optional<std::size_t> lone_cr(std::size_t from, std::size_t to) const
  {
    for (std::size_t i = from; i < to; ++i) {
      if (m_text[i] == '\r' && (i + 1 >= m_text.size() || m_text[i + 1] != '\n')) {
        return i;
      }
    }
    return std::nullopt;
  }

  // Consumes through the end of the physical line that contains `pos` and returns the entry's
  // text from `start`.
  std::string finish(std::size_t start, std::size_t pos)
  {
    const std::size_t newline = line_end(pos);
    m_pos = newline < m_text.size() ? newline + 1 : newline;
    return std::string(m_text.substr(start, m_pos - start));
  }

  std::expected<DotenvEntry, std::string> next()
  {
    DotenvEntry entry;
    entry.line = m_line;
    const std::size_t start = m_pos;
    const std::size_t newline = line_end(start);
    const std::size_t end = content_end(newline);
    std::size_t p = start;
    while (p < end && is_blank(m_text[p])) {
      ++p;
    }
    if (p == end || m_text[p] == '#') {
      if (const auto cr = lone_cr(start, end)) {
        return fail(m_line, "a carriage return without a line feed (only LF and CRLF line endings are read)");
      }
      entry.kind = p == end ? DotenvEntry::Kind::blank : DotenvEntry::Kind::comment;
      entry.text = finish(start, start);
      ++m_line;
      return entry;
    }
    entry.kind = DotenvEntry::Kind::assignment;
    if (m_text.substr(p).starts_with("export") && p + 6 < end && is_blank(m_text[p + 6])) {
      std::size_t q = p + 6;
      while (q < end && is_blank(m_text[q])) {
        ++q;
      }
      if (q < end && is_key_char(m_text[q])) {
        p = q;
      }
    }
    const std::size_t key_begin = p;
    while (p < end && is_key_char(m_text[p])) {
      ++p;
    }
    entry.key = std::string(m_text.substr(key_begin, p - key_begin));
    if (entry.key.empty()) {
      return fail(m_line, "expected KEY=VALUE, a # comment or a blank line (keys are letters, digits, _ . -)");
    }
    while (p < end && is_blank(m_text[p])) {
      ++p;
    }
    if (p == end || m_text[p] != '=') {
      return fail(m_line, fmt::format("expected '=' after the key {} (keys are letters, digits, _ . -)", entry.key));
    }
    ++p;
    while (p < end && is_blank(m_text[p])) {
      ++p;
    }
    entry.value_begin = p - start;
    if (p < end && is_quote(m_text[p])) {
      return quoted(std::move(entry), start, p);
    }
    std::size_t value_end = std::min(m_text.find('#', p), end);
    while (value_end > p && (is_blank(m_text[value_end - 1]) || m_text[value_end - 1] == '\v' || m_text[value_end - 1] == '\f')) {
      --value_end;
    }
    if (const auto cr = lone_cr(start, end)) {
      return fail(m_line, "a carriage return without a line feed (only LF and CRLF line endings are read)");
    }
    entry.value = std::string(m_text.substr(p, value_end - p));
    entry.value_end = value_end - start;
    entry.text = finish(start, start);
    ++m_line;
    return entry;
  }

  std::expected<DotenvEntry, std::string> quoted(DotenvEntry entry, std::size_t start, std::size_t open)
  {
    const char quote = m_text[open];
    const std::size_t first_line = m_line;
    std::size_t i = open + 1;
    for (; i < m_text.size(); ++i) {
      const char c = m_text[i];
      if (c == '\\' && i + 1 < m_text.size() && m_text[i + 1] == quote) {
        ++i;
      } else if (c == quote) {
        break;
      } else if (c == '\n') {
        ++m_line;
      } else if (c == '\r' && (i + 1 >= m_text.size() || m_text[i + 1] != '\n')) {
        return fail(m_line, "a carriage return without a line feed (only LF and CRLF line endings are read)");
      }
    }
    if (i >= m_text.size()) {
      return fail(first_line,
                  fmt::format("the {} value of {} is not closed (no {} before the end of the file)", quote_name(quote), entry.key, quote));
    }
    entry.quote = quote;
    entry.value = decode_quoted(m_text.substr(open + 1, i - open - 1), quote);
    entry.value_end = i + 1 - start;
    const std::size_t newline = line_end(i);
    const std::size_t end = content_end(newline);
    std::size_t p = i + 1;
    while (p < end && is_blank(m_text[p])) {
      ++p;
    }
    if (p < end && m_text[p] != '#') {
      return fail(m_line,
                  fmt::format("text after the closing {} of {}: a value is followed only by blanks or a # comment", quote, entry.key));
    }
    if (const auto cr = lone_cr(i + 1, end)) {
      return fail(m_line, "a carriage return without a line feed (only LF and CRLF line endings are read)");
    }
    entry.text = finish(start, i);
    entry.line_count = m_line - first_line + 1;
    ++m_line;
    return entry;
  }
};

bool fits(std::string_view value, char quote)
{
  if (quote == 0) {
    return std::all_of(value.begin(), value.end(), is_bare_char);
  }
  return value.find(quote) == std::string_view::npos;
}

std::string written(std::string_view value, char quote)
{
  return quote == 0 ? std::string(value) : fmt::format("{}{}{}", quote, value, quote);
}

} // namespace

std::string DotenvFile::text() const
{
  std::string out = bom ? std::string(k_bom) : std::string();
  for (const DotenvEntry& entry : entries) {
    out += entry.text;
  }
  return out;
}

const DotenvEntry* DotenvFile::find(std::string_view key) const
{
  const auto it = std::find_if(
    entries.rbegin(), entries.rend(), [&](const DotenvEntry& e) { return e.kind == DotenvEntry::Kind::assignment && e.key == key; });
  return it == entries.rend() ? nullptr : &*it;
}

std::size_t DotenvFile::count(std::string_view key) const
{
  return static_cast<std::size_t>(std::count_if(
    entries.begin(), entries.end(), [&](const DotenvEntry& e) { return e.kind == DotenvEntry::Kind::assignment && e.key == key; }));
}

std::expected<DotenvFile, std::string> parse_dotenv(std::string_view text, std::string_view source)
{
  return Parser(text, source).parse();
}

std::expected<DotenvUpdate, std::string> update_dotenv(const DotenvFile& file,
                                                       const std::vector<std::pair<std::string, std::string>>& values)
{
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& [key, value] = values[i];
    if (!is_valid_key(key)) {
      return std::unexpected(fmt::format("'{}' is not a .env key (letters, digits, _ . -)", key));
    }
    if (value.find_first_of(std::string_view("\n\r\"\\$`\0", 7)) != std::string::npos) {
      return std::unexpected(fmt::format("{}: the value holds a character no .env quoting carries safely", key));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (values[j].first == key) {
        return std::unexpected(fmt::format("{}: given twice", key));
      }
    }
  }

  DotenvFile next = file;
  DotenvUpdate result;
  std::vector<std::pair<std::string, std::string>> added;
  for (const auto& [key, value] : values) {
    DotenvChange change;
    change.key = key;
    change.recommended = value;
    for (const DotenvEntry& entry : file.entries) {
      if (entry.kind == DotenvEntry::Kind::assignment && entry.key == key) {
        change.duplicates.push_back(entry.line);
      }
    }
    if (change.duplicates.size() < 2) {
      change.duplicates.clear();
    }
    const DotenvEntry* current = file.find(key);
    if (current == nullptr) {
      change.action = DotenvChange::Action::added;
      added.emplace_back(key, written(value, fits(value, 0) ? 0 : '"'));
    } else {
      change.current = current->value;
      change.line = current->line;
      if (current->value != value) {
        change.action = DotenvChange::Action::changed;
        DotenvEntry& entry = next.entries[static_cast<std::size_t>(current - file.entries.data())];
        const char quote = fits(value, entry.quote) ? entry.quote : '"';
        std::string token = written(value, quote);
        // An unquoted value followed directly by '#': dotenv reads the '#' as a comment, other
        // loaders only after a blank, so one is put in.
        if (quote == 0 && entry.value_end < entry.text.size() && entry.text[entry.value_end] == '#') {
          token += ' ';
        }
        entry.text = entry.text.substr(0, entry.value_begin) + token + entry.text.substr(entry.value_end);
        entry.value_end = entry.value_begin + token.size();
        entry.quote = quote;
        entry.value = value;
      }
    }
    result.changes.push_back(std::move(change));
  }

  result.text = next.text();
  if (!added.empty()) {
    if (!next.entries.empty() && !result.text.ends_with('\n')) {
      result.text += file.eol;
    }
    for (const auto& [key, token] : added) {
      result.text += fmt::format("{}={}{}", key, token, file.eol);
    }
  }
  return result;
}

} // namespace poolcalc

#include "poolcalc/dotenv.hpp"

#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc {

namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

bool is_key_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
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

// The whitespace JavaScript's \s and trim() know, as dotenv's regular expression and trim()
// see it: ASCII space, tab, vertical tab and form feed, and the Unicode spaces in UTF-8 (the byte
// order mark among them). Line breaks are handled apart.
constexpr std::string_view k_spaces[] = { " ",
                                          "\t",
                                          "\v",
                                          "\f",
                                          "\xC2\xA0",
                                          "\xE1\x9A\x80",
                                          "\xE2\x80\x80",
                                          "\xE2\x80\x81",
                                          "\xE2\x80\x82",
                                          "\xE2\x80\x83",
                                          "\xE2\x80\x84",
                                          "\xE2\x80\x85",
                                          "\xE2\x80\x86",
                                          "\xE2\x80\x87",
                                          "\xE2\x80\x88",
                                          "\xE2\x80\x89",
                                          "\xE2\x80\x8A",
                                          "\xE2\x80\xA8",
                                          "\xE2\x80\xA9",
                                          "\xE2\x80\xAF",
                                          "\xE2\x81\x9F",
                                          "\xE3\x80\x80",
                                          "\xEF\xBB\xBF" };

// Skips whitespace forward from `pos`, not past `end`.
std::size_t skip_spaces(std::string_view text, std::size_t pos, std::size_t end)
{
  for (bool more = true; more;) {
    more = false;
    for (std::string_view space : k_spaces) {
      if (pos + space.size() <= end && text.substr(pos, space.size()) == space) {
        pos += space.size();
        more = true;
        break;
      }
    }
  }
  return pos;
}

// Moves `end` back over whitespace, not before `begin`.
std::size_t trim_spaces(std::string_view text, std::size_t begin, std::size_t end)
{
  for (bool more = true; more;) {
    more = false;
    for (std::string_view space : k_spaces) {
      if (end >= begin + space.size() && text.substr(end - space.size(), space.size()) == space) {
        end -= space.size();
        more = true;
        break;
      }
    }
  }
  return end;
}

class Parser
{
public:
  Parser(std::string_view text, std::string_view source)
    : m_text(text)
    , m_source(source)
  {
  }

  poolcalc::expected<DotenvFile, std::string> parse()
  {
    DotenvFile file;
    if (m_text.starts_with(k_bom)) {
      file.bom = true;
      m_text.remove_prefix(k_bom.size());
    }
    if (const std::size_t nul = m_text.find('\0'); nul != std::string_view::npos) {
      return fail(line_of(nul), "a NUL byte: not a text file");
    }
    if (const std::size_t cr = lone_cr(0, m_text.size())) {
      return fail(line_of(cr - 1), "a carriage return without a line feed (only LF and CRLF line endings are read)");
    }
    if (const std::size_t lf = m_text.find('\n'); lf != std::string_view::npos) {
      file.eol = lf > 0 && m_text[lf - 1] == '\r' ? "\r\n" : "\n";
    }
    while (m_pos < m_text.size()) {
      auto entry = next();
      if (!entry) {
        return poolcalc::unexpected(entry.error());
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

  poolcalc::unexpected<std::string> fail(std::size_t line, std::string_view what) const
  {
    return poolcalc::unexpected(fmt::format("{}:{}: {}", m_source, line, what));
  }

  std::size_t line_of(std::size_t offset) const
  {
    return 1 + static_cast<std::size_t>(std::count(m_text.begin(), m_text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
  }

  std::size_t lines_between(std::size_t from, std::size_t to) const
  {
    return static_cast<std::size_t>(
      std::count(m_text.begin() + static_cast<std::ptrdiff_t>(from), m_text.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
  }

  // 1 + the offset of the first carriage return not followed by a line feed in [from, to), or 0.
  // dotenv would take one for a line break, an editor might not: refused rather than guessed.
  std::size_t lone_cr(std::size_t from, std::size_t to) const
  {
    for (std::size_t i = m_text.find('\r', from); i < to; i = m_text.find('\r', i + 1)) {
      if (i + 1 >= m_text.size() || m_text[i + 1] != '\n') {
        return i + 1;
      }
    }
    return 0;
  }

  // The offset of the '\n' ending the physical line that holds `pos` (or the end of the text).
  std::size_t line_end(std::size_t pos) const { return std::min(m_text.find('\n', pos), m_text.size()); }

  // The end of a line's content: before its "\r\n" or "\n".
  std::size_t content_end(std::size_t newline) const
  {
    return newline > 0 && newline < m_text.size() && m_text[newline - 1] == '\r' ? newline - 1 : newline;
  }

  // Consumes through the end of the physical line that holds `pos`; returns the entry's bytes
  // from `start`.
  std::string finish(std::size_t start, std::size_t pos)
  {
    const std::size_t newline = line_end(pos);
    m_pos = newline < m_text.size() ? newline + 1 : newline;
    return std::string(m_text.substr(start, m_pos - start));
  }

  poolcalc::expected<DotenvEntry, std::string> next()
  {
    DotenvEntry entry;
    entry.line = m_line;
    const std::size_t start = m_pos;
    const std::size_t end = content_end(line_end(start));
    std::size_t p = skip_spaces(m_text, start, end);
    if (p == end || m_text[p] == '#') {
      entry.kind = p == end ? DotenvEntry::Kind::blank : DotenvEntry::Kind::comment;
      entry.text = finish(start, start);
      ++m_line;
      return entry;
    }
    entry.kind = DotenvEntry::Kind::assignment;
    if (m_text.substr(p, end - p).starts_with("export")) {
      const std::size_t q = skip_spaces(m_text, p + 6, end);
      if (q > p + 6 && q < end && is_key_char(m_text[q])) {
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
    p = skip_spaces(m_text, p, end);
    if (p == end || m_text[p] != '=') {
      return fail(m_line, fmt::format("expected '=' after the key {} (keys are letters, digits, _ . -)", entry.key));
    }
    p = skip_spaces(m_text, p + 1, end);
    entry.value_begin = p - start;
    if (p < end && is_quote(m_text[p])) {
      return quoted(std::move(entry), start, p);
    }
    // Unquoted: up to the first '#', trimmed.
    const std::size_t value_end = trim_spaces(m_text, p, std::min(m_text.find('#', p), end));
    entry.value = std::string(m_text.substr(p, value_end - p));
    entry.value_end = value_end - start;
    entry.text = finish(start, start);
    ++m_line;
    return entry;
  }

  // Only blanks, then the end of the line or a '#', follow the quote at `pos`.
  bool closes(std::size_t pos) const
  {
    const std::size_t p = skip_spaces(m_text, pos + 1, m_text.size());
    return p == m_text.size() || m_text[p] == '\n' || m_text[p] == '\r' || m_text[p] == '#';
  }

  // dotenv's rule for the closing quote (its `LINE` expression, backtracking): among the quote
  // characters up to the first one without a backslash before it, the last that only blanks or
  // a comment follow on its line.
  poolcalc::expected<DotenvEntry, std::string> quoted(DotenvEntry entry, std::size_t start, std::size_t open)
  {
    const char quote = m_text[open];
    std::size_t close = std::string_view::npos;
    std::size_t unescaped = std::string_view::npos;
    for (std::size_t i = m_text.find(quote, open + 1); i != std::string_view::npos; i = m_text.find(quote, i + 1)) {
      if (closes(i)) {
        close = i;
      }
      if (m_text[i - 1] != '\\') {
        unescaped = i;
        break;
      }
    }
    if (close == std::string_view::npos) {
      if (unescaped == std::string_view::npos) {
        return fail(
          entry.line,
          fmt::format("the {} value of {} is not closed (no {} before the end of the file)", quote_name(quote), entry.key, quote));
      }
      return fail(entry.line + lines_between(open, unescaped),
                  fmt::format("text after the closing {} of {}: a value is followed only by blanks or a # comment", quote, entry.key));
    }
    entry.quote = quote;
    entry.value = decode_quoted(m_text.substr(open + 1, close - open - 1), quote);
    entry.value_end = close + 1 - start;
    entry.text = finish(start, close);
    const std::size_t last_line = entry.line + lines_between(open, close);
    entry.line_count = last_line - entry.line + 1;
    m_line = last_line + 1;
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

poolcalc::expected<DotenvFile, std::string> parse_dotenv(std::string_view text, std::string_view source)
{
  return Parser(text, source).parse();
}

poolcalc::expected<DotenvUpdate, std::string> update_dotenv(const DotenvFile& file,
                                                            const std::vector<std::pair<std::string, std::string>>& values)
{
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& [key, value] = values[i];
    if (!is_valid_key(key)) {
      return poolcalc::unexpected(fmt::format("'{}' is not a .env key (letters, digits, _ . -)", user_text(key)));
    }
    if (value.find_first_of(std::string_view("\n\r\"\\$`\0", 7)) != std::string::npos) {
      return poolcalc::unexpected(fmt::format("{}: the value holds a character no .env quoting carries safely", key));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (values[j].first == key) {
        return poolcalc::unexpected(fmt::format("{}: given twice", key));
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
      next.entries.back().text += file.eol;
    }
    for (const auto& [key, token] : added) {
      result.text += fmt::format("{}={}{}", key, token, file.eol);
    }
  }
  // The new text must read as the old one, line for line, but for the values set. A value that
  // loses a quote can move where an earlier quoted value ends: dotenv reads a double-quoted
  // value up to the last quote it can end at, which may lie lines further on (`A="\"` then, later,
  // `B=x  # "`). Such a file is refused rather than rewritten into something read otherwise.
  const auto reread = parse_dotenv(result.text, "");
  std::size_t first_moved = 0; // the first entry read otherwise
  while (reread && first_moved < next.entries.size() && first_moved < reread->entries.size() &&
         reread->entries[first_moved].text == next.entries[first_moved].text) {
    ++first_moved;
  }
  if (!reread || first_moved < next.entries.size() || reread->entries.size() != next.entries.size() + added.size()) {
    std::string where = "the file";
    if (first_moved < next.entries.size()) {
      const DotenvEntry& at = next.entries[first_moved];
      where = fmt::format("line {}{}", at.line, at.key.empty() ? std::string() : " (" + at.key + ")");
    }
    return poolcalc::unexpected(fmt::format("{}: with the new values, a quoted value would end elsewhere and the file would read "
                                            "differently; not written (check the quotes around it)",
                                            where));
  }
  return result;
}

} // namespace poolcalc

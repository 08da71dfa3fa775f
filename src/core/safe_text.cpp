#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>
#include <uriparser/Uri.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace poolcalc {

namespace {

// One well-formed UTF-8 sequence at the start of `text`: its code point and length. None for a
// malformed, overlong, surrogate or out-of-range sequence (RFC 3629, section 4).
std::optional<std::pair<char32_t, std::size_t>> decode_utf8(std::string_view text)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  char32_t code = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    return std::pair{ static_cast<char32_t>(lead), std::size_t{ 1 } };
  }
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1fU;
    min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0fU;
    min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07U;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < length) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0U) != 0x80U) {
      return std::nullopt;
    }
    code = (code << 6U) | (byte(i) & 0x3fU);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return std::nullopt;
  }
  return std::pair{ code, length };
}

// Code points a terminal or a text renderer acts on rather than shows.
bool is_active(char32_t code)
{
  return code < 0x20 || code == 0x7f || (code >= 0x80 && code <= 0x9f) || code == 0x2028 || code == 0x2029 || code == 0x061c ||
         code == 0x200e || code == 0x200f || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

void append_escape(std::string& out, char32_t code)
{
  switch (code) {
  case U'\n':
    out += "\\n";
    return;
  case U'\r':
    out += "\\r";
    return;
  case U'\t':
    out += "\\t";
    return;
  case 0x1b:
    out += "\\e";
    return;
  default:
    break;
  }
  if (code < 0x80) {
    out += fmt::format("\\x{:02x}", static_cast<unsigned>(code));
  } else {
    out += fmt::format("\\u{{{:04x}}}", static_cast<unsigned>(code));
  }
}

bool is_word_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool ends_with_password(std::string_view key)
{
  constexpr std::string_view word = "password";
  if (key.size() < word.size()) {
    return false;
  }
  const std::string_view tail = key.substr(key.size() - word.size());
  return std::equal(tail.begin(), tail.end(), word.begin(), [](char a, char b) { return lower(a) == b; });
}

using Range = std::pair<std::size_t, std::size_t>; // [begin, end) of the text to mask

// URIs: "scheme://user:password@host..." and "?...&password=...". Within one whole value the
// userinfo's password may hold any byte ('/', '?', '#', quotes, spaces, even "://"): it runs from
// the first ':' after "://" to the value's last '@' (libpq would read such a URI otherwise, but
// what the user typed as a password is masked whole; a second URI in the same value is masked
// with the first's password, which masks more than needed, never less).
void uri_ranges(std::string_view text, std::vector<Range>& ranges)
{
  std::vector<std::size_t> starts;
  for (std::size_t at = text.find("://"); at != std::string_view::npos; at = text.find("://", at + 3)) {
    starts.push_back(at + 3);
  }
  for (const std::size_t begin : starts) {
    const std::string_view uri = text.substr(begin);
    // An '@' makes what comes before it userinfo, however it starts: libpq takes
    // "postgresql://[app]:pw@host" as user "[app]". Without one, a bracket is an IPv6 host.
    const std::size_t at = uri.rfind('@');
    if (at != std::string_view::npos) {
      const std::size_t colon = uri.find(':');
      if (colon != std::string_view::npos && colon < at && colon + 1 < at) {
        ranges.emplace_back(begin + colon + 1, begin + at);
      }
    }
  }
  if (starts.empty()) {
    return;
  }
  // Parameters: after any '?' or '&' of the URIs (one may stand inside a password: masking more
  // is safe), to the next '&' (libpq splits the query on '&' alone: a '#' is part of the value).
  for (std::size_t p = starts.front(); p < text.size(); ++p) {
    if (text[p] != '?' && text[p] != '&') {
      continue;
    }
    const std::size_t piece = p + 1;
    const std::size_t piece_end = std::min(text.find('&', piece), text.size());
    const std::string_view param = text.substr(piece, piece_end - piece);
    const std::size_t equals = param.find('=');
    if (equals != std::string_view::npos && equals + 1 < param.size() && ends_with_password(percent_decoded(param.substr(0, equals)))) {
      ranges.emplace_back(piece + equals + 1, piece_end);
    }
  }
}

bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// libpq key/value settings: "password = 'a b'", "sslpassword=x", any keyword ending in
// "password", in any case. A quoted value (single quotes as libpq reads them, double quotes too)
// runs to its closing quote, a backslash escaping the next character; a bare value runs to a
// blank (in a URI's query, to '&' or '#' as well; uri_ranges covers the rest of such a value).
void keyword_ranges(std::string_view text, std::vector<Range>& ranges)
{
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.size() - i < 8 || lower(text[i]) != 'p') {
      continue;
    }
    const std::size_t key_end = i + 8;
    if (!ends_with_password(text.substr(i, 8)) || (key_end < text.size() && is_word_char(text[key_end]))) {
      continue;
    }
    std::size_t key_begin = i;
    while (key_begin > 0 && is_word_char(text[key_begin - 1])) {
      --key_begin;
    }
    const bool in_query = key_begin > 0 && (text[key_begin - 1] == '?' || text[key_begin - 1] == '&');
    std::size_t p = key_end;
    while (p < text.size() && is_blank(text[p])) {
      ++p;
    }
    if (p >= text.size() || text[p] != '=') {
      continue;
    }
    ++p;
    while (p < text.size() && is_blank(text[p]) && !in_query) {
      ++p;
    }
    if (p >= text.size()) {
      continue;
    }
    if (text[p] == '\'' || text[p] == '"') {
      const char quote = text[p];
      const std::size_t begin = p + 1;
      std::size_t end = begin;
      while (end < text.size() && text[end] != quote) {
        end += text[end] == '\\' && end + 1 < text.size() ? 2 : 1;
      }
      end = std::min(end, text.size());
      if (end > begin) {
        ranges.emplace_back(begin, end);
      }
      i = end;
      continue;
    }
    const std::size_t begin = p;
    std::size_t end = begin;
    while (end < text.size() && !is_blank(text[end]) && !(in_query && (text[end] == '&' || text[end] == '#'))) {
      end += text[end] == '\\' && end + 1 < text.size() ? 2 : 1;
    }
    end = std::min(end, text.size());
    if (end > begin) {
      ranges.emplace_back(begin, end);
    }
    i = end == 0 ? 0 : end - 1;
  }
}

// Every credential of `text`, sorted, overlapping or touching ranges merged into one.
std::vector<Range> merged_ranges(std::string_view text)
{
  std::vector<Range> ranges;
  uri_ranges(text, ranges);
  keyword_ranges(text, ranges);
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> merged;
  for (const Range& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, range.second);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

} // namespace

std::string printable(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto decoded = decode_utf8(text.substr(i));
    if (!decoded) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
      ++i;
      continue;
    }
    const auto [code, length] = *decoded;
    if (is_active(code)) {
      append_escape(out, code);
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::string mask_credentials(std::string_view text)
{
  std::string out;
  std::size_t written = 0;
  for (const auto& [begin, end] : merged_ranges(text)) {
    out.append(text.substr(written, begin - written));
    out += "****";
    written = end;
  }
  out.append(text.substr(written));
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> credential_ranges(std::string_view text)
{
  return merged_ranges(text);
}

std::string user_text(std::string_view text)
{
  return printable(mask_credentials(text));
}

std::string user_text_part(std::string_view part, std::string_view whole)
{
  return merged_ranges(whole).empty() ? user_text(part) : user_text(whole);
}

std::string percent_decoded(std::string_view text)
{
  // uriparser's decoder, as DatabaseUrl reads a URL: '+' stays '+', a '%' without two hex
  // digits stays as written.
  std::string buffer{ text };
  const char* end = uriUnescapeInPlaceExA(buffer.data(), URI_FALSE, URI_BR_DONT_TOUCH);
  buffer.resize(static_cast<std::size_t>(end - buffer.data()));
  return buffer;
}

std::string compact_whitespace(std::string_view text)
{
  std::string out;
  bool blank = false;
  for (const char c : text) {
    if (is_blank(c)) {
      blank = !out.empty();
      continue;
    }
    if (blank) {
      out += ' ';
      blank = false;
    }
    out += c;
  }
  return out;
}

} // namespace poolcalc

// Fuzz target: database URLs and credential masking.
// Properties:
// - DatabaseUrl::parse never crashes; a parsed URL prints back to its input, and its masked form
//   parses again with "****" for the password and every password/sslpassword parameter;
// - mask_credentials hides a password whatever bytes it holds, in a URI's userinfo, in a query
//   parameter and in a libpq key/value setting, and keeps the text before it;
// - printable leaves no control character, nothing a terminal acts on, and is idempotent.

#include "fuzz_checks.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/safe_text.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using poolcalc::fuzz::check;

namespace {

// Splits `data` at 0x01 bytes into at most `count` pieces (the last takes the rest).
std::vector<std::string> pieces(std::string_view data, std::size_t count)
{
  std::vector<std::string> out;
  while (out.size() + 1 < count) {
    const std::size_t at = data.find('\x01');
    if (at == std::string_view::npos) {
      break;
    }
    out.emplace_back(data.substr(0, at));
    data.remove_prefix(at + 1);
  }
  out.emplace_back(data);
  out.resize(count);
  return out;
}

bool has(std::string_view text, std::string_view part)
{
  return text.find(part) != std::string_view::npos;
}

// Whether masked text still shows either marker of check_masking's password.
bool leaks(std::string_view masked)
{
  return has(masked, "Zq9START") || has(masked, "Zq9SECRET");
}

void check_parse(std::string_view text)
{
  const auto url = poolcalc::DatabaseUrl::parse(text);
  if (!url) {
    check(!url.error().empty(), "an error without a message");
    return;
  }
  check(url->to_string() == text, "to_string() does not give the parsed text back");
  const std::string masked = url->masked();
  const auto again = poolcalc::DatabaseUrl::parse(masked);
  check(again.has_value(), "the masked URL does not parse");
  if (url->has_password() && !url->password().empty()) {
    check(again->password() == "****", "the masked URL keeps a password");
  }
  for (const char* key : { "password", "sslpassword" }) {
    if (const auto value = again->param(key); value && !value->empty()) {
      check(*value == "****", "the masked URL keeps a password parameter");
    }
  }
}

void check_printable(std::string_view text)
{
  const std::string shown = poolcalc::printable(text);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const auto byte = static_cast<unsigned char>(shown[i]);
    check(byte >= 0x20 && byte != 0x7f, "printable() left a control byte");
    if (byte == 0xc2 && i + 1 < shown.size()) {
      const auto next = static_cast<unsigned char>(shown[i + 1]);
      check(next < 0x80 || next > 0x9f, "printable() left a C1 control");
    }
    if (byte == 0xe2 && i + 2 < shown.size()) {
      const std::string_view three = std::string_view(shown).substr(i, 3);
      for (const std::string_view bad : { "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xae", "\xe2\x80\xab", "\xe2\x81\xa6" }) {
        check(three != bad, "printable() left a separator or a bidirectional control");
      }
    }
  }
  check(poolcalc::printable(shown) == shown, "printable() is not idempotent");
}

// A password with markers at its start and end that no other part holds: whatever the fuzzer puts
// around and inside it, neither may survive masking.
void check_masking(const std::vector<std::string>& p)
{
  const std::string& user = p[0];
  const std::string password = "Zq9START" + p[1] + "Zq9SECRET";
  const std::string& host = p[2];
  const std::string& tail = p[3];
  if (has(user, ":") || has(user, "@") || has(user, "://") || has(user + host + tail, "Zq9")) {
    return;
  }
  // The userinfo: the password runs to the URI's last '@'.
  const std::string uri = "postgresql://" + user + ":" + password + "@" + host + tail;
  const std::string masked_uri = poolcalc::mask_credentials(uri);
  check(!leaks(masked_uri), "a userinfo password survived mask_credentials");
  // The user name is kept, unless it looks like a credential setting itself ("password=...", or
  // "&password=..." which reads as a parameter after "://").
  std::string lower_user = user;
  for (char& c : lower_user) {
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (!has(lower_user, "password") && !has(user, "?") && !has(user, "&")) {
    check(masked_uri.starts_with("postgresql://" + user + ":****"), "mask_credentials changed the text before the password");
  }
  // A query parameter (its value ends at '&' or '#').
  if (!has(password, "&") && !has(password, "#")) {
    const std::string query = "postgresql://" + user + "@h/db?sslmode=require&password=" + password + "&x=1";
    check(!leaks(poolcalc::mask_credentials(query)), "a password parameter survived mask_credentials");
  }
  // libpq key/value, quoted (quotes and backslashes escaped as libpq reads them) and bare.
  std::string escaped;
  for (const char c : password) {
    if (c == '\'' || c == '\\') {
      escaped += '\\';
    }
    escaped += c;
  }
  check(!leaks(poolcalc::mask_credentials("host=h password='" + escaped + "' dbname=x")),
        "a quoted key/value password survived mask_credentials");
  bool bare = true;
  for (const char c : password) {
    bare = bare && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '\'' && c != '"' && c != '\\';
  }
  if (bare) {
    check(!leaks(poolcalc::mask_credentials("host=h PassWord=" + password + " dbname=x")),
          "a bare key/value password survived mask_credentials");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_parse(text);
  check_printable(text);
  (void)poolcalc::mask_credentials(text);
  (void)poolcalc::mask_passwords(text);
  check_masking(pieces(text, 4));
  return 0;
}

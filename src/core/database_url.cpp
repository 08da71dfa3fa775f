#include "poolcalc/database_url.hpp"

#include "poolcalc/safe_text.hpp"

#include <algorithm>

#include <uriparser/Uri.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace poolcalc {

namespace {

constexpr std::string_view k_invalid_url = "not a valid URL (expected postgresql://user:password@host:port/database)";

std::string invalid_url_error()
{
  return std::string{ k_invalid_url };
}

// Owns the result of one uriparser parse and frees it. On failure, error_pos() is where
// uriparser stopped reading (the first byte it could not take).
class ParsedUri
{
public:
  explicit ParsedUri(std::string_view text)
  {
    if (text.empty()) {
      return;
    }
    const char* error_pos = nullptr;
    m_ok = uriParseSingleUriExA(&m_uri, text.data(), text.data() + text.size(), &error_pos) == URI_SUCCESS;
    m_error_pos = error_pos == nullptr ? 0 : static_cast<std::size_t>(error_pos - text.data());
  }

  ~ParsedUri()
  {
    if (m_ok) {
      uriFreeUriMembersA(&m_uri);
    }
  }

  ParsedUri(const ParsedUri&) = delete;
  ParsedUri& operator=(const ParsedUri&) = delete;

  bool ok() const { return m_ok; }
  const UriUriA& uri() const { return m_uri; }
  std::size_t error_pos() const { return m_error_pos; }

private:
  UriUriA m_uri{};
  bool m_ok = false;
  std::size_t m_error_pos = 0;
};

// The text of a uriparser range; empty for an absent component.
std::string range_text(const UriTextRangeA& range)
{
  if (range.first == nullptr || range.afterLast == nullptr) {
    return {};
  }
  return std::string(range.first, range.afterLast);
}

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

char to_lower_ascii(char c)
{
  if (c >= 'A' && c <= 'Z') {
    return static_cast<char>(c - 'A' + 'a');
  }
  return c;
}

bool iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) {
      return false;
    }
  }
  return true;
}

bool all_digits(std::string_view text)
{
  for (const char c : text) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

bool is_postgres_scheme(std::string_view scheme)
{
  return iequals(scheme, "postgresql") || iequals(scheme, "postgres");
}

std::string unsupported_scheme_error(std::string_view scheme)
{
  return "unsupported scheme '" + std::string{ scheme } + "' (expected postgresql:// or postgres://)";
}

bool has_control_char(std::string_view text)
{
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return true;
    }
  }
  return false;
}

// The error for a port that is not 1-65535. Falls back to the generic message when quoting the
// port would echo the password (or break the one-line message).
std::string invalid_port_error(std::string_view port, std::string_view password)
{
  if ((!password.empty() && port.find(password) != std::string_view::npos) || has_control_char(port)) {
    return invalid_url_error();
  }
  return "invalid port '" + std::string{ port } + "' (expected 1-65535)";
}

bool is_valid_port(std::string_view port)
{
  if (port.empty() || !all_digits(port)) {
    return false;
  }
  while (port.size() > 1 && port.front() == '0') {
    port.remove_prefix(1);
  }
  if (port.size() > 5) {
    return false;
  }
  unsigned value = 0;
  for (const char c : port) {
    value = value * 10U + static_cast<unsigned>(c - '0');
  }
  return value >= 1U && value <= 65535U;
}

// uriparser rejected `text` at `error_pos`. Asks it about the pieces that give a better message
// than the generic one, without ever quoting the userinfo: the scheme ("scheme://" alone), and
// a port it could not take (the text up to the port's ':', which it then reads with an empty
// port).
std::string diagnose_unparsable(std::string_view text, std::size_t error_pos)
{
  const std::size_t separator = text.find("://");
  if (separator == std::string_view::npos) {
    return invalid_url_error();
  }
  const ParsedUri head{ text.substr(0, separator + 3) };
  const std::string scheme = head.ok() ? range_text(head.uri().scheme) : std::string();
  if (scheme.size() != separator) {
    return invalid_url_error();
  }
  if (!is_postgres_scheme(scheme)) {
    return unsupported_scheme_error(scheme);
  }

  const std::size_t colon = error_pos == 0 ? std::string_view::npos : text.rfind(':', error_pos - 1);
  if (colon == std::string_view::npos || colon < separator + 3) {
    return invalid_url_error();
  }
  const std::string_view before_port = text.substr(0, colon + 1);
  const ParsedUri parsed{ before_port };
  if (!parsed.ok() || parsed.uri().portText.first != before_port.data() + before_port.size()) {
    return invalid_url_error();
  }
  const std::size_t authority_start = separator + 3;
  const std::size_t authority_end = std::min(text.find_first_of("/?#", colon + 1), text.size());
  const std::string_view authority = text.substr(authority_start, authority_end - authority_start);
  const std::string_view port = text.substr(colon + 1, authority_end - colon - 1);
  // An '@' further on means the userinfo itself holds a raw '/', '?' or '#' (a password that was
  // not percent-encoded), so what looks like the port is part of it; a ',' is a libpq multi-host
  // list (host1:5432,host2:5433), not supported; an empty or all-digit port is not the problem.
  if (text.find('@', colon) != std::string_view::npos || authority.find(',') != std::string_view::npos || port.empty() ||
      all_digits(port)) {
    return invalid_url_error();
  }
  std::string password;
  if (parsed.uri().userInfo.first != nullptr) {
    const std::string userinfo = range_text(parsed.uri().userInfo);
    if (const std::size_t at = userinfo.find(':'); at != std::string::npos) {
      password = userinfo.substr(at + 1);
    }
  }
  return invalid_port_error(port, password);
}

// Percent-encodes everything except the RFC 3986 unreserved characters (uriparser's
// uriEscapeExA, "%C3%A9"). uriEscapeExA ends at a NUL byte, so each one is written as %00 here.
std::string percent_encode(std::string_view text)
{
  std::string out;
  std::size_t start = 0;
  while (true) {
    const std::size_t nul = text.find('\0', start);
    const std::string_view piece = text.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start);
    if (!piece.empty()) {
      std::string escaped(piece.size() * 3 + 1, '\0');
      const char* end = uriEscapeExA(piece.data(), piece.data() + piece.size(), escaped.data(), URI_FALSE, URI_FALSE);
      out.append(escaped.data(), static_cast<std::size_t>(end - escaped.data()));
    }
    if (nul == std::string_view::npos) {
      return out;
    }
    out += "%00";
    start = nul + 1;
  }
}

// The raw query split on '&' (an empty query has no parameters).
std::vector<std::string> split_query(std::string_view query)
{
  std::vector<std::string> params;
  if (query.empty()) {
    return params;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) {
      params.emplace_back(query.substr(start));
      break;
    }
    params.emplace_back(query.substr(start, amp - start));
    start = amp + 1;
  }
  return params;
}

// The raw key of a "key=value" (or "key") parameter.
std::string_view raw_key(std::string_view param)
{
  return param.substr(0, param.find('='));
}

// A loopback address as uriparser reads it: 127.0.0.0/8 (a strict dotted quad), ::1 in any
// spelling, or an IPv4-mapped loopback (::ffff:127.x.x.x). `host` is decoded and unbracketed.
bool is_loopback_address(std::string_view host)
{
  // Nothing that would end the host in the probe (a port, a path, a userinfo).
  if (host.empty() || host.find_first_of("[]/?#@") != std::string_view::npos) {
    return false;
  }
  const bool ipv6 = host.find(':') != std::string_view::npos;
  const std::string probe = ipv6 ? "x://[" + std::string{ host } + "]" : "x://" + std::string{ host };
  const ParsedUri parsed{ probe };
  if (!parsed.ok()) {
    return false;
  }
  const UriHostDataA& data = parsed.uri().hostData;
  if (data.ip4 != nullptr) {
    return data.ip4->data[0] == 127;
  }
  if (data.ip6 == nullptr) {
    return false;
  }
  const auto& bytes = data.ip6->data;
  bool zero_prefix = true;
  for (std::size_t i = 0; i < 10; ++i) {
    zero_prefix = zero_prefix && bytes[i] == 0;
  }
  if (!zero_prefix) {
    return false;
  }
  bool loopback = bytes[10] == 0 && bytes[11] == 0 && bytes[12] == 0 && bytes[13] == 0 && bytes[14] == 0 && bytes[15] == 1;
  bool mapped = bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127;
  return loopback || mapped;
}

// `host` is decoded: a name, an address, or a Unix socket directory.
bool is_local_host(std::string_view host)
{
  if (host.empty() || host.front() == '/') {
    return true;
  }
  return iequals(host, "localhost") || is_loopback_address(host);
}

} // namespace

poolcalc::expected<DatabaseUrl, std::string> DatabaseUrl::parse(std::string_view text)
{
  if (text.empty()) {
    return poolcalc::unexpected(std::string{ "empty URL" });
  }
  const ParsedUri parsed{ text };
  if (!parsed.ok()) {
    return poolcalc::unexpected(diagnose_unparsable(text, parsed.error_pos()));
  }
  const UriUriA& uri = parsed.uri();

  // Only scheme "://" authority forms: "postgresql:/db" or "localhost:5432" are not URLs we take.
  const std::string scheme = range_text(uri.scheme);
  if (scheme.empty() || !text.substr(scheme.size()).starts_with("://") || uri.hostText.first == nullptr) {
    return poolcalc::unexpected(invalid_url_error());
  }
  if (!is_postgres_scheme(scheme)) {
    return poolcalc::unexpected(unsupported_scheme_error(scheme));
  }

  DatabaseUrl url;
  url.m_scheme = scheme;
  if (uri.userInfo.first != nullptr) {
    const std::string userinfo = range_text(uri.userInfo);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string::npos) {
      url.m_user = userinfo;
    } else {
      url.m_user = userinfo.substr(0, colon);
      url.m_password = userinfo.substr(colon + 1);
    }
  }
  url.m_host = range_text(uri.hostText);
  // "host1,host2" is a valid RFC 3986 name but a libpq multi-host list: not supported.
  if (url.m_host.find(',') != std::string::npos) {
    return poolcalc::unexpected(invalid_url_error());
  }
  url.m_ipv6 = uri.hostData.ip6 != nullptr || uri.hostData.ipFuture.first != nullptr;
  if (uri.portText.first != nullptr) {
    url.m_port = range_text(uri.portText);
    if (!is_valid_port(url.m_port)) {
      return poolcalc::unexpected(invalid_port_error(url.m_port, url.m_password.value_or("")));
    }
  }

  // The path runs from the end of the authority (the first '/', '?' or '#' after "://"; none
  // of them can occur inside a valid authority) to the query or fragment.
  const std::size_t authority_start = scheme.size() + 3;
  const std::size_t path_start = text.find_first_of("/?#", authority_start);
  if (path_start != std::string_view::npos) {
    const std::size_t path_end = text.find_first_of("?#", path_start);
    url.m_path =
      std::string{ text.substr(path_start, path_end == std::string_view::npos ? std::string_view::npos : path_end - path_start) };
  }
  if (uri.query.first != nullptr) {
    url.m_has_query = true;
    url.m_params = split_query(range_text(uri.query));
  }
  // A '#' after the authority: libpq has no fragments and reads it as part of the database name
  // or of a parameter's value (a password's, say), while Prisma's and node-postgres's URL parsers
  // end the URL there. The same text would mean two things; %23 means one.
  if (uri.fragment.first != nullptr) {
    return poolcalc::unexpected(std::string{ "a '#' after the host: libpq reads it as part of the database name or of a "
                                             "parameter's value, other clients as the end of the URL; write it as %23" });
  }

  // Invariant: the pieces rebuild the input exactly. Should uriparser ever report ranges this
  // code does not expect, refuse the URL rather than rewrite it.
  if (url.to_string() != text) {
    return poolcalc::unexpected(invalid_url_error());
  }
  return url;
}

std::string DatabaseUrl::to_string() const
{
  std::string out = m_scheme + "://";
  if (m_user.has_value()) {
    out += *m_user;
    if (m_password.has_value()) {
      out += ':';
      out += *m_password;
    }
    out += '@';
  }
  if (m_ipv6) {
    out += '[';
    out += m_host;
    out += ']';
  } else {
    out += m_host;
  }
  if (!m_port.empty()) {
    out += ':';
    out += m_port;
  }
  out += m_path;
  if (m_has_query) {
    out += '?';
    for (std::size_t i = 0; i < m_params.size(); ++i) {
      if (i > 0) {
        out += '&';
      }
      out += m_params[i];
    }
  }
  return out;
}

std::string DatabaseUrl::masked() const
{
  DatabaseUrl copy = *this;
  if (copy.m_password.has_value()) {
    copy.m_password = "****";
  }
  // libpq also takes the password as a query parameter (?password=...), and a client key's
  // passphrase as ?sslpassword=...
  for (std::string& piece : copy.m_params) {
    const std::string_view key = raw_key(piece);
    const std::string name = percent_decoded(key);
    if ((name == "password" || name == "sslpassword") && key.size() < piece.size()) {
      piece = std::string{ key } + "=****";
    }
  }
  return copy.to_string();
}

std::vector<std::string> DatabaseUrl::secrets() const
{
  std::vector<std::string> secrets;
  const auto add = [&](const std::string& value) {
    if (!value.empty() && std::find(secrets.begin(), secrets.end(), value) == secrets.end()) {
      secrets.push_back(value);
    }
  };
  if (m_password) {
    add(*m_password);
    add(percent_decoded(*m_password));
  }
  for (const std::string& piece : m_params) {
    const std::string_view key = raw_key(piece);
    const std::string name = percent_decoded(key);
    if ((name == "password" || name == "sslpassword") && key.size() < piece.size()) {
      const std::string raw = piece.substr(key.size() + 1);
      add(raw);
      add(percent_decoded(raw));
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  std::stable_sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return secrets;
}

std::string DatabaseUrl::user() const
{
  return m_user ? percent_decoded(*m_user) : std::string();
}

std::string DatabaseUrl::password() const
{
  return m_password ? percent_decoded(*m_password) : std::string();
}

std::string DatabaseUrl::database() const
{
  std::string_view path = m_path;
  if (path.starts_with('/')) {
    path.remove_prefix(1);
  }
  return percent_decoded(path);
}

bool DatabaseUrl::is_local() const
{
  // libpq connects to `hostaddr` when given, else to a `host` parameter, which overrides the
  // authority's host (libpq reads it after the authority).
  if (const std::optional<std::string> address = param("hostaddr"); address && !address->empty()) {
    return is_local_host(*address);
  }
  if (const std::optional<std::string> host_param = param("host")) {
    return is_local_host(*host_param);
  }
  return is_local_host(percent_decoded(m_host));
}

DatabaseUrl DatabaseUrl::with_param(std::string_view key, std::string_view value) const
{
  const std::string encoded_value = percent_encode(value);
  std::vector<std::string> params;
  params.reserve(m_params.size() + 1);
  bool found = false;
  for (const std::string& piece : m_params) {
    const std::string_view piece_key = raw_key(piece);
    if (percent_decoded(piece_key) != key) {
      params.push_back(piece);
      continue;
    }
    if (found) {
      continue; // a later duplicate: drop it
    }
    found = true;
    params.push_back(std::string{ piece_key } + "=" + encoded_value);
  }
  if (!found) {
    params.push_back(percent_encode(key) + "=" + encoded_value);
  }

  DatabaseUrl result = *this;
  result.m_params = std::move(params);
  result.m_has_query = true;
  return result;
}

void DatabaseUrl::erase_params(const std::function<bool(std::string_view)>& drop)
{
  std::erase_if(m_params, [&drop](const std::string& piece) { return drop(percent_decoded(raw_key(piece))); });
  if (m_params.empty()) {
    m_has_query = false;
  }
}

DatabaseUrl DatabaseUrl::without_param(std::string_view key) const
{
  DatabaseUrl result = *this;
  result.erase_params([key](std::string_view name) { return name == key; });
  return result;
}

DatabaseUrl DatabaseUrl::with_host(std::string_view host) const
{
  DatabaseUrl result = *this;
  result.m_ipv6 = host.find(':') != std::string_view::npos;
  result.m_host = std::string{ host };
  // A `host` parameter would override the authority: drop it, the new host is the one meant.
  result.erase_params([](std::string_view key) { return key == "host" || key == "hostaddr"; });
  return result;
}

DatabaseUrl DatabaseUrl::with_user(std::string_view user) const
{
  DatabaseUrl result = *this;
  const bool other_role = this->user() != user || param("user").has_value();
  if (other_role) {
    result.m_password.reset();
  }
  result.m_user = percent_encode(user);
  result.erase_params([other_role](std::string_view key) { return key == "user" || (other_role && key == "password"); });
  return result;
}

DatabaseUrl DatabaseUrl::with_database(std::string_view name) const
{
  DatabaseUrl result = *this;
  // Built aside and moved in: assigning a literal or "/" + ... to the copy's member makes g++ 12
  // at -O2 warn falsely (-Wrestrict).
  std::string path = percent_encode(name);
  path.insert(path.begin(), '/');
  result.m_path = std::move(path);
  result.erase_params([](std::string_view key) { return key == "dbname"; });
  return result;
}

DatabaseUrl DatabaseUrl::keep_params(const std::function<bool(std::string_view)>& keep) const
{
  DatabaseUrl result = *this;
  result.erase_params([&keep](std::string_view key) { return !keep(key); });
  return result;
}

std::vector<std::string> DatabaseUrl::param_keys() const
{
  std::vector<std::string> keys;
  for (const std::string& piece : m_params) {
    keys.push_back(percent_decoded(raw_key(piece)));
  }
  return keys;
}

DatabaseUrl DatabaseUrl::with_port(unsigned port) const
{
  DatabaseUrl result = *this;
  result.m_port = std::to_string(port);
  result.erase_params([](std::string_view key) { return key == "port"; });
  return result;
}

std::string DatabaseUrl::effective_host() const
{
  if (const std::optional<std::string> host = param("host")) {
    return *host;
  }
  return percent_decoded(m_host);
}

std::string DatabaseUrl::effective_port() const
{
  if (const std::optional<std::string> port = param("port")) {
    return *port;
  }
  return m_port;
}

std::optional<std::string> DatabaseUrl::param(std::string_view key) const
{
  for (const std::string& piece : m_params) {
    const std::string_view piece_view = piece;
    const std::string_view piece_key = raw_key(piece_view);
    if (percent_decoded(piece_key) != key) {
      continue;
    }
    if (piece_key.size() == piece_view.size()) {
      return std::string{}; // "key" without '='
    }
    return percent_decoded(piece_view.substr(piece_key.size() + 1));
  }
  return std::nullopt;
}

std::string mask_passwords(std::string_view text)
{
  std::string out(text);
  const auto is_end = [](char c) { return c == ' ' || c == '\'' || c == '"' || c == '\n' || c == '\t'; };
  // scheme://user:password@host: the password runs from the first ':' after "//" to the last '@'
  // before the end of the authority.
  for (std::size_t start = out.find("://"); start != std::string::npos; start = out.find("://", start + 3)) {
    const std::size_t authority = start + 3;
    std::size_t end = authority;
    while (end < out.size() && !is_end(out[end]) && out[end] != '/' && out[end] != '?' && out[end] != '#') {
      ++end;
    }
    const std::size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string::npos || at < authority) {
      continue;
    }
    const std::size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "****");
    }
  }
  // password=value in a query or a keyword/value string.
  for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
    const std::size_t value = at + 9;
    std::size_t end = value;
    while (end < out.size() && !is_end(out[end]) && out[end] != '&') {
      ++end;
    }
    if (end > value) {
      out.replace(value, end - value, "****");
    }
  }
  return out;
}

} // namespace poolcalc

#pragma once
// PostgreSQL connection URIs (postgresql://user:password@host:port/dbname?param=value).
//
// Parsing is done by uriparser (RFC 3986), not by string surgery: IPv6 hosts in brackets,
// percent-encoding and every query parameter survive a round trip byte for byte. Only the
// parameters poolcalc sets are touched.

#include "poolcalc/expected.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

class DatabaseUrl
{
public:
  // Parses `text` as a PostgreSQL connection URI: scheme `postgresql` or `postgres`
  // (case-insensitive), an optional userinfo, a host (name, IPv4, bracketed IPv6, or empty for
  // a Unix socket), an optional port (1-65535), an optional database path, an optional query.
  // Returns an error string if it is not one; the error never contains the password.
  static poolcalc::expected<DatabaseUrl, std::string> parse(std::string_view text);

  // The URL exactly as it would be written, password included. Only for the snippet the user
  // asked for (the .env output).
  std::string to_string() const;

  // The URL with the password replaced by "****" (no change when there is none), in the
  // userinfo and in `password` and `sslpassword` query parameters alike. Use this everywhere except the
  // snippet the user asked for.
  std::string masked() const;

  // Host as written, without IPv6 brackets and not percent-decoded; empty for a Unix socket.
  const std::string& host() const { return m_host; }
  // Port as written (empty when absent: libpq then uses 5432).
  const std::string& port() const { return m_port; }
  // Database name, percent-decoded; empty when absent.
  std::string database() const;
  bool has_password() const { return m_password.has_value(); }
  // User name and password, percent-decoded; empty when absent. The password only for a
  // snippet the user asked for (a JDBC properties file keeps them apart from the URL).
  std::string user() const;
  std::string password() const;

  // Every secret in the URL as written and decoded (the password, `password` and `sslpassword`
  // parameters), longest first: what must be scrubbed from a message that may quote the URL's
  // parts, such as libpq's ("forbidden value %00 in percent-encoded value: "...").
  std::vector<std::string> secrets() const;

  // True when the host is a loopback address or name (localhost, 127.0.0.0/8, ::1) or a Unix
  // socket (empty host, or a `host=` parameter that starts with '/').
  bool is_local() const;

  // Returns a copy with query parameter `key` set to `value` (`value` is percent-encoded where
  // RFC 3986 requires it). Keys are compared after percent-decoding. The first occurrence is
  // replaced in place, later occurrences of the same key are removed, and a missing key is
  // appended; every other parameter keeps its exact text and order.
  DatabaseUrl with_param(std::string_view key, std::string_view value) const;

  // Returns a copy without any query parameter named `key` (compared after percent-decoding);
  // every other parameter keeps its exact text and order.
  DatabaseUrl without_param(std::string_view key) const;

  // Returns a copy with the host replaced (an IPv6 address without brackets; they are added),
  // and any `host` or `hostaddr` query parameter removed (libpq would prefer them). Used to point
  // an application at PgBouncer.
  DatabaseUrl with_host(std::string_view host) const;

  // Where libpq connects: a `host` parameter overrides the authority's host; decoded. Empty
  // when neither is given (libpq then uses a local socket).
  std::string effective_host() const;

  // The port libpq uses: a `port` parameter overrides the authority's; empty when neither.
  std::string effective_port() const;

  // Returns a copy with the port replaced, and any `port` query parameter removed (used to point
  // an application at PgBouncer).
  DatabaseUrl with_port(unsigned port) const;

  // Returns a copy logging in as `user` (percent-encoded where RFC 3986 requires it) and any `user`
  // query parameter removed. The password is kept when `user` is the URL's user, dropped
  // otherwise (it belongs to the other role). Used to give each service of a fleet its own role.
  DatabaseUrl with_user(std::string_view user) const;

  // Returns a copy naming database `name` (percent-encoded where RFC 3986 requires it) and any
  // `dbname` query parameter removed. Used to point a service at its PgBouncer database entry.
  DatabaseUrl with_database(std::string_view name) const;

  // Returns a copy with only the query parameters whose decoded key `keep` accepts (used to hand
  // libpq a URL without another client's parameters, such as Prisma's connection_limit).
  DatabaseUrl keep_params(const std::function<bool(std::string_view)>& keep) const;

  // The decoded keys of the query parameters, in order.
  std::vector<std::string> param_keys() const;

  // Query parameters as written (raw, not decoded), in order.
  const std::vector<std::string>& raw_params() const { return m_params; }

  // The decoded value of the first parameter named `key`, if any.
  std::optional<std::string> param(std::string_view key) const;

private:
  // Drops every query parameter whose decoded key `drop` accepts; a query left empty loses its
  // '?' (no bare '?' is ever written).
  void erase_params(const std::function<bool(std::string_view)>& drop);

  std::string m_scheme;                  // as written
  std::optional<std::string> m_user;     // raw (percent-encoded as written)
  std::optional<std::string> m_password; // raw
  std::string m_host;                    // raw, without brackets
  bool m_ipv6 = false;                   // host was bracketed
  std::string m_port;                    // raw
  std::string m_path;                    // raw, including the leading '/', or empty
  std::vector<std::string> m_params;     // raw "key=value" (or "key") pieces of the query
  bool m_has_query = false;              // a '?' was present (possibly with an empty query)
};

// Masks every password that looks like one in free text, such as an error message quoting
// what the user typed: the userinfo password of anything "scheme://user:password@..." and the
// value of "password=...". Everything else is kept.
std::string mask_passwords(std::string_view text);

} // namespace poolcalc

#include <doctest/doctest.h>

#include "poolcalc/database_url.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

using poolcalc::DatabaseUrl;

namespace {

constexpr std::string_view k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

constexpr std::string_view k_invalid_url = "not a valid URL (expected postgresql://user:password@host:port/database)";

DatabaseUrl parse_ok(std::string_view text)
{
  auto parsed = DatabaseUrl::parse(text);
  INFO("url: " << std::string{ text });
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::string parse_error(std::string_view text)
{
  auto parsed = DatabaseUrl::parse(text);
  INFO("url: " << std::string{ text });
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

} // namespace

TEST_CASE("DatabaseUrl::parse")
{
  SUBCASE("splits a full URL into its parts")
  {
    const DatabaseUrl url = parse_ok("postgresql://app:s3cret@db.example.com:6543/orders?sslmode=require");
    CHECK(url.host() == "db.example.com");
    CHECK(url.port() == "6543");
    CHECK(url.database() == "orders");
    CHECK(url.has_password());
    CHECK(url.raw_params() == std::vector<std::string>{ "sslmode=require" });
  }

  SUBCASE("accepts both schemes in any case")
  {
    CHECK(DatabaseUrl::parse("postgresql://h/db").has_value());
    CHECK(DatabaseUrl::parse("postgres://h/db").has_value());
    CHECK(DatabaseUrl::parse("PostgreSQL://h/db").has_value());
    CHECK(DatabaseUrl::parse("POSTGRES://h/db").has_value());
  }

  SUBCASE("keeps an IPv6 host without its brackets")
  {
    const DatabaseUrl url = parse_ok("postgresql://u:p@[::1]:5432/db");
    CHECK(url.host() == "::1");
    CHECK(url.port() == "5432");
  }

  SUBCASE("leaves the port empty when absent")
  {
    CHECK(parse_ok("postgresql://u:p@host/db").port().empty());
  }

  SUBCASE("accepts the port range edges")
  {
    CHECK(parse_ok("postgresql://h:1/db").port() == "1");
    CHECK(parse_ok("postgresql://h:65535/db").port() == "65535");
  }

  SUBCASE("accepts a Unix socket URL with an empty host")
  {
    const DatabaseUrl url = parse_ok("postgresql:///db?host=/var/run/postgresql");
    CHECK(url.host().empty());
    CHECK(url.database() == "db");
  }

  SUBCASE("accepts a bare scheme and authority")
  {
    const DatabaseUrl url = parse_ok("postgresql://");
    CHECK(url.host().empty());
    CHECK(url.database().empty());
    CHECK_FALSE(url.has_password());
  }

  SUBCASE("knows whether there is a password")
  {
    CHECK_FALSE(parse_ok("postgresql://user@host/db").has_password());
    CHECK(parse_ok("postgresql://user:@host/db").has_password());
    CHECK(parse_ok("postgresql://user:pw@host/db").has_password());
  }

  SUBCASE("accepts a percent-encoded at sign in the password")
  {
    const DatabaseUrl url = parse_ok("postgresql://u:p%40ss@host:5432/db");
    CHECK(url.host() == "host");
    CHECK(url.port() == "5432");
    CHECK(url.has_password());
  }

  SUBCASE("keeps every raw parameter in order, empty pieces included")
  {
    const DatabaseUrl url = parse_ok("postgresql://h/db?a=1&&b=%2F&c");
    CHECK(url.raw_params() == std::vector<std::string>{ "a=1", "", "b=%2F", "c" });
  }

  SUBCASE("has no parameters for an empty query")
  {
    CHECK(parse_ok("postgresql://h/db?").raw_params().empty());
  }
}

TEST_CASE("DatabaseUrl::parse errors")
{
  SUBCASE("empty string")
  {
    CHECK(parse_error("") == "empty URL");
  }

  SUBCASE("not a URL at all")
  {
    CHECK(parse_error("hello world") == k_invalid_url);
    CHECK(parse_error("just-some-text") == k_invalid_url);
    CHECK(parse_error("   ") == k_invalid_url);
  }

  SUBCASE("host and port without a scheme")
  {
    CHECK(parse_error("localhost:5432") == k_invalid_url);
    CHECK(parse_error("user:password@host/db") == k_invalid_url);
  }

  SUBCASE("scheme without an authority")
  {
    CHECK(parse_error("postgresql:/db") == k_invalid_url);
    CHECK(parse_error("postgresql:db") == k_invalid_url);
  }

  SUBCASE("multi-host URI")
  {
    CHECK(parse_error("postgresql://host1:5432,host2:5433/db") == k_invalid_url);
    CHECK(parse_error("postgresql://u@h1,h2:54x2/db") == k_invalid_url); // not "invalid port '54x2'"
    CHECK(parse_error("postgresql://u:p@host1,host2/db") == k_invalid_url);
  }

  SUBCASE("bad percent-encoding")
  {
    CHECK(parse_error("postgresql://h/a%zz") == k_invalid_url);
  }

  SUBCASE("unsupported scheme")
  {
    CHECK(parse_error("mysql://u:p@host:3306/db") == "unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
    CHECK(parse_error("postgresqlx://h/db") == "unsupported scheme 'postgresqlx' (expected postgresql:// or postgres://)");
    CHECK(parse_error("http://example.com") == "unsupported scheme 'http' (expected postgresql:// or postgres://)");
  }

  SUBCASE("unsupported scheme in a URL uriparser rejects")
  {
    CHECK(parse_error("mysql://h1:1,h2:2/db") == "unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
    CHECK(parse_error("mysql://u:p@h:abc/db") == "unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
    CHECK(parse_error("mysql://[::1") == "unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
    CHECK(parse_error("my_sql://h:abc/db") == k_invalid_url);
  }

  SUBCASE("port out of range")
  {
    CHECK(parse_error("postgresql://u:p@host:99999/db") == "invalid port '99999' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:65536/db") == "invalid port '65536' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:0/db") == "invalid port '0' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:00000/db") == "invalid port '00000' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:123456789012345678901234567890/db") ==
          "invalid port '123456789012345678901234567890' (expected 1-65535)");
  }

  SUBCASE("empty port after a colon")
  {
    CHECK(parse_error("postgresql://host:/db") == "invalid port '' (expected 1-65535)");
  }

  SUBCASE("non-numeric port")
  {
    CHECK(parse_error("postgresql://u:p@host:abc/db") == "invalid port 'abc' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:5x?sslmode=require") == "invalid port '5x' (expected 1-65535)");
    CHECK(parse_error("postgresql://[::1") == k_invalid_url);
    CHECK(parse_error("postgresql://[::1]:54x2/db") == "invalid port '54x2' (expected 1-65535)");
    CHECK(parse_error("postgresql://host:-1") == "invalid port '-1' (expected 1-65535)");
  }
}

TEST_CASE("DatabaseUrl::parse never leaks the password")
{
  SUBCASE("port out of range")
  {
    const std::string error = parse_error("postgresql://u:secret@host:99999/db");
    CHECK(error == "invalid port '99999' (expected 1-65535)");
    CHECK(error.find("secret") == std::string::npos);
  }

  SUBCASE("non-numeric port")
  {
    const std::string error = parse_error("postgresql://u:secret@host:abc/db");
    CHECK(error == "invalid port 'abc' (expected 1-65535)");
    CHECK(error.find("secret") == std::string::npos);
  }

  SUBCASE("a '#' after the host")
  {
    // libpq sends "QQa#QQbQQc" as the password (it has no fragments); URL parsers such as
    // Prisma's end the URL at the '#'. Once masked up to the '#' only, "QQbQQc" was shown.
    const std::string message =
      "a '#' after the host: libpq reads it as part of the database name or of a parameter's value, other clients as the end of "
      "the URL; write it as %23";
    for (const std::string_view text : { "postgresql://u@h/chat?password=QQa#QQbQQc",
                                         "postgresql://u@h/chat#?password=QQaFRAG",
                                         "postgresql://u:p@h/db#frag",
                                         "postgresql://h/db?#" }) {
      CAPTURE(text);
      CHECK(parse_error(text) == message);
    }
    // Encoded, it is one character of the value, the same for every client.
    CHECK(parse_ok("postgresql://u@h/chat?password=QQa%23QQb").param("password") == "QQa#QQb");
  }

  SUBCASE("unencoded slash in the password")
  {
    // Naively the authority would end at the '/', making "sec" look like the port.
    const std::string error = parse_error("postgresql://u:sec/ret@host/db");
    CHECK(error == k_invalid_url);
    CHECK(error.find("sec") == std::string::npos);
  }

  SUBCASE("unencoded at sign in the password")
  {
    const std::string error = parse_error("postgresql://u:top@secret@host/db");
    CHECK(error == k_invalid_url);
    CHECK(error.find("secret") == std::string::npos);
  }

  SUBCASE("password equal to the bad port")
  {
    CHECK(parse_error("postgresql://u:99999@host:99999/db") == k_invalid_url);
    CHECK(parse_error("postgresql://u:abc@host:abc/db") == k_invalid_url);
  }

  SUBCASE("wrong scheme")
  {
    const std::string error = parse_error("mysql://u:secret@host/db");
    CHECK(error.find("secret") == std::string::npos);
  }

  SUBCASE("multi-host")
  {
    const std::string error = parse_error("postgresql://u:secret@h1:5432,h2:5433/db");
    CHECK(error.find("secret") == std::string::npos);
  }
}

TEST_CASE("DatabaseUrl::to_string")
{
  SUBCASE("reproduces the input byte for byte")
  {
    const std::array urls = {
      k_seed_url,
      std::string_view{ "postgresql://u:p@[::1]:5432/db" },
      std::string_view{ "postgresql://u:p%40ss@[2001:db8::1]/db?sslmode=require&application_name=my%20app" },
      std::string_view{ "postgresql:///db?host=/var/run/postgresql" },
      std::string_view{ "postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql" },
      std::string_view{ "postgresql://host:5432/db" },
      std::string_view{ "postgresql://user@host/db" },
      std::string_view{ "postgresql://user:@host/db" },
      std::string_view{ "postgresql://:pw@host/db" },
      std::string_view{ "postgresql://@host/db" },
      std::string_view{ "postgresql://u:p@host/db" },
      std::string_view{ "postgresql://u:p@host" },
      std::string_view{ "postgresql://u:p@host:5432" },
      std::string_view{ "postgresql://host/" },
      std::string_view{ "postgresql://host?sslmode=disable" },
      std::string_view{ "postgresql://host/db?" },
      std::string_view{ "postgresql://host/db?a=1&" },
      std::string_view{ "postgresql://host/db?a=1&&b=2" },
      std::string_view{ "postgresql://host/db?flag&x=%41%2f+y" },
      std::string_view{ "postgresql://" },
      std::string_view{ "postgresql:///" },
      std::string_view{ "POSTGRES://Host.Example.COM:05432/My%20DB" },
      std::string_view{ "postgresql://u:p@127.0.0.1:5432/db" },
      std::string_view{ "postgresql://%2Fvar%2Frun%2Fpostgresql/db" },
      std::string_view{ "postgresql://u:p@[::ffff:10.0.0.1]/db" },
      std::string_view{ "postgresql://u:p@[v1.fe]/db" },
      std::string_view{ "postgresql://h/a/b;c=d/e" },
      std::string_view{ "postgresql://u%3Ax:p%3Ay@h/db" },
      std::string_view{ "postgresql://u:pa:ss@h/db" },
    };
    for (const std::string_view text : urls) {
      INFO("url: " << std::string{ text });
      CHECK(parse_ok(text).to_string() == text);
    }
  }
}

TEST_CASE("DatabaseUrl::secrets")
{
  // As written and decoded, once each, longest first (ties in URL order), for scrubbing messages
  // that quote them.
  CHECK(parse_ok("postgresql://u:p%40ss@h/db?password=two&sslpassword=k%20ey").secrets() ==
        std::vector<std::string>{ "p%40ss", "k%20ey", "p@ss", "k ey", "two" });
  CHECK(parse_ok("postgresql://u@h/db").secrets().empty());
}

TEST_CASE("DatabaseUrl::masked")
{
  SUBCASE("a client key's passphrase (libpq's sslpassword) is a secret too")
  {
    CHECK(parse_ok("postgresql://u@h/db?sslmode=verify-full&sslpassword=KeyPass123").masked() ==
          "postgresql://u@h/db?sslmode=verify-full&sslpassword=****");
  }
  SUBCASE("replaces the password")
  {
    CHECK(parse_ok(k_seed_url).masked() == "postgresql://postgres:****@localhost:5432/chat_backend_db");
  }

  SUBCASE("masks a percent-encoded password in an IPv6 URL and keeps the rest")
  {
    const std::string_view text = "postgresql://u:p%40ss@[2001:db8::1]/db?sslmode=require&application_name=my%20app";
    CHECK(parse_ok(text).masked() == "postgresql://u:****@[2001:db8::1]/db?sslmode=require&application_name=my%20app");
  }

  SUBCASE("masks an empty password")
  {
    CHECK(parse_ok("postgresql://user:@host/db").masked() == "postgresql://user:****@host/db");
  }

  SUBCASE("masks a password without a user")
  {
    CHECK(parse_ok("postgresql://:pw@host/db").masked() == "postgresql://:****@host/db");
  }

  SUBCASE("masks everything after the first colon of the userinfo")
  {
    CHECK(parse_ok("postgresql://u:pa:ss@h/db").masked() == "postgresql://u:****@h/db");
  }

  SUBCASE("leaves a URL without a password unchanged")
  {
    CHECK(parse_ok("postgresql://user@host/db").masked() == "postgresql://user@host/db");
    CHECK(parse_ok("postgresql:///db?host=/tmp").masked() == "postgresql:///db?host=/tmp");
  }

  SUBCASE("masks a password query parameter (libpq reads it) but not look-alikes")
  {
    CHECK(parse_ok("postgresql://u:p@h/db?password=x").masked() == "postgresql://u:****@h/db?password=****");
    CHECK(parse_ok("postgresql://u@h/db?passwordx=1&password").masked() == "postgresql://u@h/db?passwordx=1&password");
  }
}

TEST_CASE("DatabaseUrl::database")
{
  SUBCASE("strips the leading slash")
  {
    CHECK(parse_ok(k_seed_url).database() == "chat_backend_db");
  }

  SUBCASE("percent-decodes")
  {
    CHECK(parse_ok("postgresql://h/my%20db").database() == "my db");
    CHECK(parse_ok("postgresql://h/a+b").database() == "a+b");
  }

  SUBCASE("is empty without a path")
  {
    CHECK(parse_ok("postgresql://h").database().empty());
    CHECK(parse_ok("postgresql://h/").database().empty());
    CHECK(parse_ok("postgresql://h?x=1").database().empty());
  }
}

TEST_CASE("DatabaseUrl::param")
{
  const DatabaseUrl url = parse_ok("postgresql://h/db?application_name=my%20app&flag&a%5Fb=1&x=a+b&x=second");

  SUBCASE("decodes the value")
  {
    CHECK(url.param("application_name") == "my app");
  }

  SUBCASE("decodes the key")
  {
    CHECK(url.param("a_b") == "1");
  }

  SUBCASE("keeps a plus sign literal")
  {
    CHECK(url.param("x") == "a+b");
  }

  SUBCASE("returns the first occurrence")
  {
    CHECK(url.param("x") == "a+b");
  }

  SUBCASE("gives an empty value for a key without '='")
  {
    CHECK(url.param("flag") == "");
  }

  SUBCASE("is empty for a missing key")
  {
    CHECK_FALSE(url.param("sslmode").has_value());
    CHECK_FALSE(parse_ok("postgresql://h/db").param("sslmode").has_value());
  }
}

TEST_CASE("DatabaseUrl::with_param")
{
  SUBCASE("appends the pool settings to the seed URL")
  {
    const DatabaseUrl url =
      parse_ok(k_seed_url).with_param("connection_limit", "50").with_param("pool_timeout", "30").with_param("connect_timeout", "10");
    CHECK(url.to_string() == "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db"
                             "?connection_limit=50&pool_timeout=30&connect_timeout=10");
  }

  SUBCASE("replaces an existing connection_limit and keeps the other parameters")
  {
    // seed: src/config/database.ts skips when connection_limit is present, which dropped every
    // other setting too; here connection_limit is replaced and the rest is added.
    const DatabaseUrl url = parse_ok(std::string{ k_seed_url } + "?connection_limit=10&sslmode=require")
                              .with_param("connection_limit", "50")
                              .with_param("pool_timeout", "30");
    CHECK(url.to_string() == "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db"
                             "?connection_limit=50&sslmode=require&pool_timeout=30");
  }

  SUBCASE("replaces a parameter in the middle in place")
  {
    CHECK(parse_ok("postgresql://h/db?sslmode=require&connection_limit=10&application_name=x")
            .with_param("connection_limit", "50")
            .to_string() == "postgresql://h/db?sslmode=require&connection_limit=50&application_name=x");
  }

  SUBCASE("removes later duplicates")
  {
    const std::string_view text = "postgresql://h/db?connection_limit=1&a=b&connection_limit=2&c=d&connection_limit=3";
    CHECK(parse_ok(text).with_param("connection_limit", "50").to_string() == "postgresql://h/db?connection_limit=50&a=b&c=d");
  }

  SUBCASE("replaces a key written without '='")
  {
    CHECK(parse_ok("postgresql://h/db?connection_limit&a=b").with_param("connection_limit", "5").to_string() ==
          "postgresql://h/db?connection_limit=5&a=b");
  }

  SUBCASE("matches a percent-encoded key and keeps it as written")
  {
    CHECK(parse_ok("postgresql://h/db?connection%5Flimit=10").with_param("connection_limit", "50").to_string() ==
          "postgresql://h/db?connection%5Flimit=50");
  }

  SUBCASE("treats a plus sign in a key literally")
  {
    CHECK(parse_ok("postgresql://h/db?a+b=1").with_param("a b", "2").to_string() == "postgresql://h/db?a+b=1&a%20b=2");
    CHECK(parse_ok("postgresql://h/db?a+b=1").with_param("a+b", "2").to_string() == "postgresql://h/db?a+b=2");
  }

  SUBCASE("appends to a URL without a query")
  {
    CHECK(parse_ok("postgresql://h/db").with_param("sslmode", "require").to_string() == "postgresql://h/db?sslmode=require");
    CHECK(parse_ok("postgresql://h").with_param("sslmode", "require").to_string() == "postgresql://h?sslmode=require");
  }

  SUBCASE("appends to an empty query without a leading '&'")
  {
    CHECK(parse_ok("postgresql://h/db?").with_param("sslmode", "require").to_string() == "postgresql://h/db?sslmode=require");
  }

  SUBCASE("preserves the encoding of other parameters")
  {
    const std::string_view text = "postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql&application_name=my%20app&opt=a+b";
    CHECK(parse_ok(text).with_param("connection_limit", "5").to_string() ==
          "postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql&application_name=my%20app&opt=a+b"
          "&connection_limit=5");
  }

  SUBCASE("percent-encodes the value")
  {
    const DatabaseUrl url = parse_ok("postgresql://h/db").with_param("options", "a b&c=d/e+f~g_h-i.j");
    CHECK(url.to_string() == "postgresql://h/db?options=a%20b%26c%3Dd%2Fe%2Bf~g_h-i.j");
    CHECK(url.param("options") == "a b&c=d/e+f~g_h-i.j");
  }

  SUBCASE("percent-encodes non-ASCII bytes")
  {
    CHECK(parse_ok("postgresql://h/db").with_param("application_name", "caf\xc3\xa9").to_string() ==
          "postgresql://h/db?application_name=caf%C3%A9");
  }

  SUBCASE("percent-encodes control bytes, a NUL byte included")
  {
    // uriparser's uriEscapeExA stops at a NUL byte; the value goes on after it, as %00.
    const DatabaseUrl url = parse_ok("postgresql://h/db").with_param("application_name", std::string("a\0b\n\x7f", 5));
    CHECK(url.to_string() == "postgresql://h/db?application_name=a%00b%0A%7F");
    CHECK(url.param("application_name") == std::string("a\0b\n\x7f", 5));
    CHECK(parse_ok("postgresql://h/db").with_database(std::string("\0\0", 2)).to_string() == "postgresql://h/%00%00");
  }

  SUBCASE("sets an empty value")
  {
    CHECK(parse_ok("postgresql://h/db?a=1").with_param("a", "").to_string() == "postgresql://h/db?a=");
  }

  SUBCASE("keeps empty pieces of the query")
  {
    CHECK(parse_ok("postgresql://h/db?a=1&&b=2").with_param("b", "3").to_string() == "postgresql://h/db?a=1&&b=3");
  }

  SUBCASE("leaves the original unchanged")
  {
    const DatabaseUrl url = parse_ok(k_seed_url);
    [[maybe_unused]] const DatabaseUrl changed = url.with_param("connection_limit", "50");
    CHECK(url.to_string() == k_seed_url);
  }

  SUBCASE("round-trips through parse")
  {
    const DatabaseUrl url =
      parse_ok("postgresql://u:p%40ss@[2001:db8::1]/db?sslmode=require").with_param("application_name", "my app & co");
    CHECK(parse_ok(url.to_string()).param("application_name") == "my app & co");
  }
}

TEST_CASE("DatabaseUrl::with_port")
{
  SUBCASE("replaces the port of the seed URL")
  {
    CHECK(parse_ok(k_seed_url).with_port(6432).to_string() == "postgresql://postgres:postgrespassword@localhost:6432/chat_backend_db");
  }

  SUBCASE("adds a missing port")
  {
    CHECK(parse_ok("postgresql://u:p@host/db?a=1").with_port(6432).to_string() == "postgresql://u:p@host:6432/db?a=1");
    CHECK(parse_ok("postgresql://host").with_port(6432).to_string() == "postgresql://host:6432");
  }

  SUBCASE("keeps an IPv6 host bracketed")
  {
    const DatabaseUrl url = parse_ok("postgresql://u:p@[::1]:5432/db").with_port(6432);
    CHECK(url.to_string() == "postgresql://u:p@[::1]:6432/db");
    CHECK(url.host() == "::1");
    CHECK(url.port() == "6432");
  }

  SUBCASE("works with an empty host")
  {
    CHECK(parse_ok("postgresql:///db?host=/tmp").with_port(6432).to_string() == "postgresql://:6432/db?host=/tmp");
  }

  SUBCASE("keeps the masking")
  {
    CHECK(parse_ok(k_seed_url).with_port(6432).masked() == "postgresql://postgres:****@localhost:6432/chat_backend_db");
  }
}

TEST_CASE("DatabaseUrl::is_local")
{
  auto local = [](std::string_view text) { return parse_ok(text).is_local(); };

  SUBCASE("localhost in any case")
  {
    CHECK(local(k_seed_url));
    CHECK(local("postgresql://LocalHost/db"));
  }

  SUBCASE("127.0.0.0/8")
  {
    CHECK(local("postgresql://127.0.0.1/db"));
    CHECK(local("postgresql://u:p@127.0.0.1:5432/db"));
    CHECK(local("postgresql://127.1.2.3/db"));
    CHECK(local("postgresql://127.255.255.255/db"));
  }

  SUBCASE("IPv6 loopback in its spellings")
  {
    CHECK(local("postgresql://[::1]/db"));
    CHECK(local("postgresql://u:p@[::1]:5432/db"));
    CHECK(local("postgresql://[0:0:0:0:0:0:0:1]/db"));
    CHECK(local("postgresql://[0000:0000:0000:0000:0000:0000:0000:0001]/db"));
    CHECK(local("postgresql://[::ffff:127.0.0.1]/db"));
  }

  SUBCASE("Unix socket")
  {
    CHECK(local("postgresql:///db"));
    CHECK(local("postgresql://"));
    CHECK(local("postgresql:///db?host=/var/run/postgresql"));
    CHECK(local("postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql"));
    CHECK(local("postgresql://%2Fvar%2Frun%2Fpostgresql/db"));
  }

  SUBCASE("host parameter overrides the authority")
  {
    CHECK_FALSE(local("postgresql:///db?host=db.example.com"));
    CHECK(local("postgresql://db.example.com/db?host=/tmp"));
    CHECK(local("postgresql://db.example.com/db?host=localhost"));
    CHECK_FALSE(local("postgresql://localhost/db?host=10.0.0.5"));
  }

  SUBCASE("remote hosts")
  {
    CHECK_FALSE(local("postgresql://db.example.com/db"));
    CHECK_FALSE(local("postgresql://10.0.0.5:5432/db"));
    CHECK_FALSE(local("postgresql://128.0.0.1/db"));
    CHECK_FALSE(local("postgresql://127.0.0.1.example.com/db"));
    CHECK_FALSE(local("postgresql://localhost.example.com/db"));
    CHECK_FALSE(local("postgresql://[2001:db8::1]/db"));
    CHECK_FALSE(local("postgresql://[::2]/db"));
    CHECK_FALSE(local("postgresql://[::]/db"));
    CHECK_FALSE(local("postgresql://[::ffff:10.0.0.1]/db"));
    CHECK_FALSE(local("postgresql://[v1.fe]/db"));
    CHECK_FALSE(local("postgresql://0.0.0.0/db"));
  }
}

TEST_CASE("DatabaseUrl::masked hides a password query parameter too")
{
  const auto url = DatabaseUrl::parse("postgresql://app@db/chat?sslmode=require&password=hunter2&pass%77ord=x");
  REQUIRE(url.has_value());
  CHECK(url->masked() == "postgresql://app@db/chat?sslmode=require&password=****&pass%77ord=****");
}

TEST_CASE("DatabaseUrl::with_host")
{
  const auto url = DatabaseUrl::parse("postgresql://u:p@db.example.com:5432/chat?host=/tmp&sslmode=require");
  REQUIRE(url.has_value());
  CHECK(url->with_host("127.0.0.1").with_port(6432).to_string() == "postgresql://u:p@127.0.0.1:6432/chat?sslmode=require");
  CHECK(url->with_host("::1").to_string() == "postgresql://u:p@[::1]:5432/chat?sslmode=require");
  // The only parameter gone, the '?' goes too (with_host and with_port once left "chat?").
  CHECK(parse_ok("postgresql://u@db/chat?host=other").with_host("h").to_string() == "postgresql://u@h/chat");
  CHECK(parse_ok("postgresql://u@db/chat?hostaddr=10.0.0.1").with_host("h").to_string() == "postgresql://u@h/chat");
  CHECK(parse_ok("postgresql://u@db/chat?port=6432").with_port(5432).to_string() == "postgresql://u@db:5432/chat");
  CHECK(parse_ok("postgresql://u@db/chat?a=1").without_param("a").to_string() == "postgresql://u@db/chat");
  CHECK(parse_ok("postgresql://u@db/chat?a=1").keep_params([](std::string_view) { return false; }).to_string() == "postgresql://u@db/chat");
}

TEST_CASE("DatabaseUrl::with_user and with_database")
{
  const DatabaseUrl url = parse_ok("postgresql://postgres:pw@db:5432/chat?sslmode=require&user=other&password=pw2&dbname=x");
  // Another role: its password is not the URL's, so both password forms go; the user and dbname
  // parameters would override the new values and go too.
  CHECK(url.with_user("worker").to_string() == "postgresql://worker@db:5432/chat?sslmode=require&dbname=x");
  CHECK(url.with_database("chat_session").to_string() ==
        "postgresql://postgres:pw@db:5432/chat_session?sslmode=require&user=other&password=pw2");
  // The URL's own user keeps its password.
  const DatabaseUrl plain = parse_ok("postgresql://postgres:pw@db/chat");
  CHECK(plain.with_user("postgres").to_string() == "postgresql://postgres:pw@db/chat");
  CHECK(plain.with_user("app").with_database("d").to_string() == "postgresql://app@db/d");
  // Percent-encoded where RFC 3986 requires it, decoded back by user() and database().
  const DatabaseUrl odd = plain.with_user("a b").with_database("c/d");
  CHECK(odd.to_string() == "postgresql://a%20b@db/c%2Fd");
  CHECK(odd.user() == "a b");
  CHECK(odd.database() == "c/d");
  // No bare '?' left behind when the only parameter goes.
  CHECK(parse_ok("postgresql://u@db/chat?dbname=x").with_database("y").to_string() == "postgresql://u@db/y");
}

TEST_CASE("DatabaseUrl: where libpq really connects")
{
  const auto url = DatabaseUrl::parse("postgresql://u:p@db.example.com/app?port=5433&hostaddr=10.0.0.5&sslmode=require");
  REQUIRE(url.has_value());
  CHECK(url->effective_port() == "5433");
  CHECK(url->effective_host() == "db.example.com");
  CHECK_FALSE(url->is_local()); // hostaddr 10.0.0.5
  // Pointing at PgBouncer drops the parameters libpq would prefer over the new address.
  CHECK(url->with_host("127.0.0.1").with_port(6432).to_string() == "postgresql://u:p@127.0.0.1:6432/app?sslmode=require");
  const auto local = DatabaseUrl::parse("postgresql://u@localhost/db?hostaddr=10.1.2.3");
  CHECK_FALSE(local->is_local());
}

TEST_CASE("mask_passwords")
{
  CHECK(poolcalc::mask_passwords("got 'postgresql://app:S3CRET@h/db' and x") == "got 'postgresql://app:****@h/db' and x");
  CHECK(poolcalc::mask_passwords("postgresql://u@h/db?sslmode=require&password=S3CRET&x=1") ==
        "postgresql://u@h/db?sslmode=require&password=****&x=1");
  CHECK(poolcalc::mask_passwords("no secret: postgresql://u@h/db") == "no secret: postgresql://u@h/db");
  CHECK(poolcalc::mask_passwords("a:b@c without a scheme") == "a:b@c without a scheme");
}

#include <doctest/doctest.h>

#include "poolcalc/safe_text.hpp"

#include <string>
#include <string_view>
#include <vector>

using poolcalc::mask_credentials;
using poolcalc::printable;
using poolcalc::user_text;

TEST_CASE("printable")
{
  SUBCASE("keeps ordinary text, UTF-8 and backslashes as they are")
  {
    CHECK(printable("chat-api 120 VUs") == "chat-api 120 VUs");
    CHECK(printable("caf\xc3\xa9 \xe2\x89\xa4 50 \xf0\x9f\x90\x98") == "caf\xc3\xa9 \xe2\x89\xa4 50 \xf0\x9f\x90\x98");
    CHECK(printable("C:\\dir\\x1b") == "C:\\dir\\x1b");
  }
  SUBCASE("escapes the C0 controls and DEL")
  {
    CHECK(printable("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(printable("\x1b]0;pwned\x07") == "\\e]0;pwned\\x07");
    CHECK(printable("\x1b[2J") == "\\e[2J");
    CHECK(printable(std::string_view("a\0b", 3)) == "a\\x00b");
    CHECK(printable("\x7f") == "\\x7f");
  }
  SUBCASE("escapes C1 controls, line separators and bidirectional controls")
  {
    CHECK(printable("\xc2\x9b"
                    "31m") == "\\u{009b}31m"); // CSI as a code point
    CHECK(printable("a\xe2\x80\xa8"
                    "b") == "a\\u{2028}b");
    CHECK(printable("x\xe2\x80\xae"
                    "y") == "x\\u{202e}y");
    CHECK(printable("\xe2\x81\xa6") == "\\u{2066}");
  }
  SUBCASE("escapes every byte that is not well-formed UTF-8")
  {
    CHECK(printable("\x9b"
                    "31m") == "\\x9b31m");                          // a lone C1 byte
    CHECK(printable("\xc3") == "\\xc3");                            // truncated
    CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                   // overlong '/'
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");          // a surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // above U+10FFFF
  }
  SUBCASE("is idempotent")
  {
    const std::string once = printable("\x1b[1m\xff\n\xc2\x85");
    CHECK(printable(once) == once);
  }
}

TEST_CASE("mask_credentials")
{
  SUBCASE("a URI's password, whatever bytes it holds")
  {
    CHECK(mask_credentials("postgresql://app:Zq9'x@db.example.com/chat") == "postgresql://app:****@db.example.com/chat");
    CHECK(mask_credentials("postgresql://app:Zq9/x@db.example.com/chat") == "postgresql://app:****@db.example.com/chat");
    CHECK(mask_credentials("postgresql://app:Zq9 x@db.example.com/chat") == "postgresql://app:****@db.example.com/chat");
    CHECK(mask_credentials("postgresql://app:a?b#c@db/chat") == "postgresql://app:****@db/chat");
    CHECK(mask_credentials("postgresql://app:p@ss@db/chat") == "postgresql://app:****@db/chat");
    CHECK(mask_credentials("--databse-url=postgres://app:Zq9'x@db/chat") == "--databse-url=postgres://app:****@db/chat");
  }
  SUBCASE("no password, an empty one, or an IPv6 host without userinfo: nothing to mask")
  {
    CHECK(mask_credentials("postgresql://app@db/chat") == "postgresql://app@db/chat");
    CHECK(mask_credentials("postgresql://app:@db/chat") == "postgresql://app:@db/chat");
    CHECK(mask_credentials("postgresql://[::1]:5432/chat") == "postgresql://[::1]:5432/chat");
    // An '@' makes what stands before it userinfo, even in brackets (libpq reads user "[app]").
    CHECK(mask_credentials("postgresql://[app]:Zq9x@h/db") == "postgresql://[app]:****@h/db");
    CHECK(mask_credentials("postgresql://[::1]:Zq9x@h/db") == "postgresql://[:****@h/db");
    CHECK(mask_credentials("postgresql://db:5432/chat?sslmode=require") == "postgresql://db:5432/chat?sslmode=require");
  }
  SUBCASE("password and sslpassword query parameters, the key in any case or percent-encoded")
  {
    CHECK(mask_credentials("postgresql://u@h/db?sslmode=require&password=S3 'x&a=1") ==
          "postgresql://u@h/db?sslmode=require&password=****&a=1");
    // libpq splits the query on '&' alone: a '#' belongs to the value.
    CHECK(mask_credentials("postgresql://u@h/db?sslpassword=k3y#f") == "postgresql://u@h/db?sslpassword=****");
    CHECK(mask_credentials("postgresql://u@h/db?PassWord=x1") == "postgresql://u@h/db?PassWord=****");
    CHECK(mask_credentials("postgresql://u@h/db?pass%77ord=x1&b=2") == "postgresql://u@h/db?pass%77ord=****&b=2");
  }
  SUBCASE("libpq key/value settings, quoted or bare, any case of the keyword")
  {
    CHECK(mask_credentials("host=h password='Zq9 kv'") == "host=h password='****'");
    CHECK(mask_credentials("host=h password = 'a\\' b' dbname=x") == "host=h password = '****' dbname=x");
    CHECK(mask_credentials("host=h PASSWORD=Zq9kv dbname=x") == "host=h PASSWORD=**** dbname=x");
    CHECK(mask_credentials("sslpassword=\"k y\" host=h") == "sslpassword=\"****\" host=h");
    CHECK(mask_credentials("password='unterminated secret") == "password='****");
    CHECK(mask_credentials("password=") == "password=");
  }
  SUBCASE("text without credentials is unchanged")
  {
    CHECK(mask_credentials("expected text, json, markdown or env") == "expected text, json, markdown or env");
    CHECK(mask_credentials("a:b@c without a scheme") == "a:b@c without a scheme");
    CHECK(mask_credentials("the password is required") == "the password is required");
  }
}

TEST_CASE("user_text_part")
{
  // A comma list splits a password: the piece alone shows no credential, the whole value does.
  CHECK(poolcalc::user_text_part("postgresql://app:Zq9", "postgresql://app:Zq9,x@h/db") == "postgresql://app:****@h/db");
  CHECK(poolcalc::user_text_part("20x", "100,20x") == "20x");
}

TEST_CASE("user_text")
{
  CHECK(user_text("postgresql://app:Zq9\x1b[2J@db/chat\n") == "postgresql://app:****@db/chat\\n");
  CHECK(user_text("name\x1b]0;title\x07") == "name\\e]0;title\\x07");
}

TEST_CASE("credential_ranges")
{
  using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;
  // "postgresql://app:" is 17 bytes: the password runs to the '@' at 22.
  CHECK(poolcalc::credential_ranges("postgresql://app:Zq9'x@db/chat?password=p2&sslpassword=p3") ==
        Ranges{ { 17, 22 }, { 40, 42 }, { 55, 57 } });
  CHECK(poolcalc::credential_ranges("host=h password='a b' sslpassword=c") == Ranges{ { 17, 20 }, { 34, 35 } });
  CHECK(poolcalc::credential_ranges("no credentials here").empty());
}

#include <doctest/doctest.h>

#include "safe_stderr.hpp"

#include <sstream>
#include <string>

using poolcalc::cli::print_error;
using poolcalc::cli::Redactions;
using poolcalc::cli::SafeStderr;

TEST_CASE("Redactions::apply")
{
  Redactions redactions;
  redactions.add("postgresql://app:Zq9%27x%20y@db/chat");
  redactions.add("--format=host=h password='k v 1'");
  redactions.add("--vus");
  SUBCASE("a value quoted whole")
  {
    CHECK(redactions.apply("got 'postgresql://app:Zq9%27x%20y@db/chat'") == "got 'postgresql://app:****@db/chat'");
  }
  SUBCASE("part of a value: the credential in its context, as typed or percent-decoded")
  {
    CHECK(redactions.apply("cannot decode app:Zq9%27x%20y@db") == "cannot decode app:****@db");
    CHECK(redactions.apply("not expected: app:Zq9'x y@db/chat") == "not expected: app:****@db/chat");
    CHECK(redactions.apply("password='k v 1' is not a URL") == "password='****' is not a URL");
  }
  SUBCASE("a short or common password does not blank out ordinary words")
  {
    Redactions common;
    common.add("postgresql://postgres:postgres@localhost/db");
    CHECK(common.apply("expected postgresql:// or postgres://, got 'postgres:postgres@localhost'") ==
          "expected postgresql:// or postgres://, got 'postgres:****@localhost'");
  }
  SUBCASE("the value of --flag=VALUE")
  {
    CHECK(redactions.apply("got 'host=h password='k v 1''") == "got 'host=h password='****''");
  }
  SUBCASE("values without credentials change nothing")
  {
    CHECK(redactions.apply("--vus: expected a whole number") == "--vus: expected a whole number");
  }
}

namespace {

// What a SafeStderr over a string stream writes when `write` prints through it.
template<typename Write>
std::string through_filter(Write write)
{
  std::ostringstream target;
  {
    Redactions redactions;
    redactions.add("postgresql://app:S3cret!@db/chat");
    SafeStderr safe(target, std::move(redactions));
    write(safe.stream());
  }
  return target.str();
}

} // namespace

TEST_CASE("SafeStderr")
{
  SUBCASE("every line is redacted and escaped, whoever writes it")
  {
    CHECK(through_filter([](std::ostream& err) {
            err << "poolcalc: error: not expected: postgresql://app:S3cret!@db/chat\n"
                << "poolcalc: \x1b[2Jconnecting...\n";
          }) == "poolcalc: error: not expected: postgresql://app:****@db/chat\npoolcalc: \\e[2Jconnecting...\n");
  }
  SUBCASE("a partial line is written at the end, redacted")
  {
    CHECK(through_filter([](std::ostream& err) { err << "left :S3cret!@" << std::flush; }) == "left :****@");
  }
  SUBCASE("a progress line shows at once, and an ordinary line after it clears it first")
  {
    CHECK(through_filter([](std::ostream& err) {
            poolcalc::cli::show_progress(err, "poolcalc: simulating pool 15");
            poolcalc::cli::show_progress(err, "poolcalc: simulating pool 6");
            err << "poolcalc: fail: x\n";
          }) == "\rpoolcalc: simulating pool 15\rpoolcalc: simulating pool 6 \r" + std::string(28, ' ') + "\rpoolcalc: fail: x\n");
    CHECK(through_filter([](std::ostream& err) {
            poolcalc::cli::show_progress(err, "poolcalc: sampling");
            poolcalc::cli::end_progress(err);
            err << "done\n";
          }) == "\rpoolcalc: sampling\r" + std::string(18, ' ') + "\rdone\n");
  }
  SUBCASE("a carriage return anywhere else is escaped: it cannot hide what came before it")
  {
    CHECK(through_filter([](std::ostream& err) { err << "poolcalc: error: --vus: got '1\rfine'\n"; }) ==
          "poolcalc: error: --vus: got '1\\rfine'\n");
  }
  SUBCASE("print_error keeps a message on one line")
  {
    CHECK(through_filter([](std::ostream& err) { print_error(err, "got 'a\nb' and app:S3cret!@db"); }) ==
          "poolcalc: error: got 'a\\nb' and app:****@db\n");
  }
}

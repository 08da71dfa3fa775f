#include "run.hpp"

#include "poolcalc/rules.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

using namespace poolcalc::cli;

namespace {

struct Outcome
{
  int code;
  std::string out;
  std::string err;
};

Outcome call(std::vector<std::string> args, std::map<std::string, std::string> vars = {}, bool terminal = false)
{
  args.insert(args.begin(), "poolcalc");
  std::vector<const char*> argv;
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  Environment env;
  env.getenv = [vars](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  env.stdout_is_terminal = terminal;
  std::ostringstream out;
  std::ostringstream err;
  const int code = run(static_cast<int>(argv.size()), argv.data(), out, err, env);
  return { code, out.str(), err.str() };
}

} // namespace

TEST_CASE("run")
{
  SUBCASE("the main job")
  {
    const Outcome o = call({ "--vus", "120", "--query-ms", "150" });
    CHECK(o.code == k_exit_ok);
    CHECK(o.err.empty());
    CHECK(o.out.find("pool size                  50") != std::string::npos);
  }
  SUBCASE("colour only on a terminal, and never with NO_COLOR")
  {
    CHECK(call({ "--vus", "120", "--query-ms", "150" }, {}, true).out.find("\x1b[") != std::string::npos);
    CHECK(call({ "--vus", "120", "--query-ms", "150" }, { { "NO_COLOR", "1" } }, true).out.find("\x1b[") == std::string::npos);
    CHECK(call({ "--vus", "120", "--query-ms", "150", "--format", "json" }, {}, true).out.find("\x1b[") == std::string::npos);
  }
  SUBCASE("--database-url wins over $DATABASE_URL")
  {
    const Outcome o = call({ "--vus", "120", "--query-ms", "150", "--format", "json", "--database-url", "postgresql://a@flag/db" },
                           { { "DATABASE_URL", "postgresql://a@env/db" } });
    CHECK(o.out.find("postgresql://a@flag/db") != std::string::npos);
    CHECK(o.out.find("@env/") == std::string::npos);
  }
  SUBCASE("an empty $DATABASE_URL is ignored")
  {
    CHECK(call({ "--vus", "120", "--query-ms", "150" }, { { "DATABASE_URL", "" } }).code == k_exit_ok);
  }
  SUBCASE("a value given twice: the last wins")
  {
    const Outcome o = call({ "--vus", "10", "--vus", "120", "--query-ms", "150", "--format", "json" });
    CHECK(o.out.find("\"vus\": 120") != std::string::npos);
  }
  SUBCASE("--query-ms repeated or comma-separated")
  {
    const Outcome a = call({ "--vus", "120", "--query-ms", "100", "--query-ms", "150,200", "--format", "json" });
    const Outcome b = call({ "--vus", "120", "--query-ms", "100,150,200", "--format", "json" });
    CHECK(a.out == b.out);
  }
  SUBCASE("usage errors write nothing on stdout")
  {
    const Outcome o = call({ "--vus", "x", "--query-ms", "150" });
    CHECK(o.code == k_exit_usage);
    CHECK(o.out.empty());
    CHECK(o.err == "poolcalc: error: --vus: expected a whole number from 1 to 1000000000, got 'x'\n");
  }
  SUBCASE("a fail finding exits 3 and still prints the plan")
  {
    const Outcome o =
      call({ "--vus", "120", "--query-ms", "200", "--max-connections", "500", "--reserve", "other_apps=480", "--format", "json" });
    CHECK(o.code == k_exit_plan_fails);
    CHECK(o.out.find("\"pool.exceeds_available\"") != std::string::npos);
  }
  SUBCASE("rules round-trips: its output is a valid --rules file")
  {
    const Outcome o = call({ "rules" });
    CHECK(o.code == k_exit_ok);
    const auto parsed = poolcalc::parse_rules(o.out, "printed");
    CHECK(parsed.has_value());
  }
}

TEST_CASE("run: inspect tells a terminal what it is waiting for")
{
  // stderr on a terminal: a progress line before the connection (which port 1 refuses), the
  // password masked; not on a terminal (CI logs), only the error.
  const std::vector<std::string> args = { "inspect", "--database-url", "postgresql://app:Pw-Hidden@127.0.0.1:1/chat" };
  std::vector<const char*> argv = { "poolcalc" };
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  Environment env;
  env.getenv = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  env.stderr_is_terminal = true;
  std::ostringstream out;
  std::ostringstream err;
  CHECK(run(static_cast<int>(argv.size()), argv.data(), out, err, env) == k_exit_runtime);
  CHECK(out.str().empty());
  CHECK(
    err.str().rfind("poolcalc: connecting to postgresql://app:****@127.0.0.1:1/chat (connect timeout 10 s, inspect.connect_timeout_s)...\n"
                    "poolcalc: error: cannot connect to postgresql://app:****@127.0.0.1:1/chat: ",
                    0) == 0);
  CHECK(err.str().find("Pw-Hidden") == std::string::npos);

  const Outcome quiet = call(args);
  CHECK(quiet.code == k_exit_runtime);
  CHECK(quiet.err.rfind("poolcalc: error: cannot connect to", 0) == 0);
}

namespace {

// A stream buffer that throws on the first write: what escapes a command reaches run()'s last
// resort.
class ThrowingBuffer : public std::streambuf
{
protected:
  int overflow(int) override { throw std::runtime_error("the disk caught fire"); }
  std::streamsize xsputn(const char*, std::streamsize) override { throw std::runtime_error("the disk caught fire"); }
};

} // namespace

TEST_CASE("run: an exception that escapes a command is one error line and exit 1")
{
  ThrowingBuffer buffer;
  std::ostream out(&buffer);
  out.exceptions(std::ios::badbit); // the stream passes the buffer's exception on
  std::ostringstream err;
  const std::vector<const char*> argv = {
    "poolcalc", "--vus", "120", "--query-ms", "150", "--database-url", "postgresql://app:Pw-S3cret@h/db"
  };
  Environment env;
  env.getenv = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  CHECK(run(static_cast<int>(argv.size()), argv.data(), out, err, env) == k_exit_runtime);
  CHECK(err.str() == "poolcalc: error: internal error: the disk caught fire; please report it\n");

  // Thrown while the environment is read, before the stderr filter exists.
  env.getenv = [](std::string_view) -> std::optional<std::string> { throw std::runtime_error("no environment"); };
  std::ostringstream quiet;
  std::ostringstream err2;
  CHECK(run(static_cast<int>(argv.size()), argv.data(), quiet, err2, env) == k_exit_runtime);
  CHECK(quiet.str().empty());
  CHECK(err2.str() == "poolcalc: error: internal error: no environment; please report it\n");
}

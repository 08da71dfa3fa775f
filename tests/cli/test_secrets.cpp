// The secret matrix: every subcommand x every format x every way a user passes a database URL x
// passwords holding each URL-special character, quotes and a space, raw and percent-encoded. The
// password may appear only on stdout of the outputs that exist to carry it (`env`, `config`, and
// `--format env`), and never on stderr, whatever the command did.

#include "checks.hpp"
#include "process.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

using poolcalc::test::contains;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;
using poolcalc::test::run_poolcalc_in_process;

namespace {

// Each password carries three markers found nowhere else, at its start, in its middle and at its
// end (a message quoting part of a password shows one of them); between them the passwords hold
// every character of RFC 3986's gen-delims and sub-delims, '%', both quotes, a backslash and a space.
const std::vector<std::string> k_passwords = {
  "MKa1'x y\"zMKb1'\" MKc1", "MKa2/x?y#zMKb2/?#MKc2", "MKa3@x:y[z]MKb3@:[]MKc3", "MKa4%x&y=z+MKb4%&=+MKc4", "MKa5!$(),;*\\MKb5,;MKc5",
};

// Against a sanitized build (.ci/sanitize), every way x command pair runs with one of the ten
// passwords, in turn, instead of all ten, and inside the test process except inspect: the full
// matrix is the unsanitized build's, against the binary, and a sanitized poolcalc starts too
// slowly (about 0.4 s) to run it even four hundred times within CI's time. The output-words
// matrix (test_output_words.cpp) runs each command line both ways and requires the same output.
#ifdef POOLCALC_SANITIZED_BINARY
constexpr bool k_sanitized = true;
#else
constexpr bool k_sanitized = false;
#endif

std::vector<std::string> markers_of(const std::string& password)
{
  return { password.substr(0, 4), password.substr(password.find("MKb"), 4), password.substr(password.size() - 4) };
}

bool holds_marker(const std::string& text, const std::string& password)
{
  for (const std::string& marker : markers_of(password)) {
    if (contains(text, marker)) {
      return true;
    }
  }
  return false;
}

std::string percent_encoded(const std::string& text)
{
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4U];
      out += hex[c & 0x0fU];
    }
  }
  return out;
}

std::string toml_string(const std::string& text)
{
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// One way of passing the URL: the arguments to add, the environment, and whether poolcalc can
// take the URL at all (a stray argument or a mistyped flag is a usage error).
struct Way
{
  std::string name;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
};

struct Command
{
  std::vector<std::string> args;
  bool carries_password; // env and config snippets exist to carry it
};

// A port nothing listens on: `inspect` is refused at once, on loopback only.
constexpr const char* k_server = "127.0.0.1:1";

std::vector<Way> ways(const std::string& password, const std::string& dir)
{
  const std::string url = std::string("postgresql://app:") + password + "@" + k_server + "/chat";
  std::string escaped; // libpq's key/value quoting
  for (const char c : password) {
    if (c == '\'' || c == '\\') {
      escaped += '\\';
    }
    escaped += c;
  }
  const std::string key_value = "host=127.0.0.1 port=1 dbname=chat user=app password='" + escaped + "'";
  const std::string config = dir + "/scenario.toml";
  std::ofstream(config, std::ios::trunc) << "database_url = " << toml_string(url) << "\n";
  const std::string rules_path = dir + "/rules-path.toml";
  std::ofstream(rules_path, std::ios::trunc) << "rules = " << toml_string(url) << "\n";
  return {
    { "--database-url", { "--database-url", url }, {} },
    { "$DATABASE_URL", {}, { { "DATABASE_URL", url } } },
    { "--config", { "--config", config }, {} },
    { "a stray argument", { url }, {} },
    { "a mistyped flag", { "--databse-url=" + url }, {} },
    { "a key/value string", { "--database-url", key_value }, {} },
    { "a stray key/value string", { key_value }, {} },
    { "the value of a list flag", { "--query-ms", url }, {} },
    { "an item of --pool", { "--pool", "10," + url }, {} },
    { "a --reserve entry", { "--reserve", "other=" + url }, {} },
    { "the value of --format", { "--format", url }, {} },
    { "a --config file's rules path", { "--config", rules_path }, {} },
  };
}

std::vector<Command> commands()
{
  const std::vector<std::string> load = { "--vus", "120", "--query-ms", "150" };
  const auto with = [&](std::vector<std::string> head, std::vector<std::string> tail = {}) {
    head.insert(head.end(), load.begin(), load.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  std::vector<Command> list = {
    { with({}), false },
    { with({}, { "--format", "json" }), false },
    { with({}, { "--format", "markdown" }), false },
    { with({}, { "--format", "env" }), true },
    { with({}, { "--explain" }), false },
    { with({ "env" }), true },
    { with({ "report" }), false },
    { with({ "pgbouncer" }), false },
    { with({ "pgbouncer", "--userlist" }), false },
    { with({ "inspect" }), false },
    { with({ "inspect" }, { "--format", "json" }), false },
    { with({ "inspect" }, { "--format", "markdown" }), false },
    { with({ "inspect" }, { "--format", "env" }), true },
    { { "rules" }, false },
  };
  for (const char* format : { "text", "csv", "json", "svg" }) {
    list.push_back({ with({ "curve" }, { "--format", format }), false });
  }
  for (const char* target :
       { "prisma", "node-postgres", "hikaricp", "sqlalchemy", "go-database-sql", "pgx", "postgresql-conf", "pgbouncer" }) {
    for (const char* format : { "text", "json" }) {
      list.push_back({ with({ "config", "--for", target }, { "--format", format }), true });
    }
  }
  return list;
}

} // namespace

TEST_CASE("secret matrix: the password only where the user asked for it")
{
  const std::string dir = "/tmp/poolcalc-secrets-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  int runs = 0;
  std::size_t cell = 0;
  for (const std::string& raw : k_passwords) {
    for (const std::string& password : { raw, percent_encoded(raw) }) {
      const std::size_t variant = cell++;
      std::size_t pair = 0;
      for (const Way& way : ways(password, dir)) {
        for (const Command& command : commands()) {
          if (k_sanitized && pair++ % (2 * k_passwords.size()) != variant) {
            continue;
          }
          std::vector<std::string> args = command.args;
          args.insert(args.end(), way.args.begin(), way.args.end());
          // Sanitized, in this process (instrumented too): the binary's start-up is the cost. inspect
          // still runs the binary: libpq reads the process's own environment, which in process
          // would be the test's, not the way's.
          const bool connects = command.args.front() == "inspect";
          const Result r = k_sanitized && !connects ? run_poolcalc_in_process(args, way.env) : run_poolcalc(args, way.env);
          ++runs;
          INFO("password: " << password << "; way: " << way.name << "; args: " << [&] {
            std::string joined;
            for (const std::string& a : command.args) {
              joined += a + " ";
            }
            return joined;
          }());
          INFO("exit " << r.exit_code << "; stderr: " << r.err);
          CHECK(r.exit_code >= 0);
          CHECK(r.exit_code <= 3);
          CHECK_FALSE(holds_marker(r.err, raw));
          const bool snippet = command.carries_password && (r.exit_code == 0 || r.exit_code == 3);
          if (!snippet) {
            CHECK_FALSE(holds_marker(r.out, raw));
          }
        }
      }
    }
  }
  MESSAGE(runs << " runs");
  // Every way x command pair ran, with every password or (sanitized) with one of them.
  const std::size_t pairs = ways("x", dir).size() * commands().size();
  CHECK(static_cast<std::size_t>(runs) == (k_sanitized ? pairs : 2 * k_passwords.size() * pairs));
  std::filesystem::remove_all(dir);
}

TEST_CASE("secret matrix: a fleet file's URL")
{
  const std::string dir = "/tmp/poolcalc-secrets-fleet-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::string example;
  {
    std::ifstream in(std::string(POOLCALC_SOURCE_DIR) + "/data/examples/chat-fleet.toml");
    example.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string url_line = "url = \"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db\"";
  REQUIRE(contains(example, url_line));
  for (const std::string& raw : k_passwords) {
    for (const std::string& password : { raw, percent_encoded(raw) }) {
      std::string text = example;
      text.replace(text.find(url_line),
                   url_line.size(),
                   "url = " + toml_string("postgresql://postgres:" + password + "@localhost:5432/chat_backend_db"));
      const std::string fleet = dir + "/fleet.toml";
      std::ofstream(fleet, std::ios::trunc) << text;
      const std::vector<Command> fleet_commands = {
        { { "fleet", fleet }, false },
        { { "fleet", fleet, "--format", "json" }, false },
        { { "fleet", fleet, "--format", "markdown" }, false },
        { { "pgbouncer", "--fleet", fleet }, false },
        { { "pgbouncer", "--fleet", fleet, "--userlist" }, false },
        { { "config", "--fleet", fleet, "--for", "pgbouncer" }, true },
        { { "config", "--fleet", fleet, "--for", "prisma", "--service", "chat-api" }, true },
        { { "config", "--fleet", fleet, "--for", "postgresql-conf" }, true },
      };
      for (const Command& command : fleet_commands) {
        const Result r = run_poolcalc(command.args);
        INFO("password: " << password << "; " << command.args[0] << " " << command.args.back() << "; exit " << r.exit_code
                          << "; stderr: " << r.err);
        CHECK(r.exit_code >= 0);
        CHECK(r.exit_code <= 3);
        CHECK_FALSE(holds_marker(r.err, raw));
        if (!command.carries_password || (r.exit_code != 0 && r.exit_code != 3)) {
          CHECK_FALSE(holds_marker(r.out, raw));
        }
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("secret matrix: a .env file's URL, through env --write")
{
  // env --write shows what it changes with the password masked, and reports on stderr.
  const std::string dir = "/tmp/poolcalc-secrets-env-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (const std::string& raw : k_passwords) {
    for (const std::string& password : { raw, percent_encoded(raw) }) {
      // dotenv's quotes: single unless the value holds one, else back quotes.
      const std::string url = "postgresql://app:" + password + "@db.internal:5432/chat?connection_limit=5";
      const char quote = contains(url, "'") ? '`' : '\'';
      for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{ { "--dry-run" }, {}, { "--vus", "100000" } }) {
        const std::string file = dir + "/app.env";
        std::ofstream(file, std::ios::trunc) << "# app\nDATABASE_URL=" << quote << url << quote << "\nDATABASE_POOL_SIZE=8\n";
        std::vector<std::string> args = { "env", "--write", file, "--vus", "120", "--query-ms", "150" };
        args.insert(args.end(), extra.begin(), extra.end());
        const Result r = run_poolcalc(args);
        INFO("password: " << password << "; exit " << r.exit_code << "; stdout: " << r.out << "; stderr: " << r.err);
        CHECK(r.exit_code >= 0);
        CHECK(r.exit_code <= 3);
        CHECK_FALSE(holds_marker(r.out, raw));
        CHECK_FALSE(holds_marker(r.err, raw));
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("secret matrix: the snippets carry the password the user gave")
{
  // The outputs that exist to carry the password do carry it, percent-encoded as in the URL.
  for (const std::string& raw : k_passwords) {
    const std::string password = percent_encoded(raw);
    const std::string url = std::string("postgresql://app:") + password + "@db.internal:5432/chat";
    const Result env = run_poolcalc({ "env", "--vus", "120", "--query-ms", "150", "--database-url", url });
    INFO("stderr: " << env.err);
    CHECK(env.exit_code == 0);
    CHECK(contains(env.out, "postgresql://app:" + password + "@"));
    const Result prisma = run_poolcalc({ "config", "--for", "prisma", "--vus", "120", "--query-ms", "150" }, { { "DATABASE_URL", url } });
    CHECK(prisma.exit_code == 0);
    CHECK(contains(prisma.out, "postgresql://app:" + password + "@"));
  }
}

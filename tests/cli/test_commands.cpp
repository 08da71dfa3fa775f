// The command table seen from outside: each subcommand's --help lists the options it takes and
// examples that run, options are refused by the commands that do not take them, and
// `poolcalc completion bash|zsh` completes what the table declares, in a real bash and zsh.

#include "checks.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::contains;
using poolcalc::test::lines_of;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;
using poolcalc::test::run_process;

namespace {

const std::vector<std::string> k_commands = { "size",   "env",   "report", "rules",  "curve",  "inspect", "pgbouncer",
                                              "config", "fleet", "k6",     "alerts", "doctor", "gate",    "completion" };

// config_targets() (src/emit/config.cpp; docs/clients.md lists the same eight).
const std::vector<std::string> k_targets = { "pgbouncer",  "prisma",          "node-postgres", "hikaricp",
                                             "sqlalchemy", "go-database-sql", "pgx",           "postgresql-conf" };

std::string quoted(const std::string& word)
{
  return "'" + word + "'";
}

// The candidates bash's completion function offers for `words`, the last one being completed,
// in `dir`.
std::vector<std::string> bash_complete(const std::vector<std::string>& words, const std::string& dir = "/")
{
  std::string array;
  for (const std::string& word : words) {
    array += quoted(word) + " ";
  }
  const std::string script = "cd " + quoted(dir) + " && source <(" POOLCALC_BINARY " completion bash) && COMP_WORDS=(" + array +
                             ") && COMP_CWORD=" + std::to_string(words.size() - 1) + " && _poolcalc && printf '%s\\n' \"${COMPREPLY[@]}\"";
  const Result r = run_process({ "/bin/bash", "--norc", "-c", script });
  INFO("bash: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  std::vector<std::string> lines = lines_of(r.out);
  if (lines.size() == 1 && lines.front().empty()) {
    lines.clear();
  }
  return lines;
}

// The same in zsh: the script's function with compadd and _files (zsh's own, which exist only
// inside its line editor) replaced by functions that print what they were given.
std::vector<std::string> zsh_complete(const std::vector<std::string>& words)
{
  std::string array;
  for (const std::string& word : words) {
    array += quoted(word) + " ";
  }
  const std::string script = "source <(" POOLCALC_BINARY " completion zsh)\n"
                             "compadd() { [[ $1 == -- ]] && shift; print -rl -- \"$@\" }\n"
                             "_files() { print -r -- '(files)' }\n"
                             "words=(" +
                             array + ")\nCURRENT=" + std::to_string(words.size()) + "\n_poolcalc\n";
  const Result r = run_process({ "/usr/bin/zsh", "-f", "-c", script });
  INFO("zsh: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  return lines_of(r.out);
}

std::vector<std::string> sorted(std::vector<std::string> words)
{
  std::sort(words.begin(), words.end());
  return words;
}

} // namespace

TEST_CASE("completion bash: subcommands, flags, formats, targets and files from the table")
{
  CHECK(bash_complete({ "poolcalc", "" }) == k_commands);
  CHECK(bash_complete({ "poolcalc", "co" }) == std::vector<std::string>{ "config", "completion" });
  CHECK(bash_complete({ "poolcalc", "config", "--for", "" }) == k_targets);
  CHECK(bash_complete({ "poolcalc", "config", "--for", "p" }) ==
        std::vector<std::string>{ "pgbouncer", "prisma", "pgx", "postgresql-conf" });
  CHECK(bash_complete({ "poolcalc", "--format", "" }) == std::vector<std::string>{ "text", "json", "markdown", "env" });
  CHECK(bash_complete({ "poolcalc", "curve", "--format", "" }) == std::vector<std::string>{ "text", "csv", "json", "svg" });
  CHECK(bash_complete({ "poolcalc", "fleet", "--format", "" }) == std::vector<std::string>{ "text", "json", "markdown" });
  CHECK(bash_complete({ "poolcalc", "config", "--format", "=", "" }) == std::vector<std::string>{ "text", "json" });
  CHECK(bash_complete({ "poolcalc", "rules", "--" }) ==
        std::vector<std::string>{ "--findings", "--format", "--rules", "--config", "--help" });
  CHECK(bash_complete({ "poolcalc", "--vus", "120", "env", "--wr" }) == std::vector<std::string>{ "--write" });
  // bash splits words at ':' and '=' (COMP_WORDBREAKS): a value's pieces are not the subcommand.
  CHECK(bash_complete({ "poolcalc", "--database-url", "postgresql", ":", "//u@h/db?sslmode", "=", "require", "env", "--wr" }) ==
        std::vector<std::string>{ "--write" });
  CHECK(bash_complete({ "poolcalc", "--reserve", "admin", "=", "5", "env", "--wr" }) == std::vector<std::string>{ "--write" });
  CHECK(bash_complete({ "poolcalc", "--op", "read", ":", "0.5", ":", "10", "pgbouncer", "--u" }) ==
        std::vector<std::string>{ "--userlist" });
  CHECK(bash_complete({ "poolcalc", "--format", "json", "--ve" }) == std::vector<std::string>{ "--version" });
  CHECK(bash_complete({ "poolcalc", "pgbouncer", "--u" }) == std::vector<std::string>{ "--userlist" });
  CHECK(bash_complete({ "poolcalc", "completion", "" }) == std::vector<std::string>{ "bash", "zsh" });
  CHECK(bash_complete({ "poolcalc", "--vus", "" }).empty()); // a number to type
  // --explain has no effect on env: accepted, not offered.
  CHECK(bash_complete({ "poolcalc", "env", "--ex" }).empty());

  const poolcalc::test::TempDir dir;
  std::ofstream(dir.path() / "chat-fleet.toml") << "";
  std::ofstream(dir.path() / "notes.md") << "";
  const std::string cwd = dir.path().string();
  CHECK(sorted(bash_complete({ "poolcalc", "fleet", "" }, cwd)) == std::vector<std::string>{ "chat-fleet.toml", "notes.md" });
  CHECK(bash_complete({ "poolcalc", "--config", "ch" }, cwd) == std::vector<std::string>{ "chat-fleet.toml" });
  CHECK(bash_complete({ "poolcalc", "env", "--write", "n" }, cwd) == std::vector<std::string>{ "notes.md" });
  CHECK(bash_complete({ "poolcalc", "config", "--fleet", "c" }, cwd) == std::vector<std::string>{ "chat-fleet.toml" });
}

TEST_CASE("completion zsh: the same candidates")
{
  CHECK(zsh_complete({ "poolcalc", "" }) == k_commands);
  CHECK(zsh_complete({ "poolcalc", "config", "--for", "" }) == k_targets);
  CHECK(zsh_complete({ "poolcalc", "curve", "--format", "" }) == std::vector<std::string>{ "text", "csv", "json", "svg" });
  CHECK(zsh_complete({ "poolcalc", "rules", "--" }) ==
        std::vector<std::string>{ "--findings", "--format", "--rules", "--config", "--help" });
  CHECK(zsh_complete({ "poolcalc", "completion", "" }) == std::vector<std::string>{ "bash", "zsh" });
  CHECK(zsh_complete({ "poolcalc", "fleet", "" }) == std::vector<std::string>{ "(files)" });
  CHECK(zsh_complete({ "poolcalc", "--format", "json", "--rules", "" }) == std::vector<std::string>{ "(files)" });
  CHECK(zsh_complete({ "poolcalc", "--vus", "120", "pgbouncer", "--fleet", "" }) == std::vector<std::string>{ "(files)" });
  // zsh keeps a URL one word: env is found after it, so env's flags are offered (--write is env's alone).
  const std::vector<std::string> after_url =
    zsh_complete({ "poolcalc", "--database-url", "postgresql://u@h/db?sslmode=require", "env", "--" });
  CHECK(std::find(after_url.begin(), after_url.end(), "--write") != after_url.end());
  CHECK(zsh_complete({ "poolcalc", "--vus", "" }).empty());
  const std::vector<std::string> front = zsh_complete({ "poolcalc", "--" });
  CHECK(std::find(front.begin(), front.end(), "--version") != front.end());
  CHECK(std::find(front.begin(), front.end(), "--query-ms") != front.end());
  CHECK(std::find(front.begin(), front.end(), "--write") == front.end()); // env's
}

TEST_CASE("completion: the scripts load in their shells as installed, and a bad shell is refused")
{
  // bash: `complete -p` shows the function registered; zsh: autoloaded from $fpath by compinit.
  const Result bash = run_process({ "/bin/bash", "--norc", "-c", "source <(" POOLCALC_BINARY " completion bash) && complete -p poolcalc" });
  CHECK(bash.exit_code == 0);
  CHECK(bash.out == "complete -F _poolcalc poolcalc\n");
  const poolcalc::test::TempDir dir;
  const Result zsh =
    run_process({ "/usr/bin/zsh",
                  "-f",
                  "-c",
                  POOLCALC_BINARY " completion zsh > " + dir.path().string() + "/_poolcalc && fpath=(" + dir.path().string() +
                    " $fpath) && autoload -U compinit && compinit -u -D && print -r -- $_comps[poolcalc]" });
  CHECK(zsh.exit_code == 0);
  CHECK(zsh.out == "_poolcalc\n");
  check_usage_error({ "completion", "fish" }, "SHELL: `poolcalc completion` writes for bash or zsh, got 'fish'");
  check_usage_error({ "completion", "bash", "--vus", "3" }, "`poolcalc completion` takes only the shell: bash or zsh");
}

TEST_CASE("each subcommand's --help lists the options it takes, and only those")
{
  for (const std::string& command : k_commands) {
    INFO("poolcalc " << command << " --help");
    const Result r = run_poolcalc({ command, "--help" });
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(contains(r.out, "Examples:\n  "));
    CHECK_FALSE(contains(r.out, "Takes every option"));
  }
  const Result rules = run_poolcalc({ "rules", "--help" });
  CHECK(contains(rules.out, "--rules FILE"));
  CHECK(contains(rules.out, "--config FILE"));
  CHECK_FALSE(contains(rules.out, "--vus"));
  CHECK(contains(rules.out, "--findings"));
  CHECK(contains(rules.out, "--format FORMAT             text (default) or json"));
  const Result fleet = run_poolcalc({ "fleet", "--help" });
  CHECK_FALSE(contains(fleet.out, "FILE FILE"));
  CHECK(contains(fleet.out, "FILE REQUIRED"));
  CHECK_FALSE(contains(fleet.out, "--vus"));
  CHECK_FALSE(contains(fleet.out, "--config"));
  const Result env = run_poolcalc({ "env", "--help" });
  CHECK(contains(env.out, "--write PATH"));
  CHECK(contains(env.out, "--vus N"));
  CHECK_FALSE(contains(env.out, "--explain"));
  CHECK_FALSE(contains(env.out, "--userlist"));
  const Result top = run_poolcalc({ "--help" });
  CHECK_FALSE(contains(top.out, "--write")); // only `poolcalc env` writes a file
  CHECK(contains(top.out, "  completion "));
}

TEST_CASE("each subcommand's --help examples run")
{
  // In a scratch directory holding the examples' data files, in the order the help gives them
  // (`rules > my-rules.toml` comes before `rules --rules my-rules.toml`). inspect's need a server.
  const poolcalc::test::TempDir dir;
  std::filesystem::create_directory_symlink(std::filesystem::path(POOLCALC_SOURCE_DIR) / "data", dir.path() / "data");
  const std::string path = std::filesystem::path(POOLCALC_BINARY).parent_path().string() + ":/usr/bin:/bin";
  int examples = 0;
  for (const std::string& command : k_commands) {
    if (command == "inspect") {
      continue;
    }
    const std::string help = run_poolcalc({ command, "--help" }).out;
    const std::vector<std::string> lines = lines_of(help.substr(help.find("Examples:\n")));
    for (const std::string& line : lines) {
      if (!line.starts_with("  ") || line.starts_with("    ")) {
        continue;
      }
      if (command == "doctor" && contains(line, "--database-url")) {
        continue; // sampling needs a server too (tests/integration/test_doctor.cpp runs it)
      }
      INFO(line);
      ++examples;
      const Result r =
        run_process({ "/bin/bash", "--norc", "-c", "cd " + quoted(dir.path().string()) + " && " + line.substr(2) }, { { "PATH", path } });
      // gate's own failure is 4 (docs/gate.md)
      CHECK((r.exit_code == 0 || r.exit_code == 3 || (command == "gate" && r.exit_code == 4)));
      CHECK_FALSE(contains(r.err, "error"));
    }
  }
  CHECK(examples >= 2 * 9);
}

TEST_CASE("an option a command does not take is refused, wherever it is given")
{
  check_usage_error({ "rules", "--vus", "3" }, "--vus: `poolcalc rules` takes only --findings, --format, --rules and --config");
  check_usage_error({ "--vus", "3", "rules" }, "--vus: `poolcalc rules` takes only --findings, --format, --rules and --config");
  check_usage_error({ "rules", "--format", "json" },
                    "--format: `poolcalc rules` prints the rules as TOML; --format text or json goes with --findings");
  check_usage_error({ "fleet", "data/examples/chat-fleet.toml", "--vus", "5" },
                    "`poolcalc fleet` takes FILE, --format and --rules after `fleet`; the workload comes from the file");
  check_usage_error({ "curve", "--vus", "120", "--query-ms", "150", "--userlist" },
                    "The following argument was not expected: --userlist (see poolcalc curve --help)");
  check_usage_error({ "fleet" }, "FILE is required (see poolcalc fleet --help)");
  // Flags before the subcommand's name, as before.
  const Result before = run_poolcalc({ "--vus", "120", "--query-ms", "150", "env" });
  const Result after = run_poolcalc({ "env", "--vus", "120", "--query-ms", "150" });
  CHECK(before.exit_code == 0);
  CHECK(before.out == after.out);
  const Result split = run_poolcalc({ "--query-ms", "100", "report", "--vus", "120", "--query-ms", "150,200" });
  CHECK(split.out == run_poolcalc({ "report", "--vus", "120", "--query-ms", "100,150,200" }).out);
}

TEST_CASE("rules --findings: the catalogue as text and as JSON, the same rules in the same order, each in docs/rules.md")
{
  const Result json = run_poolcalc({ "rules", "--findings", "--format", "json" });
  REQUIRE(json.exit_code == 0);
  CHECK(json.err.empty());
  const nlohmann::json parsed = nlohmann::json::parse(json.out);
  CHECK(parsed.at("schema_version") == 1);
  std::vector<std::string> ids;
  std::set<std::string> subjects;
  for (const nlohmann::json& finding : parsed.at("findings")) {
    ids.push_back(finding.at("id").get<std::string>());
    subjects.insert(finding.at("subject").get<std::string>());
    const std::string level = finding.at("level").get<std::string>();
    CHECK((level == "info" || level == "warn" || level == "fail"));
    CHECK_FALSE(finding.at("source").get<std::string>().empty());
    CHECK_FALSE(finding.at("summary").get<std::string>().empty());
  }
  // The plan's, the fleet's and the live server's rules, one catalogue (docs/rules.md).
  CHECK(subjects == std::set<std::string>{ "plan", "fleet", "server" });
  for (const char* id : { "pool.exceeds_available", "fleet.exceeds_available", "server.full" }) {
    CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
  }

  // The text lists the same ids in the same order: one unindented line per rule.
  const Result text = run_poolcalc({ "rules", "--findings" });
  REQUIRE(text.exit_code == 0);
  std::vector<std::string> text_ids;
  std::istringstream lines(text.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.front() != ' ') {
      text_ids.push_back(line.substr(0, line.find(' ')));
    }
  }
  CHECK(text_ids == ids);

  // The catalogue is text or JSON; nothing else.
  check_usage_error({ "rules", "--findings", "--format", "markdown" }, "--format: `poolcalc rules` prints text or json, got 'markdown'");

  const std::string rules_md = poolcalc::test::read_file(std::string(POOLCALC_SOURCE_DIR) + "/docs/rules.md");
  for (const std::string& id : ids) {
    INFO(id);
    CHECK(contains(rules_md, "`" + id + "`"));
  }
}

TEST_CASE("rules: a scenario file's format is its plan's; the rules still print as TOML")
{
  poolcalc::test::TempDir dir;
  poolcalc::test::write_file(dir / "scenario.toml", "vus = 120\nquery_ms = 150\nformat = \"markdown\"\n");
  const Result r = run_poolcalc({ "rules", "--config", dir / "scenario.toml" });
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("# poolcalc rules in force: built in", 0) == 0);
}

TEST_CASE("k6 and alerts: a bad value is one line and exit 2; --format and --explain are refused")
{
  using poolcalc::test::check_usage_error;
  check_usage_error({ "alerts", "--vus", "120", "--query-ms", "150", "--client", "pg" },
                    "--client: expected hikaricp or prisma6, got 'pg'");
  check_usage_error({ "alerts", "--vus", "120", "--query-ms", "150", "--format", "json" },
                    "--format: `poolcalc alerts` always prints Prometheus rules; drop --format");
  check_usage_error({ "k6", "--vus", "120", "--query-ms", "150", "--explain" },
                    "--explain: `poolcalc k6` always prints the k6 script; drop --explain");
  check_usage_error({ "k6", "--vus", "0", "--query-ms", "150" }, "--vus: expected a whole number from 1 to 1000000000, got '0'");
}

TEST_CASE("doctor: every bad input is one line and exit 2, before anything is read or sampled")
{
  using poolcalc::test::check_usage_error;
  const auto source = [](const std::string& path) { return std::string(POOLCALC_SOURCE_DIR) + "/" + path; };
  check_usage_error({ "doctor" },
                    "doctor needs something to read: --database-url URL (or $DATABASE_URL) to sample a server, --capture FILE, or "
                    "--k6-summary FILE");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--duration", "0" },
                    "--duration: expected seconds from 1 to 3600, got '0'");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--interval", "nan" },
                    "--interval: expected seconds from 0.1 to 60, got 'nan'");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--pgbouncer-admin", "postgresql://app@db:6432/chat" },
                    "--pgbouncer-admin: the admin console's database is pgbouncer, got 'chat'");
  check_usage_error(
    { "doctor", "--capture", source("data/examples/doctor-pool-too-small.json"), "--database-url", "postgresql://app@db/chat" },
    "--capture: diagnoses a saved capture; drop --database-url (or drop --capture to sample the server)");
  check_usage_error({ "doctor", "--k6-summary", source("tests/fixtures/k6/summary-export.json"), "--save-capture", "x.json" },
                    "--save-capture: only when sampling a server (--database-url URL or $DATABASE_URL)");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--save-capture", source("README.md") },
                    "--save-capture: " + source("README.md") +
                      " exists; poolcalc does not overwrite it (remove it or choose another name)");
  check_usage_error({ "doctor", "--k6-summary", source("data/examples/chat-fleet.toml") },
                    "--k6-summary: " + source("data/examples/chat-fleet.toml") +
                      ": not JSON: expected the file `k6 run --summary-export` writes, or "
                      "handleSummary's data");
  // $DATABASE_URL is not sampled when only a k6 summary is asked for (nothing listens on port 1).
  const Result k6_only = run_poolcalc({ "doctor", "--k6-summary", source("tests/fixtures/k6/summary-export.json") },
                                      { { "DATABASE_URL", "postgresql://app:pw@127.0.0.1:1/chat" } });
  CHECK(k6_only.exit_code == 0);
  CHECK(k6_only.out.find("diagnosis: no cause named: nothing was sampled") != std::string::npos);
  check_usage_error({ "doctor", "--k6-summary", source("tests/fixtures/k6/summary-export.json"), "--duration", "30" },
                    "--duration: only when sampling a server (--database-url URL or $DATABASE_URL)");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--vus", "120" },
                    "--query-ms is required: how long one query holds a connection, in milliseconds (e.g. --query-ms 150, or "
                    "100,150,200)");
  const poolcalc::test::TempDir dir;
  const std::string odd = (dir.path() / "odd.json").string();
  std::ofstream(odd) << "{\"schema\": \"poolcalc-doctor-capture\", \"version\": \"1\"}";
  check_usage_error({ "doctor", "--capture", odd },
                    "--capture: " + odd + ": a field of the wrong type: not a capture `poolcalc doctor --save-capture` wrote");
  check_usage_error({ "doctor", "--database-url", "postgresql://app@db/chat", "--pgbouncer-admin", "mysql://x" },
                    "--pgbouncer-admin: unsupported scheme 'mysql' (expected postgresql:// or postgres://)");
  check_usage_error({ "doctor", "--capture", source("data/examples/doctor-held-idle.json"), "--interval", "2" },
                    "--capture: a saved capture is diagnosed as it is; --pgbouncer-admin, --duration, --interval and --save-capture go "
                    "with sampling a live server");
  // A file that cannot be read is a runtime failure (1), one line, nothing on stdout.
  const Result missing = run_poolcalc({ "doctor", "--capture", "/nonexistent/capture.json" });
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err == "poolcalc: error: --capture: cannot read '/nonexistent/capture.json': no such file\n");
  check_usage_error({ "doctor", "--capture", source("tests/fixtures/k6/summary-export.json") },
                    "--capture: " + source("tests/fixtures/k6/summary-export.json") +
                      ": not a capture `poolcalc doctor --save-capture` wrote");
}

TEST_CASE("gate: exit 0 when every check passes, 4 when one fails, 2 for bad input")
{
  using poolcalc::test::check_usage_error;
  const auto source = [](const std::string& path) { return std::string(POOLCALC_SOURCE_DIR) + "/" + path; };
  const Result pass = run_poolcalc({ "gate", "--vus", "120", "--query-ms", "150", "--deploy-surge", "0" });
  CHECK(pass.exit_code == 0);
  CHECK(pass.out.starts_with("gate: pass (4 checks, policy: the defaults)\n"));
  // The worked example's rolling deploy at 25 % opens 2 x 50 of 50 available.
  const Result fail = run_poolcalc({ "gate", "--vus", "120", "--query-ms", "150", "--format", "json" });
  CHECK(fail.exit_code == 4);
  const auto j = nlohmann::json::parse(fail.out);
  CHECK(j["passed"] == false);
  CHECK(j["checks"][2]["id"] == "gate.deploy_surge_fits");
  CHECK(j["checks"][2]["passed"] == false);
  // A measured run alone: the pool-too-small capture names its cause.
  const Result measured = run_poolcalc({ "gate", "--capture", source("data/examples/doctor-pool-too-small.json") });
  CHECK(measured.exit_code == 4);
  CHECK(measured.out.find("FAIL  gate.causes") != std::string::npos);
  check_usage_error(
    { "gate" }, "gate needs something to judge: the workload (--vus N or --rps R, with --query-ms), --capture FILE or --k6-summary FILE");
  const poolcalc::test::TempDir dir;
  const std::string policy = (dir.path() / "policy.toml").string();
  std::ofstream(policy) << "max_pool_growth = 2\n";
  check_usage_error({ "gate", "--vus", "120", "--query-ms", "150", "--policy", policy },
                    policy + ":1:19: max_pool_growth: needs baseline_pool, the pool it grows from");
  const Result no_policy = run_poolcalc({ "gate", "--vus", "120", "--query-ms", "150", "--policy", "/nonexistent/policy.toml" });
  CHECK(no_policy.exit_code == 1);
  CHECK(no_policy.out.empty());
  CHECK(no_policy.err == "poolcalc: error: --policy: cannot read '/nonexistent/policy.toml': no such file\n");
  // The k6 fixture's own p(95)<300 threshold failed: gate fails on it, unless the policy says not to
  // judge it; its 0.8 % failed requests are within the default 1 % either way.
  CHECK(run_poolcalc({ "gate", "--k6-summary", source("tests/fixtures/k6/summary-export.json") }).exit_code == 4);
  const std::string lenient = (dir.path() / "lenient.toml").string();
  std::ofstream(lenient) << "k6_thresholds_pass = false\n";
  CHECK(run_poolcalc({ "gate", "--k6-summary", source("tests/fixtures/k6/summary-export.json"), "--policy", lenient }).exit_code == 0);
}

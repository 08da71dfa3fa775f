// Every command, in every format it takes, with and without --explain, on a plan that fits, one
// that needs PgBouncer and one that fails (exit 3): nothing poolcalc prints says "seed", a word
// for a note users do not have (the output names the rule of thumb, a docs/*.md section, or
// PostgreSQL's and PgBouncer's own docs instead).
//
// The commands, the formats and the config targets are read from poolcalc's own --help, so a new
// one is covered without touching this file; fleet files are every example that has a
// [[service]]. `inspect` needs a server: its output is checked by the integration tests.

#include "checks.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using poolcalc::test::contains;
using poolcalc::test::lines_of;
using poolcalc::test::read_file;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;
using poolcalc::test::run_poolcalc_in_process;

namespace {

std::string lower(std::string text)
{
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string text)
{
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
  text.erase(std::find_if_not(text.rbegin(), text.rend(), space).base(), text.end());
  return text;
}

bool is_word(const std::string& text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

std::string help(const std::vector<std::string>& command)
{
  std::vector<std::string> args = command;
  args.push_back("--help");
  const Result r = run_poolcalc(args);
  INFO("poolcalc " << (command.empty() ? "" : command.front()) << " --help");
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// The first word of each indented line after the line `title`, in any case (CLI11's
// "Subcommands:", the config footer's "Targets:"), up to the first line that is not indented.
std::vector<std::string> listed_after(const std::string& text, const std::string& title)
{
  std::vector<std::string> names;
  bool in_list = false;
  for (const std::string& line : lines_of(text)) {
    if (lower(trim(line)) == lower(title)) {
      in_list = true;
      continue;
    }
    if (!in_list) {
      continue;
    }
    if (!line.starts_with("  ")) {
      break;
    }
    std::istringstream words(line);
    std::string name;
    words >> name;
    if (is_word(name)) {
      names.push_back(name);
    }
  }
  return names;
}

// The formats a help text names after "--format": "text (default), json, markdown or env",
// "--format text, csv, json or svg; ...", "--format text (the snippet, default) or json.", and in
// the examples ("--format svg > curve.svg").
std::set<std::string> formats_in(const std::string& text)
{
  std::set<std::string> formats;
  for (const std::string& line : lines_of(text)) {
    const std::size_t at = line.find("--format");
    if (at == std::string::npos) {
      continue;
    }
    std::string rest = line.substr(at + 8);
    if (const std::size_t end = rest.find_first_of(";.>|`"); end != std::string::npos) {
      rest.resize(end);
    }
    // Drop "(default)" and the like; CLI11's type name (FORMAT) is no lower-case word.
    std::string plain;
    int depth = 0;
    for (const char c : rest) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (depth == 0 && c != ')') {
        plain += c;
      }
    }
    std::istringstream words(plain);
    for (std::string word; words >> word;) {
      while (!word.empty() && word.back() == ',') {
        word.pop_back();
      }
      if (word != "or" && is_word(word)) {
        formats.insert(word);
      }
    }
  }
  return formats;
}

// Fails the test when `r` says "seed" anywhere.
std::string join(const std::vector<std::string>& args)
{
  std::string command = "poolcalc";
  for (const std::string& arg : args) {
    command += " " + arg;
  }
  return command;
}

void check_no_seed(const std::vector<std::string>& args, const Result& r)
{
  INFO(join(args) << " (exit " << r.exit_code << ")");
  CHECK_FALSE(contains(lower(r.out), "seed"));
  CHECK_FALSE(contains(lower(r.err), "seed"));
}

} // namespace

TEST_CASE("no output says 'seed': every command, format, config target and plan")
{
  const std::string top_help = help({});
  std::vector<std::string> commands = listed_after(top_help, "Subcommands:");
  // The commands users see first (docs/usage.md); if --help stopped listing them, the lists
  // below would silently shrink.
  for (const char* expected : { "size", "env", "report", "rules", "curve", "inspect", "pgbouncer", "config", "fleet" }) {
    CHECK(std::find(commands.begin(), commands.end(), expected) != commands.end());
  }

  std::set<std::string> formats = formats_in(top_help);
  for (const std::string& command : commands) {
    const std::set<std::string> more = formats_in(help({ command }));
    formats.insert(more.begin(), more.end());
  }
  // Every format docs/usage.md documents, at least.
  for (const char* expected : { "text", "json", "markdown", "env", "csv", "svg" }) {
    CHECK(formats.count(expected) == 1);
  }

  const std::vector<std::string> targets = listed_after(help({ "config" }), "Targets:");
  CHECK(targets.size() >= 8); // prisma ... postgresql-conf (docs/clients.md)

  std::vector<std::string> fleets;
  for (const char* dir : { "docs", "data" }) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(POOLCALC_SOURCE_DIR) + "/" + dir)) {
      if (entry.path().extension() != ".toml") {
        continue;
      }
      const std::string text = read_file(entry.path().string());
      if (contains(text, "[[service]]")) {
        fleets.push_back(entry.path().string());
      }
    }
  }
  CHECK(fleets.size() >= 2); // data/examples/chat-fleet.toml and trap-fleet.toml

  // The URL carries a password: the snippets print it, everything else masks it.
  const std::vector<std::string> url = { "--database-url", "postgresql://app:pw@localhost:5432/chat" };
  // 120 VUs at 150 ms: a pool of 50 that fits (docs/model.md, section 2); six instances of
  // 400 VUs at 80 ms: PgBouncer (more than 5 instances, rules pgbouncer.triggers); 120 VUs at
  // 200 ms on 20 available: a pool of 70 that nothing rescues, exit 3 (docs/model.md, section 3 and
  // "The advisor").
  const std::vector<std::vector<std::string>> plans = {
    { "--vus", "120", "--query-ms", "150" },
    { "--vus", "400", "--query-ms", "80", "--instances", "6" },
    { "--vus", "120", "--query-ms", "200", "--max-connections", "500", "--reserve", "other_apps=480" },
  };
  std::vector<std::vector<std::string>> runs; // each command line, the plan's flags and the output flags appended
  for (const std::string& command : commands) {
    if (command == "inspect" || command == "fleet") {
      continue;
    }
    if (command == "config") {
      for (const std::string& target : targets) {
        runs.push_back({ "config", "--for", target });
      }
    } else {
      runs.push_back({ command });
    }
    if (command == "pgbouncer") {
      runs.push_back({ "pgbouncer", "--userlist" });
    }
  }
  runs.push_back({}); // no command: size

  std::set<std::string> accepted; // formats some command took
  std::set<int> exit_codes;       // what the plans gave
  std::size_t checked = 0;
  for (const auto& plan : plans) {
    for (const auto& run : runs) {
      std::vector<std::optional<std::string>> format_choices = { std::nullopt };
      format_choices.insert(format_choices.end(), formats.begin(), formats.end());
      for (const auto& format : format_choices) {
        for (const bool explain : { false, true }) {
          std::vector<std::string> args = run;
          args.insert(args.end(), plan.begin(), plan.end());
          args.insert(args.end(), url.begin(), url.end());
          if (format) {
            args.insert(args.end(), { "--format", *format });
          }
          if (explain) {
            args.push_back("--explain");
          }
          // In this process (what main() runs): a sanitized binary's start-up would be most of the
          // time. Each command line of the first plan, without --format or --explain, also runs
          // through the binary, and both must agree.
          const Result r = run_poolcalc_in_process(args);
          if (!format && !explain && &plan == &plans.front()) {
            const Result binary = run_poolcalc(args);
            CHECK_MESSAGE(binary.exit_code == r.exit_code, join(args));
            CHECK_MESSAGE(binary.out == r.out, join(args));
            CHECK_MESSAGE(binary.err == r.err, join(args));
          }
          check_no_seed(args, r);
          exit_codes.insert(r.exit_code);
          if (format && r.exit_code != 2) {
            accepted.insert(*format);
          }
          ++checked;
        }
      }
    }
  }

  for (const std::string& fleet : fleets) {
    std::vector<std::vector<std::string>> fleet_runs = { { "fleet", fleet }, { "pgbouncer", "--fleet", fleet } };
    for (const std::string& target : targets) {
      fleet_runs.push_back({ "config", "--for", target, "--fleet", fleet });
    }
    for (const auto& run : fleet_runs) {
      std::vector<std::optional<std::string>> format_choices = { std::nullopt };
      format_choices.insert(format_choices.end(), formats.begin(), formats.end());
      for (const auto& format : format_choices) {
        std::vector<std::string> args = run;
        if (format) {
          args.insert(args.end(), { "--format", *format });
        }
        const Result r = run_poolcalc_in_process(args);
        check_no_seed(args, r);
        exit_codes.insert(r.exit_code);
        if (format && r.exit_code != 2) {
          accepted.insert(*format);
        }
        ++checked;
      }
    }
  }

  // The runs reached the outputs, not only usage errors: every format was taken by some command,
  // and the plans gave 0 (fits, PgBouncer) and 3 (fails).
  CHECK(accepted == formats);
  CHECK(exit_codes.count(0) == 1);
  CHECK(exit_codes.count(3) == 1);
  MESSAGE(checked << " runs checked");
}

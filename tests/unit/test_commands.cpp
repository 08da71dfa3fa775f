// The command table's own invariants: what --help, the parser and `poolcalc completion` read
// from it.

#include "commands.hpp"
#include "completion.hpp"

#include "poolcalc/client_config.hpp"
#include "poolcalc/rules.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

using namespace poolcalc::cli;

TEST_CASE("command table: every entry is complete")
{
  const std::vector<CommandSpec> table = command_table(poolcalc::builtin_rules());
  REQUIRE(table.size() == 14);
  CHECK(table.front().id == Command::size); // the default command
  std::set<std::string> names;
  for (const CommandSpec& command : table) {
    INFO(command.name);
    CHECK(names.insert(command.name).second);
    CHECK_FALSE(command.summary.empty());
    CHECK((command.run != nullptr));
    CHECK(command.examples.size() >= 1);
    CHECK(command.examples.size() <= 3);
    // --format is taken exactly by the commands with formats, and offers exactly those.
    const OptionDecl* format = command.option("--format");
    CHECK((format != nullptr) == !command.formats.empty());
    if (format != nullptr) {
      std::vector<std::string> expected;
      for (const Format f : command.formats) {
        expected.emplace_back(format_name(f));
      }
      CHECK(format->choices == expected);
      CHECK(std::find(command.formats.begin(), command.formats.end(), command.default_format) != command.formats.end());
    }
    std::set<std::string> flags;
    for (const OptionDecl& option : command.options) {
      CHECK(flags.insert(option.flag).second);
    }
  }
}

TEST_CASE("command table: config --for offers config_targets(), and completion writes them")
{
  const std::vector<CommandSpec> table = command_table(poolcalc::builtin_rules());
  const CommandSpec* config = find_command(table, "config");
  REQUIRE(config != nullptr);
  const OptionDecl* target = config->option("--for");
  REQUIRE(target != nullptr);
  REQUIRE(target->choices.size() == poolcalc::config_targets().size());
  for (std::size_t i = 0; i < target->choices.size(); ++i) {
    CHECK(target->choices[i] == poolcalc::config_targets()[i].name);
  }
  for (const std::string shell : { "bash", "zsh" }) {
    const std::string script = completion_script(table, shell);
    CHECK(script.find("(config:--for) " + std::string(shell == "bash" ? "mapfile -t COMPREPLY < <(compgen -W '" : "compadd -- ") +
                      "pgbouncer prisma node-postgres") != std::string::npos);
  }
}

TEST_CASE("command table: refusals")
{
  const std::vector<CommandSpec> table = command_table(poolcalc::builtin_rules());
  const CommandSpec& size = table.front();
  const CommandSpec& rules = *find_command(table, "rules");
  const CommandSpec& env = *find_command(table, "env");
  CHECK(option_refusal(rules, *size.option("--vus")) == "--vus: `poolcalc rules` takes only --findings, --format, --rules and --config");
  CHECK(option_refusal(rules, *size.option("--explain")) == "--explain: `poolcalc rules` prints the rules; drop --explain");
  CHECK(option_refusal(size, *env.option("--write")) == "--write: only `poolcalc env` writes a file (poolcalc env --write PATH ...)");
  CHECK(format_refusal(size, "--format", "xml") == "--format: expected text, json, markdown or env, got 'xml'");
  CHECK(format_refusal(env, "--format", "json") == "--format: `poolcalc env` always prints env; drop --format");
  CHECK(format_refusal(*find_command(table, "curve"), "--format", "md") ==
        "--format: `poolcalc curve` prints text, csv, json or svg, got 'md'");
}

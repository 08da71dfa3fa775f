#include "command_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace poolcalc::cli {

namespace {

const char* const k_description = "Sizes a database connection pool (PostgreSQL) for a workload, checks it against the server and says\n"
                                  "whether a pooler such as PgBouncer is needed, with the settings to paste.";

const char* const k_footer = R"(Examples:
  poolcalc --vus 120 --query-ms 150
      120 k6 VUs, queries holding a connection 150 ms: a pool of 50
  poolcalc --vus 120 --query-ms 100,150,200 --explain
      conservative, realistic and pessimistic scenarios, the arithmetic step by step
  poolcalc --vus 400 --query-ms 80 --instances 6 --format json
      six application instances (PgBouncer is then recommended), as JSON for CI
  poolcalc env --vus 120 --query-ms 150 --database-url postgresql://app@localhost:5432/chat
      the .env lines to paste
  poolcalc --vus 120 --query-ms 150 --pool 10,50
      what pools of 10 and 50 do under the load: throughput, waits, timeouts (queueing model)
  poolcalc --rps 64.6 --query-ms 150 --target 'p99_wait<50ms'
      the smallest pool that keeps the 99th percentile wait under 50 ms, overhead on top
  poolcalc curve --vus 120 --query-ms 150 --format svg > curve.svg
      pool size against the waits, the knee marked
  poolcalc report --config scenario.toml > pool-review.md
      a design-review document from a scenario file
  poolcalc pgbouncer --vus 400 --query-ms 80 --instances 6 > pgbouncer.ini
      PgBouncer's configuration for the plan (--userlist: how to write its auth_file)
  poolcalc config --for hikaricp --vus 120 --query-ms 150
      the settings in one library's own knobs and units (see `poolcalc config --help`)

Every option is also a key of a --config TOML file, in snake_case (query_ms = [100, 150, 200]).
Precedence: built-in rules < --rules < --config < $DATABASE_URL < flags.
Exit codes: 0 ok (warnings allowed), 1 runtime failure, 2 bad input, 3 the plan breaks a hard limit.
Docs: docs/usage.md (examples), docs/model.md (the math), docs/rules.md, docs/json.md.
Each subcommand's own options and examples: poolcalc SUBCOMMAND --help.)";

// The front's options: the default command's, and (hidden) every option another command refuses
// with a reason of its own (--write, --dry-run), so that reason is what the user reads. The hidden
// ones go before the last group (CLI11 ends every group but the last with a blank line).
std::vector<OptionDecl> front_options(const std::vector<CommandSpec>& table)
{
  std::vector<OptionDecl> options = table.front().options;
  std::vector<OptionDecl> hidden;
  for (const CommandSpec& command : table) {
    for (const OptionDecl& option : command.options) {
      const auto same = [&](const OptionDecl& o) { return o.flag == option.flag; };
      if (!option.elsewhere.empty() && std::none_of(options.begin(), options.end(), same) &&
          std::none_of(hidden.begin(), hidden.end(), same)) {
        hidden.push_back(option);
        hidden.back().hidden = true;
      }
    }
  }
  const auto last_group =
    std::find_if(options.begin(), options.end(), [&](const OptionDecl& o) { return o.group == options.back().group; });
  options.insert(last_group, hidden.begin(), hidden.end());
  return options;
}

// The subcommand argv names: the first word that is not an option or an option's value.
const CommandSpec* named_command(const std::vector<CommandSpec>& table,
                                 const std::vector<OptionDecl>& front,
                                 int argc,
                                 const char* const* argv)
{
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--") {
      return nullptr;
    }
    if (word.starts_with("-")) {
      const auto option = std::find_if(front.begin(), front.end(), [&](const OptionDecl& o) { return o.flag == word; });
      if (option != front.end() && option->kind != OptionKind::flag) {
        ++i; // its value
      }
      continue;
    }
    return find_command(table, word);
  }
  return nullptr;
}

} // namespace

std::string help_footer(const CommandSpec& command)
{
  std::string text = command.notes;
  if (!command.examples.empty()) {
    text += text.empty() ? "Examples:" : "\n\nExamples:";
    for (const Example& example : command.examples) {
      text += fmt::format("\n  {}\n      {}", example.command, example.what);
    }
  }
  return text;
}

CommandLine::CommandLine(const std::vector<CommandSpec>& table, int argc, const char* const* argv)
  : m_table(table)
  , m_front_options(front_options(table))
  , m_app(k_description, "poolcalc")
{
  m_app.set_version_flag("--version", "poolcalc " POOLCALC_VERSION); // CMakeLists.txt: project(VERSION)
  m_app.footer(k_footer);
  m_app.require_subcommand(0, 1);
  for (const OptionDecl& option : m_front_options) {
    add(m_app, option, option.hidden, m_front);
  }
  m_named = named_command(table, m_front_options, argc, argv);
  // Start-up time is a product requirement (bench/startup.cpp): a CLI11 subcommand is costly to
  // make, so only the named one is, unless help (which lists them all) is asked for. Without a
  // named subcommand a stray word is refused as an unexpected argument either way.
  const bool help = std::any_of(argv + std::min(argc, 1), argv + argc, [](const char* word) {
    const std::string_view w = word;
    return w == "--help" || w == "-h" || w == "--help-all";
  });
  for (const CommandSpec& command : table) {
    if (&command != m_named && !help) {
      continue;
    }
    CLI::App* sub = m_app.add_subcommand(command.name, command.summary);
    sub->fallthrough();
    m_subcommands.emplace_back(&command, sub);
    if (&command == m_named) {
      sub->footer(help_footer(command));
      for (const OptionDecl& option : command.options) {
        add(*sub, option, option.hidden, m_sub);
      }
    }
  }
}

void CommandLine::add(CLI::App& app, const OptionDecl& decl, bool hidden, std::deque<Slot>& slots)
{
  Slot& slot = slots.emplace_back();
  slot.decl = &decl;
  CLI::Option* option = nullptr;
  if (decl.kind == OptionKind::flag) {
    option = app.add_flag(decl.flag, slot.flag, decl.help);
  } else if (decl.kind == OptionKind::list) {
    // One value per occurrence (repeat the flag for more), so a stray word is not taken as one.
    option = app.add_option(decl.flag, slot.values, decl.help)->type_name(decl.type_name)->expected(1)->allow_extra_args(false);
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  } else {
    option = app.add_option(decl.flag, slot.value, decl.help)->type_name(decl.type_name);
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  if (decl.positional) {
    option->required();
  }
  if (hidden) {
    option->group("");
  } else if (!decl.group.empty()) {
    option->group(decl.group);
  }
  slot.option = option;
}

const CommandSpec& CommandLine::command() const
{
  for (const auto& [command, sub] : m_subcommands) {
    if (sub->parsed()) {
      return *command;
    }
  }
  return m_table.front();
}

void CommandLine::collect(const std::deque<Slot>& slots, Given& given)
{
  for (const Slot& slot : slots) {
    if (slot.option->count() == 0) {
      continue;
    }
    if (slot.decl->kind == OptionKind::flag) {
      given.add(*slot.decl, { slot.flag ? "true" : "false" });
    } else if (slot.decl->kind == OptionKind::list) {
      given.add(*slot.decl, slot.values);
    } else {
      given.add(*slot.decl, { slot.value });
    }
  }
}

Given CommandLine::given() const
{
  Given given;
  collect(m_front, given);
  collect(m_sub, given);
  return given;
}

} // namespace poolcalc::cli

#pragma once
// The command table as a CLI11 parser. The front (poolcalc without a subcommand) takes the
// default command's options; each subcommand takes exactly the options of its entry, so its
// --help lists them. An option given before the subcommand's name, or one the subcommand does
// not know, lands on the front and is refused by the loader unless the subcommand takes it
// (`poolcalc --vus 120 env --query-ms 150` works as it always did).

#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <deque>
#include <utility>
#include <vector>

namespace poolcalc::cli {

class CommandLine
{
public:
  // Only the subcommand that `argv` names gets its options registered (CLI11's set-up is part of
  // every run's start-up time).
  CommandLine(const std::vector<CommandSpec>& table, int argc, const char* const* argv);

  CLI::App& app() { return m_app; }

  // The subcommand argv names, before parse() (nullptr when none): its --help is the one a parse
  // error points to.
  const CommandSpec* named() const { return m_named; }

  // After parse(): the command chosen (the default without a subcommand) and the options given.
  const CommandSpec& command() const;
  Given given() const;

private:
  struct Slot
  {
    const OptionDecl* decl = nullptr;
    std::string value;
    std::vector<std::string> values;
    bool flag = false;
    CLI::Option* option = nullptr;
  };

  void add(CLI::App& app, const OptionDecl& decl, bool hidden, std::deque<Slot>& slots);
  static void collect(const std::deque<Slot>& slots, Given& given);

  const std::vector<CommandSpec>& m_table;
  const CommandSpec* m_named = nullptr;
  std::vector<OptionDecl> m_front_options;
  CLI::App m_app;
  std::deque<Slot> m_front; // stable addresses for CLI11's bound variables
  std::deque<Slot> m_sub;
  std::vector<std::pair<const CommandSpec*, CLI::App*>> m_subcommands;
};

// The text of a command's --help after its options: its notes and examples.
std::string help_footer(const CommandSpec& command);

} // namespace poolcalc::cli

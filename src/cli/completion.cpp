#include "completion.hpp"

#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc::cli {

namespace {

// What follows an option (or stands as a positional argument): a value from a list, a file
// name, or a value to type (nothing offered).
enum class Value
{
  none,
  choices,
  files,
};

Value value_of(const OptionDecl& option)
{
  if (!option.choices.empty()) {
    return Value::choices;
  }
  if (option.type_name == "FILE" || option.type_name == "PATH" || option.flag == "FILE") {
    return Value::files;
  }
  return Value::none;
}

std::string joined(const std::vector<std::string>& words, std::string_view separator = " ")
{
  return fmt::format("{}", fmt::join(words, separator));
}

// The options a command lists (the hidden ones are left out), with --help; the default command's
// also with --version.
std::vector<std::string> flags_of(const CommandSpec& command, bool front)
{
  std::vector<std::string> flags;
  for (const OptionDecl& option : command.options) {
    if (!option.hidden && !option.positional) {
      flags.push_back(option.flag);
    }
  }
  flags.emplace_back("--help");
  if (front) {
    flags.emplace_back("--version");
  }
  return flags;
}

std::vector<std::string> value_flags(const CommandSpec& command)
{
  std::vector<std::string> flags;
  for (const OptionDecl& option : command.options) {
    if (!option.positional && option.kind != OptionKind::flag) {
      flags.push_back(option.flag);
    }
  }
  return flags;
}

const OptionDecl* positional_of(const CommandSpec& command)
{
  const auto it = std::find_if(command.options.begin(), command.options.end(), [](const OptionDecl& o) { return o.positional; });
  return it == command.options.end() ? nullptr : &*it;
}

std::vector<std::string> names_of(const std::vector<CommandSpec>& table)
{
  std::vector<std::string> names;
  for (const CommandSpec& command : table) {
    names.push_back(command.name);
  }
  return names;
}

// The shells differ in syntax only; each builds its script from the same pieces.
struct Syntax
{
  std::string_view offer;       // the statement that offers the words {} (already quoted)
  std::string_view offer_files; // the statement that offers file names
};

const Syntax k_bash = { "mapfile -t COMPREPLY < <(compgen -W '{}' -- \"$cur\")", "_poolcalc_files" };
const Syntax k_zsh = { "compadd -- {}", "_files" };

// `case` arms completing the value after each option of `command`, for a `case` on "COMMAND:PREV".
std::string value_arms(const CommandSpec& command, const Syntax& syntax)
{
  std::string text;
  for (const OptionDecl& option : command.options) {
    if (option.positional || option.kind == OptionKind::flag || option.hidden) {
      continue;
    }
    std::string action = "return 0";
    if (value_of(option) == Value::choices) {
      action = fmt::format(fmt::runtime(syntax.offer), joined(option.choices)) + "; return 0";
    } else if (value_of(option) == Value::files) {
      action = std::string(syntax.offer_files) + "; return 0";
    }
    text += fmt::format("    ({}:{}) {} ;;\n", command.name, option.flag, action);
  }
  return text;
}

// What each command offers for a word that is no option: its positional argument's values.
std::string positional_arms(const std::vector<CommandSpec>& table, const Syntax& syntax)
{
  std::string text;
  for (const CommandSpec& command : table) {
    const OptionDecl* positional = positional_of(command);
    if (positional == nullptr) {
      continue;
    }
    const std::string action = value_of(*positional) == Value::choices
                                 ? fmt::format(fmt::runtime(syntax.offer), joined(positional->choices))
                               : value_of(*positional) == Value::files ? std::string(syntax.offer_files)
                                                                       : std::string(":");
    text += fmt::format("    ({}) {} ;;\n", command.name, action);
  }
  return text;
}

std::string flag_arms(const std::vector<CommandSpec>& table, const Syntax& syntax)
{
  std::string text;
  for (const CommandSpec& command : table) {
    text += fmt::format("      ({}) {} ;;\n", command.name, fmt::format(fmt::runtime(syntax.offer), joined(flags_of(command, false))));
  }
  return text;
}

// The body both shells share: find the subcommand, complete an option's value, an option, a
// subcommand or a positional argument. `words`/`index`: the shell's names for the words and the
// current word's position; `first`: the index of the first word after "poolcalc".
std::string body(const std::vector<CommandSpec>& table,
                 const Syntax& syntax,
                 std::string_view words,
                 std::string_view index,
                 int first,
                 std::string_view fixup)
{
  const CommandSpec& front = table.front();
  std::string value_cases;
  for (const CommandSpec& command : table) {
    value_cases += value_arms(command, syntax);
  }
  return fmt::format(
    R"(  local cur="${{{words}[{index}]}}" prev="${{{words}[{index}-1]}}" command="" i
{fixup}  # The subcommand: the first word that is no option or option's value; without one, {front}.
  # bash also splits a value at ':' and '=' (postgresql://..., admin=5): its pieces are skipped.
  for ((i = {first}; i < {index}; i++)); do
    case "${{{words}[i]}}" in
    ({value_flags}) [[ ${{{words}[i+1]}} == = ]] && ((i++)); ((i++)); while [[ ${{{words}[i+1]}} == [=:] ]]; do ((i += 2)); done ;;
    (-*) ;;
    ({names}) command="${{{words}[i]}}"; break ;;
    (*) break ;;
    esac
  done
  # An option's value.
  case "${{command:-{front}}}:$prev" in
{value_cases}  esac
  if [[ $cur == -* ]]; then
    case "$command" in
      ('') {front_flags} ;;
{flag_cases}    esac
    return 0
  fi
  if [[ -z $command ]]; then
    {commands}
    return 0
  fi
  case "$command" in
{positional_cases}  esac
  return 0
)",
    fmt::arg("words", words),
    fmt::arg("index", index),
    fmt::arg("first", first),
    fmt::arg("fixup", fixup),
    fmt::arg("front", front.name),
    fmt::arg("value_flags", joined(value_flags(front), "|")),
    fmt::arg("names", joined(names_of(table), "|")),
    fmt::arg("value_cases", value_cases),
    fmt::arg("flag_cases", flag_arms(table, syntax)),
    fmt::arg("front_flags", fmt::format(fmt::runtime(syntax.offer), joined(flags_of(front, true)))),
    fmt::arg("commands", fmt::format(fmt::runtime(syntax.offer), joined(names_of(table)))),
    fmt::arg("positional_cases", positional_arms(table, syntax)));
}

std::string bash_script(const std::vector<CommandSpec>& table)
{
  return fmt::format(R"(# bash completion for poolcalc, written by `poolcalc completion bash` from its table of commands.
# Install: source it, or save it as /usr/share/bash-completion/completions/poolcalc.

_poolcalc_files()
{{
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}}

_poolcalc()
{{
  COMPREPLY=()
{body}}}

complete -F _poolcalc poolcalc
)",
                     fmt::arg("body",
                              body(table,
                                   k_bash,
                                   "COMP_WORDS",
                                   "COMP_CWORD",
                                   1,
                                   "  # bash splits --format=json at the '='.\n"
                                   "  if [[ $cur == = ]]; then\n"
                                   "    cur=\"\"\n"
                                   "  elif [[ $prev == = ]]; then\n"
                                   "    prev=\"${COMP_WORDS[COMP_CWORD-2]}\"\n"
                                   "  fi\n")));
}

std::string zsh_script(const std::vector<CommandSpec>& table)
{
  return fmt::format(R"(#compdef poolcalc
# zsh completion for poolcalc, written by `poolcalc completion zsh` from its table of commands.
# Install: save it as _poolcalc in a directory of $fpath (before compinit runs), or source it
# after compinit.

_poolcalc()
{{
{body}}}

if [[ $funcstack[1] == _poolcalc ]]; then
  _poolcalc "$@"
elif (( $+functions[compdef] )); then
  compdef _poolcalc poolcalc
fi
)",
                     fmt::arg("body", body(table, k_zsh, "words", "CURRENT", 2, "")));
}

} // namespace

std::vector<std::string> completion_shells()
{
  return { "bash", "zsh" };
}

std::string completion_script(const std::vector<CommandSpec>& table, std::string_view shell)
{
  return shell == "zsh" ? zsh_script(table) : bash_script(table);
}

Outcome run_completion(Invocation& invocation)
{
  const std::string shell = invocation.given.value("SHELL").value_or("");
  const std::vector<std::string> shells = completion_shells();
  if (std::find(shells.begin(), shells.end(), shell) == shells.end()) {
    return poolcalc::unexpected(Failure{
      k_exit_usage, fmt::format("SHELL: `poolcalc completion` writes for {}, got '{}'", joined(shells, " or "), user_text(shell)) });
  }
  return Output{ completion_script(invocation.table, shell) };
}

} // namespace poolcalc::cli

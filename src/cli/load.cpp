#include "load.hpp"

#include "files.hpp"

#include "poolcalc/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace poolcalc::cli {

namespace {

// A sample file of ten million durations is about 80 MiB of text.
constexpr std::size_t k_max_sample_file_mib = 128;

poolcalc::unexpected<Failure> usage(std::string message)
{
  return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) });
}

// The --config file's inputs, and its directory (its `rules` path is relative to it).
struct ConfigFile
{
  RawInputs inputs;
  std::filesystem::path directory;
};

poolcalc::expected<ConfigFile, Failure> read_config(const Given& given)
{
  ConfigFile config;
  const std::optional<std::string> path = given.value("--config");
  if (!path) {
    return config;
  }
  auto text = read_file(*path);
  if (!text) {
    return usage(fmt::format("--config: {}", text.error()));
  }
  auto inputs = parse_scenario_toml(*text, *path);
  if (!inputs) {
    return usage(inputs.error());
  }
  config.inputs = std::move(*inputs);
  config.directory = std::filesystem::path(*path).parent_path();
  return config;
}

// --rules, else the config file's `rules` (relative to the file), else the built-in rules.
poolcalc::expected<void, Failure> read_rules(const Given& given, const ConfigFile& config, Loaded& loaded)
{
  std::optional<std::string> path = given.value("--rules");
  std::string origin = "--rules";
  if (!path && config.inputs.contains("rules")) {
    const RawValue& value = config.inputs.at("rules");
    path = (config.directory / value.items.front()).string();
    origin = value.origin;
  }
  if (!path) {
    loaded.rules = builtin_rules();
    loaded.rules_text = std::string(embedded_rules_toml());
    loaded.rules_source = "built in (data/rules.toml)";
    return {};
  }
  auto text = read_file(*path);
  if (!text) {
    return usage(fmt::format("{}: {}", origin, text.error()));
  }
  auto rules = parse_rules(*text, *path);
  if (!rules) {
    return usage(rules.error());
  }
  loaded.rules = std::move(*rules);
  loaded.rules_text = std::move(*text);
  loaded.rules_source = *path;
  return {};
}

// The format: --format, else the config file's `format` (for a command with a choice of
// formats), else the command's default; one the command does not print is refused.
poolcalc::expected<Format, Failure> settle_format(const CommandSpec& command, const Given& given, const RawInputs& config)
{
  std::optional<RawValue> chosen;
  if (command.formats.size() > 1 && command.config_format && config.contains("format")) {
    chosen = config.at("format");
  }
  if (const auto flag = given.value("--format")) {
    chosen = RawValue{ { *flag }, "--format" };
  }
  if (!chosen) {
    return command.default_format;
  }
  const std::string& text = chosen->items.front();
  const auto format = parse_format(text);
  if (!format || std::find(command.formats.begin(), command.formats.end(), *format) == command.formats.end()) {
    return usage(format_refusal(command, chosen->origin, text));
  }
  return *format;
}

// The sample files (--query-sample, --think-sample): read here, parsed by the core. A path from
// the --config file is relative to the file, as its `rules` is.
poolcalc::expected<void, Failure> read_samples(RawInputs& inputs, const std::filesystem::path& config_directory)
{
  for (const char* key : { "query_sample", "think_sample" }) {
    const auto it = inputs.find(key);
    if (it == inputs.end() || it->second.items.size() != 1) {
      continue; // none, or several: the scenario reader says "expected one value"
    }
    RawValue& value = it->second;
    const bool from_flag = value.origin.starts_with("--");
    const std::string path = from_flag ? value.items.front() : (config_directory / value.items.front()).string();
    auto text = read_file(path, k_max_sample_file_mib);
    if (!text) {
      return usage(fmt::format("{}: {}", value.origin, text.error()));
    }
    value.contents = std::move(*text);
  }
  return {};
}

bool set_in(const std::optional<std::string>& value)
{
  return value.has_value() && !value->empty();
}

} // namespace

poolcalc::expected<Loaded, Failure> load(const CommandSpec& command, const Given& given, const Environment& env)
{
  for (const OptionDecl* option : given.order()) {
    if (!command.takes(option->flag)) {
      return usage(option_refusal(command, *option));
    }
  }
  Loaded loaded;
  ConfigFile config;
  if ((command.needs & k_need_config_file) != 0) {
    auto read = read_config(given);
    if (!read) {
      return poolcalc::unexpected(read.error());
    }
    config = std::move(*read);
  }
  if ((command.needs & k_need_rules) != 0) {
    if (auto read = read_rules(given, config, loaded); !read) {
      return poolcalc::unexpected(read.error());
    }
  }
  auto format = settle_format(command, given, config.inputs);
  if (!format) {
    return poolcalc::unexpected(format.error());
  }
  loaded.format = *format;
  // The config file's presentation keys; the rest are scenario inputs.
  if (command.takes("--explain") && config.inputs.contains("explain")) {
    loaded.explain = config.inputs.at("explain").items.front() == "true"; // a boolean: the scenario reader checked it
  }
  loaded.explain = loaded.explain || given.has("--explain");
  for (const char* key : { "format", "explain", "rules" }) {
    config.inputs.erase(key);
  }
  loaded.inputs = std::move(config.inputs);
  if (const auto url = env.getenv("DATABASE_URL"); (command.needs & k_need_database_url) != 0 && set_in(url)) {
    loaded.inputs["database_url"] = RawValue{ { *url }, "DATABASE_URL" };
  }
  for (const OptionDecl* option : given.order()) {
    if (!option->key.empty()) {
      loaded.inputs[option->key] = RawValue{ given.items(option->flag), option->flag };
    }
  }
  if (auto read = read_samples(loaded.inputs, config.directory); !read) {
    return poolcalc::unexpected(read.error());
  }
  return loaded;
}

} // namespace poolcalc::cli

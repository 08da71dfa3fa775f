#pragma once
// `poolcalc config --for TARGET`: the snippet of one client library, pooler or server, sized by
// the plan (include/poolcalc/client_config.hpp). Takes every sizing flag and --config like the
// other subcommands; its own flags are --for, --pgbouncer-version and --server-version.

#include "poolcalc/client_config.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <CLI/CLI.hpp>

#include <expected>
#include <optional>
#include <string>

namespace poolcalc::cli {

// The config subcommand's own flags, as given.
struct ConfigArgs
{
  std::optional<std::string> target;
  std::optional<std::string> pgbouncer_version;
  std::optional<std::string> server_version;
};

// What --for and the versions ask for, validated.
struct ConfigRequest
{
  const ConfigTarget* target = nullptr;
  ConfigOptions options;
};

class ConfigCommand
{
public:
  // Adds the `config` subcommand and its flags to `app`; returns it.
  CLI::App* add_to(CLI::App& app);

  // The flags as given (after parsing).
  ConfigArgs args() const;

private:
  std::string m_target;
  std::string m_pgbouncer_version;
  std::string m_server_version;
  CLI::Option* m_target_option = nullptr;
  CLI::Option* m_pgbouncer_version_option = nullptr;
  CLI::Option* m_server_version_option = nullptr;
};

// Validates the flags before any sizing. Returns the one-line error (without "poolcalc: error: ")
// naming the flag and what it accepts.
std::expected<ConfigRequest, std::string> validate_config_args(const ConfigArgs& args);

// The snippet for the plan: `format` "text" (the files one after the other) or "json".
std::string render_config(const ConfigRequest& request, const Plan& plan, const Rules& rules, const std::string& format);

} // namespace poolcalc::cli

#pragma once
// `poolcalc config --for TARGET`: the snippet of one client library, pooler or server, sized by
// the plan (include/poolcalc/client_config.hpp). Takes every sizing flag and --config like the
// other subcommands; its own flags are --for, --pgbouncer-version and --server-version.

#include "poolcalc/client_config.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace poolcalc::cli {

// The config subcommand's own flags, as given.
struct ConfigArgs
{
  std::optional<std::string> target;
  std::optional<std::string> pgbouncer_version;
  std::optional<std::string> server_version;
  std::optional<std::string> fleet;
  std::optional<std::string> service;
};

// What --for and the versions ask for, validated.
struct ConfigRequest
{
  const ConfigTarget* target = nullptr;
  ConfigOptions options;
  bool server_version_given = false;  // else a fleet's [database] version is used
  std::optional<std::string> fleet;   // --fleet FILE
  std::optional<std::string> service; // --service NAME
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
  std::string m_fleet;
  std::string m_service;
  CLI::Option* m_fleet_option = nullptr;
  CLI::Option* m_service_option = nullptr;
  CLI::Option* m_target_option = nullptr;
  CLI::Option* m_pgbouncer_version_option = nullptr;
  CLI::Option* m_server_version_option = nullptr;
};

// Validates the flags before any sizing. Returns the one-line error (without "poolcalc: error: ")
// naming the flag and what it accepts.
poolcalc::expected<ConfigRequest, std::string> validate_config_args(const ConfigArgs& args);

// The snippet for the plan: `format` "text" (the files one after the other) or "json".
// Returns an error string for a `pgbouncer` snippet of a plan without PgBouncer (or whose URL
// PgBouncer cannot take); `url_origin` names where the URL came from.
poolcalc::expected<std::string, std::string> render_config(const ConfigRequest& request,
                                                           const Plan& plan,
                                                           const Rules& rules,
                                                           const std::string& format,
                                                           std::string_view url_origin);

// Reads, checks and sizes the fleet file `path` with `rules`. Returns the one-line error (without
// "poolcalc: error: ") for a file that cannot be read ("--fleet: cannot read ...") or is not a
// valid fleet file ("FILE:LINE:COLUMN: KEY: ...").
poolcalc::expected<Fleet, std::string> load_fleet(const std::string& path, const Rules& rules);

// `poolcalc config --for TARGET --fleet FILE [--service NAME]`: reads and sizes the fleet file
// with `rules`, prints the snippet in `format` (text or json) on `out`. `sizing_flag` names a
// sizing flag or --config given beside --fleet (empty when none): a usage error, as are a
// missing or unknown --service for a client target and --service for pgbouncer or
// postgresql-conf. Fail findings go to `err` as "poolcalc: fail: ID: MESSAGE" lines and the
// exit is 3, the snippet printed all the same. Returns the exit code.
int run_config_fleet(const ConfigRequest& request,
                     const std::string& sizing_flag,
                     const Rules& rules,
                     const std::string& format,
                     std::ostream& out,
                     std::ostream& err);

} // namespace poolcalc::cli

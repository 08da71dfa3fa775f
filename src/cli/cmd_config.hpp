#pragma once
// `poolcalc config --for TARGET`: the snippet of one client library, pooler or server, sized by
// the plan (include/poolcalc/client_config.hpp). Takes every sizing flag and --config; its own
// flags are --for, --pgbouncer-version, --server-version, --fleet, --service, and for the
// client targets --app, --prisma-version, --module, --package-json and --pgx-version.

#include "commands.hpp"

#include "poolcalc/client_config.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

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
  std::optional<std::string> prisma_version; // --prisma-version
  std::optional<std::string> module;         // --module
  std::optional<std::string> pgx_version;    // --pgx-version
  std::optional<std::string> package_json;   // --package-json FILE
  std::optional<std::string> app;            // --app NAME
};

// What --for and the versions ask for, validated.
struct ConfigRequest
{
  const ConfigTarget* target = nullptr;
  ConfigOptions options;
  bool server_version_given = false;           // else a fleet's [database] version is used
  std::optional<std::string> fleet;            // --fleet FILE
  std::optional<std::string> service;          // --service NAME
  std::optional<std::string> application_name; // --app NAME: replaces ConfigInput::application_name
};

// config's own options: --for (its values: config_targets()), the versions, --fleet, --service.
std::vector<OptionDecl> config_options();

// `poolcalc env`'s own --for CLIENT and --prisma-version N (the client targets of config).
std::vector<OptionDecl> env_for_options();

// The client `poolcalc env --for` names, validated: one line (without "poolcalc: error: ") for a
// target that is not a client library, or --prisma-version without --for prisma.
poolcalc::expected<EnvFor, std::string> env_for(const Given& given);

// The text of `poolcalc config --help` after the options: the targets, one line each.
std::string config_notes();

// The flags as given.
ConfigArgs config_args(const Given& given);

// `poolcalc config`: validates the flags, then prints the snippet for the plan or the fleet file.
Outcome run_config(Invocation& invocation);

// Validates the flags before any sizing. Returns the one-line error (without "poolcalc: error: ")
// naming the flag and what it accepts.
poolcalc::expected<ConfigRequest, std::string> validate_config_args(const ConfigArgs& args);

// The snippet for the plan: `format` text (the files one after the other) or json.
// Returns an error string for a `pgbouncer` snippet of a plan without PgBouncer (or whose URL
// PgBouncer cannot take); `url_origin` names where the URL came from.
poolcalc::expected<std::string, std::string> render_config(const ConfigRequest& request,
                                                           const Plan& plan,
                                                           const Rules& rules,
                                                           Format format,
                                                           std::string_view url_origin);

// Reads, checks and sizes the fleet file `path` with `rules`. Returns the one-line error (without
// "poolcalc: error: ") for a file that cannot be read ("--fleet: cannot read ...") or is not a
// valid fleet file ("FILE:LINE:COLUMN: KEY: ...").
poolcalc::expected<Fleet, std::string> load_fleet(const std::string& path, const Rules& rules);

// `poolcalc config --for TARGET --fleet FILE [--service NAME]`: reads and sizes the fleet file
// with `rules`, the snippet in `format` (text or json). `sizing_flag` names a
// sizing flag or --config given beside --fleet (empty when none): a usage error, as are a
// missing or unknown --service for a client target and --service for pgbouncer or
// postgresql-conf. Fail findings go to `err` as "poolcalc: fail: ID: MESSAGE" lines and the
// exit is 3, the snippet printed all the same.
Outcome run_config_fleet(const ConfigRequest& request,
                         const std::string& sizing_flag,
                         const Rules& rules,
                         Format format,
                         std::ostream& err);

} // namespace poolcalc::cli

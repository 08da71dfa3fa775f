#include "cmd_config.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

CLI::App* ConfigCommand::add_to(CLI::App& app)
{
  CLI::App* sub = app.add_subcommand("config",
                                     "the snippet for one library or server: --for prisma, node-postgres, hikaricp, sqlalchemy, "
                                     "go-database-sql, pgx or postgresql-conf");
  sub->fallthrough();
  std::string targets;
  for (const ConfigTarget& target : config_targets()) {
    targets += fmt::format("\n  {:<16} {}", target.name, target.summary);
  }
  sub->footer("Takes every option of `poolcalc --help`; --format text (the snippet, default) or json.\nTargets:" + targets +
              "\nDefaults and their sources: docs/clients.md.");
  m_target_option = sub->add_option("--for", m_target, "the target (required): " + config_target_names())->type_name("TARGET");
  m_pgbouncer_version_option =
    sub
      ->add_option("--pgbouncer-version",
                   m_pgbouncer_version,
                   fmt::format("the PgBouncer in front of the server (default {}, Debian 12's): below 1.21.0 Prisma needs pgbouncer=true",
                               to_string(k_default_pgbouncer_version)))
      ->type_name("X.Y.Z");
  m_server_version_option =
    sub
      ->add_option("--server-version",
                   m_server_version,
                   fmt::format("the PostgreSQL major version (default {}): 16+ has reserved_connections", k_default_server_version))
      ->type_name("N");
  for (CLI::Option* option : { m_target_option, m_pgbouncer_version_option, m_server_version_option }) {
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  return sub;
}

ConfigArgs ConfigCommand::args() const
{
  ConfigArgs args;
  if (m_target_option->count() > 0) {
    args.target = m_target;
  }
  if (m_pgbouncer_version_option->count() > 0) {
    args.pgbouncer_version = m_pgbouncer_version;
  }
  if (m_server_version_option->count() > 0) {
    args.server_version = m_server_version;
  }
  return args;
}

std::expected<ConfigRequest, std::string> validate_config_args(const ConfigArgs& args)
{
  ConfigRequest request;
  if (!args.target) {
    return std::unexpected(fmt::format("--for: `poolcalc config` needs a target: {}", config_target_names()));
  }
  request.target = find_config_target(*args.target);
  if (request.target == nullptr) {
    // pgbouncer: the pgbouncer.ini renderer registers itself in config_targets(); until then it is
    // named here so the message says it is known but not available.
    if (*args.target == "pgbouncer") {
      return std::unexpected(fmt::format("--for: the pgbouncer target is not available yet; expected one of {}", config_target_names()));
    }
    return std::unexpected(fmt::format("--for: unknown target '{}'; expected one of {}", *args.target, config_target_names()));
  }
  if (args.pgbouncer_version) {
    auto version = parse_pgbouncer_version(*args.pgbouncer_version);
    if (!version) {
      return std::unexpected("--pgbouncer-version: " + version.error());
    }
    request.options.pgbouncer_version = *version;
  }
  if (args.server_version) {
    auto version = parse_server_version(*args.server_version);
    if (!version) {
      return std::unexpected("--server-version: " + version.error());
    }
    request.options.server_version = *version;
  }
  return request;
}

std::string render_config(const ConfigRequest& request, const Plan& plan, const Rules& rules, const std::string& format)
{
  const std::vector<ConfigFile> files = request.target->render(config_input(plan, rules), request.options);
  return format == "json" ? render_config_json(request.target->name, files) : render_config_text(files);
}

} // namespace poolcalc::cli

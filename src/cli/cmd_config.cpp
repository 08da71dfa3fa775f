#include "cmd_config.hpp"

#include "cmd_pgbouncer.hpp"
#include "cmd_plan.hpp"
#include "context.hpp"
#include "files.hpp"
#include "run.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc::cli {

std::vector<OptionDecl> config_options()
{
  std::vector<std::string> targets;
  for (const ConfigTarget& target : config_targets()) {
    targets.emplace_back(target.name);
  }
  const auto option = [](std::string flag, std::string type_name, std::string help) {
    return OptionDecl{ std::move(flag), std::move(type_name), std::move(help), OptionKind::value, "", {}, {}, false, false, {} };
  };
  std::vector<OptionDecl> options = {
    option("--for", "TARGET", "the target (required): " + config_target_names()),
    option("--pgbouncer-version",
           "X.Y.Z",
           fmt::format("the PgBouncer in front of the server, X.Y or X.Y.Z, each part 0-9999 (default {}, Debian 12's): below "
                       "{} Prisma needs pgbouncer=true",
                       to_string(k_default_pgbouncer_version),
                       to_string(k_pgbouncer_prepared_statements))),
    option("--server-version",
           "N",
           fmt::format("the PostgreSQL major version, {}-{} (default {}): 16+ has reserved_connections",
                       k_min_server_version,
                       k_max_server_version,
                       k_default_server_version)),
    option("--fleet", "FILE", "take the workloads from a fleet file (docs/fleet.md) instead of the sizing flags"),
    option("--service", "NAME", "with --fleet: the service a client target configures (pgbouncer and postgresql-conf: the fleet)"),
    option("--app",
           "NAME",
           fmt::format("the application_name every client snippet sets: letters, digits, . _ -, at most 63 (default: the fleet "
                       "service's name, else the URL's, else {})",
                       k_default_application_name)),
    option("--prisma-version",
           "N",
           fmt::format("prisma: the Prisma ORM major, {}-{} (default {}, or --package-json's): 7 configures the PrismaPg "
                       "adapter's pg.Pool, 6 and older DATABASE_URL's parameters",
                       k_min_prisma_major,
                       k_default_prisma_major,
                       k_default_prisma_major)),
    option("--module",
           "MODULE",
           "node-postgres and prisma: the project's module system (default cjs, as `npm init` makes, or --package-json's "
           "\"type\"): cjs writes NAME.js with require, esm NAME.mjs with import"),
    option("--package-json",
           "FILE",
           "node-postgres and prisma: read the project's package.json: @prisma/client's (or prisma's) range gives "
           "--prisma-version, \"type\": \"module\" gives --module esm; flags given win"),
    option("--pgx-version",
           "N",
           fmt::format("go-database-sql and pgx: the pgx major, 4 (Debian 12's 4.15) or 5 (upstream's current; default {})",
                       k_default_pgx_major)),
  };
  options.front().choices = std::move(targets);
  return options;
}

namespace {

// The targets `poolcalc env --for` takes: the client libraries (not pgbouncer, postgresql-conf).
std::vector<std::string> env_clients()
{
  std::vector<std::string> names;
  for (const ConfigTarget& target : config_targets()) {
    if (target.name != "pgbouncer" && target.name != "postgresql-conf") {
      names.emplace_back(target.name);
    }
  }
  return names;
}

} // namespace

std::vector<OptionDecl> env_for_options()
{
  const auto option = [](std::string flag, std::string type_name, std::string help) {
    return OptionDecl{ std::move(flag), std::move(type_name), std::move(help), OptionKind::value, "", {}, {}, false, false, {} };
  };
  std::vector<OptionDecl> options = {
    option("--for",
           "CLIENT",
           fmt::format("the client that reads the .env: {} (default: none, a URL every client reads)", fmt::join(env_clients(), ", "))),
    option("--prisma-version",
           "N",
           fmt::format("with --for prisma: the Prisma ORM major, {}-{} (default {}): 6 and older put the pool in DATABASE_URL",
                       k_min_prisma_major,
                       k_default_prisma_major,
                       k_default_prisma_major)),
  };
  options.front().choices = env_clients();
  return options;
}

poolcalc::expected<EnvFor, std::string> env_for(const Given& given)
{
  EnvFor target;
  const auto client = given.value("--for");
  if (client) {
    const auto names = env_clients();
    if (std::find(names.begin(), names.end(), *client) == names.end()) {
      return poolcalc::unexpected(
        fmt::format("--for: `poolcalc env` takes a client library: {}; got '{}'{}",
                    fmt::join(names, ", "),
                    user_text(*client),
                    find_config_target(*client) != nullptr ? fmt::format(" (poolcalc config --for {})", *client) : ""));
    }
    target.client = *client;
  }
  if (const auto version = given.value("--prisma-version")) {
    if (target.client != "prisma") {
      return poolcalc::unexpected(std::string("--prisma-version: only with --for prisma"));
    }
    if (version->size() != 1 || (*version)[0] < '0' + k_min_prisma_major || (*version)[0] > '0' + k_default_prisma_major) {
      return poolcalc::unexpected(fmt::format("--prisma-version: expected a Prisma ORM major from {} to {}, got '{}'",
                                              k_min_prisma_major,
                                              k_default_prisma_major,
                                              user_text(*version)));
    }
    target.prisma_major = (*version)[0] - '0';
  }
  return target;
}

std::string config_notes()
{
  std::string targets;
  for (const ConfigTarget& target : config_targets()) {
    targets += fmt::format("\n  {:<16} {}", target.name, target.summary);
  }
  return "Targets:" + targets + "\nDefaults and their sources: docs/clients.md.";
}

ConfigArgs config_args(const Given& given)
{
  return { given.value("--for"),    given.value("--pgbouncer-version"), given.value("--server-version"),
           given.value("--fleet"),  given.value("--service"),           given.value("--prisma-version"),
           given.value("--module"), given.value("--pgx-version"),       given.value("--package-json"),
           given.value("--app") };
}

Outcome run_config(Invocation& invocation)
{
  auto request = validate_config_args(config_args(invocation.given));
  if (!request) {
    return poolcalc::unexpected(Failure{ k_exit_usage, request.error() });
  }
  const Loaded& loaded = invocation.loaded;
  if (request->fleet) {
    return run_config_fleet(*request, first_sizing_flag(invocation.given), loaded.rules, loaded.format, invocation.err);
  }
  auto planned = make_plan(loaded);
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  auto text = render_config(*request, planned->plan, loaded.rules, loaded.format, url_origin(loaded));
  if (!text) {
    return poolcalc::unexpected(Failure{ k_exit_usage, text.error() });
  }
  return Output{ std::move(*text), plan_code(*planned, invocation.err, true) };
}

poolcalc::expected<ConfigRequest, std::string> validate_config_args(const ConfigArgs& args)
{
  ConfigRequest request;
  if (!args.target) {
    return poolcalc::unexpected(fmt::format("--for: `poolcalc config` needs a target: {}", config_target_names()));
  }
  request.target = find_config_target(*args.target);
  if (request.target == nullptr) {
    return poolcalc::unexpected(
      fmt::format("--for: unknown target '{}'; expected one of {}", user_text(*args.target), config_target_names()));
  }
  if (args.pgbouncer_version) {
    auto version = parse_pgbouncer_version(*args.pgbouncer_version);
    if (!version) {
      return poolcalc::unexpected("--pgbouncer-version: " + version.error());
    }
    request.options.pgbouncer_version = *version;
  }
  if (args.server_version) {
    auto version = parse_server_version(*args.server_version);
    if (!version) {
      return poolcalc::unexpected("--server-version: " + version.error());
    }
    request.options.server_version = *version;
    request.server_version_given = true;
  }
  const std::string_view target = request.target->name;
  const bool javascript = target == "prisma" || target == "node-postgres";
  const bool go = target == "go-database-sql" || target == "pgx";
  const bool client = target != "pgbouncer" && target != "postgresql-conf";
  if (args.app && !client) {
    return poolcalc::unexpected(fmt::format("--app: --for {} sets no application_name; it is for the client targets", target));
  }
  if (args.app) {
    if (!valid_application_name(*args.app)) {
      return poolcalc::unexpected(fmt::format(
        "--app: expected 1-63 letters, digits, '.', '_' or '-' (it is written into every snippet as is), got '{}'", user_text(*args.app)));
    }
    request.application_name = *args.app;
  }
  if (args.prisma_version && target != "prisma") {
    return poolcalc::unexpected(fmt::format("--prisma-version: only with --for prisma, not --for {}", target));
  }
  if (args.module && !javascript) {
    return poolcalc::unexpected(fmt::format("--module: only with --for node-postgres or prisma, not --for {}", target));
  }
  if (args.package_json && !javascript) {
    return poolcalc::unexpected(fmt::format("--package-json: only with --for node-postgres or prisma, not --for {}", target));
  }
  if (args.pgx_version && !go) {
    return poolcalc::unexpected(fmt::format("--pgx-version: only with --for go-database-sql or pgx, not --for {}", target));
  }
  if (args.package_json) {
    auto text = read_file(*args.package_json);
    if (!text) {
      return poolcalc::unexpected(fmt::format("--package-json: {}", text.error()));
    }
    auto facts = parse_package_json(*text);
    if (!facts) {
      return poolcalc::unexpected(fmt::format("--package-json: {}: {}", user_text(*args.package_json), facts.error()));
    }
    if (facts->module) {
      request.options.module = *facts->module;
    }
    if (facts->prisma_major && target == "prisma" && !args.prisma_version) {
      if (*facts->prisma_major < k_min_prisma_major || *facts->prisma_major > k_default_prisma_major) {
        return poolcalc::unexpected(
          fmt::format("--package-json: {} asks for Prisma {}; poolcalc writes for Prisma {} to {}: give --prisma-version",
                      user_text(*args.package_json),
                      *facts->prisma_major,
                      k_min_prisma_major,
                      k_default_prisma_major));
      }
      request.options.prisma_major = *facts->prisma_major;
    }
  }
  if (args.prisma_version) {
    const auto& v = *args.prisma_version;
    if (v.size() != 1 || v[0] < '0' + k_min_prisma_major || v[0] > '0' + k_default_prisma_major) {
      return poolcalc::unexpected(fmt::format(
        "--prisma-version: expected a Prisma ORM major from {} to {}, got '{}'", k_min_prisma_major, k_default_prisma_major, user_text(v)));
    }
    request.options.prisma_major = v[0] - '0';
  }
  if (args.module) {
    auto module = parse_js_module(*args.module);
    if (!module) {
      return poolcalc::unexpected("--module: " + module.error());
    }
    request.options.module = *module;
  }
  if (args.pgx_version) {
    if (*args.pgx_version != "4" && *args.pgx_version != "5") {
      return poolcalc::unexpected(fmt::format("--pgx-version: expected 4 or 5, got '{}'", user_text(*args.pgx_version)));
    }
    request.options.pgx_major = *args.pgx_version == "4" ? 4 : 5;
  }
  if (args.service && !args.fleet) {
    return poolcalc::unexpected(fmt::format("--service: only with --fleet FILE (the service of a fleet file to configure)"));
  }
  request.fleet = args.fleet;
  request.service = args.service;
  return request;
}

poolcalc::expected<std::string, std::string> render_config(const ConfigRequest& request,
                                                           const Plan& plan,
                                                           const Rules& rules,
                                                           Format format,
                                                           std::string_view url_origin)
{
  if (request.target->name == "pgbouncer") {
    // The same checks as `poolcalc pgbouncer`: a plan without PgBouncer, a URL PgBouncer cannot take.
    if (auto checked = pgbouncer_command(plan, false, url_origin); !checked) {
      return poolcalc::unexpected(checked.error());
    }
  }
  ConfigInput input = config_input(plan, rules);
  if (request.application_name) {
    input.application_name = *request.application_name;
  }
  ConfigOptions options = request.options;
  if (const std::optional<int> version = plan.scenario.postgres_version) {
    // --postgres-version is the server's version for the plan: postgresql.conf's too.
    if (request.server_version_given && options.server_version != *version) {
      return poolcalc::unexpected(
        fmt::format("--server-version: {} disagrees with --postgres-version {}; give one of them", options.server_version, *version));
    }
    options.server_version = *version;
  }
  const std::vector<ConfigFile> files = request.target->render(input, options);
  return format == Format::json ? render_config_json(request.target->name, files) : render_config_text(files);
}

poolcalc::expected<Fleet, std::string> load_fleet(const std::string& path, const Rules& rules)
{
  auto text = read_file(path);
  if (!text) {
    return poolcalc::unexpected(fmt::format("--fleet: {}", text.error()));
  }
  auto file = parse_fleet_toml(*text, path, rules);
  if (!file) {
    return poolcalc::unexpected(file.error());
  }
  return size_fleet(*file, rules);
}

Outcome run_config_fleet(const ConfigRequest& request, const std::string& sizing_flag, const Rules& rules, Format format, std::ostream& err)
{
  const auto fail = [](std::string message) { return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) }); };
  const std::string_view target = request.target->name;
  if (!sizing_flag.empty()) {
    return fail(
      fmt::format("{}: `poolcalc config --fleet FILE` takes the workloads from the fleet file; drop {}", sizing_flag, sizing_flag));
  }
  const bool whole_fleet = target == "pgbouncer" || target == "postgresql-conf";
  if (whole_fleet && request.service) {
    return fail(fmt::format("--service: --for {} configures the whole fleet; drop --service", target));
  }
  auto loaded = load_fleet(*request.fleet, rules);
  if (!loaded) {
    return fail(loaded.error());
  }
  const Fleet& fleet = *loaded;
  std::vector<std::string> names;
  for (const FleetService& s : fleet.services) {
    names.push_back(s.input.name);
  }
  ConfigOptions options = request.options;
  if (!request.server_version_given) {
    options.server_version = static_cast<int>(fleet.database.version);
  }
  ConfigInput input;
  if (whole_fleet) {
    if (target == "pgbouncer") {
      auto config = pgbouncer_config_from_fleet(fleet);
      if (!config) {
        return fail(fmt::format("--fleet: {}: {}", *request.fleet, config.error()));
      }
    }
    input = config_input(fleet, rules);
  } else {
    if (!request.service) {
      return fail(fmt::format("--service: `poolcalc config --for {} --fleet FILE` configures one service of the fleet; expected one of {}",
                              target,
                              fmt::join(names, ", ")));
    }
    const auto found =
      std::find_if(fleet.services.begin(), fleet.services.end(), [&](const FleetService& s) { return s.input.name == *request.service; });
    if (found == fleet.services.end()) {
      return fail(fmt::format(
        "--service: no service '{}' in {}; expected one of {}", user_text(*request.service), *request.fleet, fmt::join(names, ", ")));
    }
    input = config_input(fleet, *found, rules);
    if (request.application_name) {
      input.application_name = *request.application_name;
    }
  }
  const std::vector<ConfigFile> files = request.target->render(input, options);
  std::string output = format == Format::json ? render_config_json(target, files) : render_config_text(files);
  const std::vector<Finding> findings = evaluate_fleet(fleet, rules);
  report_failures(err, findings);
  return Output{ std::move(output), has_failure(findings) ? k_exit_plan_fails : k_exit_ok };
}

} // namespace poolcalc::cli

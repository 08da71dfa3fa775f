#include "run.hpp"

#include "cmd_config.hpp"
#include "cmd_env_write.hpp"
#include "cmd_fleet.hpp"
#include "cmd_inspect.hpp"
#include "cmd_pgbouncer.hpp"
#include "context.hpp"
#include "files.hpp"
#include "options.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/safe_text.hpp"
#include "poolcalc/scenario.hpp"
#include "poolcalc/sizing.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace poolcalc::cli {

namespace {

constexpr std::string_view k_version = "poolcalc " POOLCALC_VERSION; // CMakeLists.txt: project(VERSION)

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
Docs: docs/usage.md (examples), docs/model.md (the math), docs/rules.md, docs/json.md.)";

bool set_in(const std::optional<std::string>& value)
{
  return value.has_value() && !value->empty();
}

struct Parsed
{
  std::string command = "size";
  RawInputs flags;
  std::optional<std::string> config_path;
  std::optional<std::string> rules_path;
  std::optional<std::string> format;
  bool explain = false;
  std::optional<std::string> write_path; // env --write PATH
  bool dry_run = false;
  InspectOptions inspect;
  bool userlist = false;                      // `poolcalc pgbouncer --userlist`
  std::optional<std::string> pgbouncer_fleet; // `poolcalc pgbouncer --fleet FILE`
  ConfigArgs config;
};

class Cli
{
public:
  explicit Cli(const Rules& builtin)
    : m_app("Sizes a database connection pool (PostgreSQL) for a workload, checks it against the server and says\n"
            "whether a pooler such as PgBouncer is needed, with the settings to paste.",
            "poolcalc")
  {
    m_app.set_version_flag("--version", std::string(k_version));
    m_app.footer(k_footer);
    m_app.require_subcommand(0, 1);
    for (const OptionSpec& spec : sizing_options(builtin)) {
      m_specs.push_back(spec);
      Slot& slot = m_slots.emplace_back();
      CLI::Option* option = nullptr;
      if (spec.kind == OptionKind::flag) {
        option = m_app.add_flag(spec.flag, slot.flag, spec.help);
      } else if (spec.kind == OptionKind::list) {
        // One value per occurrence (repeat the flag for more), so a stray word is not taken as one.
        option = m_app.add_option(spec.flag, slot.values, spec.help)->type_name(spec.type_name)->expected(1)->allow_extra_args(false);
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      } else {
        option = m_app.add_option(spec.flag, slot.value, spec.help)->type_name(spec.type_name);
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
      option->group(spec.group);
      slot.option = option;
    }
    m_format_option = m_app.add_option("--format", m_format, "text (default), json, markdown or env")
                        ->type_name("FORMAT")
                        ->group("Output")
                        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    m_app.add_flag("--explain", m_explain, "print the whole arithmetic step by step")->group("Output");
    m_write_option = add_env_write_options(m_app, m_env_write);
    m_config_option = m_app.add_option("--config", m_config, "a TOML scenario file with any of the options above, snake_case")
                        ->type_name("FILE")
                        ->group("Files")
                        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    m_rules_option = m_app.add_option("--rules", m_rules, "replace the built-in rules (see `poolcalc rules`)")
                       ->type_name("FILE")
                       ->group("Files")
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

    for (const char* name : { "size", "env", "report", "rules", "curve", "inspect", "pgbouncer" }) {
      CLI::App* sub = m_app.add_subcommand(name, "");
      sub->fallthrough();
      sub->footer("Takes every option of `poolcalc --help`.");
      m_subcommands.push_back(sub);
    }
    m_subcommands[0]->description("(the default) peak concurrency, pool size, database check, recommendation, settings");
    m_subcommands[1]->description("the .env snippet: DATABASE_URL with the pool parameters, and the pool variables");
    m_subcommands[2]->description("a design-review document in Markdown");
    m_subcommands[3]->description("print the rules in force (built in, or --rules FILE) as TOML");
    m_subcommands[4]->description("pool size against each queueing metric: --format text, csv, json or svg; --pool A-B sets the range");
    add_inspect_options(*m_subcommands[5], m_inspect, builtin);
    m_subcommands[6]->description("pgbouncer.ini for the plan, each value with PgBouncer's default and why");
    m_subcommands[6]->add_flag("--userlist", m_userlist, "print how to write PgBouncer's auth_file (userlist.txt) instead");
    m_pgbouncer_fleet_option = m_subcommands[6]
                                 ->add_option("--fleet", m_pgbouncer_fleet, "the fleet's pgbouncer.ini, from a fleet file (docs/fleet.md)")
                                 ->type_name("FILE")
                                 ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    m_subcommands.push_back(m_config_command.add_to(m_app));
    add_fleet_command(m_app, m_fleet);
  }

  CLI::App& app() { return m_app; }
  const FleetCommand& fleet() const { return m_fleet; }

  Parsed collect() const
  {
    Parsed parsed;
    for (const CLI::App* sub : m_subcommands) {
      if (sub->parsed()) {
        parsed.command = sub->get_name();
      }
    }
    for (std::size_t i = 0; i < m_specs.size(); ++i) {
      const Slot& slot = m_slots[i];
      if (slot.option->count() == 0) {
        continue;
      }
      RawValue value;
      value.origin = m_specs[i].flag;
      if (m_specs[i].kind == OptionKind::flag) {
        value.items = { slot.flag ? "true" : "false" };
      } else if (m_specs[i].kind == OptionKind::list) {
        value.items = slot.values;
      } else {
        value.items = { slot.value };
      }
      parsed.flags[m_specs[i].key] = std::move(value);
    }
    if (m_config_option->count() > 0) {
      parsed.config_path = m_config;
    }
    if (m_rules_option->count() > 0) {
      parsed.rules_path = m_rules;
    }
    if (m_format_option->count() > 0) {
      parsed.format = m_format;
    }
    parsed.explain = m_explain;
    if (m_write_option->count() > 0) {
      parsed.write_path = m_env_write.path;
    }
    parsed.dry_run = m_env_write.dry_run;
    parsed.inspect = m_inspect;
    parsed.userlist = m_userlist;
    if (m_pgbouncer_fleet_option->count() > 0) {
      parsed.pgbouncer_fleet = m_pgbouncer_fleet;
    }
    parsed.config = m_config_command.args();
    return parsed;
  }

private:
  struct Slot
  {
    std::string value;
    std::vector<std::string> values;
    bool flag = false;
    CLI::Option* option = nullptr;
  };

  CLI::App m_app;
  std::vector<OptionSpec> m_specs;
  std::deque<Slot> m_slots; // stable addresses for CLI11's bound variables
  std::vector<CLI::App*> m_subcommands;
  std::string m_format;
  std::string m_config;
  std::string m_rules;
  CLI::Option* m_format_option = nullptr;
  CLI::Option* m_config_option = nullptr;
  CLI::Option* m_rules_option = nullptr;
  bool m_explain = false;
  EnvWriteOptions m_env_write;
  CLI::Option* m_write_option = nullptr;
  InspectOptions m_inspect;
  bool m_userlist = false;
  std::string m_pgbouncer_fleet;
  CLI::Option* m_pgbouncer_fleet_option = nullptr;
  ConfigCommand m_config_command;
  FleetCommand m_fleet;
};

poolcalc::expected<Loaded, Failure> load(const Parsed& parsed, const Environment& env)
{
  Loaded loaded;
  RawInputs config;
  std::filesystem::path config_dir;
  if (parsed.config_path) {
    auto text = read_file(*parsed.config_path);
    if (!text) {
      return poolcalc::unexpected(Failure{ k_exit_usage, fmt::format("--config: {}", text.error()) });
    }
    auto inputs = parse_scenario_toml(*text, *parsed.config_path);
    if (!inputs) {
      return poolcalc::unexpected(Failure{ k_exit_usage, inputs.error() });
    }
    config = std::move(*inputs);
    config_dir = std::filesystem::path(*parsed.config_path).parent_path();
  }

  // Rules: --rules, else the config file's `rules` (relative to the file), else built in.
  std::optional<std::string> rules_path = parsed.rules_path;
  std::string rules_origin = "--rules";
  if (!rules_path && config.contains("rules")) {
    const RawValue& value = config.at("rules");
    rules_path = (config_dir / value.items.front()).string();
    rules_origin = value.origin;
  }
  if (rules_path) {
    auto text = read_file(*rules_path);
    if (!text) {
      return poolcalc::unexpected(Failure{ k_exit_usage, fmt::format("{}: {}", rules_origin, text.error()) });
    }
    auto rules = parse_rules(*text, *rules_path);
    if (!rules) {
      return poolcalc::unexpected(Failure{ k_exit_usage, rules.error() });
    }
    loaded.rules = std::move(*rules);
    loaded.rules_text = std::move(*text);
    loaded.rules_source = *rules_path;
  } else {
    loaded.rules = builtin_rules();
    loaded.rules_text = std::string(embedded_rules_toml());
    loaded.rules_source = "built in (data/rules.toml)";
  }

  // Presentation keys of the config file; the rest are scenario inputs.
  std::string format_origin = "--format";
  if (config.contains("format")) {
    loaded.format = config.at("format").items.front();
    format_origin = config.at("format").origin;
  }
  if (config.contains("explain")) {
    loaded.explain = config.at("explain").items.front() == "true"; // a boolean: the scenario reader checked it
  }
  for (const char* key : { "format", "explain", "rules" }) {
    config.erase(key);
  }

  loaded.inputs = std::move(config);
  if (const auto url = env.getenv("DATABASE_URL"); set_in(url)) {
    loaded.inputs["database_url"] = RawValue{ { *url }, "DATABASE_URL" };
  }
  for (const auto& [key, value] : parsed.flags) {
    loaded.inputs[key] = value;
  }
  if (parsed.format) {
    loaded.format = *parsed.format;
    format_origin = "--format";
  }
  loaded.explain = loaded.explain || parsed.explain;
  if (parsed.command == "pgbouncer" && (parsed.format || parsed.explain)) {
    return poolcalc::unexpected(
      Failure{ k_exit_usage,
               fmt::format("{}: `poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop {}",
                           parsed.format ? "--format" : "--explain",
                           parsed.format ? "--format" : "--explain") });
  }
  if (parsed.command == "pgbouncer") {
    loaded.format = "pgbouncer";
    return loaded;
  }
  if (parsed.command == "curve") {
    if (loaded.format != "text" && loaded.format != "csv" && loaded.format != "json" && loaded.format != "svg") {
      return poolcalc::unexpected(
        Failure{ k_exit_usage,
                 fmt::format("{}: `poolcalc curve` prints text, csv, json or svg, got '{}'", format_origin, user_text(loaded.format)) });
    }
    return loaded;
  }
  if (parsed.command == "config") {
    if (loaded.format != "text" && loaded.format != "json") {
      return poolcalc::unexpected(Failure{
        k_exit_usage, fmt::format("{}: `poolcalc config` prints text or json, got '{}'", format_origin, user_text(loaded.format)) });
    }
    if (parsed.explain) {
      return poolcalc::unexpected(Failure{ k_exit_usage, "--explain: `poolcalc config` prints the snippet; drop --explain" });
    }
    return loaded;
  }
  if (loaded.format != "text" && loaded.format != "json" && loaded.format != "markdown" && loaded.format != "env") {
    return poolcalc::unexpected(
      Failure{ k_exit_usage, fmt::format("{}: expected text, json, markdown or env, got '{}'", format_origin, user_text(loaded.format)) });
  }
  if (parsed.command == "rules" && !parsed.flags.empty()) {
    return poolcalc::unexpected(
      Failure{ k_exit_usage, fmt::format("{}: `poolcalc rules` takes only --rules and --config", parsed.flags.begin()->second.origin) });
  }
  if (parsed.command == "rules" && parsed.explain) {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--explain: `poolcalc rules` prints the rules; drop --explain" });
  }
  if (parsed.command == "rules" && parsed.format) {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--format: `poolcalc rules` always prints TOML; drop --format" });
  }
  if (parsed.write_path && parsed.command != "env") {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--write: only `poolcalc env` writes a file (poolcalc env --write PATH ...)" });
  }
  if (parsed.dry_run && !parsed.write_path) {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--dry-run: only with --write PATH (poolcalc env --write PATH --dry-run ...)" });
  }
  if (parsed.command == "env" || parsed.command == "report") {
    const std::string wanted = parsed.command == "env" ? "env" : "markdown";
    if (parsed.format && *parsed.format != wanted) {
      return poolcalc::unexpected(
        Failure{ k_exit_usage, fmt::format("--format: `poolcalc {}` always prints {}; drop --format", parsed.command, wanted) });
    }
    loaded.format = wanted;
  }
  return loaded;
}

int execute(const Parsed& parsed, std::ostream& out, std::ostream& err, const Environment& env)
{
  const auto fail = [&](const Failure& failure) {
    print_error(err, failure.message);
    return failure.code;
  };
  auto loaded = load(parsed, env);
  if (!loaded) {
    return fail(loaded.error());
  }
  if (parsed.command == "inspect") {
    return run_inspect(*loaded, parsed.inspect, out, err, env);
  }
  // `config`'s own flags, checked before any sizing.
  std::optional<ConfigRequest> config_request;
  if (parsed.command == "config") {
    auto request = validate_config_args(parsed.config);
    if (!request) {
      return fail({ k_exit_usage, request.error() });
    }
    config_request = *request;
  }
  if ((config_request && config_request->fleet) || parsed.pgbouncer_fleet) {
    const std::string sizing_flag = !parsed.flags.empty() ? parsed.flags.begin()->second.origin : parsed.config_path ? "--config" : "";
    return parsed.pgbouncer_fleet ? run_pgbouncer_fleet(*parsed.pgbouncer_fleet, parsed.userlist, sizing_flag, loaded->rules, out, err)
                                  : run_config_fleet(*config_request, sizing_flag, loaded->rules, loaded->format, out, err);
  }
  // env --write: the file is read first; its URL is the base unless --database-url is given.
  std::optional<EnvTarget> target;
  if (parsed.write_path) {
    auto read = read_env_target(*parsed.write_path, !parsed.dry_run);
    if (!read) {
      return fail({ read.error().code, read.error().message });
    }
    target = std::move(*read);
    if (auto url = file_database_url(*target); url && !parsed.flags.contains("database_url")) {
      loaded->inputs["database_url"] = std::move(*url);
    }
  }
  std::string output;
  int code = k_exit_ok;
  if (parsed.command == "rules") {
    output = fmt::format("# poolcalc rules in force: {}\n{}", user_text(loaded->rules_source), loaded->rules_text);
  } else {
    auto scenario = build_scenario(loaded->inputs, loaded->rules);
    if (!scenario) {
      return fail({ k_exit_usage, scenario.error() });
    }
    if (target && !parsed.flags.contains("database_url")) {
      // The file's DATABASE_URL keeps PgBouncer's address when it has one beside a DIRECT_URL.
      scenario->pgbouncer_url = file_pgbouncer_url(*target, loaded->rules.pgbouncer_settings.listen_port);
    }
    const Plan plan = size(*scenario, loaded->rules);
    if (const std::string unmet = unmet_target(plan); !unmet.empty()) {
      const auto origin = loaded->inputs.find("target");
      return fail({ k_exit_usage, fmt::format("{}: {}", origin != loaded->inputs.end() ? origin->second.origin : "--target", unmet) });
    }
    const std::vector<Finding> findings = evaluate(plan, loaded->rules);
    if (parsed.command == "pgbouncer") {
      const auto origin = loaded->inputs.find("database_url");
      auto text = pgbouncer_command(plan, parsed.userlist, origin != loaded->inputs.end() ? origin->second.origin : "--database-url");
      if (!text) {
        return fail({ k_exit_usage, text.error() });
      }
      output = std::move(*text);
    } else if (config_request) {
      const auto origin = loaded->inputs.find("database_url");
      auto text = render_config(
        *config_request, plan, loaded->rules, loaded->format, origin != loaded->inputs.end() ? origin->second.origin : "--database-url");
      if (!text) {
        return fail({ k_exit_usage, text.error() });
      }
      output = std::move(*text);
    } else if (parsed.command == "curve") {
      const Curve points = curve(plan, loaded->rules);
      output = loaded->format == "csv"    ? render_curve_csv(points)
               : loaded->format == "json" ? render_curve_json(plan, points)
               : loaded->format == "svg"  ? render_curve_svg(plan, points)
                                          : render_curve_text(plan, points);
    } else if (loaded->format == "json") {
      output = render_json(plan, findings);
    } else if (loaded->format == "markdown") {
      output = render_markdown(plan, findings);
    } else if (loaded->format == "env" && !target) {
      output = render_env(plan);
      report_url_notes(err, plan);
    } else {
      const auto no_color = env.getenv("NO_COLOR");
      output = render_text(plan, findings, { env.stdout_is_terminal && !set_in(no_color), loaded->explain });
    }
    code = has_failure(findings) ? k_exit_plan_fails : k_exit_ok;
    // Formats without findings (the .env snippet, the curve, a config snippet, pgbouncer.ini) still say why they exit 3.
    if (parsed.command == "curve" || parsed.command == "config" || parsed.command == "pgbouncer" || loaded->format == "env") {
      report_failures(err, findings);
    }
    if (target) {
      return write_env(*target, plan, parsed.dry_run, code == k_exit_plan_fails, out, err);
    }
  }
  return write_output(out, err, output, code);
}

} // namespace

Environment process_environment()
{
  Environment env;
  env.getenv = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  };
  env.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
  env.stderr_is_terminal = isatty(STDERR_FILENO) == 1;
  return env;
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& raw_err, const Environment& env)
{
  // Every stderr line goes through the filter: any message may quote an argument or $DATABASE_URL.
  Redactions redactions;
  for (int i = 1; i < argc; ++i) {
    redactions.add(argv[i]);
  }
  if (const auto url = env.getenv("DATABASE_URL")) {
    redactions.add(*url);
  }
  SafeStderr safe_err(raw_err, std::move(redactions));
  std::ostream& err = safe_err.stream();

  Cli cli(builtin_rules());
  try {
    cli.app().parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << cli.app().help();
    return k_exit_ok;
  } catch (const CLI::CallForAllHelp&) {
    out << cli.app().help("", CLI::AppFormatMode::All);
    return k_exit_ok;
  } catch (const CLI::CallForVersion&) {
    out << k_version << '\n';
    return k_exit_ok;
  } catch (const CLI::ParseError& error) {
    std::string message = error.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    print_error(err, message + " (see poolcalc --help)");
    return k_exit_usage;
  }
  if (cli.fleet().app->parsed()) {
    const Parsed parsed = cli.collect();
    if (!parsed.flags.empty() || parsed.config_path || parsed.rules_path || parsed.format || parsed.explain) {
      err << "poolcalc: error: `poolcalc fleet` takes FILE, --format and --rules after `fleet`; the workload comes from the file\n";
      return k_exit_usage;
    }
    return run_fleet(cli.fleet(), out, err);
  }
  return execute(cli.collect(), out, err, env);
}

} // namespace poolcalc::cli

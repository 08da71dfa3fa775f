#include "commands.hpp"

#include "cmd_config.hpp"
#include "cmd_doctor.hpp"
#include "cmd_fleet.hpp"
#include "cmd_gate.hpp"
#include "cmd_inspect.hpp"
#include "cmd_pgbouncer.hpp"
#include "cmd_plan.hpp"
#include "completion.hpp"

#include "poolcalc/alerts.hpp"
#include "poolcalc/client_config.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolcalc::cli {

namespace {

const char* const k_sizing_notes =
  "Every sizing option is also a key of a --config TOML file, in snake_case (query_ms = [100, 150, 200]).\n"
  "Precedence: built-in rules < --rules < --config < $DATABASE_URL < flags.\n"
  "Exit codes: 0 ok (warnings allowed), 1 runtime failure, 2 bad input, 3 the plan breaks a hard limit.";

// "a, b or c"
std::string either(const std::vector<std::string>& items, std::string_view last = " or ")
{
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "" : i + 1 == items.size() ? std::string(last) : ", ";
    out += items[i];
  }
  return out;
}

std::vector<std::string> format_names(const std::vector<Format>& formats)
{
  std::vector<std::string> names;
  for (const Format format : formats) {
    names.emplace_back(format_name(format));
  }
  return names;
}

std::vector<OptionDecl> sizing(const Rules& rules)
{
  std::vector<OptionDecl> decls;
  for (const OptionSpec& spec : sizing_options(rules)) {
    decls.push_back({ spec.flag, spec.type_name, spec.help, spec.kind, spec.group, spec.key, {}, false, false, {} });
  }
  return decls;
}

OptionDecl format_option(const std::vector<Format>& formats, Format default_format)
{
  std::vector<std::string> names = format_names(formats);
  std::string help;
  if (formats.size() == 1) {
    help = fmt::format("{} (the only one)", names.front());
  } else {
    for (std::string& name : names) {
      if (name == format_name(default_format)) {
        name += " (default)";
      }
    }
    help = either(names);
  }
  return { "--format", "FORMAT", help, OptionKind::value, "Output", {}, format_names(formats), false, false, {} };
}

OptionDecl explain_option(bool hidden)
{
  return { "--explain", "", "print the whole arithmetic step by step", OptionKind::flag, "Output", {}, {}, false, hidden, {} };
}

OptionDecl write_option()
{
  return {
    "--write", "PATH", "`poolcalc env`: update the keys it sets in this .env file, nothing else", OptionKind::value, "Output", {}, {},
    false,     false,  "only `poolcalc env` writes a file (poolcalc env --write PATH ...)"
  };
}

OptionDecl dry_run_option()
{
  return { "--dry-run", "",    "with --write: show current and recommended values, write nothing", OptionKind::flag, "Output", {}, {},
           false,       false, "only with --write PATH (poolcalc env --write PATH --dry-run ...)" };
}

OptionDecl config_option()
{
  return { "--config", "FILE", "a TOML scenario file with any of the options above, snake_case", OptionKind::value, "Files", {}, {}, false,
           false,      {} };
}

OptionDecl rules_option()
{
  return { "--rules", "FILE", "replace the built-in rules (see `poolcalc rules`)", OptionKind::value, "Files", {}, {}, false, false, {} };
}

// A command that sizes a plan: the sizing options (built once per table, `sizing`), then its own,
// then output and files.
std::vector<OptionDecl> sizing_command(const std::vector<OptionDecl>& sizing, std::vector<OptionDecl> extra)
{
  std::vector<OptionDecl> options;
  options.reserve(sizing.size() + extra.size() + 2);
  options.insert(options.end(), sizing.begin(), sizing.end());
  options.insert(options.end(), std::make_move_iterator(extra.begin()), std::make_move_iterator(extra.end()));
  options.push_back(config_option());
  options.push_back(rules_option());
  return options;
}

CommandSpec size_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::vector<Format> formats = { Format::text, Format::json, Format::markdown, Format::env };
  return { Command::size,
           "size",
           "(the default) peak concurrency, pool size, database check, recommendation, settings",
           sizing_command(sizing_decls, { format_option(formats, Format::text), explain_option(false) }),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           k_sizing_notes,
           { { "poolcalc --vus 120 --query-ms 150", "120 k6 VUs, queries holding a connection 150 ms: a pool of 50" },
             { "poolcalc size --vus 120 --query-ms 100,150,200 --explain",
               "conservative, realistic and pessimistic scenarios, the arithmetic step by step" },
             { "poolcalc --rps 64.6 --query-ms 150 --target 'p99_wait<50ms' --format json",
               "the smallest pool that keeps the 99th percentile wait under 50 ms, as JSON" } },
           {},
           {},
           &run_size };
}

CommandSpec env_command(const std::vector<OptionDecl>& sizing_decls)
{
  // issue 12: --for CLIENT and --prisma-version (cmd_config.cpp, env_for_options).
  std::vector<OptionDecl> own_options = env_for_options();
  for (OptionDecl& option :
       std::vector<OptionDecl>{ format_option({ Format::env }, Format::env), explain_option(true), write_option(), dry_run_option() }) {
    own_options.push_back(std::move(option));
  }
  return {
    Command::env,
    "env",
    "the .env snippet: DATABASE_URL for any client (or --for CLIENT's), and the pool variables",
    sizing_command(sizing_decls, std::move(own_options)),
    { Format::env },
    Format::env,
    k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
    std::string(k_sizing_notes) + "\nThe password is printed here (the snippet carries it); docs/usage.md, \"Updating a .env file\".",
    { { "poolcalc env --vus 120 --query-ms 150 --database-url postgresql://app@localhost:5432/chat", "the .env lines to paste" },
      { "poolcalc env --for sqlalchemy --vus 120 --query-ms 150", "the same, each pool variable with the line of Python that reads it" },
      { "poolcalc env --vus 120 --query-ms 150 --write .env --dry-run",
        "the keys it would change in .env, current against recommended; without --dry-run it writes them" } },
    {},
    {},
    &run_size
  };
}

CommandSpec report_command(const std::vector<OptionDecl>& sizing_decls)
{
  return { Command::report,
           "report",
           "a design-review document in Markdown",
           sizing_command(sizing_decls, { format_option({ Format::markdown }, Format::markdown), explain_option(true) }),
           { Format::markdown },
           Format::markdown,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           k_sizing_notes,
           { { "poolcalc report --config data/examples/chat-backend.toml > pool-review.md",
               "a design-review document from a scenario file" },
             { "poolcalc report --vus 120 --query-ms 100,150,200", "the three scenarios, the thresholds and the settings, in Markdown" } },
           {},
           {},
           &run_size };
}

CommandSpec rules_command()
{
  CommandSpec command{
    Command::rules,
    "rules",
    "print the rules in force (built in, or --rules FILE) as TOML, or with --findings every finding poolcalc reports",
    { own("--findings",
          "",
          "list every finding instead: its id, level, what it judges, the inputs it reads and its source; text or json by --format",
          OptionKind::flag),
      format_option({ Format::text, Format::json }, Format::text),
      rules_option(),
      { "--config", "FILE", "a scenario file: the rules its `rules` key names", OptionKind::value, "Files", {}, {}, false, false, {} } },
    { Format::text, Format::json },
    Format::text,
    k_need_rules | k_need_config_file,
    "The output is a valid --rules file; every key is required there (docs/rules.md). With --findings, the catalogue of findings\n"
    "(docs/rules.md, \"Findings catalogue\") instead, as text or json by --format.",
    { { "poolcalc rules > my-rules.toml", "the built-in rules, a starting point for a rules file of your own" },
      { "poolcalc rules --rules my-rules.toml", "checks a rules file and prints it as it is in force" },
      { "poolcalc rules --findings --format json", "every finding of the plan, the fleet and the live server, for a CI policy" } },
    { { "--explain", "`poolcalc rules` prints the rules; drop --explain" } },
    {},
    &run_rules
  };
  command.config_format = false; // a scenario file's `format` is its plan's, not the rules'
  return command;
}

CommandSpec curve_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::vector<Format> formats = { Format::text, Format::csv, Format::json, Format::svg };
  return { Command::curve,
           "curve",
           "pool size against each queueing metric: --format text, csv, json or svg; --pool A-B sets the range",
           sizing_command(sizing_decls, { format_option(formats, Format::text), explain_option(true) }),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           k_sizing_notes,
           { { "poolcalc curve --vus 120 --query-ms 150 --format svg > curve.svg", "pool size against the waits, the knee marked" },
             { "poolcalc curve --vus 120 --query-ms 150 --pool 10-30 --format csv", "one row per pool from 10 to 30, for a spreadsheet" } },
           {},
           {},
           &run_curve };
}

CommandSpec inspect_command(const Rules& rules, const std::vector<OptionDecl>& sizing_decls)
{
  const std::vector<Format> formats = { Format::text, Format::json, Format::markdown, Format::env };
  return { Command::inspect,
           "inspect",
           "read a live PostgreSQL server (read-only): its slots, who holds them, sessions idle in transaction, "
           "pg_stat_statements times; with --vus/--rps, the plan against what is really there",
           sizing_command(sizing_decls, { inspect_app_option(), format_option(formats, Format::text), explain_option(false) }),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url,
           inspect_notes(rules),
           { { "poolcalc inspect --database-url postgresql://app@localhost:5432/chat",
               "the server's slots, who holds them, its statements" },
             { "poolcalc inspect --vus 120 --query-ms auto",
               "the plan against the server in $DATABASE_URL, with the hold time pg_stat_statements measured" } },
           {},
           {},
           &run_inspect };
}

CommandSpec pgbouncer_command_spec(const std::vector<OptionDecl>& sizing_decls)
{
  const std::string fixed = "`poolcalc pgbouncer` always prints pgbouncer.ini (or with --userlist its note); drop ";
  return { Command::pgbouncer,
           "pgbouncer",
           "pgbouncer.ini for the plan, each value with PgBouncer's default and why",
           sizing_command(sizing_decls, pgbouncer_options()),
           {},
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           k_sizing_notes,
           { { "poolcalc pgbouncer --vus 400 --query-ms 80 --instances 6 > pgbouncer.ini",
               "PgBouncer's configuration for six instances' load" },
             { "poolcalc pgbouncer --vus 400 --query-ms 80 --instances 6 --userlist", "how to write PgBouncer's auth_file" },
             { "poolcalc pgbouncer --fleet data/examples/chat-fleet.toml", "one pgbouncer.ini for every service of a fleet file" } },
           { { "--format", fixed + "--format" }, { "--explain", fixed + "--explain" } },
           {},
           &run_pgbouncer };
}

CommandSpec config_command(const std::vector<OptionDecl>& sizing_decls)
{
  std::vector<std::string> targets;
  for (const ConfigTarget& target : config_targets()) {
    targets.emplace_back(target.name);
  }
  std::vector<OptionDecl> extra = config_options();
  const std::vector<Format> formats = { Format::text, Format::json };
  extra.push_back(format_option(formats, Format::text));
  return { Command::config,
           "config",
           "the snippet for one library, pooler or server: --for " + either(targets),
           sizing_command(sizing_decls, std::move(extra)),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           config_notes() + "\n" + k_sizing_notes,
           { { "poolcalc config --for hikaricp --vus 120 --query-ms 150", "HikariCP's properties for the plan, in its own units" },
             { "poolcalc config --for prisma --fleet data/examples/chat-fleet.toml --service chat-api",
               "Prisma's settings for one service of a fleet file" } },
           { { "--explain", "`poolcalc config` prints the snippet; drop --explain" } },
           {},
           &run_config };
}

CommandSpec k6_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::string fixed = "`poolcalc k6` always prints the k6 script; drop ";
  return { Command::k6,
           "k6",
           "the plan's progressive load test as one k6 script: ramping stages, a stress phase above the target, "
           "thresholds from the pool's predicted waits",
           sizing_command(sizing_decls, {}),
           {},
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           std::string(k_sizing_notes) +
             "\nRun it with: k6 run -e BASE_URL=https://staging.example.com -e OWN_P95_MS=180 -e OWN_P99_MS=260 pool-test.js\n"
             "(OWN_P95_MS, OWN_P99_MS: the endpoint's own response times at the Baseline phase, with no pool wait).\n"
             "Docs: docs/k6.md (the stages, the thresholds, the k6 behaviour the script relies on).",
           { { "poolcalc k6 --vus 120 --query-ms 150 > pool-test.js", "the test for the worked example's plan" },
             { "poolcalc k6 --rps 60 --query-ms 150 --instances 3 > pool-test.js",
               "an open load: k6's ramping-arrival-rate at each phase's rate" } },
           { { "--format", fixed + "--format" }, { "--explain", fixed + "--explain" } },
           {},
           &run_k6 };
}

CommandSpec alerts_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::string fixed = "`poolcalc alerts` always prints Prometheus rules; drop ";
  OptionDecl client = own("--client",
                          "NAME",
                          "the application's pool metrics to alert on too: hikaricp (Micrometer) or prisma6 "
                          "(Prisma 6's metrics preview feature; Prisma 7 has none)");
  client.choices = alert_client_names();
  return { Command::alerts,
           "alerts",
           "Prometheus alerting rules for the plan's monitoring thresholds (postgres_exporter, pgbouncer_exporter, the pool's own "
           "metrics)",
           sizing_command(sizing_decls, { client }),
           {},
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url | k_need_plan,
           std::string(k_sizing_notes) + "\nCheck the file with: promtool check rules FILE. Docs: docs/alerts.md (each alert, its metric "
                                         "and threshold).",
           { { "poolcalc alerts --vus 120 --query-ms 150 --database-url postgresql://app@db:5432/chat > pool-alerts.yml",
               "the server-side alerts for the worked example's plan" },
             { "poolcalc alerts --vus 600 --query-ms 150 --client hikaricp > pool-alerts.yml",
               "with PgBouncer's alerts and HikariCP's pool metrics" } },
           { { "--format", fixed + "--format" }, { "--explain", fixed + "--explain" } },
           {},
           &run_alerts };
}

CommandSpec doctor_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::vector<Format> formats = { Format::text, Format::json };
  std::vector<OptionDecl> extra = doctor_options();
  extra.push_back(format_option(formats, Format::text));
  return { Command::doctor,
           "doctor",
           "why a pool ran dry: samples a live PostgreSQL and PgBouncer (read-only) or reads a saved capture, with a k6 summary or "
           "without, and names the cause with its evidence and fix",
           sizing_command(sizing_decls, std::move(extra)),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url,
           "It measures the throughput, the hold time (Little's law), the time held without querying and the pool wait, and names:\n"
           "the pool too small for the load, connections held idle, a database past its useful concurrency, or PgBouncer's own limit.\n"
           "Sampling is read-only and ends after --duration; every statement is bounded like inspect's.\n"
           "With the test's workload (--vus or --rps, --query-ms, ...), its plan goes beside the measurement.\n"
           "Docs: docs/doctor.md.",
           { { "poolcalc doctor --database-url postgresql://app@db:5432/chat --pgbouncer-admin postgresql://app@db:6432/pgbouncer "
               "--duration 120",
               "samples both for two minutes during a load test, and says what held the pool" },
             { "poolcalc doctor --capture data/examples/doctor-pool-too-small.json --format json",
               "the diagnosis of a saved capture (add --k6-summary FILE for k6's figures)" } },
           {},
           {},
           &run_doctor };
}

CommandSpec gate_command(const std::vector<OptionDecl>& sizing_decls)
{
  const std::vector<Format> formats = { Format::text, Format::json };
  std::vector<OptionDecl> extra = gate_options();
  extra.push_back(format_option(formats, Format::text));
  return { Command::gate,
           "gate",
           "for CI: the plan (its p99 wait, its fit, a deploy's surge, its pool's growth) and a measured run (doctor's capture, k6's "
           "summary) against a policy; exit 0 pass, 4 fail",
           sizing_command(sizing_decls, std::move(extra)),
           formats,
           Format::text,
           k_need_rules | k_need_config_file | k_need_database_url,
           "Exit codes: 0 every check passed, 4 a check failed, 1 runtime failure, 2 bad input (the policy file's included).\n"
           "The workload is optional: without --vus or --rps only the measured run is judged.\n"
           "Docs: docs/gate.md (the policy file, every check).",
           { { "poolcalc gate --vus 120 --query-ms 150 --deploy-surge 0",
               "the worked example's plan, deployed without a surge, against the "
               "default policy" },
             { "poolcalc gate --vus 120 --query-ms 150 --capture data/examples/doctor-pool-too-small.json --format json",
               "the plan and a measured run, as JSON for the pipeline" } },
           { { "--explain", "`poolcalc gate` prints its checks; drop --explain" } },
           {},
           &run_gate_command };
}

CommandSpec fleet_command()
{
  const std::vector<Format> formats = { Format::text, Format::json, Format::markdown };
  OptionDecl file = own("FILE", "", "the fleet file (TOML)");
  file.positional = true;
  return { Command::fleet,
           "fleet",
           "several services sharing one PostgreSQL, from a fleet file (docs/fleet.md)",
           { file, format_option(formats, Format::text), rules_option() },
           formats,
           Format::text,
           k_need_rules,
           "Exit codes: 0 ok (warnings allowed), 1 runtime failure, 2 bad input, 3 a `fail` finding.\n"
           "Docs: docs/fleet.md (the file format, every key), docs/json.md (the JSON).",
           { { "poolcalc fleet data/examples/chat-fleet.toml", "each service's pool, the sums, the surge, PgBouncer or not" },
             { "poolcalc fleet data/examples/chat-fleet.toml --format json", "the same as JSON (docs/json.md)" } },
           {},
           "`poolcalc fleet` takes FILE, --format and --rules after `fleet`; the workload comes from the file",
           &run_fleet };
}

CommandSpec completion_command()
{
  OptionDecl shell = own("SHELL", "", "bash or zsh");
  shell.positional = true;
  shell.choices = completion_shells();
  return { Command::completion,
           "completion",
           "a completion script for bash or zsh: subcommands, their options, formats and files",
           { shell },
           {},
           Format::text,
           0,
           "bash: source it, or install it as /usr/share/bash-completion/completions/poolcalc.\n"
           "zsh: install it as _poolcalc in a directory of $fpath (before compinit runs).",
           { { "source <(poolcalc completion bash)", "completion in the current bash" },
             { "poolcalc completion zsh > _poolcalc", "for zsh: then move _poolcalc to a directory of $fpath" } },
           {},
           "`poolcalc completion` takes only the shell: bash or zsh",
           &run_completion };
}

} // namespace

void Given::add(const OptionDecl& option, std::vector<std::string> items)
{
  auto [it, inserted] = m_values.try_emplace(option.flag);
  if (inserted) {
    m_order.push_back(&option);
  }
  if (option.kind == OptionKind::list) {
    it->second.insert(it->second.end(), items.begin(), items.end());
  } else {
    it->second = std::move(items);
  }
}

std::optional<std::string> Given::value(std::string_view flag) const
{
  const auto it = m_values.find(flag);
  if (it == m_values.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second.back();
}

const std::vector<std::string>& Given::items(std::string_view flag) const
{
  static const std::vector<std::string> none;
  const auto it = m_values.find(flag);
  return it == m_values.end() ? none : it->second;
}

const OptionDecl* CommandSpec::option(std::string_view flag) const
{
  const auto it = std::find_if(options.begin(), options.end(), [&](const OptionDecl& o) { return o.flag == flag; });
  return it == options.end() ? nullptr : &*it;
}

OptionDecl own(std::string flag, std::string type_name, std::string help, OptionKind kind)
{
  return { std::move(flag), std::move(type_name), std::move(help), kind, "", {}, {}, false, false, {} };
}

poolcalc::unexpected<Failure> usage_error(std::string message)
{
  return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) });
}

std::vector<CommandSpec> command_table(const Rules& rules)
{
  // The sizing options' help texts are formatted once and copied into each command that takes them.
  const std::vector<OptionDecl> sizing_decls = sizing(rules);
  std::vector<CommandSpec> table;
  table.reserve(14);
  table.push_back(size_command(sizing_decls));
  table.push_back(env_command(sizing_decls));
  table.push_back(report_command(sizing_decls));
  table.push_back(rules_command());
  table.push_back(curve_command(sizing_decls));
  table.push_back(inspect_command(rules, sizing_decls));
  table.push_back(pgbouncer_command_spec(sizing_decls));
  table.push_back(config_command(sizing_decls));
  table.push_back(fleet_command());
  table.push_back(k6_command(sizing_decls));
  table.push_back(alerts_command(sizing_decls));
  table.push_back(doctor_command(sizing_decls));
  table.push_back(gate_command(sizing_decls));
  table.push_back(completion_command());
  return table;
}

const CommandSpec* find_command(const std::vector<CommandSpec>& table, std::string_view name)
{
  const auto it = std::find_if(table.begin(), table.end(), [&](const CommandSpec& c) { return c.name == name; });
  return it == table.end() ? nullptr : &*it;
}

std::string format_list(const std::vector<Format>& formats)
{
  return either(format_names(formats));
}

std::string format_refusal(const CommandSpec& command, std::string_view origin, std::string_view value)
{
  if (command.formats.size() == 1) {
    return fmt::format("{}: `poolcalc {}` always prints {}; drop --format", origin, command.name, format_name(command.formats.front()));
  }
  if (command.id == Command::size) {
    return fmt::format("{}: expected {}, got '{}'", origin, format_list(command.formats), user_text(value));
  }
  return fmt::format("{}: `poolcalc {}` prints {}, got '{}'", origin, command.name, format_list(command.formats), user_text(value));
}

std::string option_refusal(const CommandSpec& command, const OptionDecl& option)
{
  if (!command.refuse_all.empty()) {
    return command.refuse_all;
  }
  for (const Refusal& refusal : command.refusals) {
    if (refusal.flag == option.flag) {
      return fmt::format("{}: {}", option.flag, refusal.why);
    }
  }
  if (!option.elsewhere.empty()) {
    return fmt::format("{}: {}", option.flag, option.elsewhere);
  }
  std::vector<std::string> taken;
  for (const OptionDecl& decl : command.options) {
    if (!decl.hidden) {
      taken.push_back(decl.flag);
    }
  }
  return fmt::format("{}: `poolcalc {}` takes only {}", option.flag, command.name, either(taken, " and "));
}

} // namespace poolcalc::cli

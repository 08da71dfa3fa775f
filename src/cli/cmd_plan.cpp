#include "cmd_plan.hpp"

#include "cmd_config.hpp"
#include "cmd_env_write.hpp"
#include "progress.hpp"

#include "poolcalc/alerts.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/emit_findings.hpp"
#include "poolcalc/k6.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

namespace {

// `env --write PATH`: the file is read first; its URL is the base unless --database-url is given.
Outcome run_env_write(Invocation& invocation, const EnvFor& client)
{
  const Given& given = invocation.given;
  const bool dry_run = given.has("--dry-run");
  auto target = read_env_target(*given.value("--write"), !dry_run);
  if (!target) {
    return poolcalc::unexpected(Failure{ target.error().code, target.error().message });
  }
  const bool url_flag = given.has("--database-url");
  if (auto url = file_database_url(*target); url && !url_flag) {
    invocation.loaded.inputs["database_url"] = std::move(*url);
  }
  const Loaded& loaded = invocation.loaded;
  auto planned = make_plan(loaded, [&](Scenario& scenario) {
    if (!url_flag) {
      // The file's DATABASE_URL keeps PgBouncer's address when it has one beside a DIRECT_URL.
      scenario.pgbouncer_url = file_pgbouncer_url(*target, loaded.rules.pgbouncer_settings.listen_port);
    }
  });
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  const bool plan_fails = plan_code(*planned, invocation.err, true) == k_exit_plan_fails;
  return write_env(*target, planned->plan, dry_run, plan_fails, invocation.err, client);
}

// A progress line on stderr while simulations run, when stderr is a terminal.
std::function<void(Scenario&)> show_progress(const Invocation& invocation)
{
  return [&invocation](Scenario& scenario) { scenario.progress = progress_line(invocation.err, invocation.env.stderr_is_terminal); };
}

} // namespace

poolcalc::expected<Planned, Failure> make_plan(const Loaded& loaded, const std::function<void(Scenario&)>& adjust)
{
  auto scenario = build_scenario(loaded.inputs, loaded.rules);
  if (!scenario) {
    return poolcalc::unexpected(Failure{ k_exit_usage, scenario.error() });
  }
  if (adjust) {
    adjust(*scenario);
  }
  Planned planned{ size(*scenario, loaded.rules), {} };
  if (const std::string unmet = unmet_target(planned.plan); !unmet.empty()) {
    const auto origin = loaded.inputs.find("target");
    return poolcalc::unexpected(
      Failure{ k_exit_usage, fmt::format("{}: {}", origin != loaded.inputs.end() ? origin->second.origin : "--target", unmet) });
  }
  planned.findings = evaluate(planned.plan, loaded.rules);
  return planned;
}

std::string url_origin(const Loaded& loaded)
{
  const auto origin = loaded.inputs.find("database_url");
  return origin != loaded.inputs.end() ? origin->second.origin : "--database-url";
}

int plan_code(const Planned& planned, std::ostream& err, bool name_failures)
{
  if (name_failures) {
    report_failures(err, planned.findings);
  }
  return has_failure(planned.findings) ? k_exit_plan_fails : k_exit_ok;
}

Outcome run_size(Invocation& invocation)
{
  const Given& given = invocation.given;
  if (given.has("--dry-run") && !given.has("--write")) {
    return poolcalc::unexpected(Failure{ k_exit_usage, "--dry-run: only with --write PATH (poolcalc env --write PATH --dry-run ...)" });
  }
  const auto client = env_for(given);
  if (!client) {
    return poolcalc::unexpected(Failure{ k_exit_usage, client.error() });
  }
  if (given.has("--write")) {
    return run_env_write(invocation, *client);
  }
  const Loaded& loaded = invocation.loaded;
  auto planned = make_plan(loaded, show_progress(invocation));
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  const Plan& plan = planned->plan;
  switch (loaded.format) {
  case Format::json:
    return Output{ render_json(plan, planned->findings), plan_code(*planned, invocation.err, false) };
  case Format::markdown:
    return Output{ render_markdown(plan, planned->findings), plan_code(*planned, invocation.err, false) };
  case Format::env:
    report_url_notes(invocation.err, plan);
    return Output{ render_env(plan, *client), plan_code(*planned, invocation.err, true) };
  default: {
    const auto no_color = invocation.env.getenv("NO_COLOR");
    const TextOptions options{ invocation.env.stdout_is_terminal && !(no_color && !no_color->empty()), loaded.explain };
    return Output{ render_text(plan, planned->findings, options), plan_code(*planned, invocation.err, false) };
  }
  }
}

Outcome run_curve(Invocation& invocation)
{
  auto planned = make_plan(invocation.loaded, show_progress(invocation));
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  const Plan& plan = planned->plan;
  const Curve points = curve(plan, invocation.loaded.rules);
  std::string text;
  switch (invocation.loaded.format) {
  case Format::csv:
    text = render_curve_csv(points);
    break;
  case Format::json:
    text = render_curve_json(plan, points);
    break;
  case Format::svg:
    text = render_curve_svg(plan, points);
    break;
  default:
    text = render_curve_text(plan, points);
  }
  return Output{ std::move(text), plan_code(*planned, invocation.err, true) };
}

Outcome run_k6(Invocation& invocation)
{
  auto planned = make_plan(invocation.loaded, show_progress(invocation));
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  const Plan& plan = planned->plan;
  const K6Plan test = plan_k6(plan, invocation.loaded.rules);
  return Output{ render_k6_script(plan, test), plan_code(*planned, invocation.err, true) };
}

Outcome run_alerts(Invocation& invocation)
{
  AlertClient client = AlertClient::none;
  if (const auto name = invocation.given.value("--client")) {
    const auto known = alert_client(*name);
    if (!known) {
      return poolcalc::unexpected(
        Failure{ k_exit_usage, fmt::format("--client: expected hikaricp or prisma6, got '{}'", user_text(*name)) });
    }
    client = *known;
  }
  auto planned = make_plan(invocation.loaded, show_progress(invocation));
  if (!planned) {
    return poolcalc::unexpected(planned.error());
  }
  return Output{ render_alert_rules(planned->plan, invocation.loaded.rules, client), plan_code(*planned, invocation.err, true) };
}

Outcome run_rules(Invocation& invocation)
{
  const Loaded& loaded = invocation.loaded;
  if (invocation.given.has("--findings")) {
    return Output{ render_finding_catalogue(format_name(loaded.format)) };
  }
  if (invocation.given.has("--format")) {
    return poolcalc::unexpected(
      Failure{ k_exit_usage, "--format: `poolcalc rules` prints the rules as TOML; --format text or json goes with --findings" });
  }
  return Output{ fmt::format("# poolcalc rules in force: {}\n{}", user_text(loaded.rules_source), loaded.rules_text) };
}

} // namespace poolcalc::cli

#include "cmd_inspect.hpp"

#include "read_server.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"
#include "poolcalc/emit.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/inspect.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"
#include "poolcalc/sizing.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

namespace {

bool has_workload(const RawInputs& inputs)
{
  return inputs.contains("vus") || inputs.contains("rps");
}

// The inputs with `auto` replaced by a placeholder, and the reserve (which the server will
// supply) emptied, to check every other input before the server is contacted: bad input never
// costs a connection.
RawInputs with_placeholders(RawInputs inputs)
{
  if (const auto it = inputs.find("reserve"); it == inputs.end() || !it->second.origin.starts_with("--")) {
    inputs["reserve"] = RawValue{ { "superuser=0" }, "server: reserved budget" };
  }
  if (auto it = inputs.find("query_ms"); it != inputs.end()) {
    std::vector<std::string> items;
    bool placeholder = false;
    for (const std::string& item : it->second.items) {
      if (item == "auto") {
        if (!placeholder) {
          items.push_back("1");
          placeholder = true;
        }
      } else {
        items.push_back(item);
      }
    }
    it->second.items = std::move(items);
  }
  return inputs;
}

// Every input checked before the server is contacted: bad input never costs a connection.
poolcalc::expected<void, Failure> check_workload(const Loaded& loaded, bool workload)
{
  const auto fail = [](std::string message) { return poolcalc::unexpected(Failure{ k_exit_usage, std::move(message) }); };
  if (!workload) {
    for (const char* key : { "query_ms", "op", "pool", "target" }) {
      if (const auto it = loaded.inputs.find(key); it != loaded.inputs.end()) {
        return fail(fmt::format("{}: give the workload too (--vus N or --rps R) to size a pool against the server", it->second.origin));
      }
    }
    if (loaded.format == Format::env) {
      return fail("--format env: the .env snippet needs a workload (--vus N or --rps R)");
    }
  } else if (auto checked = build_scenario(with_placeholders(loaded.inputs), loaded.rules); !checked) {
    return fail(checked.error());
  }
  return {};
}

// The inspection, and the plan against it when there is one, in the format asked for.
std::string render(const Loaded& loaded,
                   const Environment& env,
                   const Inspection& inspection,
                   const Plan* plan,
                   const std::vector<Finding>& findings)
{
  std::string output;
  if (loaded.format == Format::json) {
    const std::string plan_json = plan ? render_json(*plan, findings) : std::string();
    output = render_inspect_json(inspection, loaded.rules, plan ? &plan_json : nullptr);
  } else if (loaded.format == Format::markdown) {
    // The review document first (its title is the document's), the live server as a section of it.
    output = plan ? render_markdown(*plan, findings) + "\n" : std::string("# Live server review\n\n");
    output += render_inspect_markdown(inspection, loaded.rules);
  } else if (loaded.format == Format::env) {
    output = render_env(*plan);
  } else {
    const auto no_color = env.getenv("NO_COLOR");
    const TextOptions text{ env.stdout_is_terminal && !(no_color && !no_color->empty()), loaded.explain };
    output = render_inspect_text(inspection, loaded.rules, text);
    if (plan) {
      output += "\nplan against this server (max_connections and the reserved budget read above):\n\n";
      output += render_text(*plan, findings, text);
    }
  }
  return output;
}

} // namespace

OptionDecl inspect_app_option()
{
  return { "--app",
           "NAME",
           "the application_name of the application being sized: its connections now are not "
           "counted as other applications' (default: application_name in the URL)",
           OptionKind::value,
           "",
           {},
           {},
           false,
           false,
           {} };
}

std::string inspect_notes(const Rules& rules)
{
  return fmt::format("--query-ms auto uses the mean time pg_stat_statements measured.\n"
                     "The server: --database-url URL or $DATABASE_URL.\n"
                     "It never waits longer than the connect timeout plus the statement timeout, whatever the server does:\n"
                     "the connection within --connect-timeout S (else the URL's connect_timeout, else the rules'\n"
                     "inspect.connect_timeout_s, {}), everything after it within inspect.statement_timeout_ms ({});\n"
                     "then it closes the connection and exits 1.",
                     format_number(rules.inspect.connect_timeout_s),
                     rules.inspect.statement_timeout_ms);
}

Outcome run_inspect(Invocation& invocation)
{
  const Loaded& loaded = invocation.loaded;
  const Environment& env = invocation.env;
  std::ostream& err = invocation.err;
  // The message may quote the server (its error texts quote names): the one printer escapes it.
  const auto fail = [](int code, std::string message) { return poolcalc::unexpected(Failure{ code, std::move(message) }); };
  const auto url_input = loaded.inputs.find("database_url");
  if (url_input == loaded.inputs.end()) {
    return fail(k_exit_usage, "inspect needs a server: --database-url URL, $DATABASE_URL or database_url in --config");
  }
  auto url = DatabaseUrl::parse(url_input->second.items.front());
  if (!url) {
    return fail(k_exit_usage, fmt::format("{}: {}", url_input->second.origin, url.error()));
  }
  const auto connect_timeout = inspect_connect_timeout(loaded.inputs, *url, url_input->second.origin, loaded.rules);
  if (!connect_timeout) {
    return fail(k_exit_usage, connect_timeout.error());
  }
  const bool workload = has_workload(loaded.inputs);
  if (auto checked = check_workload(loaded, workload); !checked) {
    return poolcalc::unexpected(checked.error());
  }

  inspect::ReadOptions read;
  read.connect_timeout_s = connect_timeout->seconds;
  read.connect_timeout_source = connect_timeout->source;
  read.statement_timeout_ms = loaded.rules.inspect.statement_timeout_ms;
  if (env.stderr_is_terminal) {
    read.progress = [&err](const std::string& step) { err << "poolcalc: " << printable(mask_passwords(step)) << "...\n" << std::flush; };
  }
  // print_line escapes what the server wrote (terminal controls included) and keeps it one line.
  read.notice = [&err](const std::string& notice) { print_line(err, "server notice", notice); };
  auto snapshot = inspect::read_server(*url, read);
  if (!snapshot) {
    return fail(k_exit_runtime, snapshot.error());
  }
  const std::string given_app = invocation.given.value("--app").value_or("");
  const std::string app = !given_app.empty() ? given_app : url->param("application_name").value_or("");
  const Inspection inspection = analyze(*snapshot, loaded.rules, app);

  std::optional<Plan> plan;
  std::vector<Finding> findings;
  if (workload) {
    RawInputs inputs = loaded.inputs;
    if (auto applied = apply_server(inputs, inspection, loaded.rules); !applied) {
      return fail(k_exit_runtime, applied.error());
    }
    auto scenario = build_scenario(inputs, loaded.rules);
    if (!scenario) {
      return fail(k_exit_usage, scenario.error());
    }
    plan = size(*scenario, loaded.rules);
    if (const std::string unmet = unmet_target(*plan); !unmet.empty()) {
      return fail(k_exit_usage, fmt::format("--target: {}", unmet));
    }
    findings = evaluate(*plan, loaded.rules);
  }

  std::string output = render(loaded, env, inspection, plan ? &*plan : nullptr, findings);
  const int code = has_failure(findings) ? k_exit_plan_fails : k_exit_ok;
  if (loaded.format == Format::env) {
    report_failures(err, findings);
  }
  return Output{ std::move(output), code };
}

} // namespace poolcalc::cli

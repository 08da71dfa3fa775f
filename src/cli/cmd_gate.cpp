#include "cmd_gate.hpp"

#include "cmd_doctor.hpp"
#include "cmd_plan.hpp"
#include "files.hpp"

#include "poolcalc/doctor.hpp"
#include "poolcalc/emit_doctor.hpp"
#include "poolcalc/emit_gate.hpp"
#include "poolcalc/gate.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

namespace poolcalc::cli {

std::vector<OptionDecl> gate_options()
{
  return { own("--policy",
               "FILE",
               "the policy (TOML, docs/gate.md); default: the advisor's p99 objective, both fits, k6's failed "
               "requests at most rules monitoring.timeout_error_warn_rate"),
           own("--capture", "FILE", "a capture `poolcalc doctor --save-capture` wrote: its measured wait and causes are judged"),
           own("--k6-summary", "FILE", "a k6 end-of-test summary: its failed requests are judged") };
}

Outcome run_gate_command(Invocation& invocation)
{
  const Loaded& loaded = invocation.loaded;
  const Given& given = invocation.given;
  GatePolicy policy = default_gate_policy(loaded.rules);
  if (const auto path = given.value("--policy")) {
    auto text = read_file(*path, 1);
    if (!text) {
      return poolcalc::unexpected(Failure{ k_exit_runtime, fmt::format("--policy: {}", text.error()) });
    }
    auto parsed = parse_gate_policy(*text, user_text(*path), loaded.rules);
    if (!parsed) {
      return usage_error(parsed.error());
    }
    policy = std::move(*parsed);
  }
  const bool workload = loaded.inputs.contains("vus") || loaded.inputs.contains("rps");
  const auto capture_path = given.value("--capture");
  const auto k6_path = given.value("--k6-summary");
  if (!workload && !capture_path && !k6_path) {
    return usage_error(
      "gate needs something to judge: the workload (--vus N or --rps R, with --query-ms), --capture FILE or --k6-summary FILE");
  }
  std::optional<Capture> capture;
  if (capture_path) {
    auto read = read_capture_file(*capture_path);
    if (!read) {
      return poolcalc::unexpected(read.error());
    }
    capture = std::move(*read);
  }
  std::optional<K6Figures> k6;
  if (k6_path) {
    auto read = read_k6_summary_file(*k6_path);
    if (!read) {
      return poolcalc::unexpected(read.error());
    }
    k6 = std::move(*read);
  }
  std::optional<Planned> planned;
  if (workload) {
    auto made = make_plan(loaded, {});
    if (!made) {
      return poolcalc::unexpected(made.error());
    }
    planned = std::move(*made);
  }
  std::optional<Diagnosis> diagnosis;
  if (capture) {
    diagnosis = diagnose(*capture, k6, loaded.rules, planned ? &planned->plan : nullptr);
  }
  const GateReport report =
    run_gate(policy, planned ? &planned->plan : nullptr, planned ? &planned->findings : nullptr, diagnosis ? &*diagnosis : nullptr, k6);
  if (report.checks.empty()) {
    return usage_error(fmt::format("{}: the policy leaves nothing to check for what was given", user_text(policy.source)));
  }
  std::string text = loaded.format == Format::json ? render_gate_json(policy, report) : render_gate_text(policy, report);
  return Output{ std::move(text), report.passed ? k_exit_ok : k_exit_gate_failed };
}

} // namespace poolcalc::cli

#include "cmd_doctor.hpp"

#include "cmd_plan.hpp"
#include "files.hpp"
#include "progress.hpp"
#include "read_server.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/doctor.hpp"
#include "poolcalc/emit_doctor.hpp"
#include "poolcalc/inspect.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace poolcalc::cli {

namespace {

// --duration and --interval: seconds within [low, high].
poolcalc::expected<double, Failure> seconds(const Given& given, const std::string& flag, double fallback, double low, double high)
{
  const auto text = given.value(flag);
  if (!text) {
    return fallback;
  }
  const auto value = parse_number(*text, low, high);
  if (!value) {
    return usage_error(
      fmt::format("{}: expected seconds from {} to {}, got '{}'", flag, format_number(low), format_number(high), user_text(*text)));
  }
  return *value;
}

} // namespace

std::vector<OptionDecl> doctor_options()
{
  std::vector<OptionDecl> options;
  options.push_back(own("--pgbouncer-admin",
                        "URL",
                        "PgBouncer's admin console, postgresql://user:password@host:6432/pgbouncer (a stats_users or "
                        "admin_users role): its pools and counters are sampled too"));
  options.push_back(own("--duration", "S", "seconds to sample, 1-3600 (default 60)"));
  options.push_back(own("--interval", "S", "seconds between samples, 0.1-60 (default 1)"));
  options.push_back(own("--k6-summary",
                        "FILE",
                        "a k6 end-of-test summary: the file `k6 run --summary-export` writes, or "
                        "handleSummary's data as JSON"));
  options.push_back(own("--capture", "FILE", "diagnose a capture saved with --save-capture instead of sampling"));
  options.push_back(own("--save-capture",
                        "FILE",
                        "also write what was sampled to FILE (JSON), for later or elsewhere; "
                        "an existing file is refused"));
  return options;
}

namespace {

// The file an option names, read (at most `limit_kib`) and parsed: an unreadable file is exit 1,
// one that does not parse exit 2, each with the option's name and the reason.
template<typename Parse>
auto read_option_file(std::string_view option, const std::string& path, std::size_t limit_kib, Parse parse)
  -> poolcalc::expected<typename decltype(parse(std::string()))::value_type, Failure>
{
  auto text = read_file(path, limit_kib);
  if (!text) {
    return poolcalc::unexpected(Failure{ k_exit_runtime, fmt::format("{}: {}", option, text.error()) });
  }
  auto parsed = parse(*text);
  if (!parsed) {
    return usage_error(fmt::format("{}: {}: {}", option, user_text(path), parsed.error()));
  }
  return std::move(*parsed);
}

} // namespace

poolcalc::expected<K6Figures, Failure> read_k6_summary_file(const std::string& path)
{
  return read_option_file("--k6-summary", path, 64, [](const std::string& text) { return parse_k6_summary(text); });
}

poolcalc::expected<Capture, Failure> read_capture_file(const std::string& path)
{
  auto capture = read_option_file("--capture", path, 256, [](const std::string& text) { return capture_from_json(text); });
  if (capture) {
    capture->source = user_text(path);
  }
  return capture;
}

Outcome run_doctor(Invocation& invocation)
{
  const Loaded& loaded = invocation.loaded;
  const Given& given = invocation.given;
  const Environment& env = invocation.env;
  std::ostream& err = invocation.err;

  // Every input checked before anything is read or sampled.
  auto duration = seconds(given, "--duration", 60, 1, 3600);
  if (!duration) {
    return poolcalc::unexpected(duration.error());
  }
  auto interval = seconds(given, "--interval", 1, 0.1, 60);
  if (!interval) {
    return poolcalc::unexpected(interval.error());
  }
  const auto capture_path = given.value("--capture");
  const auto save_path = given.value("--save-capture");
  const auto k6_path = given.value("--k6-summary");
  const auto url_input = loaded.inputs.find("database_url");
  if (capture_path && given.has("--database-url")) {
    return usage_error("--capture: diagnoses a saved capture; drop --database-url (or drop --capture to sample the server)");
  }
  if (capture_path && (given.has("--pgbouncer-admin") || given.has("--duration") || given.has("--interval") || save_path)) {
    return usage_error("--capture: a saved capture is diagnosed as it is; --pgbouncer-admin, --duration, --interval and --save-capture "
                       "go with sampling a live server");
  }
  // A server from $DATABASE_URL or --config is sampled only when nothing else was asked for: a
  // k6 summary alone is read, not a reason to connect.
  const bool live = !capture_path && url_input != loaded.inputs.end() && (given.has("--database-url") || !k6_path);
  if (!live) {
    for (const char* flag : { "--pgbouncer-admin", "--duration", "--interval", "--save-capture" }) {
      if (given.has(flag) && !capture_path) {
        return usage_error(fmt::format("{}: only when sampling a server (--database-url URL or $DATABASE_URL)", flag));
      }
    }
  }
  if (!capture_path && !live && !k6_path) {
    return usage_error("doctor needs something to read: --database-url URL (or $DATABASE_URL) to sample a server, --capture FILE, or "
                       "--k6-summary FILE");
  }
  if (save_path && std::filesystem::exists(*save_path)) {
    return usage_error(
      fmt::format("--save-capture: {} exists; poolcalc does not overwrite it (remove it or choose another name)", user_text(*save_path)));
  }
  std::optional<DatabaseUrl> url;
  std::optional<DatabaseUrl> admin;
  if (live) {
    auto parsed = DatabaseUrl::parse(url_input->second.items.front());
    if (!parsed) {
      return usage_error(fmt::format("{}: {}", url_input->second.origin, parsed.error()));
    }
    url = std::move(*parsed);
    if (const auto text = given.value("--pgbouncer-admin")) {
      auto parsed_admin = DatabaseUrl::parse(*text);
      if (!parsed_admin) {
        return usage_error(fmt::format("--pgbouncer-admin: {}", parsed_admin.error()));
      }
      if (parsed_admin->database() != "pgbouncer") {
        return usage_error(
          fmt::format("--pgbouncer-admin: the admin console's database is pgbouncer, got '{}'", user_text(parsed_admin->database())));
      }
      admin = std::move(*parsed_admin);
    }
  }
  // The test's workload, when given: checked now, planned for the comparison after sampling.
  std::optional<Scenario> workload;
  if (loaded.inputs.contains("vus") || loaded.inputs.contains("rps")) {
    RawInputs inputs = loaded.inputs;
    inputs.erase("database_url"); // the server sampled, not a part of the workload
    auto scenario = build_scenario(inputs, loaded.rules);
    if (!scenario) {
      return usage_error(scenario.error());
    }
    workload = std::move(*scenario);
  }

  std::optional<K6Figures> k6;
  if (k6_path) {
    auto read = read_k6_summary_file(*k6_path);
    if (!read) {
      return poolcalc::unexpected(read.error());
    }
    k6 = std::move(*read);
  }

  Capture capture;
  if (capture_path) {
    auto read = read_capture_file(*capture_path);
    if (!read) {
      return poolcalc::unexpected(read.error());
    }
    capture = std::move(*read);
  } else if (live) {
    const auto connect_timeout = inspect_connect_timeout(loaded.inputs, *url, url_input->second.origin, loaded.rules);
    if (!connect_timeout) {
      return usage_error(connect_timeout.error());
    }
    inspect::SampleOptions options;
    options.read.connect_timeout_s = connect_timeout->seconds;
    options.read.connect_timeout_source = connect_timeout->source;
    options.read.statement_timeout_ms = loaded.rules.inspect.statement_timeout_ms;
    options.read.notice = [&err](const std::string& notice) { print_line(err, "server notice", notice); };
    options.duration_s = *duration;
    options.interval_s = *interval;
    if (auto line = status_line(err, env.stderr_is_terminal)) {
      options.tick = [line](double done, double total) {
        line(fmt::format("poolcalc: sampling the server, {:.0f} of {:.0f} s", done, total));
      };
    }
    auto sampled = inspect::sample_live(*url, admin, options);
    options.tick = nullptr; // the last copy: the progress line is erased
    if (!sampled) {
      return poolcalc::unexpected(Failure{ k_exit_runtime, sampled.error() });
    }
    capture = std::move(*sampled);
    if (save_path) {
      std::ofstream out(*save_path, std::ios::binary | std::ios::trunc);
      out << capture_to_json(capture);
      if (!out) {
        return poolcalc::unexpected(Failure{ k_exit_runtime, fmt::format("--save-capture: cannot write {}", user_text(*save_path)) });
      }
    }
  } else {
    capture.source = "k6 summary " + user_text(*k6_path);
  }

  std::optional<Plan> plan;
  if (workload) {
    plan = size(*workload, loaded.rules);
  }
  const Diagnosis diagnosis = diagnose(capture, k6, loaded.rules, plan ? &*plan : nullptr);
  return Output{ loaded.format == Format::json ? render_doctor_json(capture, k6, diagnosis) : render_doctor_text(capture, k6, diagnosis) };
}

} // namespace poolcalc::cli

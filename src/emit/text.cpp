#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace poolcalc {

using namespace detail;

namespace {

struct Palette
{
  bool on = false;
  std::string paint(std::string_view text, std::string_view code) const
  {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
  }
  std::string bold(std::string_view text) const { return paint(text, "1"); }
  std::string level(Level l) const
  {
    const std::string_view name = to_string(l);
    switch (l) {
    case Level::fail:
      return paint(name, "1;31");
    case Level::warn:
      return paint(name, "33");
    case Level::info:
      return paint(name, "36");
    }
    return std::string(name);
  }
  std::string verdict(bool good, std::string_view text) const { return paint(text, good ? "32" : "1;31"); }
};

// Rows of "label  value  note" with the value column right-aligned.
void table(std::string& out, const std::vector<std::array<std::string, 3>>& rows)
{
  std::size_t label_width = 0;
  std::size_t value_width = 0;
  for (const auto& row : rows) {
    label_width = std::max(label_width, row[0].size());
    value_width = std::max(value_width, row[1].size());
  }
  for (const auto& row : rows) {
    out += fmt::format("  {:<{}}  {:>{}}  {}\n", row[0], label_width, row[1], value_width, row[2]);
  }
}

} // namespace

std::string render_text(const Plan& plan, const std::vector<Finding>& findings, const TextOptions& options)
{
  const Palette p{ options.color };
  const Scenario& s = plan.scenario;
  const ScenarioResult& d = plan.scenarios[plan.design_index];
  std::string out;

  const std::int64_t given = plan.advice.given_max_connections;
  out += p.bold(fmt::format("poolcalc: {}, {} ms per query, max_connections {}",
                            load_text(plan),
                            format_number(d.query_ms),
                            given > 0 && given != s.max_connections ? fmt::format("{} (the advisor: {})", given, s.max_connections)
                                                                    : fmt::format("{}", s.max_connections)));
  out += "\n\n";

  std::vector<std::array<std::string, 3>> rows;
  rows.push_back({ "peak concurrent queries", format_number(plan.peak_concurrent), peak_formula(plan, d.query_ms) });
  rows.push_back({ "pool size", fmt::format("{}", plan.pool_size), plan_pool_formula(plan) });
  rows.push_back(
    { "application connections",
      fmt::format("{}", plan.total_connections),
      fmt::format("{} {}{} x {}", s.instances, s.serverless ? "execution" : "instance", s.instances == 1 ? "" : "s", plan.pool_size) });
  // The deployment's other moments: the autoscaler's maximum, a rolling deploy.
  for (std::size_t i = 1; i < plan.moments.size(); ++i) {
    const Moment& m = plan.moments[i];
    const bool serverless = s.serverless;
    rows.push_back({ m.id == "autoscaled" ? (serverless ? "at the concurrency limit" : "at the autoscaler's max")
                     : serverless         ? "during a new version"
                                          : "during a rolling deploy",
                     fmt::format("{}", m.client_connections),
                     fmt::format("{} x {}{}{}",
                                 m.instances,
                                 plan.pool_size,
                                 plan.pgbouncer ? ", PgBouncer's clients" : "",
                                 i == plan.worst_moment && !plan.pgbouncer ? "  <- the worst moment" : "") });
  }
  if (plan.pgbouncer) {
    const PgBouncerPlan& b = *plan.pgbouncer;
    rows.push_back({ "server connections",
                     fmt::format("{}", plan.server_connections),
                     b.topology == Topology::sidecar
                       ? fmt::format("{} sidecar PgBouncers x (default_pool_size {} + reserve_pool_size {}); one shared: {}",
                                     b.pgbouncers,
                                     b.pools.front().default_pool_size,
                                     b.pools.front().reserve_pool_size,
                                     b.shared_server_connections)
                       : fmt::format("PgBouncer default_pool_size {} + reserve_pool_size {}",
                                     b.pools.front().default_pool_size,
                                     b.pools.front().reserve_pool_size) });
  }
  rows.push_back({ "available",
                   fmt::format("{}", plan.available),
                   fmt::format("max_connections {} - reserved {} ({})", s.max_connections, plan.reserved_total, reserved_list(plan)) });
  rows.push_back({ "fits", plan.fits ? "yes" : "no", p.verdict(plan.fits, fit_check(plan)) });
  const std::int64_t hardest = hardest_connections(plan);
  rows.push_back({ "utilization",
                   format_percent(plan.utilization),
                   fmt::format("{} / {} (safe band {}-{})",
                               hardest,
                               s.max_connections,
                               format_number(plan.safe_utilization_min * 100.0, 1),
                               format_percent(plan.safe_utilization_max)) });
  table(out, rows);

  if (plan.scenarios.size() > 1) {
    out += "\n";
    std::vector<std::array<std::string, 3>> scenario_rows;
    for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
      const ScenarioResult& r = plan.scenarios[i];
      std::string note = fmt::format("{:>7} ms  peak {:>6}  pool {:>4}  {}",
                                     format_number(r.query_ms),
                                     format_number(r.peak_concurrent),
                                     r.pool_size,
                                     scenario_fit(plan, r));
      if (i == plan.design_index) {
        note += plan.queueing.target_pool ? fmt::format("  <- design (rule of thumb; --target gives {})", plan.pool_size)
                : plan.advice.chosen && plan.pool_size != r.pool_size
                  ? fmt::format("  <- design (rule of thumb; the advisor gives {})", plan.pool_size)
                  : "  <- design";
      }
      scenario_rows.push_back({ r.label, "", note });
    }
    table(out, scenario_rows);
  }

  out += fmt::format("\n{} {}\n", p.bold("queueing:"), queueing_description(plan.queueing));
  out += queueing_table(plan, plan.queueing.pools);
  if (const std::string target = target_summary(plan); !target.empty()) {
    out += fmt::format("  {}\n", target);
  }

  out += fmt::format("\n{} {}\n", p.bold("advisor:"), advice_objective(plan));
  table(out, advice_verdict_rows(plan));
  if (plan.advice.searched) {
    out += fmt::format("  {}; the options, best first:\n", plan.advice.why_searched);
    const auto choices = advice_option_rows(plan);
    const auto& header = advice_option_header();
    const std::vector<std::size_t> widths = column_widths(header, choices);
    const auto line = [&](const std::vector<std::string>& cells) {
      std::string text = "  ";
      for (std::size_t i = 0; i < cells.size(); ++i) {
        // Names and the verdict left-aligned, figures right-aligned; no padding after the last.
        text += i == 0                  ? fmt::format("{:<{}}", cells[i], widths[i])
                : i + 1 == cells.size() ? " " + cells[i]
                : i == 1                ? fmt::format(" {:<{}}", cells[i], widths[i])
                                        : fmt::format(" {:>{}}", cells[i], widths[i]);
      }
      return text + "\n";
    };
    out += line(header);
    for (const auto& row : choices) {
      out += line(row);
    }
    if (plan.advice.chosen) {
      const AdvisorOption& chosen = plan.advice.options[*plan.advice.chosen];
      if (!chosen.change.empty()) {
        out += fmt::format("  to get it: {}\n", chosen.change);
      }
    }
  }

  out += "\n";
  if (plan.recommendation == Recommendation::pool) {
    out += fmt::format("{} a pool of {} per instance, no PgBouncer needed{}\n",
                       p.bold("recommendation:"),
                       plan.pool_size,
                       plan.fits ? "" : p.verdict(false, " (but it does not fit)"));
  } else {
    out += fmt::format("{} PgBouncer in {} mode in front of PostgreSQL\n", p.bold("recommendation:"), to_string(plan.pgbouncer->pool_mode));
  }
  out += fmt::format("  {}\n", plan.recommendation_reason);

  out += fmt::format("\n{}\n", p.bold("settings:"));
  std::vector<std::array<std::string, 3>> settings;
  settings.push_back({ "connection_limit",
                       fmt::format("{}", plan.settings.connection_limit),
                       fmt::format("Prisma default: {}", prisma_default_limit(plan)) });
  settings.push_back({ "pool_timeout",
                       seconds(plan.settings.pool_timeout_s),
                       fmt::format("Prisma default: {}", seconds(plan.prisma_default_pool_timeout_s)) });
  settings.push_back({ "connect_timeout",
                       seconds(plan.settings.connect_timeout_s),
                       fmt::format("Prisma default: {}", seconds(plan.prisma_default_connect_timeout_s)) });
  if (plan.pgbouncer) {
    const PgBouncerPlan& b = *plan.pgbouncer;
    settings.push_back({ "pgbouncer pool_mode", std::string(to_string(b.pool_mode)), "" });
    settings.push_back({ "pgbouncer default_pool_size", fmt::format("{}", b.pools.front().default_pool_size), "" });
    settings.push_back({ "pgbouncer min_pool_size", fmt::format("{}", b.pools.front().min_pool_size), "" });
    settings.push_back({ "pgbouncer reserve_pool_size",
                         fmt::format("{}", b.pools.front().reserve_pool_size),
                         fmt::format("reserve_pool_timeout {}", seconds(b.reserve_pool_timeout_s)) });
    settings.push_back({ "pgbouncer max_client_conn", fmt::format("{}", b.max_client_conn), fmt::format("listen_port {}", b.listen_port) });
    const std::int64_t open_files = pgbouncer_open_files(b.max_client_conn, b.pools.front().default_pool_size, 1);
    settings.push_back(
      { "pgbouncer open files",
        fmt::format("{}", open_files),
        open_files > k_common_open_files_limit
          ? fmt::format("above the usual {}: LimitNOFILE={} (systemd) or ulimit -n {}", k_common_open_files_limit, open_files, open_files)
          : fmt::format("within the usual {}", k_common_open_files_limit) });
    if (b.topology == Topology::sidecar || !b.host.empty()) {
      settings.push_back({ "pgbouncer topology",
                           std::string(to_string(b.topology)),
                           b.topology == Topology::sidecar ? fmt::format("one beside each instance, at 127.0.0.1:{}", b.port)
                                                           : fmt::format("at {}:{}", b.host, b.port) });
    }
  }
  table(out, settings);
  if (const auto url = application_url(plan)) {
    out += fmt::format("  DATABASE_URL  {}\n", url->masked());
    if (const std::string note = pgbouncer_address_note(plan); !note.empty()) {
      out += fmt::format("  note: {}\n", note);
    }
  }

  if (!findings.empty()) {
    out += fmt::format("\n{}\n", p.bold("findings:"));
    std::size_t id_width = 0;
    for (const Finding& f : findings) {
      id_width = std::max(id_width, f.id.size());
    }
    for (const Finding& f : findings) {
      out += fmt::format("  {}  {:<{}}  {}\n", p.level(f.level), f.id, id_width, f.message);
    }
  }

  if (options.explain) {
    for (const ExplainBlock& block : explain(plan)) {
      out += fmt::format("\n{}\n", p.bold(block.heading));
      for (const std::string& line : block.lines) {
        out += fmt::format("  {}\n", line);
      }
    }
  } else {
    out += "\n(--explain shows the arithmetic step by step; --format json|markdown|env for other outputs)\n";
  }
  return out;
}

} // namespace poolcalc

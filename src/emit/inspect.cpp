// `poolcalc inspect`: the live server's truth, then (with a workload) the plan checked against it.

#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include "json_common.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace poolcalc {

namespace {

using Json = nlohmann::ordered_json;

// Text and Markdown print what the server returned (names, addresses, statement texts, error
// messages) through printable(): a role or database name may hold any character but NUL, terminal
// escapes included. JSON escapes them its own way (terminal_safe_json).
std::string or_dash(const std::string& text)
{
  return text.empty() ? "-" : printable(text);
}

std::string age(const std::optional<double>& seconds)
{
  return seconds ? duration_text(*seconds) : "?";
}

// An aligned table: the first row is the header; columns listed in `right` are right-aligned.
std::string aligned(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right)
{
  std::vector<std::size_t> width(rows.empty() ? 0 : rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      const bool last = i + 1 == row.size();
      if (i < right.size() && right[i]) {
        line += fmt::format(" {:>{}}", row[i], width[i]);
      } else {
        line += last ? fmt::format(" {}", row[i]) : fmt::format(" {:<{}}", row[i], width[i]);
      }
    }
    out += line + "\n";
  }
  return out;
}

std::string slots_formula(const Inspection& in)
{
  const ServerSnapshot& s = in.snapshot;
  std::string formula = fmt::format("{} - superuser_reserved {}", s.max_connections, s.superuser_reserved_connections);
  if (s.reserved_connections) {
    formula += fmt::format(" - reserved_connections {}", *s.reserved_connections);
  }
  if (in.wal_senders_count) {
    formula += fmt::format(" - max_wal_senders {}", s.max_wal_senders);
  }
  return formula;
}

std::string statements_summary(const Inspection& in)
{
  const ServerSnapshot& s = in.snapshot;
  switch (s.statements_status) {
  case StatementsStatus::available:
    if (in.mean_query_ms) {
      return fmt::format("mean {} ms over {} calls, p95 about {} ms (--query-ms auto uses the mean)",
                         ms_text(*in.mean_query_ms),
                         s.statements_calls,
                         ms_text(in.p95_query_ms.value_or(*in.mean_query_ms)));
    }
    return "no calls recorded yet";
  case StatementsStatus::not_installed:
    return fmt::format("not installed in database '{}'", printable(s.current_database));
  case StatementsStatus::not_loaded:
    return "installed but not in shared_preload_libraries";
  case StatementsStatus::not_readable:
    return fmt::format("not readable: {}", printable(s.statements_error));
  }
  return "";
}

Json backend_json(const Backend& b)
{
  const auto opt = [](const std::optional<double>& v) { return v ? Json(round_decimal(*v)) : Json(nullptr); };
  Json j;
  j["pid"] = b.pid;
  j["application"] = b.application;
  j["user"] = b.user;
  j["database"] = b.database;
  j["visible"] = b.visible;
  j["state"] = b.visible ? Json(b.state) : Json(nullptr);
  j["client"] = b.visible && !b.client.empty() ? Json(b.client) : Json(nullptr);
  j["connection_age_s"] = opt(b.connection_age_s);
  j["state_age_s"] = opt(b.state_age_s);
  j["transaction_age_s"] = opt(b.transaction_age_s);
  return j;
}

} // namespace

std::string render_inspect_text(const Inspection& in, const Rules& rules, const TextOptions& options)
{
  (void)options;
  const ServerSnapshot& s = in.snapshot;
  std::string out = fmt::format("poolcalc inspect: {}\n", printable(s.server));
  out += fmt::format("  PostgreSQL {}, connected as '{}' to database '{}'{}\n\n",
                     printable(s.version),
                     printable(s.current_user),
                     printable(s.current_database),
                     s.can_read_all_stats ? "" : " (without pg_read_all_stats: other roles' sessions are partly hidden)");

  std::vector<std::vector<std::string>> rows;
  rows.push_back({ "max_connections", fmt::format("{}", s.max_connections), "" });
  rows.push_back(
    { "superuser_reserved_connections", fmt::format("{}", s.superuser_reserved_connections), "taken from max_connections for superusers" });
  rows.push_back({ "reserved_connections",
                   s.reserved_connections ? fmt::format("{}", *s.reserved_connections) : "-",
                   s.reserved_connections ? "taken from max_connections for pg_use_reserved_connections"
                                          : "PostgreSQL 16+ only: nothing reserved this way" });
  rows.push_back({ "max_wal_senders",
                   fmt::format("{}", s.max_wal_senders),
                   in.wal_senders_count
                     ? fmt::format("counted against max_connections (before PostgreSQL {})", rules.postgres.wal_senders_separate_since)
                     : fmt::format("slots of their own since PostgreSQL {}: not taken from max_connections",
                                   rules.postgres.wal_senders_separate_since) });
  rows.push_back({ "ordinary slots", fmt::format("{}", in.ordinary_slots), slots_formula(in) });
  rows.push_back({ "client connections now",
                   fmt::format("{}", in.client_connections),
                   in.app.empty() ? "the inspection's own excluded"
                                  : fmt::format("'{}' {}, other applications {} (the inspection's own excluded)",
                                                printable(in.app),
                                                in.app_connections,
                                                in.other_connections) });
  rows.push_back({ "free slots", fmt::format("{}", in.free_slots), fmt::format("{} - {}", in.ordinary_slots, in.client_connections) });
  out += "server:\n";
  std::size_t w0 = 0;
  std::size_t w1 = 0;
  for (const auto& r : rows) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
  }
  for (const auto& r : rows) {
    std::string line = fmt::format("  {:<{}}  {:>{}}  {}", r[0], w0, r[1], w1, r[2]);
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }

  out += "\nconnections by application, user, database and state (pg_stat_activity):\n";
  if (in.groups.empty()) {
    out += "  none besides the inspection's own\n";
  } else {
    std::vector<std::vector<std::string>> table = { { "count", "application", "user", "database", "state", "longest in state" } };
    for (const ConnectionGroup& g : in.groups) {
      table.push_back({ fmt::format("{}", g.count),
                        or_dash(g.application),
                        or_dash(g.user),
                        or_dash(g.database),
                        g.state.empty() ? "(hidden)" : printable(g.state),
                        age(g.longest_state_age_s) });
    }
    out += aligned(table, { true, false, false, false, false, true });
  }

  out += fmt::format("\noldest connections (by connection age, at most {}):\n", rules.inspect.list_limit);
  if (in.oldest.empty()) {
    out += "  none visible\n";
  } else {
    std::vector<std::vector<std::string>> table = { { "pid", "application", "user", "state", "age", "in state" } };
    for (const Backend& b : in.oldest) {
      table.push_back({ fmt::format("{}", b.pid),
                        or_dash(b.application),
                        or_dash(b.user),
                        or_dash(b.state),
                        age(b.connection_age_s),
                        age(b.state_age_s) });
    }
    out += aligned(table, { true, false, false, false, true, true });
  }

  out += fmt::format("\nidle in transaction for more than {}:\n", duration_text(rules.inspect.idle_in_transaction_warn_s));
  if (in.idle_in_transaction.empty()) {
    out += in.hidden_sessions > 0
             ? fmt::format("  none visible ({} hidden session{} not checked)\n", in.hidden_sessions, in.hidden_sessions == 1 ? "" : "s")
             : "  none\n";
  } else {
    std::vector<std::vector<std::string>> table = {
      { "pid", "application", "user", "database", "idle in transaction", "transaction age" }
    };
    for (const Backend& b : in.idle_in_transaction) {
      table.push_back({ fmt::format("{}", b.pid),
                        or_dash(b.application),
                        or_dash(b.user),
                        or_dash(b.database),
                        age(b.state_age_s),
                        age(b.transaction_age_s) });
    }
    out += aligned(table, { true, false, false, false, true, true });
  }

  out += fmt::format("\npg_stat_statements (database '{}'): {}\n", printable(s.current_database), statements_summary(in));
  if (s.statements_status == StatementsStatus::available && !s.statements.empty()) {
    std::vector<std::vector<std::string>> table = { { "calls", "mean ms", "stddev ms", "max ms", "total ms", "query" } };
    const std::size_t shown = std::min<std::size_t>(s.statements.size(), static_cast<std::size_t>(rules.inspect.top_statements));
    for (std::size_t i = 0; i < shown; ++i) {
      const StatementStat& st = s.statements[i];
      table.push_back({ fmt::format("{}", st.calls),
                        format_number(st.mean_ms, 2),
                        format_number(st.stddev_ms, 2),
                        format_number(st.max_ms, 2),
                        format_number(st.total_ms, 1),
                        printable(shorten(st.query, 60)) });
    }
    out += aligned(table, { true, true, true, true, true, false });
  }

  out += "\nserver findings:\n";
  std::size_t id_width = 0;
  for (const Finding& f : in.findings) {
    id_width = std::max(id_width, f.id.size());
  }
  for (const Finding& f : in.findings) {
    out += fmt::format("  {:<4}  {:<{}}  {}\n", to_string(f.level), f.id, id_width, printable(f.message));
  }
  return out;
}

std::string render_inspect_json(const Inspection& in, const Rules& rules, const std::string* plan_json)
{
  const ServerSnapshot& s = in.snapshot;
  Json j;
  j["schema_version"] = 1;
  Json server;
  server["url"] = s.server;
  server["version"] = s.version;
  server["version_num"] = s.version_num;
  server["version_string"] = s.version_string;
  server["user"] = s.current_user;
  server["database"] = s.current_database;
  server["can_read_all_stats"] = s.can_read_all_stats;
  server["max_connections"] = s.max_connections;
  server["superuser_reserved_connections"] = s.superuser_reserved_connections;
  server["reserved_connections"] = s.reserved_connections ? Json(*s.reserved_connections) : Json(nullptr);
  server["max_wal_senders"] = s.max_wal_senders;
  server["wal_senders_count_against_max_connections"] = in.wal_senders_count;
  j["server"] = server;

  Json connections;
  connections["ordinary_slots"] = in.ordinary_slots;
  connections["client_connections"] = in.client_connections;
  connections["app"] = in.app.empty() ? Json(nullptr) : Json(in.app);
  connections["app_connections"] = in.app_connections;
  connections["other_connections"] = in.other_connections;
  connections["hidden_sessions"] = in.hidden_sessions;
  connections["free_slots"] = in.free_slots;
  Json groups = Json::array();
  for (const ConnectionGroup& g : in.groups) {
    groups.push_back({ { "application", g.application },
                       { "user", g.user },
                       { "database", g.database },
                       { "state", g.state.empty() ? Json(nullptr) : Json(g.state) },
                       { "count", g.count },
                       { "longest_state_age_s", g.longest_state_age_s ? Json(round_decimal(*g.longest_state_age_s)) : Json(nullptr) } });
  }
  connections["groups"] = groups;
  Json oldest = Json::array();
  for (const Backend& b : in.oldest) {
    oldest.push_back(backend_json(b));
  }
  connections["oldest"] = oldest;
  Json idle = Json::array();
  for (const Backend& b : in.idle_in_transaction) {
    idle.push_back(backend_json(b));
  }
  connections["idle_in_transaction"] = idle;
  Json active = Json::array();
  for (const Backend& b : in.long_active) {
    active.push_back(backend_json(b));
  }
  connections["long_active"] = active;
  j["connections"] = connections;

  Json statements;
  statements["status"] = std::string(to_string(s.statements_status));
  statements["calls"] = s.statements_calls;
  statements["hidden_statements"] = in.hidden_statements;
  statements["withheld_statements"] = s.withheld_statements;
  statements["mean_ms"] = in.mean_query_ms ? Json(*in.mean_query_ms) : Json(nullptr);
  statements["p95_ms"] = in.p95_query_ms ? Json(round_decimal(*in.p95_query_ms)) : Json(nullptr);
  Json top = Json::array();
  const std::size_t shown = std::min<std::size_t>(s.statements.size(), static_cast<std::size_t>(rules.inspect.top_statements));
  for (std::size_t i = 0; i < shown; ++i) {
    const StatementStat& st = s.statements[i];
    top.push_back({ { "calls", st.calls },
                    { "mean_ms", round_decimal(st.mean_ms) },
                    { "stddev_ms", round_decimal(st.stddev_ms) },
                    { "max_ms", round_decimal(st.max_ms) },
                    { "total_ms", round_decimal(st.total_ms) },
                    { "query", st.query } });
  }
  statements["top"] = top;
  j["statements"] = statements;
  j["findings"] = detail::findings_json(in.findings);
  j["plan"] = plan_json != nullptr ? Json::parse(*plan_json) : Json(nullptr);
  return detail::terminal_safe_json(j.dump(2, ' ', false, Json::error_handler_t::replace)) + "\n";
}

std::string render_inspect_markdown(const Inspection& in, const Rules& rules)
{
  const ServerSnapshot& s = in.snapshot;
  std::string out = "## Live server\n\n";
  out += fmt::format("Inspected `{}`: PostgreSQL {}, as `{}` in `{}`.\n\n",
                     printable(s.server),
                     printable(s.version),
                     printable(s.current_user),
                     printable(s.current_database));
  out += "| Setting | Value | Note |\n|---|---:|---|\n";
  out += fmt::format("| max_connections | {} | |\n", s.max_connections);
  out += fmt::format("| superuser_reserved_connections | {} | taken from max_connections |\n", s.superuser_reserved_connections);
  out += fmt::format("| reserved_connections | {} | {} |\n",
                     s.reserved_connections ? fmt::format("{}", *s.reserved_connections) : "-",
                     s.reserved_connections ? "taken from max_connections" : "PostgreSQL 16+ only");
  out +=
    fmt::format("| max_wal_senders | {} | {} |\n",
                s.max_wal_senders,
                in.wal_senders_count ? fmt::format("counted against max_connections (before {})", rules.postgres.wal_senders_separate_since)
                                     : fmt::format("own slots since PostgreSQL {}", rules.postgres.wal_senders_separate_since));
  out += fmt::format("| ordinary slots | {} | {} |\n", in.ordinary_slots, slots_formula(in));
  out += fmt::format("| client connections now | {} | the inspection's own excluded |\n", in.client_connections);
  out += fmt::format("| free slots | {} | |\n\n", in.free_slots);
  if (!in.groups.empty()) {
    out += "| Connections | Application | User | Database | State |\n|---:|---|---|---|---|\n";
    for (const ConnectionGroup& g : in.groups) {
      out += fmt::format("| {} | {} | {} | {} | {} |\n",
                         g.count,
                         or_dash(g.application),
                         or_dash(g.user),
                         or_dash(g.database),
                         g.state.empty() ? "(hidden)" : printable(g.state));
    }
    out += "\n";
  }
  out += fmt::format("pg_stat_statements: {}.\n\n", statements_summary(in));
  (void)rules;
  for (const Finding& f : in.findings) {
    out += fmt::format("- **{}** `{}`: {}\n", to_string(f.level), f.id, printable(f.message));
  }
  return out + "\n";
}

} // namespace poolcalc

#include "poolcalc/doctor.hpp"
#include "poolcalc/emit_doctor.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace poolcalc {

using Json = nlohmann::json;

namespace {

// A finite, non-negative number at `key` of `object`, else none.
std::optional<double> number_at(const Json& object, std::string_view key)
{
  if (!object.is_object()) {
    return std::nullopt;
  }
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) {
    return std::nullopt;
  }
  const double value = it->get<double>();
  return std::isfinite(value) && value >= 0 && value <= 1e15 ? std::optional<double>(value) : std::nullopt;
}

std::int64_t whole(double value)
{
  return static_cast<std::int64_t>(std::llround(value));
}

} // namespace

namespace {

poolcalc::expected<K6Figures, std::string> read_k6_summary(std::string_view json_text)
{
  const Json doc = Json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return poolcalc::unexpected(std::string("not JSON: expected the file `k6 run --summary-export` writes, or handleSummary's data"));
  }
  const auto metrics = doc.find("metrics");
  if (metrics == doc.end() || !metrics->is_object()) {
    return poolcalc::unexpected(std::string("no \"metrics\" object: not a k6 end-of-test summary"));
  }
  // handleSummary's data nests each metric's figures under "values"; --summary-export flattens
  // them, and calls a rate's figure "value" (k6's summary-wrapper.js, oldJSONSummary).
  const auto values = [&](std::string_view name) -> const Json* {
    const auto it = metrics->find(name);
    if (it == metrics->end() || !it->is_object()) {
      return nullptr;
    }
    const auto nested = it->find("values");
    return nested != it->end() && nested->is_object() ? &*nested : &*it;
  };
  K6Figures k6;
  const Json* reqs = values("http_reqs");
  const Json* duration = values("http_req_duration");
  if (reqs == nullptr || duration == nullptr) {
    return poolcalc::unexpected(std::string("no http_reqs or http_req_duration metric: the test made no HTTP requests"));
  }
  const auto count = number_at(*reqs, "count");
  const auto rate = number_at(*reqs, "rate");
  const auto avg = number_at(*duration, "avg");
  const auto p95 = number_at(*duration, "p(95)");
  if (!count || !rate || !avg || !p95) {
    return poolcalc::unexpected(std::string("http_reqs needs count and rate, http_req_duration avg and p(95) (k6's default "
                                            "summaryTrendStats): a figure is missing or not a number"));
  }
  k6.requests = whole(*count);
  k6.request_rate = *rate;
  k6.duration_avg_ms = *avg;
  k6.duration_p95_ms = *p95;
  k6.duration_p99_ms = number_at(*duration, "p(99)");
  if (const Json* failed = values("http_req_failed"); failed != nullptr) {
    // The share of failed requests: "rate" in handleSummary's data, "value" in the export.
    k6.failed_rate = number_at(*failed, "rate").value_or(number_at(*failed, "value").value_or(0.0));
    if (k6.failed_rate > 1) {
      return poolcalc::unexpected(std::string("http_req_failed: a rate above 1"));
    }
  }
  if (const Json* vus = values("vus_max"); vus != nullptr) {
    k6.vus_max = whole(number_at(*vus, "max").value_or(number_at(*vus, "value").value_or(0.0)));
  }
  if (const auto state = doc.find("state"); state != doc.end()) {
    k6.duration_s = number_at(*state, "testRunDurationMs").value_or(0.0) / 1000.0;
  }
  // Thresholds: {"expr": true} in the export means it failed; {"expr": {"ok": false}} in the data.
  for (const auto& [name, metric] : metrics->items()) {
    const auto thresholds = metric.is_object() ? metric.find("thresholds") : metric.end();
    if (!metric.is_object() || thresholds == metric.end() || !thresholds->is_object()) {
      continue;
    }
    for (const auto& [expression, verdict] : thresholds->items()) {
      const bool failed = verdict.is_boolean() ? verdict.get<bool>() : verdict.is_object() && verdict.value("ok", true) == false;
      if (failed) {
        k6.failed_thresholds.push_back(user_text(fmt::format("{}: {}", name, expression)));
      }
    }
  }
  return k6;
}

} // namespace

// A field of the wrong type (a string where a number belongs, say) is bad input, not a crash.
poolcalc::expected<K6Figures, std::string> parse_k6_summary(std::string_view json_text)
{
  try {
    return read_k6_summary(json_text);
  } catch (const nlohmann::json::exception&) {
    return poolcalc::unexpected(std::string("a field of the wrong type: not k6's summary format"));
  }
}

std::string capture_to_json(const Capture& c)
{
  Json j;
  j["schema"] = "poolcalc-doctor-capture";
  j["version"] = 1;
  j["source"] = c.source;
  j["database"] = c.database;
  j["window_s"] = c.window_s;
  j["max_connections"] = c.max_connections;
  Json samples = Json::array();
  for (const DoctorSample& s : c.samples) {
    Json row{ { "t_s", s.t_s },
              { "active", s.active },
              { "idle", s.idle },
              { "idle_in_transaction", s.idle_in_transaction },
              { "waiting_on_lock", s.waiting_on_lock },
              { "oldest_idle_in_transaction_s", s.oldest_idle_in_transaction_s } };
    if (s.pgbouncer) {
      row["pgbouncer"] = { { "cl_active", s.cl_active },
                           { "cl_waiting", s.cl_waiting },
                           { "sv_active", s.sv_active },
                           { "sv_idle", s.sv_idle },
                           { "maxwait_s", s.maxwait_s } };
    }
    samples.push_back(row);
  }
  j["samples"] = samples;
  const auto totals = [](const std::optional<PgBouncerTotals>& t) {
    return t ? Json{ { "xact_count", t->xact_count },
                     { "query_count", t->query_count },
                     { "xact_time_us", t->xact_time_us },
                     { "query_time_us", t->query_time_us },
                     { "wait_time_us", t->wait_time_us } }
             : Json(nullptr);
  };
  j["pgbouncer_start"] = totals(c.pgbouncer_start);
  j["pgbouncer_end"] = totals(c.pgbouncer_end);
  const auto statements = [](const std::optional<StatementTotals>& t) {
    return t ? Json{ { "calls", t->calls }, { "total_ms", t->total_ms } } : Json(nullptr);
  };
  j["statements_start"] = statements(c.statements_start);
  j["statements_end"] = statements(c.statements_end);
  const auto optional = [](const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); };
  j["pool_size"] = optional(c.pool_size);
  j["max_db_connections"] = optional(c.max_db_connections);
  j["max_client_conn"] = optional(c.max_client_conn);
  j["query_wait_timeout_s"] = c.query_wait_timeout_s ? Json(*c.query_wait_timeout_s) : Json(nullptr);
  return j.dump(2) + "\n";
}

namespace {

poolcalc::expected<Capture, std::string> read_capture(std::string_view json_text)
{
  const Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("schema", "") != "poolcalc-doctor-capture") {
    return poolcalc::unexpected(std::string("not a capture `poolcalc doctor --save-capture` wrote"));
  }
  if (j.value("version", 0) != 1) {
    return poolcalc::unexpected(std::string("a capture of another version (this poolcalc reads version 1)"));
  }
  Capture c;
  bool ok = true;
  const auto count = [&](const Json& object, std::string_view key) -> std::int64_t {
    const auto v = number_at(object, key);
    ok = ok && v.has_value();
    return v ? whole(*v) : 0;
  };
  const auto seconds = [&](const Json& object, std::string_view key) -> double {
    const auto v = number_at(object, key);
    ok = ok && v.has_value();
    return v.value_or(0.0);
  };
  c.source = user_text(j.value("source", ""));
  c.database = j.value("database", "");
  c.window_s = seconds(j, "window_s");
  c.max_connections = count(j, "max_connections");
  const auto samples = j.find("samples");
  if (samples == j.end() || !samples->is_array() || samples->size() > 1'000'000) {
    return poolcalc::unexpected(std::string("samples: expected a list (at most 1000000)"));
  }
  for (const Json& row : *samples) {
    DoctorSample s;
    s.t_s = seconds(row, "t_s");
    s.active = count(row, "active");
    s.idle = count(row, "idle");
    s.idle_in_transaction = count(row, "idle_in_transaction");
    s.waiting_on_lock = count(row, "waiting_on_lock");
    s.oldest_idle_in_transaction_s = seconds(row, "oldest_idle_in_transaction_s");
    if (const auto pgb = row.is_object() ? row.find("pgbouncer") : row.end(); row.is_object() && pgb != row.end() && pgb->is_object()) {
      s.pgbouncer = true;
      s.cl_active = count(*pgb, "cl_active");
      s.cl_waiting = count(*pgb, "cl_waiting");
      s.sv_active = count(*pgb, "sv_active");
      s.sv_idle = count(*pgb, "sv_idle");
      s.maxwait_s = seconds(*pgb, "maxwait_s");
    }
    c.samples.push_back(s);
  }
  const auto totals = [&](std::string_view key) -> std::optional<PgBouncerTotals> {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return std::nullopt;
    }
    return PgBouncerTotals{ count(*it, "xact_count"),
                            count(*it, "query_count"),
                            count(*it, "xact_time_us"),
                            count(*it, "query_time_us"),
                            count(*it, "wait_time_us") };
  };
  c.pgbouncer_start = totals("pgbouncer_start");
  c.pgbouncer_end = totals("pgbouncer_end");
  const auto statements = [&](std::string_view key) -> std::optional<StatementTotals> {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return std::nullopt;
    }
    return StatementTotals{ count(*it, "calls"), seconds(*it, "total_ms") };
  };
  c.statements_start = statements("statements_start");
  c.statements_end = statements("statements_end");
  const auto limit = [&](std::string_view key) -> std::optional<std::int64_t> {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return std::nullopt;
    }
    return count(j, key);
  };
  c.pool_size = limit("pool_size");
  c.max_db_connections = limit("max_db_connections");
  c.max_client_conn = limit("max_client_conn");
  if (const auto it = j.find("query_wait_timeout_s"); it != j.end() && !it->is_null()) {
    c.query_wait_timeout_s = seconds(j, "query_wait_timeout_s");
  }
  if (!ok) {
    return poolcalc::unexpected(std::string("a figure is missing, negative or not a number"));
  }
  if (c.window_s < 0.001) {
    return poolcalc::unexpected(std::string("window_s: a window of at least 0.001 s"));
  }
  return c;
}

} // namespace

poolcalc::expected<Capture, std::string> capture_from_json(std::string_view json_text)
{
  try {
    return read_capture(json_text);
  } catch (const nlohmann::json::exception&) {
    return poolcalc::unexpected(std::string("a field of the wrong type: not a capture `poolcalc doctor --save-capture` wrote"));
  }
}

namespace {

std::string opt(const std::optional<double>& value, std::string_view unit, int decimals = 1)
{
  return value ? format_number(round_decimal(*value), decimals) + std::string(unit) : std::string("not measured");
}

} // namespace

std::string render_doctor_text(const Capture& c, const std::optional<K6Figures>& k6, const Diagnosis& d)
{
  const Measured& m = d.measured;
  const double window = c.window_s > 0 ? c.window_s : (k6 ? k6->duration_s : 0.0);
  std::string out = fmt::format("doctor: {} over {} s, {} samples{}\n\n",
                                c.source,
                                format_number(window, 1),
                                c.samples.size(),
                                c.database.empty() ? "" : fmt::format(", database {}", user_text(c.database)));
  out += "measured\n";
  out +=
    fmt::format("  throughput              {}{}\n", opt(m.throughput, "/s"), m.throughput_source.empty() ? "" : "  " + m.throughput_source);
  out += fmt::format("  connections held        {}  active + idle in transaction, mean of the samples\n", opt(m.busy, ""));
  out += fmt::format("  hold time               {}  held / throughput (Little's law)\n", opt(m.hold_ms, " ms"));
  out += fmt::format("  query time              {}\n", opt(m.query_ms, " ms"));
  out += fmt::format("  held without querying   {}  per transaction\n", opt(m.held_idle_ms, " ms"));
  out += fmt::format("  pool wait               {}  per transaction; clients waiting in {} of the samples, the longest {} s\n",
                     opt(m.mean_wait_ms, " ms", 2),
                     format_percent(round_decimal(m.waiting_share)),
                     format_number(m.max_wait_s, 3));
  if (m.model_mean_wait_ms) {
    out += fmt::format("  the model's wait        {}  closed model: {} clients on {} connections, the measured hold and think times\n",
                       opt(m.model_mean_wait_ms, " ms", 2),
                       format_number(round_decimal(m.clients), 1),
                       m.model_pool);
  }
  out += fmt::format("  idle in transaction     {} on average, the oldest {} s\n",
                     format_number(round_decimal(m.mean_idle_in_transaction), 1),
                     format_number(round_decimal(m.oldest_idle_in_transaction_s), 1));
  out += fmt::format("  waiting on locks        {} of the active sessions (on average {} active)\n",
                     format_percent(round_decimal(m.lock_share)),
                     format_number(round_decimal(m.mean_active), 1));
  if (k6) {
    out +=
      fmt::format("  k6                      {} requests at {}/s, {} failed, request time avg {} ms, p95 {} ms{}\n",
                  k6->requests,
                  format_number(k6->request_rate, 2),
                  format_percent(round_decimal(k6->failed_rate)),
                  format_number(k6->duration_avg_ms, 1),
                  format_number(k6->duration_p95_ms, 1),
                  k6->failed_thresholds.empty() ? "" : "; failed thresholds: " + fmt::format("{}", fmt::join(k6->failed_thresholds, ", ")));
  }
  if (d.planned) {
    const PlannedFigures& p = *d.planned;
    out += "\nthe plan for the test's workload\n";
    out += fmt::format("  throughput              {}/s  queries offered (peak concurrent / hold)\n",
                       format_number(round_decimal(p.throughput), 1));
    out +=
      fmt::format("  connections held        {}  the rule of thumb's peak concurrent queries\n", format_number(round_decimal(p.busy), 1));
    out += fmt::format("  hold time               {} ms\n", format_number(round_decimal(p.hold_ms), 1));
    out +=
      fmt::format("  pool                    {}  per instance; the model's mean wait there: {}\n", p.pool, opt(p.mean_wait_ms, " ms", 2));
  }
  out += "\n";
  if (d.causes.empty()) {
    out += c.samples.empty() ? "diagnosis: no cause named: nothing was sampled\n" : "diagnosis: nothing wrong found in this window\n";
  } else {
    out += "diagnosis\n";
    for (const Cause& cause : d.causes) {
      out += fmt::format("  {}: {}\n    evidence: {}\n    fix: {}\n", cause.id, cause.title, cause.evidence, cause.fix);
    }
  }
  for (const std::string& note : d.notes) {
    out += "note: " + note + "\n";
  }
  return out;
}

std::string render_doctor_json(const Capture& c, const std::optional<K6Figures>& k6, const Diagnosis& d)
{
  const Measured& m = d.measured;
  const auto opt_json = [](const std::optional<double>& v) { return v ? Json(round_decimal(*v)) : Json(nullptr); };
  Json j;
  j["schema_version"] = 1;
  j["source"] = c.source;
  j["database"] = c.database;
  j["window_s"] = c.window_s;
  j["samples"] = c.samples.size();
  j["measured"] = { { "throughput", opt_json(m.throughput) },
                    { "throughput_source", m.throughput_source },
                    { "connections_held", opt_json(m.busy) },
                    { "hold_ms", opt_json(m.hold_ms) },
                    { "query_ms", opt_json(m.query_ms) },
                    { "held_idle_ms", opt_json(m.held_idle_ms) },
                    { "mean_wait_ms", opt_json(m.mean_wait_ms) },
                    { "waiting_share", round_decimal(m.waiting_share) },
                    { "max_wait_s", m.max_wait_s },
                    { "mean_idle_in_transaction", round_decimal(m.mean_idle_in_transaction) },
                    { "oldest_idle_in_transaction_s", round_decimal(m.oldest_idle_in_transaction_s) },
                    { "lock_share", round_decimal(m.lock_share) },
                    { "mean_active", round_decimal(m.mean_active) },
                    { "most_server_connections", m.most_server_connections },
                    { "most_clients", m.most_clients },
                    { "clients", round_decimal(m.clients) },
                    { "model_pool", m.model_pool },
                    { "model_mean_wait_ms", opt_json(m.model_mean_wait_ms) } };
  if (k6) {
    j["k6"] = { { "requests", k6->requests },
                { "request_rate", k6->request_rate },
                { "failed_rate", k6->failed_rate },
                { "duration_avg_ms", k6->duration_avg_ms },
                { "duration_p95_ms", k6->duration_p95_ms },
                { "duration_p99_ms", opt_json(k6->duration_p99_ms) },
                { "vus_max", k6->vus_max },
                { "failed_thresholds", k6->failed_thresholds } };
  } else {
    j["k6"] = nullptr;
  }
  if (d.planned) {
    j["planned"] = { { "throughput", round_decimal(d.planned->throughput) },
                     { "hold_ms", round_decimal(d.planned->hold_ms) },
                     { "connections_held", round_decimal(d.planned->busy) },
                     { "pool", d.planned->pool },
                     { "mean_wait_ms", opt_json(d.planned->mean_wait_ms) } };
  } else {
    j["planned"] = nullptr;
  }
  Json causes = Json::array();
  for (const Cause& cause : d.causes) {
    causes.push_back({ { "id", cause.id }, { "title", cause.title }, { "evidence", cause.evidence }, { "fix", cause.fix } });
  }
  j["causes"] = causes;
  j["notes"] = d.notes;
  return j.dump(2) + "\n";
}

} // namespace poolcalc

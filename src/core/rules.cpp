#include "poolcalc/rules.hpp"
#include "poolcalc/k6.hpp"

#include "poolcalc/inputs.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/scenario.hpp"

#include "toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace poolcalc {

namespace {

using detail::InputError;
using detail::TableReader;

// An upper bound for the scaling table's user counts and the PgBouncer triggers.
constexpr std::int64_t k_big = 1'000'000'000;

// The range of the input whose default the rules key `rules_key` holds (inputs.hpp): the rules
// may not set a default that a flag could not.
InputRange input_range(std::string_view rules_key)
{
  const auto& table = inputs();
  const auto it = std::find_if(table.begin(), table.end(), [&](const InputSpec& spec) { return spec.rules_key == rules_key; });
  if (it == table.end() || !it->range) {
    throw std::logic_error(fmt::format("no input takes its default from {}", rules_key));
  }
  return *it->range;
}

// The default `name` of `reader`'s table, in its input's range.
double input_default(TableReader& reader, std::string_view name)
{
  const InputRange range = input_range(reader.dotted(name));
  return reader.number(name, range.min, range.max);
}

// The same for a whole number; `rules_key` when the input's is a table of them (database.reserved).
std::int64_t whole_input_default(TableReader& reader, std::string_view name, std::string_view rules_key = {})
{
  const InputRange range = input_range(rules_key.empty() ? reader.dotted(name) : std::string(rules_key));
  return reader.integer(name, static_cast<std::int64_t>(range.min), static_cast<std::int64_t>(range.max));
}

SizingRules read_sizing(TableReader& reader)
{
  SizingRules sizing;
  sizing.activity = input_default(reader, "activity");
  sizing.vu_rate_per_s = input_default(reader, "vu_rate_per_s");
  sizing.burst = input_default(reader, "burst");
  sizing.overhead = whole_input_default(reader, "overhead");
  sizing.round_to = reader.integer("round_to", 1, 1000);
  reader.finish();
  return sizing;
}

DatabaseRules read_database(TableReader& reader)
{
  DatabaseRules database;
  database.max_connections = whole_input_default(reader, "max_connections");
  database.safe_utilization_min = reader.number("safe_utilization_min", k_min_fraction, 1.0);
  database.safe_utilization_max = reader.number("safe_utilization_max", k_min_fraction, 1.0);
  if (database.safe_utilization_max < database.safe_utilization_min) {
    reader.fail(reader.node("safe_utilization_max"), "safe_utilization_max", "must not be below safe_utilization_min");
  }
  const toml::table& reserved = reader.table("reserved");
  TableReader reserved_reader(reserved, reader.dotted("reserved"), reader.source_name());
  std::int64_t total = 0;
  for (const auto& [name, value] : detail::keys_in_file_order(reserved)) {
    if (!is_plain_name(name)) {
      reserved_reader.fail(*value, name, "expected a name of letters, digits, '_' or '-'");
    }
    const std::int64_t connections = whole_input_default(reserved_reader, name, reader.dotted("reserved"));
    total += connections;
    database.reserved.push_back({ name, connections });
  }
  if (total > database.max_connections) {
    reader.fail(reserved,
                "reserved",
                fmt::format("the reserved connections ({}) exceed database.max_connections ({})", total, database.max_connections));
  }
  reader.finish();
  return database;
}

TimeoutRules read_timeouts(TableReader& reader)
{
  TimeoutRules timeouts;
  // Whole seconds, as Prisma takes them.
  timeouts.pool_timeout_s = static_cast<double>(whole_input_default(reader, "pool_timeout_s"));
  timeouts.connect_timeout_s = static_cast<double>(whole_input_default(reader, "connect_timeout_s"));
  timeouts.client_request_timeout_s = input_default(reader, "client_request_timeout_s");
  reader.finish();
  return timeouts;
}

PrismaDefaults read_prisma(TableReader& reader)
{
  PrismaDefaults prisma;
  prisma.connection_limit_per_physical_cpu = reader.integer("connection_limit_per_physical_cpu", 0, 1000);
  prisma.connection_limit_add = reader.integer("connection_limit_add", 0, 1000);
  prisma.pool_timeout_s = static_cast<double>(reader.integer("pool_timeout_s", 0, 3600));
  prisma.connect_timeout_s = static_cast<double>(reader.integer("connect_timeout_s", 0, 3600));
  reader.finish();
  return prisma;
}

std::vector<ScalingRow> read_scaling(const toml::array& rows, TableReader& parent)
{
  std::vector<ScalingRow> scaling;
  std::int64_t next_min = 1;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const toml::table* row_table = rows[i].as_table();
    const std::string prefix = fmt::format("scaling[{}]", i);
    if (row_table == nullptr) {
      parent.fail(rows[i], prefix, "expected a table");
    }
    TableReader reader(*row_table, prefix, parent.source_name());
    ScalingRow row;
    row.users_min = reader.integer("users_min", 1, k_big);
    if (row.users_min != next_min) {
      reader.fail(reader.node("users_min"),
                  "users_min",
                  fmt::format("rows must cover the users without gaps or overlaps: expected {}, got {}", next_min, row.users_min));
    }
    if (reader.has("users_max")) {
      row.users_max = reader.integer("users_max", row.users_min, k_big);
      next_min = *row.users_max + 1;
    } else if (i + 1 != rows.size()) {
      reader.fail(*row_table, "users_max", "missing key (only the last row may be open-ended)");
    }
    row.pgbouncer = reader.has("pgbouncer") && reader.boolean("pgbouncer");
    if (!row.pgbouncer) {
      row.pool_min = reader.integer("pool_min", 1, k_max_connections_limit);
      row.pool_max = reader.integer("pool_max", row.pool_min, k_max_connections_limit);
    }
    row.max_connections = reader.integer("max_connections", 1, k_max_connections_limit);
    reader.finish();
    scaling.push_back(row);
  }
  if (scaling.empty()) {
    parent.fail(rows, "scaling", "expected at least one row");
  }
  if (scaling.back().users_max.has_value()) {
    parent.fail(rows, "scaling", "the last row must be open-ended (no users_max)");
  }
  return scaling;
}

PgBouncerTriggers read_triggers(TableReader& reader)
{
  PgBouncerTriggers triggers;
  triggers.instances_above = reader.integer("instances_above", 0, k_big);
  triggers.total_connections_above = reader.integer("total_connections_above", 0, std::numeric_limits<std::int64_t>::max() / 2);
  triggers.services_above = reader.integer("services_above", 0, k_big);
  triggers.transaction_pooling = reader.boolean("transaction_pooling");
  triggers.remote_database = reader.boolean("remote_database");
  reader.finish();
  return triggers;
}

PgBouncerSettingsRules read_pgbouncer_settings(TableReader& reader)
{
  PgBouncerSettingsRules settings;
  settings.listen_port = reader.integer("listen_port", 1, 65'535);
  settings.listen_addr = reader.string("listen_addr");
  // It goes into the application's URL: an address or a host name, nothing else.
  if (settings.listen_addr.empty() || !std::all_of(settings.listen_addr.begin(), settings.listen_addr.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
      })) {
    reader.fail(reader.node("listen_addr"), "listen_addr", "expected a host name or an IP address");
  }
  settings.auth_type = reader.string("auth_type");
  // Both go into pgbouncer.ini as they are (https://www.pgbouncer.org/config.html#auth_type).
  if (settings.auth_type != "cert" && settings.auth_type != "md5" && settings.auth_type != "scram-sha-256" &&
      settings.auth_type != "plain" && settings.auth_type != "trust" && settings.auth_type != "any" && settings.auth_type != "hba" &&
      settings.auth_type != "pam") {
    reader.fail(reader.node("auth_type"), "auth_type", "expected cert, md5, scram-sha-256, plain, trust, any, hba or pam");
  }
  settings.auth_file = reader.string("auth_file");
  if (settings.auth_file.empty() || std::any_of(settings.auth_file.begin(), settings.auth_file.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    reader.fail(reader.node("auth_file"), "auth_file", "expected a file path on one line");
  }
  const auto pool_mode = parse_pool_mode(reader.string("pool_mode"));
  if (!pool_mode) {
    reader.fail(reader.node("pool_mode"), "pool_mode", "expected \"session\", \"transaction\" or \"statement\"");
  }
  settings.pool_mode = *pool_mode;
  settings.max_client_conn = reader.integer("max_client_conn", 1, k_big);
  settings.min_pool_ratio = reader.number("min_pool_ratio", 0.0, 1.0);
  settings.reserve_pool_ratio = reader.number("reserve_pool_ratio", 0.0, 1.0);
  settings.reserve_pool_timeout_s = reader.number("reserve_pool_timeout_s", 0.0, 3600.0);
  reader.finish();
  return settings;
}

// A k6 duration ("30s", "5m", "1h30m"), at least a second and at most a day.
std::string k6_duration(TableReader& reader, std::string_view key)
{
  std::string text = reader.string(key);
  const auto seconds = k6_duration_seconds(text);
  if (!seconds || *seconds < 1.0 || *seconds > 86'400.0) {
    reader.fail(reader.node(key), key, "expected a k6 duration from 1s to 24h such as \"30s\", \"5m\" or \"1h30m\"");
  }
  return text;
}

MonitoringRules read_monitoring(TableReader& reader)
{
  MonitoringRules monitoring;
  monitoring.active_warn_ratio = reader.number("active_warn_ratio", k_min_fraction, 1.0);
  monitoring.active_critical_ratio = reader.number("active_critical_ratio", monitoring.active_warn_ratio, 1.0);
  monitoring.idle_warn_below = reader.integer("idle_warn_below", 0, k_big);
  monitoring.idle_critical_below = reader.integer("idle_critical_below", 0, monitoring.idle_warn_below);
  monitoring.pending_warn_above = reader.integer("pending_warn_above", 0, k_big);
  monitoring.pending_critical_above = reader.integer("pending_critical_above", monitoring.pending_warn_above, k_big);
  monitoring.timeout_error_warn_rate = reader.number("timeout_error_warn_rate", 0.0, 1.0);
  monitoring.timeout_error_critical_rate = reader.number("timeout_error_critical_rate", monitoring.timeout_error_warn_rate, 1.0);
  reader.finish();
  return monitoring;
}

Rules read_rules(const toml::table& root, std::string_view source_name)
{
  TableReader reader(root, "", source_name);
  Rules rules;
  rules.schema_version = reader.integer("schema_version", 1, 1);

  TableReader sizing(reader.table("sizing"), "sizing", source_name);
  rules.sizing = read_sizing(sizing);
  TableReader database(reader.table("database"), "database", source_name);
  rules.database = read_database(database);
  TableReader postgres(reader.table("postgres"), "postgres", source_name);
  rules.postgres.superuser_reserved_connections_default =
    postgres.integer("superuser_reserved_connections_default", 0, k_max_connections_limit);
  rules.postgres.wal_senders_separate_since = postgres.integer("wal_senders_separate_since", 1, 1000);
  postgres.finish();
  TableReader timeouts(reader.table("timeouts"), "timeouts", source_name);
  rules.timeouts = read_timeouts(timeouts);
  TableReader prisma(reader.table("prisma_defaults"), "prisma_defaults", source_name);
  rules.prisma_defaults = read_prisma(prisma);
  rules.scaling = read_scaling(reader.array("scaling"), reader);

  TableReader pgbouncer(reader.table("pgbouncer"), "pgbouncer", source_name);
  TableReader triggers(pgbouncer.table("triggers"), "pgbouncer.triggers", source_name);
  rules.pgbouncer_triggers = read_triggers(triggers);
  TableReader settings(pgbouncer.table("settings"), "pgbouncer.settings", source_name);
  rules.pgbouncer_settings = read_pgbouncer_settings(settings);
  pgbouncer.finish();

  const toml::array& phases = reader.array("load_test_phases");
  double previous_share = 0;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const std::string prefix = fmt::format("load_test_phases[{}]", i);
    const toml::table* row = phases[i].as_table();
    if (row == nullptr) {
      reader.fail(phases[i], prefix, "expected a table");
    }
    TableReader phase(*row, prefix, source_name);
    LoadTestPhase step;
    step.name = phase.string("name");
    // Each phase carries more of the target load than the one before.
    step.share = phase.number("share", std::max(previous_share, k_min_fraction), 1.0);
    if (step.share == previous_share) {
      phase.fail(phase.node("share"), "share", fmt::format("expected more than the phase before ({})", format_number(previous_share, 9)));
    }
    step.duration = k6_duration(phase, "duration");
    phase.finish();
    previous_share = step.share;
    rules.load_test_phases.push_back(step);
  }
  TableReader report(reader.table("report"), "report", source_name);
  rules.report.consider_pgbouncer_above_pool = report.integer("consider_pgbouncer_above_pool", 1, k_max_connections_limit);
  report.finish();
  TableReader queueing(reader.table("queueing"), "queueing", source_name);
  rules.queueing.rule_of_thumb_far_ratio = queueing.number("rule_of_thumb_far_ratio", 1.0 + k_min_fraction, 1000.0);
  rules.queueing.knee_p_wait = queueing.number("knee_p_wait", k_min_target_share, 1.0);
  rules.queueing.hold_cv = input_default(queueing, "hold_cv");
  rules.queueing.think_cv = input_default(queueing, "think_cv");
  rules.queueing.heavy_tail_cv = queueing.number("heavy_tail_cv", 0.0, 10.0);
  rules.queueing.simulation_precision = queueing.number("simulation_precision", 0.001, 0.5);
  rules.queueing.simulation_max_events = queueing.integer("simulation_max_events", 1'000'000, 100'000'000'000);
  queueing.finish();
  TableReader monitoring(reader.table("monitoring"), "monitoring", source_name);
  rules.monitoring = read_monitoring(monitoring);
  TableReader inspect(reader.table("inspect"), "inspect", source_name);
  rules.inspect.connect_timeout_s = inspect.number("connect_timeout_s", 1.0, 3600.0);
  rules.inspect.statement_timeout_ms = inspect.integer("statement_timeout_ms", 100, 3'600'000);
  rules.inspect.idle_in_transaction_warn_s = inspect.number("idle_in_transaction_warn_s", k_min_fraction, 31'536'000.0);
  rules.inspect.active_query_warn_s = inspect.number("active_query_warn_s", k_min_fraction, 31'536'000.0);
  rules.inspect.connection_age_info_s = inspect.number("connection_age_info_s", k_min_fraction, 31'536'000.0);
  rules.inspect.free_slots_warn_ratio = inspect.number("free_slots_warn_ratio", 0.0, 1.0);
  rules.inspect.list_limit = inspect.integer("list_limit", 1, 1000);
  rules.inspect.top_statements = inspect.integer("top_statements", 1, 1000);
  inspect.finish();
  TableReader advisor(reader.table("advisor"), "advisor", source_name);
  {
    const std::string objective = advisor.string("objective");
    auto target = parse_target(objective);
    if (!target) {
      advisor.fail(advisor.node("objective"), "objective", target.error());
    } else {
      rules.advisor.objective = *target;
    }
  }
  rules.advisor.surge = advisor.number("surge", 1.0 + k_min_fraction, 100.0);
  rules.advisor.backend_memory_mib = advisor.number("backend_memory_mib", 0.0, 1'000'000.0);
  rules.advisor.max_connections_max = advisor.integer("max_connections_max", 1, k_max_connections_limit);
  rules.advisor.active_per_core = advisor.number("active_per_core", 1.0, 1000.0);
  advisor.finish();
  TableReader fleet(reader.table("fleet"), "fleet", source_name);
  rules.fleet.rolling_max_surge_percent = fleet.number("rolling_max_surge_percent", 0.0, 100.0);
  fleet.finish();
  TableReader serverless(reader.table("serverless"), "serverless", source_name);
  rules.serverless.pool_per_execution = serverless.integer("pool_per_execution", 1, 1000);
  rules.serverless.deploy_surge_percent = serverless.number("deploy_surge_percent", 0.0, 100.0);
  serverless.finish();
  TableReader k6(reader.table("k6"), "k6", source_name);
  rules.k6.ramp = k6_duration(k6, "ramp");
  rules.k6.stress_duration = k6_duration(k6, "stress_duration");
  rules.k6.abort_delay = k6_duration(k6, "abort_delay");
  rules.k6.max_vus_ratio = k6.number("max_vus_ratio", 1.0, 100.0);
  k6.finish();
  reader.finish();
  return rules;
}

} // namespace

bool is_plain_name(std::string_view name)
{
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

poolcalc::expected<Rules, std::string> parse_rules(std::string_view toml_text, std::string_view source_name)
{
  try {
    return read_rules(detail::parse_toml(toml_text, source_name), source_name);
  } catch (const InputError& error) {
    return poolcalc::unexpected(error.message);
  }
}

const Rules& builtin_rules()
{
  static const Rules rules = [] {
    auto parsed = parse_rules(embedded_rules_toml(), "rules.toml");
    if (!parsed) {
      // Unreachable in a tested build: a unit test parses the embedded rules.
      std::abort();
    }
    return *parsed;
  }();
  return rules;
}

} // namespace poolcalc

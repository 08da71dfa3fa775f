#include "poolcalc/inputs.hpp"
#include "poolcalc/postgres_version.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/queueing.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace poolcalc {

namespace {

std::string default_of(const InputSpec& self, const Rules& rules)
{
  return self.default_text(rules);
}

// Each row names only the fields that differ from InputSpec's defaults (designated
// initializers), which -Wextra's -Wmissing-field-initializers would flag.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<InputSpec> make_inputs()
{
  using enum InputType;
  using enum InputGroup;
  const InputRange ms{ k_min_ms, k_max_query_ms };
  const InputRange connections{ 0, static_cast<double>(k_max_connections_limit) };
  const InputRange timeout_s{ 0, static_cast<double>(k_max_timeout_s) };
  return {
    { .key = "vus",
      .flag = "--vus",
      .value_name = "N",
      .type = integer,
      .unit = "VUs",
      .range = InputRange{ 1, static_cast<double>(k_max_vus) },
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("required: `--vus` or `--rps`"); },
      .help = [](const InputSpec& self,
                 const Rules&) { return fmt::format("concurrent virtual users: a closed load like k6 VUs ({})", range_text(self)); } },
    { .key = "rps",
      .flag = "--rps",
      .value_name = "R",
      .type = number,
      .unit = "requests/s",
      .range = InputRange{ k_min_fraction, k_max_rps },
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("required: `--vus` or `--rps`"); },
      .help = [](const InputSpec& self,
                 const Rules&) { return fmt::format("requests per second: an open load (instead of --vus), {}", range_text(self)); } },
    { .key = "query_ms",
      .flag = "--query-ms",
      .value_name = "MS[,MS...]",
      .type = numbers,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("required, unless `--op`"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("ms a query holds a connection (required), {}; 100,150,200 gives three scenarios", range_text(self));
        } },
    { .key = "design_ms",
      .flag = "--design-ms",
      .value_name = "MS",
      .type = number,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("the middle value"); },
      .help = [](const InputSpec&,
                 const Rules&) { return std::string("which --query-ms value to size for, one of them (default: the middle one)"); } },
    { .key = "activity",
      .flag = "--activity",
      .value_name = "RATIO",
      .type = number,
      .unit = "share of VUs",
      .range = InputRange{ k_min_fraction, 1.0 },
      .group = workload,
      .fleet_service = true,
      .rules_key = "sizing.activity",
      .default_text = [](const Rules& rules) { return fmt::format("{:.2f}", rules.sizing.activity); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("share of VUs sending queries, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "op",
      .flag = "--op",
      .value_name = "NAME:SHARE:MS",
      .type = operations,
      .unit = "share, ms",
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help =
        [](const InputSpec&, const Rules&) {
          // SHARE is a share like --activity's, MS a hold like --query-ms's.
          return fmt::format("an operation mix (repeat), SHARE {}-1, MS as --query-ms: replaces --activity and --query-ms",
                             format_number(input("activity").range->min));
        } },
    { .key = "vu_rate",
      .flag = "--vu-rate",
      .value_name = "R",
      .type = number,
      .unit = "requests/s per VU",
      .range = InputRange{ k_min_fraction, k_max_vu_rate },
      .group = workload,
      .fleet_service = true,
      .rules_key = "sizing.vu_rate_per_s",
      .default_text = [](const Rules& rules) { return format_number(rules.sizing.vu_rate_per_s); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("requests per active VU per second, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "think_ms",
      .flag = "--think-ms",
      .value_name = "MS",
      .type = number,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("none (the rate is `--vu-rate`)"); },
      .help = [](const InputSpec& self,
                 const Rules&) { return fmt::format("a VU's pause between requests (instead of --vu-rate), {}", range_text(self)); } },
    { .key = "queries_per_request",
      .flag = "--queries-per-request",
      .value_name = "Q",
      .type = number,
      .unit = "queries",
      .range = InputRange{ k_min_fraction, k_max_queries_per_request },
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("1"); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("queries per request, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "query_cv",
      .flag = "--query-cv",
      .value_name = "CV",
      .type = number,
      .unit = "ratio",
      .range = InputRange{ 0, k_max_query_cv },
      .group = workload,
      .fleet_service = true,
      .rules_key = "queueing.hold_cv",
      .default_text = [](const Rules& rules) { return format_number(rules.queueing.hold_cv); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("coefficient of variation of the hold, {}: 0 constant, 1 exponential, else lognormal (default {})",
                             range_text(self),
                             default_of(self, rules));
        } },
    { .key = "query_p50_ms",
      .flag = "--query-p50-ms",
      .value_name = "MS",
      .type = number,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help = [](const InputSpec&,
                 const Rules&) { return std::string("measured median hold, below --query-ms: fits a lognormal (with p95, p99)"); } },
    { .key = "query_p95_ms",
      .flag = "--query-p95-ms",
      .value_name = "MS",
      .type = number,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help = [](const InputSpec&,
                 const Rules&) { return std::string("measured p95 hold: fits a lognormal with --query-ms as mean (with p50, p99)"); } },
    { .key = "query_p99_ms",
      .flag = "--query-p99-ms",
      .value_name = "MS",
      .type = number,
      .unit = "ms",
      .range = ms,
      .group = workload,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help = [](const InputSpec&,
                 const Rules&) { return std::string("measured p99 hold: fits a lognormal with --query-ms as mean (with p50, p95)"); } },
    { .key = "query_sample",
      .flag = "--query-sample",
      .value_name = "FILE",
      .type = text,
      .group = workload,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help =
        [](const InputSpec&, const Rules&) {
          return std::string("measured holds, ms, one per line: their mean is --query-ms, their spread the model's");
        } },
    { .key = "think_cv",
      .flag = "--think-cv",
      .value_name = "CV",
      .type = number,
      .unit = "ratio",
      .range = InputRange{ 0, k_max_query_cv },
      .group = workload,
      .fleet_service = true,
      .rules_key = "queueing.think_cv",
      .default_text = [](const Rules& rules) { return format_number(rules.queueing.think_cv); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format(
            "coefficient of variation of a VU's pause, {} (default {}: k6's fixed sleep())", range_text(self), default_of(self, rules));
        } },
    { .key = "think_sample",
      .flag = "--think-sample",
      .value_name = "FILE",
      .type = text,
      .group = workload,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help =
        [](const InputSpec&, const Rules&) {
          return std::string("measured pauses, ms, one per line: their mean is --think-ms, their spread the model's");
        } },
    { .key = "burst",
      .flag = "--burst",
      .value_name = "X",
      .type = number,
      .unit = "x the peak",
      .range = InputRange{ 1.0, k_max_burst },
      .group = sizing,
      .fleet_service = true,
      .rules_key = "sizing.burst",
      .default_text = [](const Rules& rules) { return format_number(rules.sizing.burst); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("burst multiplier on the peak, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "overhead",
      .flag = "--overhead",
      .value_name = "N",
      .type = integer,
      .unit = "connections",
      .range = InputRange{ 0, static_cast<double>(k_max_overhead) },
      .group = sizing,
      .fleet_service = true,
      .rules_key = "sizing.overhead",
      .default_text = [](const Rules& rules) { return fmt::format("{}", rules.sizing.overhead); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format(
            "connections for health checks, migrations, monitoring, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "pool",
      .flag = "--pool",
      .value_name = "N[,N...]",
      .type = integers,
      .unit = "connections",
      .range = InputRange{ 1, static_cast<double>(k_max_connections_limit) },
      .group = sizing,
      .default_text = [](const Rules&) { return std::string("the plan's pool"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("pool sizes to evaluate with the queueing model, side by side, each {}", range_text(self));
        } },
    { .key = "target",
      .flag = "--target",
      .value_name = "GOAL",
      .type = text,
      .unit = "ms, s or a share",
      .group = sizing,
      .default_text = [](const Rules&) { return std::string("none (the rule of thumb)"); },
      .help =
        [](const InputSpec&, const Rules&) {
          // The goals' own ranges (queueing.hpp), which parse_target checks.
          return fmt::format("size for a goal instead of the rule of thumb: p99_wait<50ms, p95_wait<, mean_wait< ({} ms-{} s), "
                             "p_wait<, timeout_rate< ({}-1)",
                             format_number(k_min_target_wait_ms),
                             format_number(k_max_target_wait_ms / 1000.0),
                             format_number(k_min_target_share, 6));
        } },
    { .key = "stream",
      .flag = "--stream",
      .value_name = "N",
      .type = integer,
      .range = InputRange{ 0, k_max_stream },
      .group = sizing,
      .default_text = [](const Rules&) { return std::string("1"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("the simulation's random-number stream, {}: the same stream, the same figures (default 1)", range_text(self));
        } },
    { .key = "max_connections",
      .flag = "--max-connections",
      .value_name = "N",
      .type = integer,
      .unit = "connections",
      .range = InputRange{ 1, static_cast<double>(k_max_connections_limit) },
      .group = database,
      .rules_key = "database.max_connections",
      .default_text = [](const Rules& rules) { return fmt::format("{}", rules.database.max_connections); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("the server's max_connections, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "reserve",
      .flag = "--reserve",
      .value_name = "NAME=N",
      .type = reserve,
      .unit = "connections",
      .range = connections,
      .group = database,
      .rules_key = "database.reserved",
      .default_text =
        [](const Rules& rules) {
          std::vector<std::string> reserved;
          for (const ReserveEntry& entry : rules.database.reserved) {
            reserved.push_back(fmt::format("{}={}", entry.name, entry.connections));
          }
          return fmt::format("{}", fmt::join(reserved, ","));
        },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format(
            "connections kept from the application, N {}; repeatable, replaces {}", range_text(self), default_of(self, rules));
        } },
    { .key = "postgres_version",
      .flag = "--postgres-version",
      .value_name = "N",
      .type = integer,
      .range = InputRange{ static_cast<double>(k_min_server_version), static_cast<double>(k_max_server_version) },
      .group = database,
      .default_text = [](const Rules&) { return std::string("unknown"); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("the server's major version, {}: from {} on a replication reserve takes nothing from max_connections "
                             "(default unknown: every reserve counts)",
                             range_text(self),
                             rules.postgres.wal_senders_separate_since);
        } },
    { .key = "instances",
      .flag = "--instances",
      .value_name = "N",
      .type = integer,
      .unit = "instances",
      .range = InputRange{ 1, static_cast<double>(k_max_instances) },
      .group = database,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("1"); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format(
            "application instances sharing the load, each with its own pool, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "max_instances",
      .flag = "--max-instances",
      .value_name = "N",
      .type = integer,
      .unit = "instances",
      .range = InputRange{ 1, static_cast<double>(k_max_instances) },
      .group = database,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("--instances"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("the autoscaler's largest instance count, {}: every instance opens its pool, so the plan must fit "
                             "then too (default --instances)",
                             range_text(self));
        } },
    { .key = "serverless",
      .flag = "--serverless",
      .type = boolean,
      .group = database,
      .fleet_service = true,
      .default_text = [](const Rules&) { return std::string("off"); },
      .help =
        [](const InputSpec&, const Rules& rules) {
          return fmt::format("the instances are serverless executions or short-lived workers: each serves one request at a time and "
                             "keeps its pool while warm; a pool of {} each (rules serverless.pool_per_execution), --instances one "
                             "per VU unless given, --max-instances the platform's concurrency limit, and a deploy's surge {} %",
                             rules.serverless.pool_per_execution,
                             format_number(rules.serverless.deploy_surge_percent));
        } },
    { .key = "deploy_surge",
      .flag = "--deploy-surge",
      .value_name = "PERCENT",
      .type = number,
      .unit = "%",
      .range = InputRange{ 0, 100 },
      .group = database,
      .rules_key = "fleet.rolling_max_surge_percent",
      .default_text = [](const Rules& rules) { return format_number(rules.fleet.rolling_max_surge_percent); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("a rolling deploy's extra instances, % of the instances, rounded up, {} (default {}, Kubernetes' maxSurge); "
                             "0 for a deploy that stops old instances first",
                             range_text(self),
                             default_of(self, rules));
        } },
    { .key = "app_concurrency",
      .flag = "--app-concurrency",
      .value_name = "N",
      .type = integer,
      .unit = "requests",
      .range = InputRange{ 1, static_cast<double>(k_max_connections_limit) },
      .group = database,
      .default_text = [](const Rules&) { return std::string("not given"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("the most requests one instance runs at once (worker threads, a concurrency limit), {}: a pool above it "
                             "stays idle",
                             range_text(self));
        } },
    { .key = "db_cores",
      .flag = "--db-cores",
      .value_name = "N",
      .type = integer,
      .unit = "cores",
      .range = InputRange{ 1, 100000 },
      .group = database,
      .default_text = [](const Rules&) { return std::string("not given"); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("the database server's CPU cores, {}: past about {} active queries per core more at once add latency, "
                             "not throughput",
                             range_text(self),
                             format_number(rules.advisor.active_per_core));
        } },
    { .key = "services",
      .flag = "--services",
      .value_name = "N",
      .type = integer,
      .unit = "services",
      .range = InputRange{ 1, static_cast<double>(k_max_services) },
      .group = database,
      .default_text = [](const Rules&) { return std::string("1"); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("services sharing the database, {} (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "transaction_pooling",
      .flag = "--transaction-pooling",
      .type = boolean,
      .group = database,
      .default_text = [](const Rules&) { return std::string("off"); },
      .help = [](const InputSpec&, const Rules&) { return std::string("transaction-level pooling is wanted (a PgBouncer trigger)"); } },
    { .key = "remote_database",
      .flag = "--remote-database",
      .type = boolean,
      .group = database,
      .default_text = [](const Rules&) { return std::string("from the URL's host"); },
      .help = [](const InputSpec&, const Rules&) { return std::string("the database is remote (default: judged from the URL's host)"); } },
    { .key = "topology",
      .flag = "--topology",
      .value_name = "WHERE",
      .type = text,
      .group = database,
      .default_text = [](const Rules&) { return std::string("shared"); },
      .help =
        [](const InputSpec&, const Rules&) {
          return std::string("where PgBouncer runs: shared (one for every instance, default) or sidecar (one beside each instance)");
        } },
    { .key = "pgbouncer_host",
      .flag = "--pgbouncer-host",
      .value_name = "HOST[:PORT]",
      .type = text,
      .group = database,
      .default_text = [](const Rules&) { return std::string("not given"); },
      .help =
        [](const InputSpec&, const Rules&) {
          return std::string("where the application reaches a shared PgBouncer (port default: listen_port); never guessed");
        } },
    { .key = "database_url",
      .flag = "--database-url",
      .value_name = "URL",
      .type = text,
      .group = database,
      .default_text = [](const Rules&) { return std::string("`$DATABASE_URL`"); },
      .help =
        [](const InputSpec&, const Rules&) {
          return std::string("postgresql://user:password@host:port/db (default $DATABASE_URL; password shown only by env and config)");
        } },
    { .key = "pool_timeout",
      .flag = "--pool-timeout",
      .value_name = "S",
      .type = integer,
      .unit = "s",
      .range = timeout_s,
      .group = timeouts,
      .fleet_service = true,
      .rules_key = "timeouts.pool_timeout_s",
      .default_text = [](const Rules& rules) { return format_number(rules.timeouts.pool_timeout_s); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format(
            "whole seconds to wait for a free connection, {}, 0 forever (default {})", range_text(self), default_of(self, rules));
        } },
    { .key = "connect_timeout",
      .flag = "--connect-timeout",
      .value_name = "S",
      .type = integer,
      .unit = "s",
      .range = timeout_s,
      .group = timeouts,
      .fleet_service = true,
      .rules_key = "timeouts.connect_timeout_s",
      .default_text = [](const Rules& rules) { return format_number(rules.timeouts.connect_timeout_s); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          // `poolcalc inspect` cannot wait forever: it takes 1 to the same maximum.
          return fmt::format("whole seconds to wait for a new connection, {}; inspect 1-{} (default {})",
                             range_text(self),
                             static_cast<std::int64_t>(self.range->max),
                             default_of(self, rules));
        } },
    { .key = "app_timeout",
      .flag = "--app-timeout",
      .value_name = "S",
      .type = number,
      .unit = "s",
      .range = InputRange{ k_min_fraction, k_max_request_timeout_s },
      .group = timeouts,
      .default_text = [](const Rules&) { return std::string("not given"); },
      .help =
        [](const InputSpec& self, const Rules&) {
          return fmt::format("the application's own request timeout in seconds (a handler's or a gateway's), {}: checked to lie between "
                             "pool_timeout and the client's --request-timeout",
                             range_text(self));
        } },
    { .key = "request_timeout",
      .flag = "--request-timeout",
      .value_name = "S",
      .type = number,
      .unit = "s",
      .range = InputRange{ k_min_fraction, k_max_request_timeout_s },
      .group = timeouts,
      .fleet_service = true,
      .rules_key = "timeouts.client_request_timeout_s",
      .default_text = [](const Rules& rules) { return format_number(rules.timeouts.client_request_timeout_s); },
      .help =
        [](const InputSpec& self, const Rules& rules) {
          return fmt::format("the client's request timeout in seconds, {} (default {}, k6's)", range_text(self), default_of(self, rules));
        } },
    { .key = "format",
      .flag = "--format",
      .value_name = "FORMAT",
      .type = text,
      .group = output,
      .default_text = [](const Rules&) { return std::string("text"); },
      .help = [](const InputSpec&, const Rules&) { return std::string("text (default), json, markdown or env"); } },
    { .key = "explain",
      .flag = "--explain",
      .type = boolean,
      .group = output,
      .default_text = [](const Rules&) { return std::string("off"); },
      .help = [](const InputSpec&, const Rules&) { return std::string("print the whole arithmetic step by step"); } },
    { .key = "config",
      .flag = "--config",
      .value_name = "FILE",
      .type = text,
      .group = files,
      .in_file = false,
      .default_text = [](const Rules&) { return std::string("none"); },
      .help = [](const InputSpec&,
                 const Rules&) { return std::string("a TOML scenario file with any of the options above, snake_case"); } },
    { .key = "rules",
      .flag = "--rules",
      .value_name = "FILE",
      .type = text,
      .group = files,
      .default_text = [](const Rules&) { return std::string("built in"); },
      .help = [](const InputSpec&, const Rules&) { return std::string("replace the built-in rules (see `poolcalc rules`)"); } },
  };
}
#pragma GCC diagnostic pop

} // namespace

const std::vector<InputSpec>& inputs()
{
  static const std::vector<InputSpec> table = make_inputs();
  return table;
}

const InputSpec& input(std::string_view key)
{
  const auto& table = inputs();
  const auto it = std::find_if(table.begin(), table.end(), [&](const InputSpec& spec) { return spec.key == key; });
  if (it == table.end()) {
    throw std::out_of_range(fmt::format("no input '{}'", key));
  }
  return *it;
}

std::string_view group_name(InputGroup group)
{
  switch (group) {
  case InputGroup::workload:
    return "Workload";
  case InputGroup::sizing:
    return "Sizing";
  case InputGroup::database:
    return "Database";
  case InputGroup::timeouts:
    return "Timeouts";
  case InputGroup::output:
    return "Output";
  case InputGroup::files:
    return "Files";
  }
  return "";
}

bool is_sizing_input(const InputSpec& spec)
{
  return spec.group != InputGroup::output && spec.group != InputGroup::files;
}

std::string range_text(const InputSpec& spec)
{
  if (!spec.range) {
    return "";
  }
  const bool whole = spec.type == InputType::integer || spec.type == InputType::integers || spec.type == InputType::reserve;
  if (whole) {
    return fmt::format("{}-{}", static_cast<std::int64_t>(spec.range->min), static_cast<std::int64_t>(spec.range->max));
  }
  return fmt::format("{}-{}", format_number(spec.range->min), format_number(spec.range->max));
}

std::string_view toml_type_text(InputType type)
{
  switch (type) {
  case InputType::integer:
    return "a whole number";
  case InputType::number:
    return "a number";
  case InputType::numbers:
    return "a number or an array of numbers";
  case InputType::integers:
    return "a whole number or an array of them";
  case InputType::operations:
    return "a string or an array of strings";
  case InputType::reserve:
    return "a table of NAME = N";
  case InputType::text:
    return "a string";
  case InputType::boolean:
    return "true or false";
  }
  return "";
}

} // namespace poolcalc

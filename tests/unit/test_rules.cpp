#include "poolcalc/rules.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace poolcalc;

namespace {

// The embedded rules with one line replaced, for error tests.
std::string rules_with(const std::string& from, const std::string& to)
{
  std::string text(embedded_rules_toml());
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

int line_of(const std::string& text, const std::string& part)
{
  const auto at = text.find(part);
  return static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
}

} // namespace

TEST_CASE("builtin_rules")
{
  const Rules& r = builtin_rules();
  // seed, "Request Patterns" and "Safety Buffer Calculation".
  CHECK(r.sizing.activity == 0.70);
  CHECK(r.sizing.burst == 3.0);
  CHECK(r.sizing.overhead == 10);
  CHECK(r.sizing.round_to == 10);
  CHECK(r.sizing.vu_rate_per_s == 1.0);
  // seed: "PostgreSQL max_connections = 100", "Safe Usage Threshold: 50-70%".
  CHECK(r.database.max_connections == 100);
  CHECK(r.database.safe_utilization_min == 0.50);
  CHECK(r.database.safe_utilization_max == 0.70);
  // seed, "Validation Against Database Limits", in the seed's order.
  REQUIRE(r.database.reserved.size() == 4);
  CHECK(r.database.reserved[0].name == "other_apps");
  CHECK(r.database.reserved[0].connections == 20);
  CHECK(r.database.reserved[1].name == "admin");
  CHECK(r.database.reserved[2].name == "superuser");
  CHECK(r.database.reserved[3].name == "replication");
  // PostgreSQL docs: superuser_reserved_connections default 3; WAL senders separate since 12.
  CHECK(r.postgres.superuser_reserved_connections_default == 3);
  CHECK(r.postgres.wal_senders_separate_since == 12);
  // seed, "Environment Variables"; k6 docs: request timeout 60 s.
  CHECK(r.timeouts.pool_timeout_s == 30);
  CHECK(r.timeouts.connect_timeout_s == 10);
  CHECK(r.timeouts.client_request_timeout_s == 60);
  // Prisma docs: connection_limit = physical CPUs x 2 + 1, pool_timeout 10 s, connect_timeout 5 s.
  CHECK(r.prisma_defaults.connection_limit_per_physical_cpu == 2);
  CHECK(r.prisma_defaults.connection_limit_add == 1);
  CHECK(r.prisma_defaults.pool_timeout_s == 10);
  CHECK(r.prisma_defaults.connect_timeout_s == 5);
  // seed, "Scaling Guidelines".
  REQUIRE(r.scaling.size() == 5);
  CHECK(r.scaling[0].users_max == 50);
  CHECK(r.scaling[0].pool_min == 10);
  CHECK(r.scaling[0].pool_max == 20);
  CHECK(r.scaling[0].max_connections == 50);
  CHECK(r.scaling[1].users_min == 51);
  CHECK(r.scaling[1].pool_max == 50);
  CHECK(r.scaling[2].max_connections == 200);
  CHECK(r.scaling[3].pool_max == 150);
  CHECK(r.scaling[3].max_connections == 300);
  CHECK(r.scaling[4].users_min == 501);
  CHECK_FALSE(r.scaling[4].users_max.has_value());
  CHECK(r.scaling[4].pgbouncer);
  CHECK(r.scaling[4].max_connections == 100);
  // seed, "When to Use PgBouncer" and its configuration example.
  CHECK(r.pgbouncer_triggers.instances_above == 5);
  CHECK(r.pgbouncer_triggers.total_connections_above == 200);
  CHECK(r.pgbouncer_settings.listen_port == 6432);
  CHECK(r.pgbouncer_settings.pool_mode == PoolMode::transaction);
  CHECK(r.pgbouncer_settings.max_client_conn == 1000);
  CHECK(r.pgbouncer_settings.reserve_pool_timeout_s == 5);
  // seed, "Progressive Load Testing Strategy": 5 -> 10 -> 25 -> 50 -> 100 -> 120 VUs.
  REQUIRE(r.load_test_phases.size() == 6);
  CHECK(r.load_test_phases[0].name == "Baseline");
  CHECK(r.load_test_phases[0].share * 120 == doctest::Approx(5).epsilon(1e-6));
  CHECK(r.load_test_phases[2].share * 120 == doctest::Approx(25).epsilon(1e-6));
  CHECK(r.load_test_phases[5].share == 1.0);
  CHECK(r.load_test_phases[5].duration == "870s");
  CHECK(r.k6.ramp == "30s");
  CHECK(r.k6.stress_duration == "300s");
  CHECK(r.k6.abort_delay == "1m");
  CHECK(r.k6.max_vus_ratio == 4.0);
  CHECK(r.report.consider_pgbouncer_above_pool == 100);
  // seed, "Warning Thresholds": 40 and 48 of a pool of 50.
  CHECK(r.monitoring.active_warn_ratio == 0.80);
  CHECK(r.monitoring.active_critical_ratio == 0.96);
  CHECK(r.monitoring.idle_warn_below == 5);
  CHECK(r.monitoring.pending_critical_above == 10);
  CHECK(r.monitoring.timeout_error_critical_rate == 0.05);
  // Kubernetes' Deployment default maxSurge: 25 %.
  CHECK(r.fleet.rolling_max_surge_percent == 25);
}

TEST_CASE("parse_rules errors name file:line:column")
{
  SUBCASE("out of range")
  {
    const std::string text = rules_with("burst = 3.0", "burst = 0.5");
    const auto r = parse_rules(text, "my.toml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() ==
          "my.toml:" + std::to_string(line_of(text, "burst = 0.5")) + ":9: sizing.burst: expected a number from 1 to 100, got 0.5");
  }
  SUBCASE("a fleet surge above 100 %")
  {
    const std::string text = rules_with("rolling_max_surge_percent = 25", "rolling_max_surge_percent = 101");
    const auto r = parse_rules(text, "my.toml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == "my.toml:" + std::to_string(line_of(text, "rolling_max_surge_percent = 101")) +
                         ":29: fleet.rolling_max_surge_percent: expected a number from 0 to 100, got 101");
  }
  SUBCASE("an advisor objective that is not a --target goal, and an advisor surge of 1")
  {
    const std::string text = rules_with("objective = \"p99_wait<100ms\"", "objective = \"p99<100ms\"");
    const auto r = parse_rules(text, "my.toml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().starts_with("my.toml:" + std::to_string(line_of(text, "objective = \"p99<100ms\"")) + ":13: advisor.objective: "));
    CHECK(r.error().ends_with(parse_target("p99<100ms").error()));
    const std::string flat = rules_with("surge = 2.0", "surge = 1");
    CHECK(parse_rules(flat, "my.toml").error() ==
          "my.toml:" + std::to_string(line_of(flat, "surge = 1")) + ":9: advisor.surge: expected a number from 1.001 to 100, got 1");
  }
  SUBCASE("a serverless pool of 0, and a serverless surge above 100 %")
  {
    const std::string none = rules_with("pool_per_execution = 1", "pool_per_execution = 0");
    CHECK(parse_rules(none, "my.toml").error() == "my.toml:" + std::to_string(line_of(none, "pool_per_execution = 0")) +
                                                    ":22: serverless.pool_per_execution: expected a whole number from 1 to 1000, got 0");
    const std::string over = rules_with("deploy_surge_percent = 100", "deploy_surge_percent = 101");
    CHECK(parse_rules(over, "my.toml").error() == "my.toml:" + std::to_string(line_of(over, "deploy_surge_percent = 101")) +
                                                    ":24: serverless.deploy_surge_percent: expected a number from 0 to 100, got 101");
  }
  SUBCASE("wrong type")
  {
    const std::string text = rules_with("overhead = 10", "overhead = \"10\"");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "overhead = \"10\"")) +
                                                   ":12: sizing.overhead: expected a whole number from 0 to 100000");
  }
  SUBCASE("not finite")
  {
    const std::string text = rules_with("activity = 0.70", "activity = nan");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "activity = nan")) + ":12: sizing.activity: expected a number from 0.001 to 1, got nan");
  }
  SUBCASE("unknown key")
  {
    const std::string text = rules_with("round_to = 10", "round_to = 10\nrounding = 5");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "rounding = 5")) + ":1: sizing.rounding: unknown key");
  }
  SUBCASE("missing key")
  {
    const std::string text = rules_with("overhead = 10", "");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "[sizing]")) + ":1: sizing.overhead: missing key");
  }
  SUBCASE("a gap in the scaling table")
  {
    const std::string text = rules_with("users_min = 51", "users_min = 52");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "users_min = 52")) +
            ":13: scaling[1].users_min: rows must cover the users without gaps or overlaps: expected 51, got 52");
  }
  SUBCASE("a reserve larger than max_connections")
  {
    const std::string text = rules_with("other_apps = 20", "other_apps = 95");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "[database.reserved]")) +
            ":1: database.reserved: the reserved connections (125) exceed database.max_connections (100)");
  }
  SUBCASE("a pool_mode PgBouncer does not have")
  {
    const std::string text = rules_with("pool_mode = \"transaction\"", "pool_mode = \"txn\"");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "pool_mode = \"txn\"")) +
            ":13: pgbouncer.settings.pool_mode: expected \"session\", \"transaction\" or \"statement\"");
  }
  SUBCASE("a listen_addr that is not an address")
  {
    const std::string text = rules_with("listen_addr = \"127.0.0.1\"", "listen_addr = \"a b\"");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "listen_addr = \"a b\"")) +
                                                   ":15: pgbouncer.settings.listen_addr: expected a host name or an IP address");
  }
  SUBCASE("an auth_type PgBouncer does not know")
  {
    const std::string text = rules_with("auth_type = \"md5\"", "auth_type = \"md6\"");
    CHECK(parse_rules(text, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(text, "auth_type = \"md6\"")) +
            ":13: pgbouncer.settings.auth_type: expected cert, md5, scram-sha-256, plain, trust, any, hba or pam");
  }
  SUBCASE("an auth_file over two lines")
  {
    const std::string text = rules_with("auth_file = \"/etc/pgbouncer/userlist.txt\"", "auth_file = \"/etc/a\\nb\"");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "auth_file = \"/etc/a")) +
                                                   ":13: pgbouncer.settings.auth_file: expected a file path on one line");
  }
  SUBCASE("a reserve name with odd characters")
  {
    const std::string text = rules_with("other_apps = 20", "\"other apps\" = 20");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "\"other apps\" = 20")) +
                                                   ":16: database.reserved.other apps: expected a name of letters, digits, '_' or '-'");
  }
  SUBCASE("load-test phases out of order")
  {
    const std::string text = rules_with("share = 0.208333333", "share = 0.05");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "share = 0.05")) +
                                                   ":9: load_test_phases[2].share: expected a number from 0.083333333 to 1, got 0.05");
    const std::string same = rules_with("share = 0.208333333", "share = 0.083333333");
    CHECK(parse_rules(same, "r.toml").error() == "r.toml:" + std::to_string(line_of(same, "share = 0.083333333   # 25")) +
                                                   ":9: load_test_phases[2].share: expected more than the phase before (0.083333333)");
  }
  SUBCASE("k6 durations that k6 would not read, or past a day")
  {
    const std::string phase = rules_with("duration = \"120s\"", "duration = \"s120\"");
    CHECK(parse_rules(phase, "r.toml").error() == "r.toml:" + std::to_string(line_of(phase, "duration = \"s120\"")) +
                                                    ":12: load_test_phases[2].duration: expected a k6 duration from 1s to 24h such as "
                                                    "\"30s\", \"5m\" or \"1h30m\"");
    const std::string ramp = rules_with("ramp = \"30s\"", "ramp = \"25h\"");
    CHECK(parse_rules(ramp, "r.toml").error() ==
          "r.toml:" + std::to_string(line_of(ramp, "ramp = \"25h\"")) +
            ":8: k6.ramp: expected a k6 duration from 1s to 24h such as \"30s\", \"5m\" or \"1h30m\"");
    const std::string stress = rules_with("stress_duration = \"300s\"", "stress_duration = \"300\"");
    CHECK(parse_rules(stress, "r.toml").error() == "r.toml:" + std::to_string(line_of(stress, "stress_duration = \"300\"")) +
                                                     ":19: k6.stress_duration: expected a k6 duration from 1s to 24h such as \"30s\", "
                                                     "\"5m\" or \"1h30m\"");
  }
  SUBCASE("k6's maxVUs below the pre-allocated VUs")
  {
    const std::string text = rules_with("max_vus_ratio = 4.0", "max_vus_ratio = 0.5");
    CHECK(parse_rules(text, "r.toml").error() == "r.toml:" + std::to_string(line_of(text, "max_vus_ratio = 0.5")) +
                                                   ":17: k6.max_vus_ratio: expected a number from 1 to 100, got 0.5");
  }
  SUBCASE("not TOML")
  {
    const auto r = parse_rules("[sizing\nactivity = 1", "r.toml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().rfind("r.toml:1:", 0) == 0);
    CHECK(r.error().find("invalid TOML: ") != std::string::npos);
  }
}

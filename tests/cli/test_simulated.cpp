// The real binary on loads the exact models do not cover: simulated figures with their intervals,
// reproducible for a stream, sample files and their errors, a fleet's waits with throughput.

#include "checks.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

using poolcalc::test::check_usage_error;
using poolcalc::test::Result;
using poolcalc::test::run_poolcalc;
using poolcalc::test::TempDir;

namespace {

nlohmann::json json_of(const std::vector<std::string>& args)
{
  const Result r = run_poolcalc(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

void write(const std::string& path, const std::string& text)
{
  std::ofstream out(path);
  out << text;
}

// The worked example's 84 active VUs, 150 ms holds and 850 ms pauses, both constant: a k6 loop of
// sleep(0.85) around pg_sleep(0.15).
const std::vector<std::string> k_constant_loop = { "--vus", "120",    "--query-ms", "150",      "--query-cv",
                                                   "0",     "--pool", "10,13",      "--format", "json" };

} // namespace

TEST_CASE("simulated: a constant loop, each figure with its interval, the same for the same stream")
{
  const nlohmann::json j = json_of(k_constant_loop);
  CHECK(j["queueing_model"]["method"] == "simulation");
  CHECK(j["queueing_model"]["stream"] == 1);
  CHECK(j["queueing_model"]["hold"]["family"] == "constant");
  CHECK(j["queueing_model"]["think"]["family"] == "constant");
  CHECK(j["queueing_model"]["think"]["source"] == "rules queueing.think_cv 0");
  const auto& at10 = j["queueing"][0];
  const auto& at13 = j["queueing"][1];
  // 10 connections serve at most 10 / 0.15 s = 66.7 queries/s (the pool is the bottleneck); a real
  // PgBouncer measured 65.8/s and a 273 ms mean wait (docs/validation.md).
  CHECK(at10["throughput_rps"].get<double>() == doctest::Approx(66.67).epsilon(0.01));
  CHECK(at10["mean_wait_ms"].get<double>() > 200);
  // At 13 the VUs fall into step and hardly wait: the exponential model's 46.5 ms is gone (the real
  // PgBouncer: 0.2 ms).
  CHECK(at13["mean_wait_ms"].get<double>() < 2.0);
  CHECK(at13["interval95"]["converged"] == true);
  CHECK(at13["interval95"]["replications"].get<int>() >= 8);
  CHECK(j["queueing_model"]["knee"] == 13);
  // Reproducible: the same inputs and stream, the same bytes.
  CHECK(run_poolcalc(k_constant_loop).out == run_poolcalc(k_constant_loop).out);
  std::vector<std::string> other = k_constant_loop;
  other.insert(other.end(), { "--stream", "2" });
  const nlohmann::json j2 = json_of(other);
  CHECK(j2["queueing_model"]["stream"] == 2);
  CHECK(j2["queueing"][0]["mean_wait_ms"].get<double>() == doctest::Approx(at10["mean_wait_ms"].get<double>()).epsilon(0.1));
}

TEST_CASE("simulated: the exact model stays exact for exponential holds whatever the pauses")
{
  // M/M/c//N is insensitive to the think time's distribution: --think-cv changes nothing.
  const nlohmann::json constant = json_of({ "--vus", "120", "--query-ms", "150", "--pool", "13", "--format", "json" });
  const nlohmann::json exponential =
    json_of({ "--vus", "120", "--query-ms", "150", "--pool", "13", "--think-cv", "1", "--format", "json" });
  CHECK(constant["queueing_model"]["method"] == "analytic");
  CHECK(constant["queueing"][0]["interval95"].is_null());
  CHECK(constant["queueing"][0]["mean_wait_ms"] == 46.48); // docs/model.md, section 8.2
  CHECK(exponential["queueing"][0]["mean_wait_ms"] == 46.48);
}

TEST_CASE("simulated: sample files")
{
  TempDir dir;
  write(dir / "holds.txt", "# holds in ms\n100\n200\n300\n");
  const nlohmann::json j = json_of({ "--vus",
                                     "84",
                                     "--activity",
                                     "1",
                                     "--think-ms",
                                     "850",
                                     "--query-sample",
                                     dir / "holds.txt",
                                     "--pool",
                                     "12",
                                     "--max-connections",
                                     "200",
                                     "--format",
                                     "json" });
  CHECK(j["inputs"]["query_ms"] == nlohmann::json::array({ 200 })); // the sample's mean
  CHECK(j["queueing_model"]["hold"]["family"] == "empirical");
  // 12 connections for holds of 200 ms on average serve at most 60 queries/s.
  CHECK(j["queueing"][0]["throughput_rps"].get<double>() == doctest::Approx(60).epsilon(0.01));

  write(dir / "bad.txt", "100\nfast\n");
  check_usage_error({ "--vus", "10", "--query-sample", dir / "bad.txt" },
                    "--query-sample: " + (dir / "bad.txt") + ": line 2: 'fast' is not a number of milliseconds");
  check_usage_error({ "--vus", "10", "--query-sample", dir / "none.txt" },
                    "--query-sample: cannot read '" + (dir / "none.txt") + "': no such file");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--query-sample", dir / "holds.txt" },
                    "--query-sample: the sample's mean is the hold; drop --query-ms");
  check_usage_error({ "--rps", "10", "--query-ms", "150", "--think-cv", "1" }, "--think-cv: applies to VUs (a closed load), not to --rps");
  check_usage_error({ "--vus", "10", "--query-sample", dir / "holds.txt", "--query-cv", "1" },
                    "--query-cv: --query-sample gives the holds' spread; drop it");
  write(dir / "pauses.txt", "800\n900\n");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--think-sample", dir / "pauses.txt", "--think-ms", "850" },
                    "--think-ms: --think-sample gives the pauses' mean and spread; drop it");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--think-sample", dir / "pauses.txt", "--vu-rate", "2" },
                    "--vu-rate: --think-sample sets each VU's pace; drop --vu-rate");
}

TEST_CASE("simulated: bad spreads and streams are refused with one line")
{
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--query-cv", "1", "--query-p50-ms", "100" },
                    "--query-p50-ms: give --query-cv or measured percentiles, not both");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--query-p95-ms", "100", "--query-p99-ms", "90" },
                    "--query-p95-ms: the p99 (90 ms) is not above the p95 (100 ms): percentiles rise with the rank");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--stream", "4294967296" },
                    "--stream: expected a whole number from 0 to 4294967295, got '4294967296'");
  check_usage_error({ "--vus", "10", "--query-ms", "150", "--think-cv", "11" }, "--think-cv: expected a number from 0 to 10, got '11'");
}

TEST_CASE("simulated: a fleet's services through one PgBouncer pool, each with its throughput")
{
  TempDir dir;
  // Two VU services under one user share one pool (docs/validation.md's fleet-shared case).
  write(dir / "fleet.toml",
        "[database]\nmax_connections = 23\nversion = 15\n[database.reserve]\nsuperuser = 3\n"
        "[[service]]\nname = \"web\"\nuser = \"app\"\ndatabase = \"bench\"\nvus = 60\nactivity = 1\nthink_ms = 850\nquery_ms = 150\n"
        "instances = 2\n"
        "[[service]]\nname = \"jobs\"\nuser = \"app\"\ndatabase = \"bench\"\nvus = 24\nactivity = 1\nthink_ms = 400\nquery_ms = 100\n");
  const Result r = run_poolcalc({ "fleet", dir / "fleet.toml", "--format", "json" });
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 3));
  const nlohmann::json j = nlohmann::json::parse(r.out);
  REQUIRE(j["waits"].size() == 2);
  for (const auto& w : j["waits"]) {
    CHECK(w["method"] == "simulation");
    CHECK(w["throughput_rps"].get<double>() > 0);
    CHECK(w["interval95"]["converged"] == true);
  }
  // Both services queue in the same FIFO: about the same mean wait.
  CHECK(j["waits"][0]["mean_wait_ms"].get<double>() == doctest::Approx(j["waits"][1]["mean_wait_ms"].get<double>()).epsilon(0.25));
  // The pool's throughput is its services' together.
  CHECK(j["pgbouncer"]["pools"][0]["wait"]["throughput_rps"].get<double>() ==
        doctest::Approx(j["waits"][0]["throughput_rps"].get<double>() + j["waits"][1]["throughput_rps"].get<double>()).epsilon(0.01));
}

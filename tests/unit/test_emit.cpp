#include "poolcalc/dotenv.hpp"
#include "poolcalc/emit.hpp"

#include "helpers.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace poolcalc;

namespace {

// The seed's DATABASE_URL ("Environment Variables").
const std::string k_seed_url = "postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db";

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("render_json")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "100,150,200" }, { "database_url", k_seed_url } });
  const auto j = nlohmann::json::parse(render_json(p, evaluate(p, builtin_rules())));
  CHECK(j["schema_version"] == 1);
  CHECK(j["inputs"]["vus"] == 120);
  CHECK(j["inputs"]["database_url"] == "postgresql://postgres:****@localhost:5432/chat_backend_db");
  REQUIRE(j["scenarios"].size() == 3);
  // seed: 8.4 / 12.6 / 16.8 and the pools 40 / 50 / 70 computed with its formula.
  CHECK(j["scenarios"][0]["peak_concurrent"] == 8.4);
  CHECK(j["scenarios"][1]["peak_concurrent"] == 12.6);
  CHECK(j["scenarios"][2]["peak_concurrent"] == 16.8);
  CHECK(j["scenarios"][2]["pool_size"] == 70);
  CHECK(j["scenarios"][2]["fits"] == false);
  CHECK(j["scenarios"][1]["design"] == true);
  CHECK(j["peak_concurrent"] == 12.6);
  CHECK(j["pool_size"] == 50);
  CHECK(j["pool_size_unrounded"] == 49);
  CHECK(j["total_connections"] == 50);
  CHECK(j["max_connections"] == 100);
  CHECK(j["reserved"]["other_apps"] == 20);
  CHECK(j["reserved_total"] == 50);
  CHECK(j["available"] == 50);
  CHECK(j["utilization"] == 0.5);
  CHECK(j["recommendation"] == "pool");
  CHECK(j["settings"]["connection_limit"] == 50);
  CHECK(j["settings"]["pool_timeout_s"] == 30);
  CHECK(j["settings"]["connect_timeout_s"] == 10);
  CHECK(j["settings"]["database_url"] ==
        "postgresql://postgres:****@localhost:5432/chat_backend_db?connection_limit=50&pool_timeout=30&connect_timeout=10");
  CHECK(j["settings"]["pgbouncer"].is_null());
  CHECK(j["findings"][0]["id"] == "scenario.does_not_fit");
  CHECK(j["findings"][0]["level"] == "warn");
  CHECK(j["monitoring"][0]["warning"] == "> 40");
  CHECK_FALSE(contains(j.dump(), "postgrespassword"));
}

TEST_CASE("render_env")
{
  SUBCASE("without a URL: the three variables")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" } });
    CHECK(render_env(p) == "# poolcalc: 120 VUs, 150 ms per query -> pool of 50 per instance (direct to PostgreSQL)\n"
                           "# For any client: DATABASE_URL has no client's own parameter (psql and libpq refuse Prisma's and\n"
                           "# pgx's). The pool variables below are your application's own: no library reads them.\n"
                           "# `poolcalc env --for CLIENT` names the line that reads each; `poolcalc config --for CLIENT` writes it.\n"
                           "# Your application's own settings (no library reads these variables by itself):\n"
                           "# Maximum connections in pool\nDATABASE_POOL_SIZE=50\n"
                           "# Seconds to wait for new connection\nDATABASE_CONNECTION_TIMEOUT=10\n"
                           "# Seconds to wait for available connection from pool\nDATABASE_POOL_TIMEOUT=30\n");
  }
  SUBCASE("an existing parameter is replaced, never duplicated, the others kept")
  {
    // The seed's code skipped every parameter when connection_limit was already there. For Prisma 6
    // the pool parameters are set; for any client, Prisma's own is taken out (psql refuses it).
    const Plan p =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url + "?connection_limit=10&sslmode=require" } });
    CHECK(contains(render_env(p, EnvFor{ "prisma", 6 }),
                   "DATABASE_URL=\"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db"
                   "?connection_limit=50&sslmode=require&pool_timeout=30&connect_timeout=10\"\n"));
    CHECK(
      contains(render_env(p), "DATABASE_URL=\"postgresql://postgres:postgrespassword@localhost:5432/chat_backend_db?sslmode=require\"\n"));
    // Each client names the line that reads the pool variables.
    CHECK(contains(render_env(p, EnvFor{ "node-postgres", 7 }),
                   "# read by new pg.Pool({...}): max: Number(process.env.DATABASE_POOL_SIZE),\nDATABASE_POOL_SIZE=50\n"));
    CHECK(contains(render_env(p, EnvFor{ "prisma", 6 }),
                   "# not read: Prisma 6 reads connection_limit in DATABASE_URL; this copy is your application's own\n"));
  }
  SUBCASE("characters dotenv or a shell would expand are percent-encoded")
  {
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", "postgresql://u:pa$'s@localhost/db" } });
    CHECK(contains(render_env(p, EnvFor{ "prisma", 6 }),
                   "DATABASE_URL=\"postgresql://u:pa%24%27s@localhost/db?connection_limit=50&pool_timeout=30&connect_timeout=10\"\n"));
    CHECK(contains(render_env(p), "DATABASE_URL=\"postgresql://u:pa%24%27s@localhost/db\"\n"));
  }
  SUBCASE("through PgBouncer: the server's address stays, what to do once PgBouncer runs, a direct URL for migrations")
  {
    const Plan p =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url }, { "transaction_pooling", "true" } });
    const std::string env = render_env(p, EnvFor{ "prisma", 6 });
    // poolcalc does not know where PgBouncer will run: the seed's localhost:5432 stays, and no
    // pgbouncer=true on a URL that reaches the server.
    CHECK(contains(env,
                   "# Through PgBouncer, but DATABASE_URL still points at the database server (localhost:5432), as given:\n"
                   "# once PgBouncer runs (poolcalc pgbouncer writes its pgbouncer.ini), point DATABASE_URL at its\n"
                   "# host and port (listen_port 6432 there); pgbouncer=true is then needed with PgBouncer < 1.21\n"
                   "# (Prisma docs). DIRECT_URL stays the server's.\n"));
    CHECK(contains(env, "DATABASE_URL=\"" + k_seed_url + "?connection_limit=50&pool_timeout=30&connect_timeout=10\"\n"));
    CHECK(contains(env, "DIRECT_URL=\"" + k_seed_url + "\"\n"));
  }
  SUBCASE("through PgBouncer at the address given: pgbouncer=true, no DIRECT_URL invented")
  {
    const std::string pooler = "postgresql://postgres:postgrespassword@localhost:6432/chat_backend_db";
    const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", pooler }, { "transaction_pooling", "true" } });
    const std::string env = render_env(p, EnvFor{ "prisma", 6 });
    CHECK(contains(env, "# Through PgBouncer at localhost:6432, as given."));
    CHECK(contains(env, "DATABASE_URL=\"" + pooler + "?pgbouncer=true&connection_limit=50&pool_timeout=30&connect_timeout=10\"\n"));
    CHECK(contains(render_env(p), "DATABASE_URL=\"" + pooler + "\"\n"));
    CHECK(contains(env,
                   "# DIRECT_URL (migrations) must be the database server's own address, which poolcalc does not know:\n"
                   "# add DIRECT_URL=\"...\" yourself.\n"));
    CHECK_FALSE(contains(env, "\nDIRECT_URL="));
  }
}

TEST_CASE("env_variables: the keys and values the snippet sets, and only those")
{
  // `poolcalc env --write` sets env_variables(); the snippet must set the same, read back by the
  // .env parser, in the same order.
  const auto check = [](const Plan& p, const std::vector<std::string>& keys) {
    const std::vector<EnvVariable> variables = env_variables(p);
    const auto file = parse_dotenv(render_env(p), "snippet");
    REQUIRE(file.has_value());
    std::vector<std::string> assigned;
    for (const DotenvEntry& entry : file->entries) {
      if (entry.kind == DotenvEntry::Kind::assignment) {
        assigned.push_back(entry.key);
      }
    }
    CHECK(assigned == keys);
    REQUIRE(variables.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      CHECK(variables[i].key == keys[i]);
      CHECK(file->find(keys[i])->value == variables[i].value);
    }
  };
  check(test::plan({ { "vus", "120" }, { "query_ms", "150" } }),
        { "DATABASE_POOL_SIZE", "DATABASE_CONNECTION_TIMEOUT", "DATABASE_POOL_TIMEOUT" });
  check(test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", "postgresql://u:pa$'s@localhost/db" } }),
        { "DATABASE_URL", "DATABASE_POOL_SIZE", "DATABASE_CONNECTION_TIMEOUT", "DATABASE_POOL_TIMEOUT" });
  check(test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url }, { "transaction_pooling", "true" } }),
        { "DATABASE_URL", "DIRECT_URL", "DATABASE_POOL_SIZE", "DATABASE_CONNECTION_TIMEOUT", "DATABASE_POOL_TIMEOUT" });
}

TEST_CASE("render_text")
{
  const Plan p = test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url } });
  const auto f = evaluate(p, builtin_rules());
  const std::string plain = render_text(p, f, { false, false });
  CHECK_FALSE(contains(plain, "\x1b["));
  CHECK_FALSE(contains(plain, "postgrespassword"));
  CHECK(contains(plain, "DATABASE_URL  postgresql://postgres:****@localhost:5432/chat_backend_db?connection_limit=50"));
  const std::string coloured = render_text(p, f, { true, false });
  CHECK(contains(coloured, "\x1b[36minfo\x1b[0m"));
  const std::string explained = render_text(p, f, { false, true });
  CHECK(contains(explained, "Validation against the database\n  max_connections = 100\n"));

  SUBCASE("through PgBouncer with the server's URL: a line says what to do once PgBouncer runs")
  {
    const Plan pooled =
      test::plan({ { "vus", "120" }, { "query_ms", "150" }, { "database_url", k_seed_url }, { "transaction_pooling", "true" } });
    const std::string text = render_text(pooled, evaluate(pooled, builtin_rules()), { false, false });
    CHECK(contains(text,
                   "  DATABASE_URL  postgresql://postgres:****@localhost:5432/chat_backend_db?connection_limit=50&pool_timeout=30"
                   "&connect_timeout=10\n  note: " +
                     pgbouncer_address_note(pooled) + "\n"));
    CHECK_FALSE(pgbouncer_address_note(pooled).empty());
    const auto j = nlohmann::json::parse(render_json(pooled, evaluate(pooled, builtin_rules())));
    CHECK(j["settings"]["database_url_note"] == pgbouncer_address_note(pooled));
    CHECK(nlohmann::json::parse(render_json(p, f))["settings"]["database_url_note"].is_null());
  }
}

TEST_CASE("--explain: PgBouncer sized by the advisor's model names the advisor's objective")
{
  // 600 VUs x 0.70 x 0.150 s = 63 busy: the advisor sizes PgBouncer's server pool by the model
  // for its objective (rules advisor.objective) without any --target. The line once read the
  // --target that was never given.
  const Plan p = test::plan({ { "vus", "600" }, { "query_ms", "150" } });
  REQUIRE_FALSE(p.queueing.target);
  REQUIRE(p.queueing.fleet_target_pool);
  const std::string explained = render_text(p, evaluate(p, builtin_rules()), { false, true });
  CHECK(contains(explained,
                 fmt::format("default_pool_size wanted = the smallest pool meeting p99_wait<100ms for the whole load ({}) + 10 overhead",
                             *p.queueing.fleet_target_pool)));
}

TEST_CASE("render_markdown: values from the URL are quoted or left out")
{
  const Plan p = test::plan({ { "vus", "120" },
                              { "query_ms", "150" },
                              { "transaction_pooling", "true" },
                              { "database_url", "postgresql://u:p@h/a%27%3B%20DROP%20TABLE%20x%3B--?host=10.0.0.9&port=5433" } });
  const std::string md = render_markdown(p, evaluate(p, builtin_rules()));
  // The SQL literal doubles the quote; pgbouncer.ini gets a placeholder for the odd name and
  // the host and port libpq would use (the parameters override the authority).
  CHECK(contains(md, "WHERE datname = 'a''; DROP TABLE x;--' AND"));
  CHECK(contains(md, "your_db = host=10.0.0.9 port=5433 dbname=your_db\n"));
}

TEST_CASE("render_markdown")
{
  const Plan p =
    test::plan({ { "vus", "120" }, { "query_ms", "100,150,200" }, { "transaction_pooling", "true" }, { "max_connections", "200" } });
  const std::string md = render_markdown(p, evaluate(p, builtin_rules()));
  for (const char* section : { "## Inputs",
                               "## Calculation",
                               "## Scenarios",
                               "## Validation against the database",
                               "## Connection pool parameters",
                               "## PgBouncer",
                               "## Monitoring thresholds for this pool",
                               "## Findings",
                               "## Recommendation",
                               "## Progressive load test",
                               "## Next steps" }) {
    INFO(section);
    CHECK(contains(md, std::string("\n") + section + "\n"));
  }
  // seed, "PgBouncer Configuration Example" (it fits with max_connections 200).
  CHECK(contains(md,
                 "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 50\nmin_pool_size = 10\nreserve_pool_size = 10\n"
                 "reserve_pool_timeout = 5\n"));
  // seed, "Progressive Load Testing Strategy": 5 -> 10 -> 25 -> 50 -> 100 -> 120 VUs; 5 x 0.7 x 0.15 = 0.525.
  CHECK(contains(md, "| Baseline | 5 | 30s | 0.525 | `k6 run --vus 5 --duration 30s your-test.k6.js` |"));
  CHECK(contains(md, "| Target load | 120 | 870s | 12.6 |"));
}

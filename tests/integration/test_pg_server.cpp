// The test server itself: it starts, takes the settings asked for, authenticates TCP clients by
// password, and is gone afterwards.

#include "pg_server.hpp"
#include "pg_session.hpp"

#include <doctest/doctest.h>

#include <filesystem>

namespace poolcalc::test {

TEST_CASE("PgServer")
{
  std::string directory;
  {
    PgOptions options;
    options.max_connections = 37;
    options.superuser_reserved_connections = 4;
    PgServer server(options);
    directory = server.directory();
    CHECK(server.sql("SHOW max_connections") == "37\n");
    CHECK(server.sql("SHOW superuser_reserved_connections") == "4\n");
    CHECK(server.sql("SHOW listen_addresses") == "127.0.0.1\n");

    SUBCASE("a TCP client needs the right password")
    {
      PgSession session(server.conninfo(PgServer::k_superuser, PgServer::k_superuser_password, "postgres", "application_name=probe"));
      CHECK(session.exec("SELECT current_setting('application_name')") == "probe");
      CHECK_THROWS_WITH_AS(PgSession(server.conninfo(PgServer::k_superuser, "wrong", "postgres")),
                           doctest::Contains("password authentication failed"),
                           std::runtime_error);
    }
  }
  CHECK_FALSE(std::filesystem::exists(directory));
}

} // namespace poolcalc::test

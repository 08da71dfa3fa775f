#include "pg_session.hpp"

#include <libpq-fe.h>

#include <stdexcept>

namespace poolcalc::test {

PgSession::PgSession(const std::string& conninfo)
  : m_conn(PQconnectdb(conninfo.c_str()))
{
  if (PQstatus(m_conn) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(m_conn);
    PQfinish(m_conn);
    m_conn = nullptr;
    throw std::runtime_error("test session cannot connect: " + message);
  }
}

PgSession::~PgSession()
{
  if (m_conn != nullptr) {
    PQfinish(m_conn);
  }
}

std::string PgSession::exec(const std::string& sql)
{
  PGresult* result = PQexec(m_conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string message = PQerrorMessage(m_conn);
    PQclear(result);
    throw std::runtime_error("test session: " + sql + ": " + message);
  }
  std::string value;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && PQnfields(result) > 0) {
    value = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  return value;
}

std::vector<std::map<std::string, std::string>> PgSession::rows(const std::string& sql)
{
  PGresult* result = PQexec(m_conn, sql.c_str());
  if (PQresultStatus(result) != PGRES_TUPLES_OK) {
    const std::string message = PQerrorMessage(m_conn);
    PQclear(result);
    throw std::runtime_error("test session: " + sql + ": " + message);
  }
  std::vector<std::map<std::string, std::string>> rows;
  for (int row = 0; row < PQntuples(result); ++row) {
    std::map<std::string, std::string>& values = rows.emplace_back();
    for (int column = 0; column < PQnfields(result); ++column) {
      values[PQfname(result, column)] = PQgetvalue(result, row, column);
    }
  }
  PQclear(result);
  return rows;
}

int PgSession::backend_pid() const
{
  return PQbackendPID(m_conn);
}

} // namespace poolcalc::test

#pragma once
// libpq, the PostgreSQL client library, loaded at run time (dlopen) and only by `poolcalc
// inspect`: the sizing commands never pay for it at start-up (docs/architecture.md). The types
// come from libpq-fe.h; the functions from libpq.so.5 (Debian's libpq5).

#include <libpq-fe.h>

#include "poolcalc/expected.hpp"

#include <string>

namespace poolcalc::inspect {

struct Libpq
{
  decltype(&PQconnectdbParams) connectdb_params = nullptr;
  decltype(&PQstatus) status = nullptr;
  decltype(&PQerrorMessage) error_message = nullptr;
  decltype(&PQfinish) finish = nullptr;
  decltype(&PQexec) exec = nullptr;
  decltype(&PQresultStatus) result_status = nullptr;
  decltype(&PQresultErrorField) result_error_field = nullptr;
  decltype(&PQresultErrorMessage) result_error_message = nullptr;
  decltype(&PQntuples) ntuples = nullptr;
  decltype(&PQnfields) nfields = nullptr;
  decltype(&PQgetvalue) getvalue = nullptr;
  decltype(&PQgetisnull) getisnull = nullptr;
  decltype(&PQclear) clear = nullptr;
  decltype(&PQbackendPID) backend_pid = nullptr;
  decltype(&PQconndefaults) conndefaults = nullptr;
  decltype(&PQconninfoFree) conninfo_free = nullptr;
};

// Loads libpq once per process ($POOLCALC_LIBPQ, else libpq.so.5). Returns an error string
// naming the library and the package to install when it cannot be loaded.
poolcalc::expected<const Libpq*, std::string> load_libpq();

} // namespace poolcalc::inspect

#pragma once
// libpq, the PostgreSQL client library, loaded at run time (dlopen) and only by `poolcalc
// inspect`: the sizing commands never pay for it at start-up (docs/architecture.md). The types
// come from libpq-fe.h; the functions from libpq.so.5 (Debian's libpq5).

#include <libpq-fe.h>

#include "poolcalc/expected.hpp"

#include <string>

namespace poolcalc::inspect {

// Only libpq's asynchronous calls talk to the server, so poolcalc waits on the socket itself
// (poll) and gives up at its own deadline, whatever the server does (read_server.cpp).
struct Libpq
{
  decltype(&PQconnectStartParams) connect_start_params = nullptr;
  decltype(&PQconnectPoll) connect_poll = nullptr;
  decltype(&PQsocket) socket = nullptr;
  decltype(&PQsetnonblocking) set_nonblocking = nullptr;
  decltype(&PQsendQuery) send_query = nullptr;
  decltype(&PQflush) flush = nullptr;
  decltype(&PQconsumeInput) consume_input = nullptr;
  decltype(&PQisBusy) is_busy = nullptr;
  decltype(&PQgetResult) get_result = nullptr;
  decltype(&PQstatus) status = nullptr;
  decltype(&PQerrorMessage) error_message = nullptr;
  decltype(&PQfinish) finish = nullptr;
  decltype(&PQresultStatus) result_status = nullptr;
  decltype(&PQresultErrorField) result_error_field = nullptr;
  decltype(&PQresultErrorMessage) result_error_message = nullptr;
  decltype(&PQntuples) ntuples = nullptr;
  decltype(&PQnfields) nfields = nullptr;
  decltype(&PQfname) fname = nullptr;
  decltype(&PQgetvalue) getvalue = nullptr;
  decltype(&PQgetisnull) getisnull = nullptr;
  decltype(&PQclear) clear = nullptr;
  decltype(&PQbackendPID) backend_pid = nullptr;
  decltype(&PQconndefaults) conndefaults = nullptr;
  decltype(&PQconninfoFree) conninfo_free = nullptr;
  decltype(&PQsetNoticeProcessor) set_notice_processor = nullptr;
};

// Loads libpq once per process ($POOLCALC_LIBPQ, else libpq.so.5). Returns an error string
// naming the library and the package to install when it cannot be loaded.
poolcalc::expected<const Libpq*, std::string> load_libpq();

} // namespace poolcalc::inspect

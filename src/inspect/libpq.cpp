#include "libpq.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string_view>

namespace poolcalc::inspect {

namespace {

template<typename Function>
bool bind(void* handle, const char* name, Function& slot, std::string& missing)
{
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    missing = name;
    return false;
  }
  slot = reinterpret_cast<Function>(symbol);
  return true;
}

poolcalc::expected<Libpq, std::string> open()
{
  const char* configured = std::getenv("POOLCALC_LIBPQ");
  const std::string path = configured != nullptr && *configured != '\0' ? configured : "libpq.so.5";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return poolcalc::unexpected("cannot load the PostgreSQL client library " + path + " (install libpq5: apt-get install libpq5)" +
                                (why != nullptr ? std::string(": ") + why : std::string()));
  }
  Libpq lib;
  std::string missing;
  const bool ok =
    bind(handle, "PQconnectStartParams", lib.connect_start_params, missing) && bind(handle, "PQconnectPoll", lib.connect_poll, missing) &&
    bind(handle, "PQsocket", lib.socket, missing) && bind(handle, "PQsetnonblocking", lib.set_nonblocking, missing) &&
    bind(handle, "PQsendQuery", lib.send_query, missing) && bind(handle, "PQflush", lib.flush, missing) &&
    bind(handle, "PQconsumeInput", lib.consume_input, missing) && bind(handle, "PQisBusy", lib.is_busy, missing) &&
    bind(handle, "PQgetResult", lib.get_result, missing) && bind(handle, "PQstatus", lib.status, missing) &&
    bind(handle, "PQerrorMessage", lib.error_message, missing) && bind(handle, "PQfinish", lib.finish, missing) &&
    bind(handle, "PQresultStatus", lib.result_status, missing) && bind(handle, "PQresultErrorField", lib.result_error_field, missing) &&
    bind(handle, "PQresultErrorMessage", lib.result_error_message, missing) && bind(handle, "PQntuples", lib.ntuples, missing) &&
    bind(handle, "PQnfields", lib.nfields, missing) && bind(handle, "PQfname", lib.fname, missing) &&
    bind(handle, "PQgetvalue", lib.getvalue, missing) && bind(handle, "PQgetisnull", lib.getisnull, missing) &&
    bind(handle, "PQclear", lib.clear, missing) && bind(handle, "PQbackendPID", lib.backend_pid, missing) &&
    bind(handle, "PQconndefaults", lib.conndefaults, missing) && bind(handle, "PQconninfoFree", lib.conninfo_free, missing) &&
    bind(handle, "PQsetNoticeProcessor", lib.set_notice_processor, missing);
  if (!ok) {
    dlclose(handle);
    return poolcalc::unexpected("the PostgreSQL client library " + path + " lacks " + missing + " (libpq 10 or later is needed)");
  }
  return lib; // the handle stays open for the process's life
}

} // namespace

poolcalc::expected<const Libpq*, std::string> load_libpq()
{
  static const poolcalc::expected<Libpq, std::string> loaded = open();
  if (!loaded) {
    return poolcalc::unexpected(loaded.error());
  }
  return &*loaded;
}

} // namespace poolcalc::inspect

#include "read_server.hpp"

#include "libpq.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace poolcalc::inspect {

namespace {

// Every query carries this tag, so the inspection's own statements are left out of the
// pg_stat_statements figures it reads.
constexpr const char* k_tag = "/* poolcalc inspect */ ";

// How much of each statement's text is read (characters): its literals are masked on this
// prefix, before the 120 characters shown are cut from it, so no cut shows half a literal; a
// literal the prefix cuts is masked to its end.
constexpr int k_statement_prefix_chars = 1024;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// poolcalc prints one line.
std::string one_line(std::string_view text)
{
  return compact_whitespace(text);
}

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double seconds)
{
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

enum class Wait
{
  ready,
  timed_out,
  failed,
};

// Waits until `fd` is ready for `events` (or in error: libpq then reads the error) or `deadline`
// passes. The only place the inspection waits for the server.
Wait wait_for(int fd, short events, Clock::time_point deadline)
{
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return Wait::timed_out;
    }
    pollfd p{ fd, events, 0 };
    const int n = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, std::numeric_limits<int>::max())));
    if (n > 0) {
      return Wait::ready;
    }
    if (n < 0 && errno != EINTR) {
      return Wait::failed;
    }
  }
}

// Why a query got no rows: the server's error (its SQLSTATE and message), the connection's, or
// no answer before the deadline.
struct QueryError
{
  std::string state;
  std::string message;
  bool timed_out = false;
};

class Connection
{
public:
  Connection(const Libpq& lib, PGconn* conn)
    : m_lib(lib)
    , m_conn(conn)
  {
  }
  // PQfinish sends Terminate without waiting: the connection is non-blocking by then.
  ~Connection() { m_lib.finish(m_conn); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  struct Rows
  {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
  };

  // Completes the connection PQconnectStartParams began, by `deadline`; else an error that is
  // `timed_out` or carries libpq's message.
  poolcalc::expected<void, QueryError> complete(Clock::time_point deadline)
  {
    PostgresPollingStatusType state = PGRES_POLLING_WRITING; // libpq's docs: as if it had returned WRITING
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED) {
        return poolcalc::unexpected(connection_error());
      }
      // libpq may open a new socket (the next host, a retry without TLS): asked each time.
      const int fd = m_lib.socket(m_conn);
      if (fd < 0) {
        return poolcalc::unexpected(connection_error());
      }
      const Wait wait = wait_for(fd, state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
      if (wait != Wait::ready) {
        return poolcalc::unexpected(wait_error(wait));
      }
      state = m_lib.connect_poll(m_conn);
    }
    if (m_lib.set_nonblocking(m_conn, 1) != 0) {
      return poolcalc::unexpected(connection_error());
    }
    return {};
  }

  // Every statement from now on must be answered by `deadline`.
  void answer_by(Clock::time_point deadline) { m_deadline = deadline; }

  // Runs one statement.
  poolcalc::expected<Rows, QueryError> exec(const std::string& sql) { return exec_untagged(k_tag + sql); }

  // Runs one statement as it is: PgBouncer's admin console takes no comments.
  poolcalc::expected<Rows, QueryError> exec_untagged(const std::string& tagged)
  {
    if (m_lib.send_query(m_conn, tagged.c_str()) == 0) {
      return poolcalc::unexpected(connection_error());
    }
    // Non-blocking: libpq sends what the socket takes; the rest when it is writable again,
    // reading meanwhile so the server is never stuck writing to us (libpq's docs, PQflush).
    while (true) {
      const int flushed = m_lib.flush(m_conn);
      if (flushed == 0) {
        break;
      }
      if (flushed < 0) {
        return poolcalc::unexpected(connection_error());
      }
      const Wait wait = wait_for(m_lib.socket(m_conn), POLLIN | POLLOUT, m_deadline);
      if (wait != Wait::ready) {
        return poolcalc::unexpected(wait_error(wait));
      }
      if (m_lib.consume_input(m_conn) == 0) {
        return poolcalc::unexpected(connection_error());
      }
    }
    std::optional<Rows> rows;
    bool tuples = false;
    std::optional<QueryError> error;
    while (true) {
      while (m_lib.is_busy(m_conn) != 0) {
        const Wait wait = wait_for(m_lib.socket(m_conn), POLLIN, m_deadline);
        if (wait != Wait::ready) {
          return poolcalc::unexpected(wait_error(wait));
        }
        if (m_lib.consume_input(m_conn) == 0) {
          return poolcalc::unexpected(connection_error());
        }
      }
      PGresult* result = m_lib.get_result(m_conn);
      if (result == nullptr) {
        break; // the statement is done
      }
      const ExecStatusType status = m_lib.result_status(result);
      if (status == PGRES_TUPLES_OK && !tuples) {
        // The first statement that returns rows is the answer (a read-only transaction wrapped
        // around it returns none).
        rows = read_rows(result);
        tuples = true;
      } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (!rows) {
          rows = read_rows(result);
        }
      } else if (!error) {
        const char* state = m_lib.result_error_field(result, PG_DIAG_SQLSTATE);
        const char* primary = m_lib.result_error_field(result, PG_DIAG_MESSAGE_PRIMARY);
        error = QueryError{ state != nullptr ? state : "", one_line(primary != nullptr ? primary : m_lib.result_error_message(result)) };
      }
      m_lib.clear(result);
    }
    if (error) {
      return poolcalc::unexpected(*error);
    }
    return rows.value_or(Rows{});
  }

  int backend_pid() const { return m_lib.backend_pid(m_conn); }

private:
  QueryError connection_error() const { return QueryError{ "", one_line(m_lib.error_message(m_conn)) }; }

  static QueryError wait_error(Wait wait)
  {
    if (wait == Wait::timed_out) {
      return QueryError{ "", "", true };
    }
    return QueryError{ "", fmt::format("waiting for the server failed: {}", std::strerror(errno)) };
  }

  Rows read_rows(const PGresult* result) const
  {
    Rows rows;
    const int n = m_lib.ntuples(result);
    const int fields = m_lib.nfields(result);
    for (int j = 0; j < fields; ++j) {
      const char* name = m_lib.fname(result, j);
      rows.columns.emplace_back(name != nullptr ? name : "");
    }
    for (int i = 0; i < n; ++i) {
      auto& row = rows.rows.emplace_back();
      for (int j = 0; j < fields; ++j) {
        if (m_lib.getisnull(result, i, j) != 0) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(m_lib.getvalue(result, i, j)));
        }
      }
    }
    return rows;
  }

  const Libpq& m_lib;
  PGconn* m_conn;
  Clock::time_point m_deadline;
};

std::int64_t to_int(const std::optional<std::string>& text, std::int64_t fallback = 0)
{
  if (!text) {
    return fallback;
  }
  std::int64_t value = fallback;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return ec == std::errc() && end == text->data() + text->size() ? value : fallback;
}

std::optional<double> to_double(const std::optional<std::string>& text)
{
  if (!text) {
    return std::nullopt;
  }
  auto parsed = parse_number(*text, -1e300, 1e300);
  if (!parsed || !std::isfinite(*parsed)) {
    return std::nullopt;
  }
  return *parsed;
}

std::string text_of(const std::optional<std::string>& text)
{
  return text.value_or("");
}

// libpq's connection keywords (PQconndefaults), so a URL's other parameters (Prisma's
// connection_limit, pool_timeout, pgbouncer, schema, ...) are dropped before libpq sees them.
std::set<std::string, std::less<>> libpq_keywords(const Libpq& lib)
{
  std::set<std::string, std::less<>> keywords;
  if (PQconninfoOption* options = lib.conndefaults(); options != nullptr) {
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      keywords.insert(o->keyword);
    }
    lib.conninfo_free(options);
  }
  return keywords;
}

// A libpq message with every secret of the URL masked: libpq may quote a value it could not
// decode ("forbidden value %00 in percent-encoded value: ..."), which mask_passwords alone would
// not recognise.
std::string scrub(const DatabaseUrl& url, std::string text)
{
  text = mask_passwords(text);
  for (const std::string& secret : url.secrets()) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 4)) {
      text.replace(at, secret.size(), "****");
    }
  }
  return text;
}

// Where the notice processor sends a server's notices.
struct NoticeSink
{
  const DatabaseUrl* url = nullptr;
  const std::function<void(const std::string&)>& to;
};

void pass_notice(void* arg, const char* message)
{
  const NoticeSink& sink = *static_cast<const NoticeSink*>(arg);
  if (sink.to && message != nullptr) {
    sink.to(scrub(*sink.url, one_line(message)));
  }
}

// "1.10" -> 110, "1.8" -> 108: pg_stat_statements' extension version, for its column names.
int extension_version(const std::string& text)
{
  const std::size_t dot = text.find('.');
  const std::int64_t major = to_int(text.substr(0, dot), 0);
  const std::int64_t minor = dot == std::string::npos ? 0 : to_int(text.substr(dot + 1), 0);
  return static_cast<int>(major * 100 + minor);
}

// What a failed step of the inspection says: the server did not answer in time, or its error
// (scrubbed of the URL's secrets).
struct Lost
{
  const std::string& server;
  const DatabaseUrl& url;
  std::string statement_timeout;

  poolcalc::unexpected<std::string> error(const QueryError& error) const
  {
    if (error.timed_out) {
      return poolcalc::unexpected(fmt::format("inspecting {}: the server did not answer within {} s (inspect.statement_timeout_ms); the "
                                              "connection was closed",
                                              server,
                                              statement_timeout));
    }
    return poolcalc::unexpected(fmt::format("inspecting {}: {}", server, scrub(url, error.message)));
  }
};

// Opens the connection by the connect timeout, with the server's notices going to `sink`.
poolcalc::expected<std::unique_ptr<Connection>, std::string> connect(const Libpq& lib,
                                                                     const DatabaseUrl& url,
                                                                     const std::string& server,
                                                                     const ReadOptions& options,
                                                                     const NoticeSink& sink)
{
  const std::set<std::string, std::less<>> keywords = libpq_keywords(lib);
  const DatabaseUrl libpq_url =
    url.keep_params([&](std::string_view key) { return keywords.contains(key) && key != "application_name" && key != "options"; });
  // The URL first (expanded by libpq), then poolcalc's own settings, which override it. libpq's
  // connect_timeout is not passed: only its blocking calls read it; poolcalc's deadlines bound
  // the asynchronous ones it uses.
  const std::string url_text = libpq_url.to_string();
  const char* keys[] = { "dbname", "application_name", nullptr };
  const char* values[] = { url_text.c_str(), "poolcalc", nullptr };
  const std::string connect_timeout = format_number(options.connect_timeout_s);
  if (options.progress) {
    options.progress(fmt::format("connecting to {} (connect timeout {} s, {})", server, connect_timeout, options.connect_timeout_source));
  }
  const Clock::time_point connect_deadline = deadline_after(options.connect_timeout_s);
  PGconn* raw = lib.connect_start_params(keys, values, 1);
  if (raw == nullptr) {
    return poolcalc::unexpected(fmt::format("cannot connect to {}: out of memory", server));
  }
  // A server's notices (a WARNING, say) are text from the network: libpq's default processor
  // prints them raw, terminal controls included. poolcalc passes them on as one masked line, or
  // drops them. The sink outlives the connection (the caller's).
  auto conn = std::make_unique<Connection>(lib, raw);
  lib.set_notice_processor(raw, &pass_notice, const_cast<NoticeSink*>(&sink));
  if (lib.status(raw) == CONNECTION_BAD) { // a URL libpq cannot use
    return poolcalc::unexpected(fmt::format("cannot connect to {}: {}", server, scrub(url, one_line(lib.error_message(raw)))));
  }
  if (auto connected = conn->complete(connect_deadline); !connected) {
    if (connected.error().timed_out) {
      return poolcalc::unexpected(fmt::format("cannot connect to {}: the server did not complete the connection within {} s ({}); the "
                                              "connection was closed",
                                              server,
                                              connect_timeout,
                                              options.connect_timeout_source));
    }
    return poolcalc::unexpected(fmt::format("cannot connect to {}: {}", server, scrub(url, connected.error().message)));
  }
  return conn;
}

// The version (10 or later) and the settings that decide the slots.
poolcalc::expected<void, std::string> read_settings(Connection& conn, const Lost& lost, ServerSnapshot& s)
{
  const std::string& server = lost.server;
  // PostgreSQL 10 or later: pg_stat_activity.backend_type and pg_read_all_stats are 10's.
  auto version = conn.exec("SELECT current_setting('server_version_num'), current_setting('server_version')");
  if (!version) {
    return lost.error(version.error());
  }
  if (to_int(version->rows.at(0)[0]) < 100000) {
    return poolcalc::unexpected(
      fmt::format("{}: PostgreSQL {} is too old for poolcalc inspect (10 or later)", server, text_of(version->rows.at(0)[1])));
  }
  auto settings = conn.exec("SELECT current_setting('server_version_num'), current_setting('server_version'), "
                            "current_setting('max_connections'), current_setting('superuser_reserved_connections'), "
                            "current_setting('reserved_connections', true), current_setting('max_wal_senders'), current_user, "
                            "current_database(), "
                            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
                            // Who sees other sessions: privileges of the role since 14, membership before.
                            "OR pg_has_role(current_user, 'pg_read_all_stats', "
                            "CASE WHEN current_setting('server_version_num')::int >= 140000 THEN 'USAGE' ELSE 'MEMBER' END)");
  if (!settings) {
    return lost.error(settings.error());
  }
  const auto& row = settings->rows.at(0);
  s.version_num = to_int(row[0]);
  s.version_string = text_of(row[1]);
  // "15.18" from 150018 (PostgreSQL 10 and later number versions major x 10000 + minor).
  s.version = s.version_num >= 100000 ? fmt::format("{}.{}", s.version_num / 10000, s.version_num % 10000) : s.version_string;
  s.max_connections = to_int(row[2]);
  s.superuser_reserved_connections = to_int(row[3]);
  if (row[4]) {
    s.reserved_connections = to_int(row[4]);
  }
  s.max_wal_senders = to_int(row[5]);
  s.current_user = text_of(row[6]);
  s.current_database = text_of(row[7]);
  s.can_read_all_stats = text_of(row[8]) == "t";

  return {};
}

// Client backends of pg_stat_activity.
poolcalc::expected<void, std::string> read_activity(Connection& conn, const Lost& lost, ServerSnapshot& s)
{
  // Client backends. Another role's session, without pg_read_all_stats, shows only its pid,
  // database, user and application_name: backend_type, state and times are NULL. Such a row
  // with a database is counted as a client connection whose state is unknown.
  auto activity = conn.exec("SELECT pid, datname, usename, application_name, backend_type IS NOT NULL, state, "
                            "CASE WHEN client_addr IS NOT NULL THEN host(client_addr) "
                            "WHEN client_port = -1 THEN 'local' END, "
                            // clock_timestamp(), not now() (the transaction's start, before this snapshot).
                            "greatest(extract(epoch FROM clock_timestamp() - backend_start), 0), "
                            "greatest(extract(epoch FROM clock_timestamp() - state_change), 0), "
                            "greatest(extract(epoch FROM clock_timestamp() - xact_start), 0) "
                            "FROM pg_stat_activity "
                            "WHERE backend_type = 'client backend' OR (backend_type IS NULL AND datname IS NOT NULL)");
  if (!activity) {
    return lost.error(activity.error());
  }
  for (const auto& r : activity->rows) {
    Backend b;
    b.pid = to_int(r[0]);
    b.database = text_of(r[1]);
    b.user = text_of(r[2]);
    b.application = text_of(r[3]);
    b.visible = text_of(r[4]) == "t";
    b.state = text_of(r[5]);
    b.client = text_of(r[6]);
    b.connection_age_s = to_double(r[7]);
    b.state_age_s = to_double(r[8]);
    b.transaction_age_s = to_double(r[9]);
    s.backends.push_back(std::move(b));
  }

  return {};
}

// pg_stat_statements, when this database has it: its rows, or why not.
poolcalc::expected<void, std::string> read_statements(Connection& conn, const Lost& lost, ServerSnapshot& s)
{
  auto installed = conn.exec("SELECT e.extversion, quote_ident(n.nspname) FROM pg_extension e "
                             "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'");
  if (!installed) {
    return lost.error(installed.error());
  }
  if (installed->rows.empty()) {
    s.statements_status = StatementsStatus::not_installed;
  } else {
    // The extension's version decides its columns (a pg_upgrade keeps the old version until
    // ALTER EXTENSION ... UPDATE): *_exec_time from 1.8, `toplevel` from 1.9. The view is
    // qualified with the extension's schema, which need not be on the search_path.
    const int ext = extension_version(text_of(installed->rows.at(0)[0]));
    const std::string view = text_of(installed->rows.at(0)[1]) + ".pg_stat_statements";
    const std::string suffix = ext >= 108 ? "_exec_time" : "_time";
    const std::string toplevel = ext >= 109 ? "AND toplevel " : "";
    if (auto r = conn.exec("SAVEPOINT statements"); !r) {
      return lost.error(r.error());
    }
    // The sums over every statement come from window functions, before the LIMIT (5000:
    // pg_stat_statements.max's default, the most rows the view holds unless raised).
    // Statements that can carry a credential (CREATE ROLE ... PASSWORD and the like, kept as
    // typed) that begin so, behind plain comments, are withheld here already: their text does not
    // leave the server, and they are left out of the sums like transaction control. The regular
    // expression cannot follow nested comments or a second statement in the same text: those
    // come across and add_statement() withholds them, with PostgreSQL's lexing, before anything
    // is shown; it masks the literals, comments and numbers of the rest before cutting them to
    // 120 characters: hence a longer prefix here.
    auto rows = conn.exec(fmt::format(
      R"sql(SELECT calls, mean_ms, stddev_ms, max_ms, total_ms, CASE WHEN NOT withheld THEN coalesce(left(query, {4}), '') END, )sql"
      R"sql(sum(calls) FILTER (WHERE NOT withheld) OVER (), sum(total_ms) FILTER (WHERE NOT withheld) OVER () )sql"
      R"sql(FROM (SELECT calls, mean{0} AS mean_ms, stddev{0} AS stddev_ms, max{0} AS max_ms, total{0} AS total_ms, query, )sql"
      R"sql(coalesce(query ~* E'^\\s*(/\\*([^*]|\\*+[^*/])*\\*+/\\s*|--[^\\n]*\\n\\s*)*(create|alter)\\s+)sql"
      R"sql((role|user|group|server|subscription|foreign\\s+data\\s+wrapper)\\M', false) AS withheld )sql"
      R"sql(FROM {3} WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) {1})sql"
      R"sql(AND calls > 0 AND query NOT LIKE '{2}%' )sql"
      R"sql(AND query !~* E'^\\s*(begin|commit|rollback|end|abort|start\\s+transaction|savepoint|release|set|reset|show|)sql"
      R"sql(discard|deallocate|listen|unlisten|prepare\\s+transaction)\\M') AS s )sql"
      R"sql(ORDER BY total_ms DESC LIMIT 5000)sql",
      suffix,
      toplevel,
      "/* poolcalc inspect */",
      view,
      k_statement_prefix_chars));
    if (rows) {
      s.statements_status = StatementsStatus::available;
      if (!rows->rows.empty()) { // the sums, the same on every row
        s.statements_calls = to_int(rows->rows.front()[6]);
        s.statements_total_ms = to_double(rows->rows.front()[7]).value_or(0);
      }
      for (const auto& r : rows->rows) {
        StatementStat stat;
        stat.calls = to_int(r[0]);
        stat.mean_ms = to_double(r[1]).value_or(0);
        stat.stddev_ms = to_double(r[2]).value_or(0);
        stat.max_ms = to_double(r[3]).value_or(0);
        stat.total_ms = to_double(r[4]).value_or(0);
        add_statement(s, std::move(stat), r[5]);
      }
    } else if (rows.error().state == "55000") { // object_not_in_prerequisite_state: not in shared_preload_libraries
      s.statements_status = StatementsStatus::not_loaded;
    } else if (rows.error().timed_out || rows.error().state == "57P01" || rows.error().state.empty()) {
      return lost.error(rows.error()); // the server went away
    } else {
      s.statements_status = StatementsStatus::not_readable;
      s.statements_error = rows.error().message;
    }
    if (!rows) {
      if (auto r = conn.exec("ROLLBACK TO SAVEPOINT statements"); !r) {
        return lost.error(r.error());
      }
    }
  }
  return {};
}

} // namespace

poolcalc::expected<ServerSnapshot, std::string> read_server(const DatabaseUrl& url, const ReadOptions& options)
{
  auto loaded = load_libpq();
  if (!loaded) {
    return poolcalc::unexpected(loaded.error());
  }
  const std::string server = url.masked();
  const NoticeSink sink{ &url, options.notice };
  auto connected = connect(**loaded, url, server, options, sink);
  if (!connected) {
    return poolcalc::unexpected(connected.error());
  }
  Connection& conn = **connected;
  // Everything after the connection, BEGIN to COMMIT, within one statement timeout. The server's
  // SET LOCAL statement_timeout below stops a query that outlives an inspection given up on.
  conn.answer_by(deadline_after(static_cast<double>(options.statement_timeout_ms) / 1000.0));
  const Lost lost{ server, url, format_number(static_cast<double>(options.statement_timeout_ms) / 1000.0) };

  ServerSnapshot s;
  s.server = server;
  s.own_pid = conn.backend_pid();
  // One read-only transaction: nothing the inspection runs can change the server.
  if (auto r = conn.exec("BEGIN TRANSACTION READ ONLY"); !r) {
    return lost.error(r.error());
  }
  if (auto r = conn.exec(fmt::format("SET LOCAL statement_timeout = {}", options.statement_timeout_ms)); !r) {
    return lost.error(r.error());
  }
  if (options.progress) {
    options.progress("reading settings and pg_stat_activity");
  }
  if (auto r = read_settings(conn, lost, s); !r) {
    return poolcalc::unexpected(r.error());
  }
  if (auto r = read_activity(conn, lost, s); !r) {
    return poolcalc::unexpected(r.error());
  }
  if (options.progress) {
    options.progress("reading pg_stat_statements");
  }
  if (auto r = read_statements(conn, lost, s); !r) {
    return poolcalc::unexpected(r.error());
  }
  if (auto r = conn.exec("COMMIT"); !r) {
    return lost.error(r.error());
  }
  return s;
}

namespace {

// A column of a row by name; "" when absent.
std::optional<std::string> column(const Connection::Rows& rows, const std::vector<std::optional<std::string>>& row, std::string_view name)
{
  for (std::size_t j = 0; j < rows.columns.size() && j < row.size(); ++j) {
    if (rows.columns[j] == name) {
      return row[j];
    }
  }
  return std::nullopt;
}

// The session's own statements are left out of what it samples (its backend, its tag). A state
// can change after the statement began: ages run to clock_timestamp(), not now(), and are never
// negative.
constexpr const char* k_activity_sql =
  "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE state = 'idle'), "
  "count(*) FILTER (WHERE state LIKE 'idle in transaction%'), "
  "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'), "
  "GREATEST(0, COALESCE(EXTRACT(EPOCH FROM max(clock_timestamp() - state_change) FILTER (WHERE state LIKE 'idle in transaction%')), 0)) "
  "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()";

// Every statement of the sampler runs alone in a read-only transaction with its own statement
// timeout (SET LOCAL): through PgBouncer in transaction mode a session setting would stay on a
// server connection other clients get next.
std::string guarded(std::string_view sql, std::int64_t statement_timeout_ms)
{
  return fmt::format("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}; {}; COMMIT", statement_timeout_ms, sql);
}

// Statements of the database, transaction control left out (a BEGIN and a COMMIT around one
// query are not three queries); total_exec_time from pg_stat_statements 1.8 (PostgreSQL 13), else
// total_time.
constexpr const char* k_statements_sql =
  "SELECT COALESCE(sum(calls), 0), COALESCE(sum({}), 0) FROM pg_stat_statements "
  "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '/* poolcalc inspect */%' "
  "AND query !~* '^\\s*(BEGIN|START TRANSACTION|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\\y'";

std::optional<StatementTotals> read_statement_totals(Connection& conn, std::int64_t statement_timeout_ms)
{
  for (const char* column : { "total_exec_time", "total_time" }) {
    auto r = conn.exec(guarded(fmt::format(k_statements_sql, column), statement_timeout_ms));
    if (r && !r->rows.empty()) {
      return StatementTotals{ to_int(r->rows[0][0]), to_double(r->rows[0][1]).value_or(0.0) };
    }
    if (!r && r.error().timed_out) {
      return std::nullopt;
    }
    // A statement that fails ends the query string before its COMMIT: the aborted transaction
    // is rolled back before anything else is sent.
    if (auto rolled_back = conn.exec("ROLLBACK"); !rolled_back) {
      return std::nullopt;
    }
  }
  return std::nullopt; // no pg_stat_statements here: the figures come from elsewhere
}

// SHOW STATS_TOTALS' row for `database` (times in microseconds).
poolcalc::expected<std::optional<PgBouncerTotals>, QueryError> read_pgbouncer_totals(Connection& admin, const std::string& database)
{
  auto r = admin.exec_untagged("SHOW STATS_TOTALS");
  if (!r) {
    return poolcalc::unexpected(r.error());
  }
  for (const auto& row : r->rows) {
    if (text_of(column(*r, row, "database")) == database) {
      return std::optional<PgBouncerTotals>(PgBouncerTotals{ to_int(column(*r, row, "xact_count")),
                                                             to_int(column(*r, row, "query_count")),
                                                             to_int(column(*r, row, "xact_time")),
                                                             to_int(column(*r, row, "query_time")),
                                                             to_int(column(*r, row, "wait_time")) });
    }
  }
  return std::optional<PgBouncerTotals>();
}

// SHOW POOLS' rows for `database`, summed over its users, into `s`.
poolcalc::expected<void, QueryError> read_pools(Connection& admin, const std::string& database, DoctorSample& s)
{
  auto r = admin.exec_untagged("SHOW POOLS");
  if (!r) {
    return poolcalc::unexpected(r.error());
  }
  s.pgbouncer = true;
  for (const auto& row : r->rows) {
    if (text_of(column(*r, row, "database")) != database) {
      continue;
    }
    s.cl_active += to_int(column(*r, row, "cl_active"));
    s.cl_waiting += to_int(column(*r, row, "cl_waiting"));
    s.sv_active += to_int(column(*r, row, "sv_active"));
    s.sv_idle += to_int(column(*r, row, "sv_idle")) + to_int(column(*r, row, "sv_used"));
    const double wait =
      static_cast<double>(to_int(column(*r, row, "maxwait"))) + static_cast<double>(to_int(column(*r, row, "maxwait_us"))) / 1e6;
    s.maxwait_s = std::max(s.maxwait_s, wait);
  }
  return {};
}

// pool_size, max_db_connections (SHOW DATABASES' max_connections), max_client_conn and
// query_wait_timeout; `alias` becomes PgBouncer's name for the database (an entry named as it,
// else the first whose dbname it is), the name SHOW POOLS and SHOW STATS_TOTALS go by.
poolcalc::expected<void, QueryError> read_pgbouncer_limits(Connection& admin, const std::string& database, Capture& c, std::string& alias)
{
  auto config = admin.exec_untagged("SHOW CONFIG");
  if (!config) {
    return poolcalc::unexpected(config.error());
  }
  std::int64_t default_pool_size = 0;
  for (const auto& row : config->rows) {
    const std::string key = text_of(column(*config, row, "key"));
    if (key == "default_pool_size") {
      default_pool_size = to_int(column(*config, row, "value"));
    } else if (key == "max_client_conn") {
      c.max_client_conn = to_int(column(*config, row, "value"));
    } else if (key == "max_db_connections") {
      c.max_db_connections = to_int(column(*config, row, "value"));
    } else if (key == "query_wait_timeout") {
      c.query_wait_timeout_s = to_double(column(*config, row, "value"));
    }
  }
  c.pool_size = default_pool_size;
  auto databases = admin.exec_untagged("SHOW DATABASES");
  if (!databases) {
    return poolcalc::unexpected(databases.error());
  }
  alias = database;
  const auto named = std::find_if(
    databases->rows.begin(), databases->rows.end(), [&](const auto& row) { return text_of(column(*databases, row, "name")) == database; });
  if (named == databases->rows.end()) {
    for (const auto& row : databases->rows) {
      if (text_of(column(*databases, row, "database")) == database) {
        alias = text_of(column(*databases, row, "name"));
        break;
      }
    }
  }
  for (const auto& row : databases->rows) {
    if (text_of(column(*databases, row, "name")) != alias) {
      continue;
    }
    if (const std::int64_t size = to_int(column(*databases, row, "pool_size"), -1); size > 0) {
      c.pool_size = size;
    }
    if (const std::int64_t limit = to_int(column(*databases, row, "max_connections"), -1); limit > 0) {
      c.max_db_connections = limit;
    }
  }
  return {};
}

} // namespace

poolcalc::expected<Capture, std::string> sample_live(const DatabaseUrl& url,
                                                     const std::optional<DatabaseUrl>& pgbouncer_admin,
                                                     const SampleOptions& options)
{
  auto loaded = load_libpq();
  if (!loaded) {
    return poolcalc::unexpected(loaded.error());
  }
  const std::string server = url.masked();
  const NoticeSink sink{ &url, options.read.notice };
  auto connected = connect(**loaded, url, server, options.read, sink);
  if (!connected) {
    return poolcalc::unexpected(connected.error());
  }
  Connection& conn = **connected;
  const double statement_s = static_cast<double>(options.read.statement_timeout_ms) / 1000.0;
  const Lost lost{ server, url, format_number(statement_s) };
  conn.answer_by(deadline_after(statement_s));
  // Read-only by the session's default, and every statement bounded on the server too.
  const std::int64_t timeout_ms = options.read.statement_timeout_ms;

  Capture c;
  c.source = "live: " + server;
  auto db = conn.exec(guarded("SELECT current_database(), current_setting('max_connections')::int", timeout_ms));
  if (!db) {
    return lost.error(db.error());
  }
  c.database = text_of(db->rows.at(0).at(0));
  c.max_connections = to_int(db->rows.at(0).at(1));

  std::unique_ptr<Connection> admin;
  std::string admin_server;
  std::optional<NoticeSink> admin_sink;
  if (pgbouncer_admin) {
    admin_server = pgbouncer_admin->masked();
    admin_sink.emplace(NoticeSink{ &*pgbouncer_admin, options.read.notice });
    auto opened = connect(**loaded, *pgbouncer_admin, admin_server, options.read, *admin_sink);
    if (!opened) {
      return poolcalc::unexpected(opened.error());
    }
    admin = std::move(*opened);
  }
  const Lost admin_lost{ admin_server, pgbouncer_admin ? *pgbouncer_admin : url, format_number(statement_s) };
  std::string alias = c.database;
  if (admin) {
    admin->answer_by(deadline_after(statement_s));
    if (auto r = read_pgbouncer_limits(*admin, c.database, c, alias); !r) {
      return admin_lost.error(r.error());
    }
    auto start = read_pgbouncer_totals(*admin, alias);
    if (!start) {
      return admin_lost.error(start.error());
    }
    c.pgbouncer_start = *start;
  }
  conn.answer_by(deadline_after(statement_s));
  c.statements_start = read_statement_totals(conn, timeout_ms);

  const Clock::time_point began = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - began).count(); };
  // Bounded by --duration: a sample is not begun once the window is over, however slow the server
  // answered the ones before (each is bounded by the statement timeout).
  for (int i = 0;; ++i) {
    const double at = static_cast<double>(i) * options.interval_s;
    if (at >= options.duration_s || elapsed() >= options.duration_s) {
      break;
    }
    std::this_thread::sleep_until(began + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at)));
    DoctorSample s;
    s.t_s = elapsed();
    conn.answer_by(deadline_after(statement_s));
    auto r = conn.exec(guarded(k_activity_sql, timeout_ms));
    if (!r) {
      return lost.error(r.error());
    }
    if (!r->rows.empty()) {
      const auto& row = r->rows[0];
      s.active = to_int(row.at(0));
      s.idle = to_int(row.at(1));
      s.idle_in_transaction = to_int(row.at(2));
      s.waiting_on_lock = to_int(row.at(3));
      s.oldest_idle_in_transaction_s = std::max(0.0, to_double(row.at(4)).value_or(0.0));
    }
    if (admin) {
      admin->answer_by(deadline_after(statement_s));
      if (auto pools = read_pools(*admin, alias, s); !pools) {
        return admin_lost.error(pools.error());
      }
    }
    c.samples.push_back(s);
    if (options.tick) {
      options.tick(std::min(elapsed(), options.duration_s), options.duration_s);
    }
  }
  if (elapsed() < options.duration_s) {
    std::this_thread::sleep_until(began + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration_s)));
  }
  c.window_s = elapsed();
  if (admin) {
    admin->answer_by(deadline_after(statement_s));
    auto end = read_pgbouncer_totals(*admin, alias);
    if (!end) {
      return admin_lost.error(end.error());
    }
    c.pgbouncer_end = *end;
  }
  conn.answer_by(deadline_after(statement_s));
  c.statements_end = read_statement_totals(conn, timeout_ms);
  if (!c.statements_start || !c.statements_end) {
    c.statements_start.reset();
    c.statements_end.reset();
  }
  return c;
}

} // namespace poolcalc::inspect

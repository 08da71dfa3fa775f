#pragma once
// `poolcalc inspect`: what a live PostgreSQL server reports (a ServerSnapshot, read by the CLI's
// libpq edge) and what poolcalc makes of it (an Inspection): the slots that really exist on this
// version, who holds them now, the sessions that look wrong, the query times pg_stat_statements
// measured, and the inputs the sizing takes from the server. Pure: no I/O.

#include "poolcalc/database_url.hpp"
#include "poolcalc/expected.hpp"
#include "poolcalc/findings.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc {

// One client backend of pg_stat_activity. Without pg_read_all_stats (or membership in the
// session's role), PostgreSQL hides a session's state, times and client address: those are
// then none, and `visible` is false.
struct Backend
{
  std::int64_t pid = 0;
  std::string database;    // datname
  std::string user;        // usename
  std::string application; // application_name ("" when the client set none)
  bool visible = true;
  std::string state;                       // active, idle, idle in transaction, ... ("" when not visible)
  std::string client;                      // client_addr, "local" for a Unix socket ("" when not visible)
  std::optional<double> connection_age_s;  // now() - backend_start
  std::optional<double> state_age_s;       // now() - state_change
  std::optional<double> transaction_age_s; // now() - xact_start
};

// One row of pg_stat_statements (times in ms, as PostgreSQL 13+ reports them).
struct StatementStat
{
  std::string query; // statement_excerpt() of the text; "<insufficient privilege>" for another role's statement
  std::int64_t calls = 0;
  double mean_ms = 0;
  double stddev_ms = 0;
  double max_ms = 0;
  double total_ms = 0;
};

enum class StatementsStatus
{
  available,
  not_installed, // no CREATE EXTENSION pg_stat_statements in this database
  not_loaded,    // the extension exists but shared_preload_libraries lacks it
  not_readable,  // another error reading it (its message is kept)
};

struct ServerSnapshot
{
  std::string server;           // the masked URL or conninfo that was inspected
  std::int64_t version_num = 0; // server_version_num: 150018
  std::string version;          // "15.18"
  std::string version_string;   // server_version: "15.18 (Debian 15.18-0+deb12u1)"
  std::int64_t max_connections = 0;
  std::int64_t superuser_reserved_connections = 0;
  std::optional<std::int64_t> reserved_connections; // PostgreSQL 16+
  std::int64_t max_wal_senders = 0;
  std::int64_t own_pid = 0; // the inspection's own backend
  std::string current_user;
  std::string current_database;
  bool can_read_all_stats = false; // superuser or member of pg_read_all_stats
  std::vector<Backend> backends;   // every client backend, the inspection's own included
  StatementsStatus statements_status = StatementsStatus::not_installed;
  std::string statements_error;          // for not_readable
  std::vector<StatementStat> statements; // heaviest total time first (top_statements rows), none withheld
  std::int64_t statements_calls = 0;     // over every statement of this database counted, not only the rows read
  double statements_total_ms = 0;
  std::int64_t withheld_statements = 0; // statements that may carry a credential: neither shown nor counted
  std::int64_t withheld_calls = 0;      // their calls
};

// Connections now, grouped by application, user, database and state (pg_stat_activity).
struct ConnectionGroup
{
  std::string application;
  std::string user;
  std::string database;
  std::string state; // "" when not visible
  std::int64_t count = 0;
  std::optional<double> longest_state_age_s;
};

struct Inspection
{
  ServerSnapshot snapshot;
  std::string app; // the application being sized (--app): its connections are not "other applications"

  bool wal_senders_count = false;      // before PostgreSQL 12, WAL senders took max_connections slots
  std::int64_t ordinary_slots = 0;     // max_connections - superuser_reserved - reserved (- WAL senders before 12)
  std::int64_t client_connections = 0; // client backends now, the inspection's own excluded
  std::int64_t app_connections = 0;    // of them, the application being sized
  std::int64_t other_connections = 0;  // the rest: "other applications" in the reserve
  std::int64_t hidden_sessions = 0;    // rows whose state and times this role cannot see
  std::int64_t free_slots = 0;         // ordinary slots not in use now (never negative)

  std::vector<ConnectionGroup> groups;      // most connections first
  std::vector<Backend> oldest;              // by connection age, at most list_limit
  std::vector<Backend> idle_in_transaction; // idle in transaction past the threshold, longest first
  std::vector<Backend> long_active;         // active past the threshold, longest first
  std::int64_t old_connections = 0;         // older than connection_age_info_s

  // pg_stat_statements: the mean execution time over every call (total / calls) and a p95
  // estimate from the per-statement means and deviations (a mixture of normals, each cut at 0
  // and at the statement's max): docs/usage.md, "Inspecting a live server".
  std::optional<double> mean_query_ms;
  std::optional<double> p95_query_ms;
  std::int64_t hidden_statements = 0; // rows whose text this role cannot see (BEGIN/COMMIT cannot be left out)

  std::vector<Finding> findings; // server.* findings, fail first
};

// Reads the snapshot with the rules' thresholds. `app` is the application_name of the
// application being sized ("" for none).
Inspection analyze(const ServerSnapshot& snapshot, const Rules& rules, std::string_view app);

// The live server's findings (ids `server.*`, docs/rules.md): fail first, then warn, then info.
std::vector<Finding> evaluate_server(const Inspection& inspection, const Rules& rules);

// The reserve the live server implies: its superuser_reserved_connections and (16+)
// reserved_connections, the connections other applications hold now, WAL senders before 12,
// and the rules' other reserves (policy such as `admin`), cut so they never exceed
// `max_connections` (the server's when none is given; the application's share is then 0 and the
// plan says so).
std::vector<ReserveEntry> live_reserve(const Inspection& inspection, const Rules& rules, std::optional<std::int64_t> max_connections = {});

// Puts the live server's max_connections and reserve into `inputs` (origin "server") where the
// user did not give them, and replaces `--query-ms auto` with the measured mean. Returns an
// error string when `auto` was asked for and pg_stat_statements gave no time.
poolcalc::expected<void, std::string> apply_server(RawInputs& inputs, const Inspection& inspection, const Rules& rules);

// Statement texts. pg_stat_statements replaces the constants of a query with $1, $2, ..., but
// keeps a utility statement as it was typed (before PostgreSQL 16, every one of them): `CREATE
// ROLE app PASSWORD 'secret'` is stored with the password. poolcalc never shows a statement that
// can carry a credential, and masks every string literal of those it shows.

// True when `sql` holds a statement that can carry a credential: CREATE or ALTER of a ROLE,
// USER (USER MAPPING included), GROUP, SERVER, SUBSCRIPTION or FOREIGN DATA WRAPPER (their
// PASSWORD, OPTIONS and CONNECTION clauses), in any letter case, after any whitespace and
// comments (nested /* */ and --), as the text's first statement or after any `;`.
bool may_carry_credentials(std::string_view sql);

// `sql` with the content of every string literal replaced by "...": '...' (with '' doubling),
// E'...' (backslash escapes), U&'...', N'...', B'...', X'...' and $tag$...$tag$ keep their
// prefix, quotes and tags ('...', E'...', $tag$...$tag$). A literal that does not end in the text
// (cut by a truncation) is masked to the end of the text ('...), and so is a '...' literal whose
// end depends on standard_conforming_strings (a backslash before a quote: `'a\' , 'b'` is one
// literal when the setting is off, two when it is on). Comments become /*...*/ or --... and
// numeric constants ... (either may hold a secret: "/* password=x */", "DEFAULT 12345678").
// Quoted identifiers, $N parameters and everything else are kept as they are.
std::string mask_literals(std::string_view sql);

// What poolcalc shows of a statement: mask_literals(), then each run of whitespace as one space,
// trimmed, then at most `max_chars` characters (code points: a UTF-8 sequence is never split).
inline constexpr std::size_t k_statement_excerpt_chars = 120;
std::string statement_excerpt(std::string_view sql, std::size_t max_chars = k_statement_excerpt_chars);

// `text` if it has at most `max_chars` characters (code points), else its first `max_chars` - 3
// characters and "..." (never half of a UTF-8 sequence).
std::string shorten(std::string_view text, std::size_t max_chars);

// Adds one pg_stat_statements row, read with the sums (statements_calls, statements_total_ms) the
// server computed over the statements it did not withhold itself. `text` is the statement's text
// (a prefix of it is enough), or none when the server's own filter withheld it. A statement that
// may carry a credential is counted in withheld_statements and withheld_calls, never stored;
// when only poolcalc's check caught it, its calls and time are taken out of the sums, so the
// figures always cover exactly the statements counted. Any other row is stored with
// statement_excerpt() of its text.
void add_statement(ServerSnapshot& snapshot, StatementStat row, const std::optional<std::string>& text);

// How long `poolcalc inspect` gives the connection, and where that came from (named when it runs
// out): connect_timeout in the inputs (--connect-timeout, or a --config file; whole seconds from
// 1: the inspection never waits forever), else the URL's connect_timeout (whole seconds; 0, which
// is libpq's "wait forever", counts as none), else the rules' inspect.connect_timeout_s.
// `url_origin` names the URL for an error ("--database-url", "DATABASE_URL", ...).
struct ConnectTimeout
{
  double seconds = 0;
  std::string source; // "--connect-timeout", "FILE:LINE:COLUMN: connect_timeout", "connect_timeout in the URL", ...
};
poolcalc::expected<ConnectTimeout, std::string> inspect_connect_timeout(const RawInputs& inputs,
                                                                        const DatabaseUrl& url,
                                                                        std::string_view url_origin,
                                                                        const Rules& rules);

// p95 of a mixture of normals (weights = calls), each cut to [0, max]: the estimate above.
std::optional<double> mixture_p95(const std::vector<StatementStat>& statements);

std::string_view to_string(StatementsStatus status);

// Milliseconds for people: 2 decimals, 4 below 1 ms ("131.62", "0.0021").
std::string ms_text(double ms);

// A duration for people: "45 s", "12 min", "5 h", "3 d".
std::string duration_text(double seconds);

} // namespace poolcalc

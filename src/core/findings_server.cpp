// The live server's rules (subject: server): each a check on the Inspection, in the table at the
// end.

#include "finding_engine.hpp"
#include "poolcalc/numbers.hpp"

#include <fmt/format.h>

namespace poolcalc::detail {

namespace {

std::string who(const Backend& b)
{
  return fmt::format("pid {}, application '{}', user '{}', database '{}'", b.pid, b.application, b.user, b.database);
}

// server.full: every ordinary slot is taken.
void full(const Inspection& r, const Rules&, const Raise& raise)
{
  if (r.free_slots == 0) {
    raise(fmt::format("no slot is free for ordinary roles: {} client connections hold the {} slots left after the "
                      "reserved ones; a new connection now gets 'FATAL: sorry, too many clients already' or "
                      "'remaining connection slots are reserved'",
                      r.client_connections,
                      r.ordinary_slots));
  }
}

// server.free_slots_low: some slots are free, fewer than free_slots_warn_ratio of them.
void free_slots_low(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const InspectRules& limits = rules.inspect;
  if (r.free_slots != 0 && static_cast<double>(r.free_slots) < limits.free_slots_warn_ratio * static_cast<double>(r.ordinary_slots)) {
    raise(fmt::format("only {} of {} ordinary slots are free (below {} of them)",
                      r.free_slots,
                      r.ordinary_slots,
                      format_percent(limits.free_slots_warn_ratio)));
  }
}

// server.insufficient_privilege: sessions whose state and times this role cannot see.
void insufficient_privilege(const Inspection& r, const Rules&, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (r.hidden_sessions > 0) {
    raise(fmt::format("{} session{} of other roles show{} no state, times or client address to '{}': they count as "
                      "connections, but whether they are idle, active or idle in transaction is unknown, and a "
                      "background worker in a database would look the same (GRANT pg_read_all_stats TO {} to see them)",
                      r.hidden_sessions,
                      r.hidden_sessions == 1 ? "" : "s",
                      r.hidden_sessions == 1 ? "s" : "",
                      snapshot.current_user,
                      snapshot.current_user));
  }
}

// server.idle_in_transaction: sessions idle in transaction past the threshold.
void idle_in_transaction(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const InspectRules& limits = rules.inspect;
  if (!r.idle_in_transaction.empty()) {
    const Backend& worst = r.idle_in_transaction.front();
    raise(fmt::format("{} session{} idle in transaction for more than {}; the longest, {}, for {}: each holds a "
                      "connection (and its locks) while doing nothing, the usual sign of a connection leak",
                      r.idle_in_transaction.size(),
                      r.idle_in_transaction.size() == 1 ? "" : "s",
                      duration_text(limits.idle_in_transaction_warn_s),
                      who(worst),
                      duration_text(worst.state_age_s.value_or(0))));
  }
}

// server.long_active: queries running past the threshold.
void long_active(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const InspectRules& limits = rules.inspect;
  if (!r.long_active.empty()) {
    const Backend& worst = r.long_active.front();
    raise(fmt::format("{} quer{} running for more than {}; the longest, {}, for {}",
                      r.long_active.size(),
                      r.long_active.size() == 1 ? "y" : "ies",
                      duration_text(limits.active_query_warn_s),
                      who(worst),
                      duration_text(worst.state_age_s.value_or(0))));
  }
}

// server.wal_senders_counted: before PostgreSQL 12, WAL senders take max_connections slots.
void wal_senders_counted(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (r.wal_senders_count) {
    raise(fmt::format("PostgreSQL {} counts WAL senders against max_connections (before {}): max_wal_senders = {} "
                      "is reserved for replication",
                      snapshot.version,
                      rules.postgres.wal_senders_separate_since,
                      snapshot.max_wal_senders));
  }
}

// server.wal_senders_not_counted: since PostgreSQL 12 they have slots of their own.
void wal_senders_not_counted(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (!r.wal_senders_count) {
    raise(fmt::format("WAL senders (max_wal_senders = {}) have slots of their own since PostgreSQL {}, so on this "
                      "server ({}) the reserved budget's 'replication' entry takes nothing from max_connections and is "
                      "dropped from the live plan",
                      snapshot.max_wal_senders,
                      rules.postgres.wal_senders_separate_since,
                      snapshot.version));
  }
}

// server.old_connections: connections older than connection_age_info_s.
void old_connections(const Inspection& r, const Rules& rules, const Raise& raise)
{
  const InspectRules& limits = rules.inspect;
  if (r.old_connections > 0) {
    raise(fmt::format("{} connection{} older than {}: normal for a pool that keeps its connections; a leak shows as "
                      "sessions idle in transaction or a count that keeps growing, not as age",
                      r.old_connections,
                      r.old_connections == 1 ? " is" : "s are",
                      duration_text(limits.connection_age_info_s)));
  }
}

// server.statements_measured: pg_stat_statements gave a mean time.
void statements_measured(const Inspection& r, const Rules&, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (snapshot.statements_status == StatementsStatus::available && r.mean_query_ms) {
    raise(fmt::format("pg_stat_statements measured a mean execution time of {} ms over {} calls (p95 about {} ms); "
                      "--query-ms auto uses the mean. A connection is held longer than the statement runs "
                      "(round trips, the application's work inside a transaction){}",
                      ms_text(*r.mean_query_ms),
                      snapshot.statements_calls,
                      ms_text(r.p95_query_ms.value_or(*r.mean_query_ms)),
                      r.hidden_statements == 0
                        ? std::string()
                        : fmt::format("; {} statement{} of other roles show{} no text, so transaction control "
                                      "(BEGIN, COMMIT) among them could not be left out (pg_read_all_stats shows them)",
                                      r.hidden_statements,
                                      r.hidden_statements == 1 ? "" : "s",
                                      r.hidden_statements == 1 ? "s" : "")));
  }
}

// server.statements_unavailable: why pg_stat_statements gave no time.
void statements_unavailable(const Inspection& r, const Rules&, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  switch (snapshot.statements_status) {
  case StatementsStatus::available:
    if (!r.mean_query_ms) {
      raise(fmt::format("pg_stat_statements has no calls recorded in database '{}' yet", snapshot.current_database));
    }
    break;
  case StatementsStatus::not_installed:
    raise(fmt::format("pg_stat_statements is not installed in database '{}' (CREATE EXTENSION pg_stat_statements, "
                      "with pg_stat_statements in shared_preload_libraries): no measured query time",
                      snapshot.current_database));
    break;
  case StatementsStatus::not_loaded:
    raise("pg_stat_statements is installed but not loaded (add it to shared_preload_libraries and restart): no "
          "measured query time");
    break;
  case StatementsStatus::not_readable:
    raise(fmt::format("pg_stat_statements could not be read: {}", snapshot.statements_error));
    break;
  }
}

// server.statements_withheld: statements that can carry a password, never shown.
void statements_withheld(const Inspection& r, const Rules&, const Raise& raise)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (snapshot.withheld_statements > 0) {
    const bool one = snapshot.withheld_statements == 1;
    raise(fmt::format("{} statement{} ({} call{}) {} not shown: {} or alter{} a role, user, group, user mapping, server, "
                      "subscription or foreign-data wrapper, whose text can carry a password; {} left out of the "
                      "times, like BEGIN and SET",
                      snapshot.withheld_statements,
                      one ? "" : "s",
                      snapshot.withheld_calls,
                      snapshot.withheld_calls == 1 ? "" : "s",
                      one ? "is" : "are",
                      one ? "it creates" : "they create",
                      one ? "s" : "",
                      one ? "it is" : "they are"));
  }
}

} // namespace

const std::vector<Rule<Inspection>>& server_rules()
{
  constexpr FindingSubject server = FindingSubject::server;
  static const std::vector<Rule<Inspection>> table = {
    { { "server.full",
        Level::warn,
        server,
        { "max_connections", "superuser_reserved_connections", "reserved_connections", "pg_stat_activity" },
        "PostgreSQL max_connections",
        "no ordinary slot is free" },
      full },
    { { "server.free_slots_low",
        Level::warn,
        server,
        { "max_connections", "pg_stat_activity", "inspect.free_slots_warn_ratio" },
        "inspect.free_slots_warn_ratio",
        "fewer free ordinary slots than free_slots_warn_ratio of them" },
      free_slots_low },
    { { "server.insufficient_privilege",
        Level::warn,
        server,
        { "pg_stat_activity", "pg_read_all_stats" },
        "PostgreSQL pg_stat_activity privileges",
        "sessions of other roles whose state and times this role cannot see" },
      insufficient_privilege },
    { { "server.idle_in_transaction",
        Level::warn,
        server,
        { "pg_stat_activity", "inspect.idle_in_transaction_warn_s" },
        "inspect.idle_in_transaction_warn_s",
        "sessions idle in transaction past the threshold" },
      idle_in_transaction },
    { { "server.long_active",
        Level::warn,
        server,
        { "pg_stat_activity", "inspect.active_query_warn_s" },
        "inspect.active_query_warn_s",
        "queries running past the threshold" },
      long_active },
    { { "server.wal_senders_counted",
        Level::info,
        server,
        { "server_version_num", "max_wal_senders" },
        "postgres.wal_senders_separate_since",
        "before PostgreSQL 12: WAL senders take max_connections slots" },
      wal_senders_counted },
    { { "server.wal_senders_not_counted",
        Level::info,
        server,
        { "server_version_num", "max_wal_senders" },
        "postgres.wal_senders_separate_since",
        "PostgreSQL 12+: WAL senders have slots of their own" },
      wal_senders_not_counted },
    { { "server.old_connections",
        Level::info,
        server,
        { "pg_stat_activity", "inspect.connection_age_info_s" },
        "inspect.connection_age_info_s",
        "connections older than connection_age_info_s" },
      old_connections },
    { { "server.statements_measured",
        Level::info,
        server,
        { "pg_stat_statements" },
        "pg_stat_statements",
        "pg_stat_statements gave a mean execution time" },
      statements_measured },
    { { "server.statements_unavailable",
        Level::info,
        server,
        { "pg_stat_statements" },
        "pg_stat_statements",
        "pg_stat_statements gave no time: not installed, not loaded, not readable, no calls" },
      statements_unavailable },
    { { "server.statements_withheld",
        Level::info,
        server,
        { "pg_stat_statements" },
        "pg_stat_statements",
        "statements that can carry a password were recorded: counted, never shown" },
      statements_withheld },
  };
  return table;
}

} // namespace poolcalc::detail

#pragma once
// A PgBouncer configuration (pgbouncer.ini), independent of where its numbers come from: the
// single-service plan fills it here, a fleet plan (several databases and users) fills the same
// structure. Every value poolcalc sets carries the reason it was chosen, so the rendered file
// explains itself. Settings left unset are PgBouncer's defaults and are not written.
//
// PgBouncer's settings and defaults: https://www.pgbouncer.org/config.html (docs/pgbouncer.md).

#include "poolcalc/expected.hpp"
#include "poolcalc/fleet.hpp"
#include "poolcalc/sizing.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace poolcalc {

// A value poolcalc chose and why ("the whole load's peak of 13 x burst 3 + overhead 10 = 49,
// rounded up to 50").
template<typename T>
struct Chosen
{
  T value{};
  std::string why;
};

// One line of [databases]: NAME = host=... port=... dbname=... [options]. No password ever:
// PgBouncer takes it from the auth_file (or auth_query).
struct PgBouncerDatabase
{
  std::string name;                 // what clients ask for; "*" is PgBouncer's fallback entry
  std::string host;                 // empty: not written (PgBouncer then uses its Unix socket)
  std::optional<std::int64_t> port; // unset: PgBouncer's 5432
  std::string dbname;               // empty: not written (the client's database name is used)
  // user= makes PgBouncer log in as this user for every client (one pool per database); unset,
  // each client's own user logs in (one pool per database and user) — which SCRAM needs.
  std::optional<std::string> user;
  std::optional<std::int64_t> pool_size;          // overrides default_pool_size
  std::optional<std::int64_t> min_pool_size;      // overrides min_pool_size
  std::optional<std::int64_t> reserve_pool;       // overrides reserve_pool_size
  std::optional<std::int64_t> max_db_connections; // overrides max_db_connections
  std::optional<std::string> pool_mode;           // overrides pool_mode
  std::string why;                                // a comment above the line
  // No address was given (no database URL): the line is written commented out, its host as
  // HOST, for the user to fill in; poolcalc never writes a server address nobody gave it.
  bool address_unknown = false;
};

// One line of [users]: NAME = pool_mode=... max_user_connections=...
struct PgBouncerUser
{
  std::string name;
  std::optional<std::string> pool_mode;
  std::optional<std::int64_t> max_user_connections;
  std::string why;
};

// The [pgbouncer] section: only the settings poolcalc sizes or that docs/pgbouncer.md lists.
struct PgBouncerSettings
{
  std::optional<Chosen<std::string>> listen_addr;
  std::optional<Chosen<std::int64_t>> listen_port;
  std::optional<Chosen<std::string>> auth_type;
  std::optional<Chosen<std::string>> auth_file;
  std::optional<Chosen<std::string>> pool_mode;
  std::optional<Chosen<std::int64_t>> max_client_conn;
  std::optional<Chosen<std::int64_t>> default_pool_size;
  std::optional<Chosen<std::int64_t>> min_pool_size;
  std::optional<Chosen<std::int64_t>> reserve_pool_size;
  std::optional<Chosen<double>> reserve_pool_timeout_s;
  std::optional<Chosen<std::int64_t>> max_db_connections;
  std::optional<Chosen<std::int64_t>> max_user_connections;
  std::optional<Chosen<double>> server_idle_timeout_s;
  std::optional<Chosen<double>> server_lifetime_s;
  std::optional<Chosen<double>> query_wait_timeout_s;
  std::optional<Chosen<std::string>> ignore_startup_parameters;
  std::optional<Chosen<std::string>> stats_users;
};

struct PgBouncerConfig
{
  std::vector<std::string> header; // comment lines at the top (what the file is for)
  std::vector<PgBouncerDatabase> databases;
  std::vector<PgBouncerUser> users;
  PgBouncerSettings settings;
  // The roles clients log in as: each needs a line in the auth_file (render_userlist_note).
  // Empty when unknown (no user in the database URL).
  std::vector<std::string> login_roles;
  // Comment lines at the end of [pgbouncer]: settings left for the user to decide (admin_users).
  std::vector<std::string> footer;
  // The open files one PgBouncer needs (pgbouncer_open_files) and whether that is above the
  // common 1024 limit; the file's max_client_conn comment says the limit to set.
  std::int64_t open_files = 0;
};

// The single-service case: one [databases] entry from the plan's database URL (its database
// name, host and port as libpq would use them; no user, no password), or the fallback entry
// `* = host=localhost port=5432` without a URL; [pgbouncer] from plan.pgbouncer, with
// max_db_connections capping the database at the planned server connections and
// query_wait_timeout at the application's pool_timeout.
// When no trigger applies the file is written all the same from plan.pgbouncer_unneeded, its
// first comment saying that the plan fits without PgBouncer and why one might still use it.
// The topology (shared or sidecar) is said in the header: a sidecar's pools are its share of the
// server budget and it listens on 127.0.0.1; for a shared one listen_addr stays the rules' and
// the header says to set it to an address the application hosts reach (never guessed).
// ignore_startup_parameters lets pgJDBC's extra_float_digits through; stats_users is the URL's
// user (SHOW POOLS over TCP); admin_users is suggested in a comment only.
// Returns an error string when the URL's database name, host or port cannot be written into
// pgbouncer.ini as it stands (characters PgBouncer would misread). The rules' PgBouncer settings
// were checked when they were read.
poolcalc::expected<PgBouncerConfig, std::string> pgbouncer_config_from_plan(const Plan& plan);

// The fleet case: fleet.pgbouncer as a file. One [databases] entry per PgBouncerEntry
// (host and port from [database] url as libpq would use them, else localhost:5432; dbname the
// server's database), each with its own pool_size, min_pool_size, reserve_pool and
// max_db_connections, and pool_mode where it differs from the global one (the session-mode
// entries). When users with different pools share one entry, PgBouncer 1.18 has no per-user
// pool size: the entry takes the largest and the smaller users get max_user_connections in
// [users] (their pools' server connections summed). [pgbouncer] as the single plan, except that
// default_pool_size and reserve_pool_size are left to the entries, and query_wait_timeout is
// the longest of the services' pool_timeout (0, wait for ever, when one has 0). login_roles:
// every pool's user.
// Returns an error string when the fleet has no PgBouncer, or when the URL's host or port
// cannot be written into pgbouncer.ini.
poolcalc::expected<PgBouncerConfig, std::string> pgbouncer_config_from_fleet(const Fleet& fleet);

} // namespace poolcalc

#pragma once
// Renderers for a PgBouncer configuration: the pgbouncer.ini file and the note on its
// auth_file. They format only; every value and reason comes from the PgBouncerConfig.

#include "poolcalc/pgbouncer_config.hpp"

#include <string>

namespace poolcalc {

// pgbouncer.ini: the header comments, [databases], [users] (when there are any) and
// [pgbouncer] last, each setting preceded by a `;` comment line with PgBouncer's default and
// why poolcalc chose the value. Settings left unset in `config` are not written. PgBouncer
// 1.18 loads the result as it stands.
std::string render_pgbouncer_ini(const PgBouncerConfig& config);

// How to write the auth_file (userlist.txt): its format, the SQL that reads each login role's
// hash from pg_authid (one line, starting "SELECT "), and auth_query as the alternative. Never
// contains a password.
std::string render_userlist_note(const PgBouncerConfig& config);

} // namespace poolcalc

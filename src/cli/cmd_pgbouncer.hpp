#pragma once
// `poolcalc pgbouncer`: the plan's PgBouncer configuration as a pgbouncer.ini to paste, or with
// --userlist the note on writing its auth_file. Takes every sizing flag and --config.

#include "poolcalc/expected.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <ostream>
#include <string>
#include <string_view>

namespace poolcalc::cli {

// The output of `poolcalc pgbouncer` for `plan`: pgbouncer.ini, or the userlist note when
// `userlist` is set. Returns an error string (exit 2) when the plan does not use PgBouncer (with
// how to ask for it), or when the database URL (given by `url_origin`: --database-url,
// DATABASE_URL or a file position) holds a name PgBouncer's file cannot take.
poolcalc::expected<std::string, std::string> pgbouncer_command(const Plan& plan, bool userlist, std::string_view url_origin);

// `poolcalc pgbouncer --fleet FILE [--userlist]`: the fleet's pgbouncer.ini (or its userlist
// note) on `out`. Usage errors as `poolcalc config --for pgbouncer --fleet FILE` (a sizing flag
// or --config beside --fleet, named by `sizing_flag`; a fleet without PgBouncer); fail findings
// on `err` and exit 3, the file printed all the same. Returns the exit code.
int run_pgbouncer_fleet(const std::string& path,
                        bool userlist,
                        const std::string& sizing_flag,
                        const Rules& rules,
                        std::ostream& out,
                        std::ostream& err);

} // namespace poolcalc::cli

#pragma once
// `poolcalc pgbouncer`: the plan's PgBouncer configuration as a pgbouncer.ini to paste, or with
// --userlist the note on writing its auth_file. Takes every sizing flag and --config.

#include "commands.hpp"

#include "poolcalc/expected.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/sizing.hpp"

#include <ostream>
#include <string>
#include <string_view>

namespace poolcalc::cli {

// The output of `poolcalc pgbouncer` for `plan`: pgbouncer.ini, or the userlist note when
// `userlist` is set; a plan that does not need PgBouncer still gets the file, headed by why it
// fits without one. Returns an error string (exit 2) when the database URL (given by
// `url_origin`: --database-url, DATABASE_URL or a file position) holds a name PgBouncer's file
// cannot take.
poolcalc::expected<std::string, std::string> pgbouncer_command(const Plan& plan, bool userlist, std::string_view url_origin);

// `poolcalc pgbouncer --fleet FILE [--userlist]`: the fleet's pgbouncer.ini (or its userlist
// note). Usage errors as `poolcalc config --for pgbouncer --fleet FILE` (a sizing flag or
// --config beside --fleet, named by `sizing_flag`; a fleet without PgBouncer); fail findings on
// `err` and exit 3, the file printed all the same.
Outcome run_pgbouncer_fleet(const std::string& path, bool userlist, const std::string& sizing_flag, const Rules& rules, std::ostream& err);

// The options of `poolcalc pgbouncer` beside the sizing ones: --userlist, --fleet FILE.
std::vector<OptionDecl> pgbouncer_options();

// `poolcalc pgbouncer`: with --fleet the fleet's file, else the plan's.
Outcome run_pgbouncer(Invocation& invocation);

// The first sizing option or --config given (empty when none): refused beside --fleet FILE.
std::string first_sizing_flag(const Given& given);

} // namespace poolcalc::cli

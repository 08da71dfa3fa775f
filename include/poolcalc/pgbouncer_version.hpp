#pragma once
// PgBouncer releases that change what poolcalc writes, named once: every message that cites one
// formats it from these constants.

#include <string>

namespace poolcalc {

// A PgBouncer release, "1.18.0".
struct PgBouncerVersion
{
  int major = 0;
  int minor = 0;
  int patch = 0;
  auto operator<=>(const PgBouncerVersion&) const = default;
};

// Debian 12's PgBouncer (facts: `apt-get install pgbouncer` gives 1.18), the default.
inline constexpr PgBouncerVersion k_default_pgbouncer_version{ 1, 18, 0 };
// PgBouncer 1.21.0 tracks protocol-level prepared statements (max_prepared_statements); Prisma's
// docs ask for `pgbouncer=true` only below it.
inline constexpr PgBouncerVersion k_pgbouncer_prepared_statements{ 1, 21, 0 };

// "1.21.0".
std::string to_string(const PgBouncerVersion& version);
// "1.21": the release without its patch number.
std::string major_minor(const PgBouncerVersion& version);

} // namespace poolcalc

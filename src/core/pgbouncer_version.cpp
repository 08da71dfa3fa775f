#include "poolcalc/pgbouncer_version.hpp"

#include <fmt/format.h>

namespace poolcalc {

std::string to_string(const PgBouncerVersion& version)
{
  return fmt::format("{}.{}.{}", version.major, version.minor, version.patch);
}

std::string major_minor(const PgBouncerVersion& version)
{
  return fmt::format("{}.{}", version.major, version.minor);
}

} // namespace poolcalc

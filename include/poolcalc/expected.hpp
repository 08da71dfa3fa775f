#pragma once
// poolcalc's result type for recoverable failures: poolcalc::expected<T, E> and
// poolcalc::unexpected. They are std::expected where the standard library provides it (the
// product's compiler: g++ 12's libstdc++ under -std=c++23), else tl::expected from Debian's
// libexpected-dev, the library std::expected was modelled on, whose interface poolcalc uses
// alike (value, error, has_value, value_or, operator*, unexpected). The fallback exists for the
// fuzz targets (tests/fuzz/), built with clang 14 and its libFuzzer: clang 14 cannot compile
// libstdc++ 12's <expected>, which needs C++20 concepts in full (__cpp_concepts >= 202002L).

#if __has_include(<expected>)
#include <expected>
#endif

#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L

namespace poolcalc {
using std::expected;
using std::unexpected;
} // namespace poolcalc

#else

#include <tl/expected.hpp>

namespace poolcalc {
using tl::expected;
using tl::unexpected;
} // namespace poolcalc

#endif

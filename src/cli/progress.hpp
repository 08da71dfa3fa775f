#pragma once
// A progress line on a terminal for a slow simulation: shown only once a run has taken longer
// than a moment, rewritten in place (carriage return) at most ten times a second, and erased
// when the work is done, so a fast run and a pipe see nothing.

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace poolcalc::cli {

// The callback for Scenario::progress, writing to `err` when `terminal`; empty otherwise. The
// line is erased when the last copy of the callback goes away.
std::function<void(std::string_view, double)> progress_line(std::ostream& err, bool terminal);

// The same line for any text (`poolcalc doctor`'s sampling): shown, rewritten and erased alike.
std::function<void(const std::string&)> status_line(std::ostream& err, bool terminal);

} // namespace poolcalc::cli

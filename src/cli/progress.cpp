#include "progress.hpp"

#include "safe_stderr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace poolcalc::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Below this nothing is shown: most simulations finish sooner.
constexpr auto k_quiet = std::chrono::milliseconds(400);
constexpr auto k_interval = std::chrono::milliseconds(100);

class ProgressLine
{
public:
  explicit ProgressLine(std::ostream& err)
    : m_err(err)
  {
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine()
  {
    if (m_shown) {
      end_progress(m_err);
    }
  }

  void update(std::string_view what, double share)
  {
    const double percent = std::isfinite(share) ? std::clamp(share, 0.0, 1.0) * 100.0 : 0.0;
    show(fmt::format("poolcalc: simulating {} ({:.0f} % of the event budget)", what, percent));
  }

  void show(const std::string& line)
  {
    const auto now = Clock::now();
    if (now - m_start < k_quiet || now - m_last < k_interval) {
      return;
    }
    m_last = now;
    show_progress(m_err, line);
    m_shown = true;
  }

private:
  std::ostream& m_err;
  Clock::time_point m_start = Clock::now();
  Clock::time_point m_last{};
  bool m_shown = false;
};

} // namespace

std::function<void(std::string_view, double)> progress_line(std::ostream& err, bool terminal)
{
  if (!terminal) {
    return {};
  }
  auto line = std::make_shared<ProgressLine>(err);
  return [line](std::string_view what, double share) { line->update(what, share); };
}

std::function<void(const std::string&)> status_line(std::ostream& err, bool terminal)
{
  if (!terminal) {
    return {};
  }
  auto line = std::make_shared<ProgressLine>(err);
  return [line](const std::string& text) { line->show(text); };
}

} // namespace poolcalc::cli

#include "poolcalc/emit.hpp"
#include "poolcalc/numbers.hpp"

#include "common.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace poolcalc {

using namespace detail;

namespace {

std::string csv_number(double value, int decimals = 9)
{
  return std::isfinite(value) ? format_number(round_decimal(value), decimals) : std::string();
}

std::string xml_escape(std::string_view text)
{
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

// A "nice" step for about `count` ticks over [0, span]: 1, 2 or 5 times a power of ten.
double nice_step(double span, int count)
{
  if (!(span > 0)) {
    return 1.0;
  }
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : { 1.0, 2.0, 5.0, 10.0 }) {
    if (raw <= factor * power) {
      return factor * power;
    }
  }
  return 10.0 * power;
}

struct Panel
{
  std::string title;
  std::string unit;
  double top = 0; // y of the panel's top edge
  double height = 0;
  double y_max = 1;
  std::vector<std::pair<std::string, std::vector<double>>> series; // name, value per point (NaN: none)
};

} // namespace

std::string render_curve_text(const Plan& plan, const Curve& c)
{
  std::string out = fmt::format("poolcalc curve: {}, {} ms per query\n", load_text(plan), format_number(plan.queueing.hold_ms));
  out += fmt::format("queueing: {}\n\n", queueing_description(plan.queueing));
  out += queueing_table(plan, c.points);
  return out;
}

std::string render_curve_csv(const Curve& c)
{
  std::string out = "pool,model,throughput_rps,p_wait,mean_wait_ms,p95_wait_ms,p99_wait_ms,timeout_rate,utilization,stable\n";
  for (const QueueMetrics& m : c.points) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n",
                       m.pool,
                       to_string(m.model),
                       csv_number(m.throughput_rps),
                       csv_number(m.p_wait),
                       csv_number(m.mean_wait_ms, 3),
                       csv_number(m.p95_wait_ms, 3),
                       csv_number(m.p99_wait_ms, 3),
                       csv_number(m.timeout_rate),
                       csv_number(m.utilization),
                       m.stable ? "true" : "false");
  }
  return out;
}

std::string render_curve_json(const Plan& plan, const Curve& c)
{
  using Json = nlohmann::ordered_json;
  const auto finite = [](double v, double scale) {
    if (!std::isfinite(v)) {
      return Json(nullptr);
    }
    const double rounded = std::round(v * scale) / scale;
    return rounded == std::floor(rounded) && std::fabs(rounded) < 9e15 ? Json(static_cast<std::int64_t>(rounded)) : Json(rounded);
  };
  constexpr double k_ratio = 1e9; // ratios and rates to 9 decimals
  constexpr double k_ms = 1e3;    // waits to the microsecond
  Json j;
  j["schema_version"] = 1;
  j["model"] = std::string(to_string(plan.queueing.model));
  j["knee"] = c.knee ? Json(*c.knee) : Json(nullptr);
  j["knee_p_wait"] = finite(c.knee_p_wait, k_ratio);
  j["plan_pool_size"] = plan.pool_size;
  Json points = Json::array();
  for (const QueueMetrics& m : c.points) {
    points.push_back({ { "pool", m.pool },
                       { "model", std::string(to_string(m.model)) },
                       { "throughput_rps", finite(m.throughput_rps, k_ratio) },
                       { "p_wait", finite(m.p_wait, k_ratio) },
                       { "mean_wait_ms", finite(m.mean_wait_ms, k_ms) },
                       { "p95_wait_ms", finite(m.p95_wait_ms, k_ms) },
                       { "p99_wait_ms", finite(m.p99_wait_ms, k_ms) },
                       { "timeout_rate", finite(m.timeout_rate, k_ratio) },
                       { "utilization", finite(m.utilization, k_ratio) },
                       { "stable", m.stable } });
  }
  j["points"] = points;
  return j.dump(2) + "\n";
}

std::string render_curve_svg(const Plan& plan, const Curve& c)
{
  constexpr double width = 760;
  constexpr double height = 560;
  constexpr double left = 70;
  constexpr double right = 30;
  const double plot_width = width - left - right;
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  const std::int64_t x_min = c.points.front().pool;
  const std::int64_t x_max = std::max(c.points.back().pool, x_min + 1);
  const auto x_of = [&](double pool) {
    return left + (pool - static_cast<double>(x_min)) / static_cast<double>(x_max - x_min) * plot_width;
  };

  Panel share{ "share of queries that wait for a connection", "%", 85, 180, 100, {} };
  Panel waits{ "wait for a connection", "ms", 320, 180, 1, {} };
  std::vector<double> p_wait;
  std::vector<double> mean;
  std::vector<double> p95;
  std::vector<double> p99;
  for (const QueueMetrics& m : c.points) {
    p_wait.push_back(m.stable ? m.p_wait * 100.0 : nan);
    mean.push_back(m.stable ? m.mean_wait_ms : nan);
    p95.push_back(m.stable ? m.p95_wait_ms : nan);
    p99.push_back(m.stable ? m.p99_wait_ms : nan);
  }
  // The waits at the smallest pools dwarf the rest: scale the panel to the p99 wait where half the
  // queries still wait, and clip what lies above.
  bool clipped = false;
  double largest = 1;
  for (const QueueMetrics& m : c.points) {
    if (m.stable && std::isfinite(m.p99_wait_ms)) {
      largest = std::max(largest, m.p99_wait_ms);
    }
  }
  waits.y_max = largest;
  for (const QueueMetrics& m : c.points) {
    if (m.stable && std::isfinite(m.p99_wait_ms) && m.p_wait <= 0.5) {
      clipped = m.p99_wait_ms * 2 < largest;
      waits.y_max = clipped ? std::max(1.0, m.p99_wait_ms * 2) : largest;
      break;
    }
  }
  if (clipped) {
    waits.unit =
      fmt::format("ms, clipped above {}", format_number(std::ceil(waits.y_max / nice_step(waits.y_max, 5)) * nice_step(waits.y_max, 5)));
  }
  share.series = { { "P(wait)", p_wait } };
  waits.series = { { "mean", mean }, { "p95", p95 }, { "p99", p99 } };
  const std::array<std::string_view, 3> colours = { "#1f77b4", "#ff7f0e", "#d62728" };

  std::string out = fmt::format(
    R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" font-size="15" font-weight="bold">{}</text>
<text x="{}" y="42" fill="#555">{}</text>
)",
    width,
    height,
    width,
    height,
    left,
    xml_escape(fmt::format("poolcalc curve: {}, {} ms per query", load_text(plan), format_number(plan.queueing.hold_ms))),
    left,
    xml_escape(queueing_description(plan.queueing)));

  for (Panel* panel : { &share, &waits }) {
    const double step = nice_step(panel->y_max, 5);
    const double y_top = std::ceil(panel->y_max / step) * step;
    const auto y_of = [&](double v) { return panel->top + panel->height - v / y_top * panel->height; };
    out += fmt::format(R"(<text x="{}" y="{}" font-weight="bold">{} ({})</text>
)",
                       left,
                       panel->top - 8,
                       xml_escape(panel->title),
                       panel->unit);
    for (double v = 0; v <= y_top + step / 2; v += step) {
      out += fmt::format(
        R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#e5e5e5"/><text x="{}" y="{:.1f}" text-anchor="end" fill="#333">{}</text>
)",
        left,
        width - right,
        y_of(v),
        y_of(v),
        left - 6,
        y_of(v) + 4,
        format_number(v, 2));
    }
    out += fmt::format(R"(<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#333"/>
)",
                       left,
                       width - right,
                       panel->top + panel->height,
                       panel->top + panel->height);
    for (std::size_t s = 0; s < panel->series.size(); ++s) {
      std::string points;
      for (std::size_t i = 0; i < c.points.size(); ++i) {
        const double v = panel->series[s].second[i];
        if (std::isfinite(v)) {
          points += fmt::format("{:.1f},{:.1f} ", x_of(static_cast<double>(c.points[i].pool)), y_of(std::min(v, y_top)));
        }
      }
      out += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>
)",
                         colours[s],
                         points);
      if (panel->series.size() > 1) {
        out += fmt::format(R"(<text x="{}" y="{}" fill="{}">{}</text>
)",
                           width - right - 120 + static_cast<double>(s) * 40,
                           panel->top + 14,
                           colours[s],
                           panel->series[s].first);
      }
    }
  }

  // The x axis (pool size) under the lower panel.
  const double axis_y = waits.top + waits.height;
  const double x_step = std::max(1.0, nice_step(static_cast<double>(x_max - x_min), 10));
  for (double v = std::ceil(static_cast<double>(x_min) / x_step) * x_step; v <= static_cast<double>(x_max); v += x_step) {
    out += fmt::format(
      R"(<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="#333"/><text x="{:.1f}" y="{}" text-anchor="middle" fill="#333">{}</text>
)",
      x_of(v),
      x_of(v),
      axis_y,
      axis_y + 5,
      x_of(v),
      axis_y + 18,
      format_number(v));
  }
  out += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">pool size (connections per instance)</text>
)",
                     left + plot_width / 2,
                     axis_y + 38);

  const auto marker = [&](std::int64_t pool, std::string_view colour, const std::string& label, double label_y) {
    if (pool < x_min || pool > x_max) {
      return;
    }
    const double x = x_of(static_cast<double>(pool));
    const bool flip = x > left + plot_width * 0.6; // the label left of the line near the right edge
    out += fmt::format(
      R"(<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="5,4"/><text x="{:.1f}" y="{}" fill="{}" text-anchor="{}">{}</text>
)",
      x,
      x,
      share.top,
      axis_y,
      colour,
      flip ? x - 4 : x + 4,
      label_y,
      colour,
      flip ? "end" : "start",
      xml_escape(label));
  };
  if (c.knee) {
    marker(*c.knee, "#2ca02c", fmt::format("knee: pool {} (P(wait) < {})", *c.knee, share_text(c.knee_p_wait)), share.top + 14);
  }
  marker(plan.pool_size, "#7f7f7f", fmt::format("plan: pool {}", plan.pool_size), share.top + 30);
  out += "</svg>\n";
  return out;
}

} // namespace poolcalc

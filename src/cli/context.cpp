#include "context.hpp"

#include "run.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"

#include <array>
#include <utility>

namespace poolcalc::cli {

namespace {

constexpr std::array<std::pair<Format, std::string_view>, 6> k_formats = { {
  { Format::text, "text" },
  { Format::json, "json" },
  { Format::markdown, "markdown" },
  { Format::env, "env" },
  { Format::csv, "csv" },
  { Format::svg, "svg" },
} };

} // namespace

std::string_view format_name(Format format)
{
  for (const auto& [value, name] : k_formats) {
    if (value == format) {
      return name;
    }
  }
  return "text";
}

std::optional<Format> parse_format(std::string_view name)
{
  for (const auto& [value, known] : k_formats) {
    if (known == name) {
      return value;
    }
  }
  return std::nullopt;
}

int report_failure(std::ostream& err, const Failure& failure)
{
  print_error(err, failure.message);
  return failure.code;
}

void report_failures(std::ostream& err, const std::vector<Finding>& findings)
{
  for (const Finding& finding : findings) {
    if (finding.level == Level::fail) {
      print_line(err, "fail", finding.id + ": " + finding.message);
    }
  }
}

int write_output(std::ostream& out, std::ostream& err, std::string_view output, int code)
{
  out << output;
  out.flush();
  if (!out) {
    return report_failure(err, { k_exit_runtime, "cannot write the output" });
  }
  return code;
}

} // namespace poolcalc::cli

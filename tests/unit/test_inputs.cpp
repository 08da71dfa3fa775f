// The input table (poolcalc/inputs.hpp) against everything that repeats it where people read it:
// `poolcalc --help`, docs/usage.md's inputs table, the rules' bounds and a --config file's types.
// Any drift between them fails here.
// POOLCALC_UPDATE_DOCS=1 rewrites docs/usage.md's inputs table from the input table instead of
// comparing (the Notes column is kept).

#include "run.hpp"

#include "poolcalc/inputs.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/rules.hpp"
#include "poolcalc/scenario.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace poolcalc;

namespace {

std::string help_output()
{
  const char* argv[] = { "poolcalc", "--help" };
  cli::Environment env;
  env.getenv = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  std::ostringstream out;
  std::ostringstream err;
  REQUIRE(cli::run(2, argv, out, err, env) == cli::k_exit_ok);
  return out.str();
}

std::string read_all(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> lines_of(const std::string& text)
{
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::string trimmed(const std::string& text)
{
  const auto first = text.find_first_not_of(' ');
  const auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// The option as --help and the docs name it: "--vus N", "--transaction-pooling".
std::string option_name(const InputSpec& spec)
{
  return spec.value_name.empty() ? std::string(spec.flag) : fmt::format("{} {}", spec.flag, spec.value_name);
}

// A number as docs/usage.md writes it: thousands grouped (3,600,000; 0.001).
std::string docs_number(double value)
{
  const std::string text = format_number(value);
  const std::size_t point = std::min(text.find('.'), text.size());
  std::string grouped;
  for (std::size_t i = 0; i < point; ++i) {
    if (i > 0 && (point - i) % 3 == 0) {
      grouped += ',';
    }
    grouped += text[i];
  }
  return grouped + text.substr(point);
}

// The cells docs/usage.md's inputs table shows for `spec`, before the free Notes column.
std::vector<std::string> docs_cells(const InputSpec& spec)
{
  const std::string range = spec.range ? fmt::format("{} to {}", docs_number(spec.range->min), docs_number(spec.range->max)) : "";
  std::string default_text = spec.default_text(builtin_rules());
  if (!spec.rules_key.empty()) {
    default_text += fmt::format(" (rules `{}`)", spec.rules_key);
  }
  return {
    fmt::format("`{}`", option_name(spec)),
    spec.in_file ? fmt::format("`{}`", spec.key) : "",
    spec.in_file ? std::string(toml_type_text(spec.type)) : "",
    std::string(spec.unit),
    range,
    default_text,
    spec.fleet_service ? "yes" : "no",
  };
}

std::vector<std::string> cells_of(const std::string& row)
{
  std::vector<std::string> cells;
  std::size_t start = 1; // after the leading '|'
  while (start < row.size()) {
    const std::size_t bar = row.find(" |", start);
    if (bar == std::string::npos) {
      break;
    }
    cells.push_back(trimmed(row.substr(start, bar - start)));
    start = bar + 2;
  }
  return cells;
}

constexpr std::string_view k_docs_header = "| Option | Config key | TOML type | Unit | Range | Default | Fleet service | Notes |";

// The rules text with the value of `rules_key`'s key (of a table such as database.reserved: its
// first entry) replaced by `value`.
std::string rules_with(const std::string& rules_key, const std::string& value)
{
  std::string text(embedded_rules_toml());
  std::string section = rules_key;
  std::string key;
  std::size_t at = text.find(fmt::format("\n[{}]\n", rules_key));
  if (at == std::string::npos) {
    section = rules_key.substr(0, rules_key.rfind('.'));
    key = rules_key.substr(rules_key.rfind('.') + 1);
    at = text.find(fmt::format("\n[{}]\n", section));
  }
  REQUIRE_MESSAGE(at != std::string::npos, "no [" << section << "] in data/rules.toml");
  std::size_t line = text.find('\n', at + 1) + 1;
  if (!key.empty()) {
    line = text.find(fmt::format("\n{} ", key), at) + 1;
  }
  const std::size_t equals = text.find('=', line);
  const std::size_t end = text.find_first_of("#\n", equals);
  REQUIRE(equals < end);
  return text.replace(equals + 1, end - equals - 1, fmt::format(" {} ", value));
}

} // namespace

TEST_CASE("inputs: poolcalc --help lists every input in the table's order, under its group, with its help")
{
  const std::vector<std::string> lines = lines_of(help_output());
  std::size_t previous = 0;
  for (const InputSpec& spec : inputs()) {
    INFO(spec.flag);
    const std::string name = option_name(spec);
    std::size_t at = previous;
    while (at < lines.size() && !(lines[at].starts_with("  " + name + " ") || lines[at] == "  " + name)) {
      ++at;
    }
    REQUIRE(at < lines.size()); // listed, after the row before it
    // The help follows the name on its line, or on the next one when the name is long.
    const std::string rest = trimmed(lines[at].substr(2 + name.size()));
    const std::string help = rest.empty() && at + 1 < lines.size() ? trimmed(lines[at + 1]) : rest;
    CHECK(help == spec.help(spec, builtin_rules()));
    // The nearest section title above it is the row's group.
    std::size_t title = at;
    while (title > 0 && !(lines[title].ends_with(":") && !lines[title].starts_with(" "))) {
      --title;
    }
    CHECK(lines[title] == fmt::format("{}:", group_name(spec.group)));
    previous = at + 1;
  }
}

TEST_CASE("inputs: docs/usage.md's inputs table shows every input as the table has it")
{
  const std::filesystem::path path = std::filesystem::path(POOLCALC_SOURCE_DIR) / "docs" / "usage.md";
  std::vector<std::string> lines = lines_of(read_all(path));
  std::size_t header = 0;
  while (header < lines.size() && lines[header] != k_docs_header) {
    ++header;
  }
  REQUIRE_MESSAGE(header < lines.size(), "docs/usage.md has no line " << k_docs_header);
  const std::size_t first = header + 2; // after the |---| line
  std::size_t end = first;
  while (end < lines.size() && lines[end].starts_with("|")) {
    ++end;
  }
  const bool update = std::getenv("POOLCALC_UPDATE_DOCS") != nullptr;
  if (update) {
    std::vector<std::string> rows;
    for (const InputSpec& spec : inputs()) {
      std::string notes;
      for (std::size_t i = first; i < end; ++i) {
        const std::vector<std::string> cells = cells_of(lines[i]);
        if (!cells.empty() && cells.front() == fmt::format("`{}`", option_name(spec)) && cells.size() == 8) {
          notes = cells.back();
        }
      }
      std::vector<std::string> cells = docs_cells(spec);
      cells.push_back(notes);
      rows.push_back(fmt::format("| {} |", fmt::join(cells, " | ")));
    }
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.begin() + static_cast<std::ptrdiff_t>(end));
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(first), rows.begin(), rows.end());
    std::ofstream(path, std::ios::binary) << fmt::format("{}\n", fmt::join(lines, "\n"));
    return;
  }
  REQUIRE(end - first == inputs().size());
  for (std::size_t i = 0; i < inputs().size(); ++i) {
    const InputSpec& spec = inputs()[i];
    INFO("docs/usage.md:" << first + i + 1 << ": " << spec.flag);
    std::vector<std::string> cells = cells_of(lines[first + i]);
    REQUIRE(cells.size() == 8);
    cells.pop_back(); // Notes: free text
    CHECK(cells == docs_cells(spec));
  }
}

TEST_CASE("inputs: a rules file's defaults are bounded by their inputs' ranges")
{
  const Rules& rules = builtin_rules();
  for (const InputSpec& spec : inputs()) {
    if (spec.rules_key.empty()) {
      continue;
    }
    INFO(spec.rules_key);
    REQUIRE(spec.range);
    const InputRange range = *spec.range;
    const bool whole = spec.type != InputType::number;
    const std::string bounds =
      whole
        ? fmt::format("expected a whole number from {} to {}", static_cast<std::int64_t>(range.min), static_cast<std::int64_t>(range.max))
        : fmt::format("expected a number from {} to {}", format_number(range.min, 9), format_number(range.max, 9));
    const std::string above = whole ? fmt::format("{}", static_cast<std::int64_t>(range.max) + 1) : fmt::format("{}", range.max * 2);
    // Below a range from 0, a negative number; below a positive minimum, half of it.
    const std::string below =
      whole ? fmt::format("{}", static_cast<std::int64_t>(range.min) - 1) : fmt::format("{}", range.min > 0 ? range.min / 2 : -0.5);
    for (const std::string& value : { above, below }) {
      const auto parsed = parse_rules(rules_with(std::string(spec.rules_key), value), "rules.toml");
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().find(bounds) != std::string::npos);
    }
    // The edited rule is the one the input's default comes from: an edit to either end of the
    // range (the one the other rules allow: a reserve of 262,143 exceeds max_connections)
    // changes the default.
    bool changed = false;
    for (const double end : { range.min, range.max }) {
      const std::string value = whole ? fmt::format("{}", static_cast<std::int64_t>(end)) : fmt::format("{}", end);
      const auto parsed = parse_rules(rules_with(std::string(spec.rules_key), value), "rules.toml");
      changed = changed || (parsed.has_value() && spec.default_text(*parsed) != spec.default_text(rules));
    }
    CHECK(changed);
  }
}

TEST_CASE("inputs: docs/rules.md names each rules key an input takes its default from, with its flag")
{
  const std::vector<std::string> lines = lines_of(read_all(std::filesystem::path(POOLCALC_SOURCE_DIR) / "docs" / "rules.md"));
  const auto header = std::find(lines.begin(), lines.end(), "| Rules key | Flag |");
  REQUIRE(header != lines.end());
  std::vector<std::string> rows;
  for (auto line = header + 2; line != lines.end() && line->starts_with("|"); ++line) {
    const std::vector<std::string> cells = cells_of(*line);
    REQUIRE(cells.size() == 2);
    // "`database.reserved` (whole table)" and "`--reserve NAME=N`, repeatable; ...": the names.
    rows.push_back(
      fmt::format("{} {}", cells[0].substr(0, cells[0].find('`', 1) + 1), cells[1].substr(0, cells[1].find_first_of(" `", 1))));
  }
  std::vector<std::string> expected;
  for (const InputSpec& spec : inputs()) {
    if (!spec.rules_key.empty()) {
      expected.push_back(fmt::format("`{}` `{}", spec.rules_key, spec.flag));
    }
  }
  CHECK(rows == expected);
}

TEST_CASE("inputs: a --config file takes each input's key with the table's type")
{
  // The accepted keys in the order --help shows them (before, pool and target stood before burst,
  // and database_url after the timeouts).
  CHECK(parse_scenario_toml("bogus = 1\n", "s.toml").error() ==
        "s.toml:1:9: bogus: unknown key (accepted: vus, rps, query_ms, design_ms, activity, op, vu_rate, think_ms, "
        "queries_per_request, query_cv, query_p50_ms, query_p95_ms, query_p99_ms, query_sample, think_cv, think_sample, burst, "
        "overhead, pool, target, stream, max_connections, reserve, postgres_version, "
        "instances, max_instances, serverless, deploy_surge, app_concurrency, db_cores, services, transaction_pooling, remote_database, "
        "topology, "
        "pgbouncer_host, database_url, "
        "pool_timeout, connect_timeout, "
        "app_timeout, request_timeout, "
        "format, explain, rules)");
  for (const InputSpec& spec : inputs()) {
    INFO(spec.key);
    // An array of arrays is no input's type: the message names the type the table gives.
    const auto parsed = parse_scenario_toml(fmt::format("{} = [[1]]\n", spec.key), "s.toml");
    REQUIRE_FALSE(parsed.has_value());
    if (!spec.in_file) {
      CHECK(parsed.error().find(fmt::format(": {}: unknown key (accepted: ", spec.key)) != std::string::npos);
      continue;
    }
    std::string expected;
    switch (spec.type) {
    case InputType::integer:
    case InputType::integers:
      expected = "expected a whole number";
      break;
    case InputType::number:
    case InputType::numbers:
      expected = "expected a number";
      break;
    case InputType::operations:
      expected = "expected a string or an array of strings";
      break;
    case InputType::reserve:
      expected = "expected a table of NAME = N (e.g. reserve = { superuser = 3, admin = 5 })";
      break;
    case InputType::text:
      expected = "expected a string";
      break;
    case InputType::boolean:
      expected = "expected true or false";
      break;
    }
    CHECK(parsed.error().ends_with(fmt::format("{}: {}", spec.key, expected)));
  }
}

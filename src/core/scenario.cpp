#include "poolcalc/scenario.hpp"

#include "poolcalc/inputs.hpp"
#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"
#include "scenario_toml.hpp"
#include "toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolcalc {

namespace {

using detail::InputError;

[[noreturn]] void fail(const RawValue& value, std::string_view what)
{
  throw InputError{ fmt::format("{}: {}", value.origin, what) };
}

const RawValue* find(const RawInputs& inputs, std::string_view key)
{
  const auto it = inputs.find(key);
  return it == inputs.end() ? nullptr : &it->second;
}

const std::string& single(const RawValue& value)
{
  if (value.items.size() != 1) {
    fail(value, "expected one value");
  }
  return value.items.front();
}

// The range of `key`'s values (each item's, for a list), from the input table.
InputRange range_of(std::string_view key)
{
  return input(key).range.value();
}

poolcalc::expected<std::int64_t, std::string> count_in(std::string_view text, const InputRange& range)
{
  return parse_count(text, static_cast<std::int64_t>(range.min), static_cast<std::int64_t>(range.max));
}

// The whole number given for `key`, in the table's range, or `fallback` when none is.
std::int64_t count_or(const RawInputs& inputs, std::string_view key, std::int64_t fallback)
{
  const RawValue* value = find(inputs, key);
  if (value == nullptr) {
    return fallback;
  }
  const std::string& text = single(*value);
  auto parsed = count_in(text, range_of(key));
  if (!parsed) {
    fail(*value, fmt::format("{}, got '{}'", parsed.error(), user_text(text)));
  }
  return *parsed;
}

// The number given for `key`, in the table's range, or `fallback` when none is.
double number_or(const RawInputs& inputs, std::string_view key, double fallback)
{
  const RawValue* value = find(inputs, key);
  if (value == nullptr) {
    return fallback;
  }
  const std::string& text = single(*value);
  const InputRange range = range_of(key);
  auto parsed = parse_number(text, range.min, range.max);
  if (!parsed) {
    fail(*value, fmt::format("{}, got '{}'", parsed.error(), user_text(text)));
  }
  return *parsed;
}

std::optional<bool> switch_value(const RawInputs& inputs, std::string_view key)
{
  const RawValue* value = find(inputs, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  const std::string& text = single(*value);
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  fail(*value, fmt::format("expected true or false, got '{}'", user_text(text)));
}

std::vector<std::string> split_list(const std::string& text)
{
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = part.find_first_not_of(" \t");
    const auto last = part.find_last_not_of(" \t");
    parts.push_back(first == std::string::npos ? std::string() : part.substr(first, last - first + 1));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return parts;
}

std::vector<double> read_query_ms(const RawValue& value)
{
  const InputRange range = range_of("query_ms");
  std::vector<double> result;
  for (const std::string& item : value.items) {
    for (const std::string& part : split_list(item)) {
      if (part == "auto") {
        fail(value, "'auto' takes the time a live server measured: use it with `poolcalc inspect`");
      }
      auto parsed = parse_number(part, range.min, range.max);
      if (!parsed) {
        fail(value, fmt::format("{} (milliseconds a query holds a connection), got '{}'", parsed.error(), user_text_part(part, item)));
      }
      result.push_back(*parsed);
    }
  }
  if (result.empty() || result.size() > k_max_query_ms_values) {
    fail(value, fmt::format("expected 1 to {} values, got {}", k_max_query_ms_values, result.size()));
  }
  std::sort(result.begin(), result.end());
  if (std::adjacent_find(result.begin(), result.end()) != result.end()) {
    fail(value, "expected distinct values, got one twice");
  }
  return result;
}

std::vector<ReserveEntry> read_reserve(const RawValue& value)
{
  const InputRange range = range_of("reserve");
  std::vector<ReserveEntry> result;
  std::vector<std::pair<std::string, std::string>> entries; // each entry, and the item it came from
  for (const std::string& item : value.items) {
    for (std::string& part : split_list(item)) { // --reserve a=3,b=4 as well as repeated flags
      entries.emplace_back(std::move(part), item);
    }
  }
  for (const auto& [item, whole] : entries) {
    const std::size_t equals = item.find('=');
    const std::string name = item.substr(0, equals);
    if (equals == std::string::npos || !is_plain_name(name)) {
      fail(value, fmt::format("expected NAME=N (NAME of letters, digits, '_' or '-'), got '{}'", user_text_part(item, whole)));
    }
    const std::string number = item.substr(equals + 1);
    auto parsed = count_in(number, range);
    if (!parsed) {
      fail(value, fmt::format("{}: {}, got '{}'", name, parsed.error(), user_text_part(number, whole)));
    }
    const auto same = std::find_if(result.begin(), result.end(), [&](const ReserveEntry& e) { return e.name == name; });
    if (same != result.end()) {
      fail(value, fmt::format("{} is given twice", name));
    }
    result.push_back({ name, *parsed });
  }
  return result;
}

// NAME:SHARE:MS items: a share as --activity's, a hold as --query-ms's.
std::vector<Operation> read_operations(const RawValue& value)
{
  const InputRange share_range = range_of("activity");
  const InputRange hold_range = range_of("query_ms");
  std::vector<Operation> result;
  double total = 0;
  for (const std::string& item : value.items) {
    const auto first = item.find(':');
    const auto second = first == std::string::npos ? std::string::npos : item.find(':', first + 1);
    if (second == std::string::npos || item.find(':', second + 1) != std::string::npos) {
      fail(value, fmt::format("expected NAME:SHARE:MS (e.g. send:0.7:150), got '{}'", user_text(item)));
    }
    Operation op;
    op.name = item.substr(0, first);
    if (!is_plain_name(op.name)) {
      fail(value,
           fmt::format("expected NAME:SHARE:MS (NAME of letters, digits, '_' or '-'; e.g. send:0.7:150), got '{}'", user_text(item)));
    }
    if (std::any_of(result.begin(), result.end(), [&](const Operation& other) { return other.name == op.name; })) {
      fail(value, fmt::format("{} is given twice", op.name));
    }
    auto share = parse_number(item.substr(first + 1, second - first - 1), share_range.min, share_range.max);
    if (!share) {
      fail(value,
           fmt::format(
             "{}: the share: {}, got '{}'", op.name, share.error(), user_text_part(item.substr(first + 1, second - first - 1), item)));
    }
    auto hold = parse_number(item.substr(second + 1), hold_range.min, hold_range.max);
    if (!hold) {
      fail(value,
           fmt::format("{}: the hold time in ms: {}, got '{}'", op.name, hold.error(), user_text_part(item.substr(second + 1), item)));
    }
    op.share = *share;
    op.hold_ms = *hold;
    total += op.share;
    result.push_back(op);
  }
  if (result.empty()) {
    fail(value, "expected at least one operation NAME:SHARE:MS");
  }
  if (result.size() > k_max_operations) {
    fail(value, fmt::format("expected at most {} operations, got {}", k_max_operations, result.size()));
  }
  if (std::fabs(total - 1.0) > 1e-9) {
    fail(value, fmt::format("the shares sum to {}; they must sum to 1", format_number(round_decimal(total), 6)));
  }
  return result;
}

std::vector<std::int64_t> read_pools(const RawValue& value)
{
  const InputRange range = range_of("pool");
  std::vector<std::int64_t> result;
  for (const std::string& item : value.items) {
    for (const std::string& part : split_list(item)) {
      // N, or a range A-B (for `poolcalc curve`).
      const std::size_t dash = part.find('-', 1);
      auto first = count_in(part.substr(0, dash), range);
      auto last = dash == std::string::npos ? first : count_in(part.substr(dash + 1), range);
      if (!first || !last || *last < *first) {
        fail(value,
             fmt::format("expected pool sizes N or ranges A-B (A <= B), each from {} to {}, got '{}'",
                         static_cast<std::int64_t>(range.min),
                         static_cast<std::int64_t>(range.max),
                         user_text_part(part, item)));
      }
      if (*last - *first >= static_cast<std::int64_t>(k_max_pools)) {
        fail(value,
             fmt::format("expected at most {} pool sizes, got {} in '{}'", k_max_pools, *last - *first + 1, user_text_part(part, item)));
      }
      for (std::int64_t pool = *first; pool <= *last; ++pool) {
        result.push_back(pool);
      }
      std::sort(result.begin(), result.end());
      result.erase(std::unique(result.begin(), result.end()), result.end());
    }
    if (result.size() > k_max_pools) {
      fail(value, fmt::format("expected at most {} pool sizes, got {}", k_max_pools, result.size()));
    }
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

// An --op mix's hold: each operation's hold exponential with its own mean, picked with its share;
// scaled to mean 1.
Distribution operation_mix(const std::vector<Operation>& operations)
{
  std::vector<std::pair<double, double>> phases;
  double mean = 0;
  for (const Operation& op : operations) {
    mean += op.share * op.hold_ms;
  }
  for (const Operation& op : operations) {
    phases.emplace_back(op.share, op.hold_ms / mean);
  }
  return mixture_distribution(std::move(phases));
}

// A sample file's durations (--query-sample, --think-sample), as an empirical distribution in
// seconds. The command line read the file into `contents`.
Distribution read_sample(const RawValue& value)
{
  if (!value.contents) {
    fail(value, "the file was not read"); // a programming error: the command line reads it
  }
  auto seconds = parse_sample_text(*value.contents);
  if (!seconds) {
    fail(value, fmt::format("{}: {}", user_text(single(value)), seconds.error()));
  }
  auto sample = empirical_distribution(std::move(*seconds));
  if (!sample) {
    fail(value, fmt::format("{}: {}", user_text(single(value)), sample.error()));
  }
  if (!(sample->mean_s * 1000.0 >= k_min_ms && sample->mean_s * 1000.0 <= k_max_query_ms)) {
    fail(value,
         fmt::format("{}: the mean, {} ms, is outside {}-{} ms",
                     user_text(single(value)),
                     format_number(sample->mean_s * 1000.0),
                     format_number(k_min_ms),
                     format_number(k_max_query_ms)));
  }
  return *sample;
}

// "--query-sample holds.txt (1000 values)".
std::string sample_source(const RawValue& value, const Distribution& sample)
{
  return fmt::format("{} {} ({} values)", value.origin, user_text(single(value)), sample.sample_s.size());
}

// The hold's shape: a sample (--query-sample, read with the hold times), --query-cv, a lognormal
// fitted to the mean (--query-ms) and measured percentiles (--query-p50-ms, --query-p95-ms,
// --query-p99-ms, any of them), the --op mix's, or the rules' queueing.hold_cv.
void read_variability(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  const RawValue* cv = find(inputs, "query_cv");
  const RawValue* p50 = find(inputs, "query_p50_ms");
  const RawValue* p95 = find(inputs, "query_p95_ms");
  const RawValue* p99 = find(inputs, "query_p99_ms");
  const RawValue* sample = find(inputs, "query_sample");
  const RawValue* first_percentile = p50 != nullptr ? p50 : p95 != nullptr ? p95 : p99;
  const RawValue* first = cv != nullptr ? cv : first_percentile;
  if (first != nullptr && sample != nullptr) {
    fail(*first, "--query-sample gives the holds' spread; drop it");
  }
  if (first != nullptr && !scenario.operations.empty()) {
    fail(*first, "the --op mix sets the variability; drop it");
  }
  if (cv != nullptr && first_percentile != nullptr) {
    fail(*first_percentile, "give --query-cv or measured percentiles, not both");
  }
  if (sample != nullptr || !scenario.operations.empty()) {
    scenario.hold_cv2 = cv2(scenario.hold_shape);
    return; // read with the hold times
  }
  if (first_percentile == nullptr) {
    const double value = number_or(inputs, "query_cv", rules.queueing.hold_cv);
    scenario.hold_shape = distribution_from_cv(1.0, value);
    scenario.hold_cv2 = cv2(scenario.hold_shape);
    scenario.hold_cv_source =
      cv != nullptr ? fmt::format("--query-cv {}", format_number(value)) : fmt::format("rules queueing.hold_cv {}", format_number(value));
    return;
  }
  if (scenario.query_ms.size() != 1) {
    fail(*first_percentile, "a percentile fits one mean: give a single --query-ms");
  }
  const double mean_ms = scenario.query_ms.front();
  PercentileSet given;
  std::vector<std::string> names;
  const auto take = [&](const RawValue* value, std::string_view key, std::optional<double>& slot, std::string_view name) {
    if (value != nullptr) {
      const double ms = number_or(inputs, key, 0);
      slot = ms / 1000.0;
      names.push_back(fmt::format("{} {} ms", name, format_number(ms)));
    }
  };
  take(p50, "query_p50_ms", given.p50_s, "p50");
  take(p95, "query_p95_ms", given.p95_s, "p95");
  take(p99, "query_p99_ms", given.p99_s, "p99");
  auto fitted = lognormal_fit(mean_ms / 1000.0, given);
  if (!fitted) {
    fail(*first_percentile, fitted.error());
  }
  scenario.hold_shape = with_mean(*fitted, 1.0);
  scenario.hold_cv2 = cv2(scenario.hold_shape);
  scenario.hold_cv_source = fmt::format("lognormal fit of mean {} ms and {}", format_number(mean_ms), fmt::join(names, ", "));
}

} // namespace

double vu_query_rate(const Scenario& scenario, double hold_s)
{
  if (scenario.think_ms) {
    return scenario.queries_per_request / (*scenario.think_ms / 1000.0 + scenario.queries_per_request * hold_s);
  }
  return scenario.vu_rate_per_s * scenario.queries_per_request;
}

namespace {

// The load: --vus (closed) or --rps (open), exactly one.
void read_load(const RawInputs& inputs, Scenario& scenario)
{
  const RawValue* vus = find(inputs, "vus");
  const RawValue* rps = find(inputs, "rps");
  if (vus == nullptr && rps == nullptr) {
    throw InputError{ "--vus or --rps is required: the concurrent virtual users (a closed load, e.g. --vus 120) or the requests "
                      "per second (an open load, e.g. --rps 64.6)" };
  }
  if (vus != nullptr && rps != nullptr) {
    fail(*rps, "give --vus (a closed load: k6 VUs) or --rps (an open load: arrivals per second), not both");
  }
  if (vus != nullptr) {
    scenario.vus = count_or(inputs, "vus", 0);
  } else {
    scenario.rps = number_or(inputs, "rps", 0);
  }
}

// How long a query holds a connection: --query-ms, or the --op mix's mean and spread; the one
// to size for (--design-ms); the spread (--query-cv, --query-p95-ms, --query-p99-ms).
void read_hold_times(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  const RawValue* query_ms = find(inputs, "query_ms");
  const RawValue* ops = find(inputs, "op");
  const RawValue* sample = find(inputs, "query_sample");
  if (sample != nullptr && (query_ms != nullptr || ops != nullptr)) {
    fail(*sample, fmt::format("the sample's mean is the hold; drop {}", query_ms != nullptr ? "--query-ms" : "--op"));
  }
  if (ops != nullptr) {
    if (query_ms != nullptr) {
      fail(*query_ms, "--op gives each operation's hold time; drop --query-ms");
    }
    if (const RawValue* activity = find(inputs, "activity")) {
      fail(*activity, "--op shares replace --activity; drop --activity");
    }
    scenario.operations = read_operations(*ops);
    double mean = 0;
    double second_moment = 0; // each operation's hold exponential: E[S^2] = 2 S_i^2
    for (const Operation& op : scenario.operations) {
      mean += op.share * op.hold_ms;
      second_moment += op.share * 2.0 * op.hold_ms * op.hold_ms;
    }
    scenario.query_ms = { round_decimal(mean) };
    scenario.hold_cv2 = second_moment / (mean * mean) - 1.0;
    scenario.hold_cv_source = "the --op mix";
    scenario.hold_shape = operation_mix(scenario.operations);
  } else if (sample != nullptr) {
    const Distribution holds = read_sample(*sample);
    scenario.query_ms = { round_decimal(holds.mean_s * 1000.0) };
    scenario.hold_shape = with_mean(holds, 1.0);
    scenario.hold_cv_source = sample_source(*sample, holds);
  } else if (query_ms == nullptr) {
    throw InputError{
      "--query-ms is required: how long one query holds a connection, in milliseconds (e.g. --query-ms 150, or 100,150,200)"
    };
  } else {
    scenario.query_ms = read_query_ms(*query_ms);
  }
  scenario.design_index = scenario.query_ms.size() / 2; // the middle one ("realistic" of three)
  if (const RawValue* design = find(inputs, "design_ms")) {
    const double wanted = number_or(inputs, "design_ms", 0);
    const auto it = std::find(scenario.query_ms.begin(), scenario.query_ms.end(), wanted);
    if (it == scenario.query_ms.end()) {
      std::vector<std::string> listed;
      for (double ms : scenario.query_ms) {
        listed.push_back(format_number(ms));
      }
      fail(*design,
           fmt::format("expected one of the --query-ms values ({}), got '{}'", fmt::join(listed, ", "), user_text(single(*design))));
    }
    scenario.design_index = static_cast<std::size_t>(it - scenario.query_ms.begin());
  }
  read_variability(inputs, rules, scenario);
}

// How often a VU (or an arrival) sends queries: --queries-per-request, and for VUs --vu-rate or
// --think-ms. A VU must have time to think: its holds cannot fill (or exceed) its cycle.
void read_pace(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  scenario.queries_per_request = number_or(inputs, "queries_per_request", 1.0);
  scenario.vu_rate_per_s = number_or(inputs, "vu_rate", rules.sizing.vu_rate_per_s);
  const RawValue* think_sample = find(inputs, "think_sample");
  if (find(inputs, "think_ms") != nullptr || think_sample != nullptr) {
    if (const RawValue* rate = find(inputs, "vu_rate")) {
      fail(*rate, fmt::format("{} sets each VU's pace; drop --vu-rate", think_sample != nullptr ? "--think-sample" : "--think-ms"));
    }
  }
  if (think_sample != nullptr && !scenario.rps) {
    for (const char* key : { "think_ms", "think_cv" }) {
      if (const RawValue* value = find(inputs, key)) {
        fail(*value, "--think-sample gives the pauses' mean and spread; drop it");
      }
    }
    const Distribution pauses = read_sample(*think_sample);
    scenario.think_ms = round_decimal(pauses.mean_s * 1000.0);
    scenario.think_shape = with_mean(pauses, 1.0);
    scenario.think_source = sample_source(*think_sample, pauses);
  } else if (find(inputs, "think_ms") != nullptr) {
    scenario.think_ms = number_or(inputs, "think_ms", 0);
  }
  if (think_sample == nullptr) {
    const double value = number_or(inputs, "think_cv", rules.queueing.think_cv);
    scenario.think_shape = distribution_from_cv(1.0, value);
    scenario.think_source = find(inputs, "think_cv") != nullptr ? fmt::format("--think-cv {}", format_number(value))
                                                                : fmt::format("rules queueing.think_cv {}", format_number(value));
  }
  if (scenario.rps) {
    for (const char* closed_only : { "vu_rate", "think_ms", "think_cv", "think_sample", "activity" }) {
      if (const RawValue* value = find(inputs, closed_only)) {
        fail(*value, "applies to VUs (a closed load), not to --rps");
      }
    }
    return;
  }
  const double longest_hold_s = scenario.query_ms.back() / 1000.0;
  const double busy = vu_query_rate(scenario, longest_hold_s) * longest_hold_s;
  if (!scenario.think_ms && !(busy < 1.0)) {
    // Name the input that made it so: the rate, the queries per request, the mix or the hold.
    std::string origin = "rules: sizing.vu_rate_per_s";
    for (const char* key : { "vu_rate", "queries_per_request", "op", "query_ms" }) {
      if (const RawValue* given = find(inputs, key)) {
        origin = given->origin;
        break;
      }
    }
    throw InputError{ fmt::format("{}: at {}/s with {} quer{} of {} ms per request, each VU would hold a connection {} s of every "
                                  "second; lower the rate or give --think-ms",
                                  origin,
                                  format_number(scenario.vu_rate_per_s),
                                  format_number(scenario.queries_per_request),
                                  scenario.queries_per_request == 1 ? "y" : "ies",
                                  format_number(scenario.query_ms.back()),
                                  format_number(busy)) };
  }
}

// What the queueing model is asked: pools to compare (--pool), a goal to size for (--target).
void read_queueing(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  scenario.stream = static_cast<std::uint64_t>(count_or(inputs, "stream", 1));
  scenario.simulation_precision = rules.queueing.simulation_precision;
  scenario.simulation_max_events = rules.queueing.simulation_max_events;
  if (const RawValue* pools = find(inputs, "pool")) {
    scenario.pools = read_pools(*pools);
  }
  if (const RawValue* target = find(inputs, "target")) {
    auto parsed = parse_target(single(*target));
    if (!parsed) {
      fail(*target, parsed.error());
    }
    scenario.target = *parsed;
  }
}

// The rule of thumb's factors: --activity (1 with an --op mix, whose shares replace it),
// --burst, --overhead, and the rules' rounding.
void read_rule_of_thumb(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  scenario.activity = scenario.operations.empty() ? number_or(inputs, "activity", rules.sizing.activity) : 1.0;
  scenario.burst = number_or(inputs, "burst", rules.sizing.burst);
  scenario.overhead = count_or(inputs, "overhead", rules.sizing.overhead);
  scenario.round_to = rules.sizing.round_to;
}

// --topology and --pgbouncer-host HOST[:PORT] (an IPv6 address in brackets when a port follows):
// where PgBouncer runs and where the application reaches it.
void read_pgbouncer_placement(const RawInputs& inputs, Scenario& scenario)
{
  if (const RawValue* topology = find(inputs, "topology")) {
    const auto parsed = parse_topology(single(*topology));
    if (!parsed) {
      fail(*topology,
           fmt::format("'{}' is not a topology; expected shared (one PgBouncer for every instance) or sidecar (one beside each instance)",
                       user_text(single(*topology))));
    }
    scenario.topology = *parsed;
  }
  const RawValue* host = find(inputs, "pgbouncer_host");
  if (host == nullptr) {
    return;
  }
  if (scenario.topology == Topology::sidecar) {
    fail(*host, "a sidecar PgBouncer is reached on 127.0.0.1 beside each instance; drop --pgbouncer-host or use --topology shared");
  }
  std::string text = single(*host);
  std::string port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string::npos || (close + 1 < text.size() && text[close + 1] != ':')) {
      fail(*host, "expected HOST or HOST:PORT, an IPv6 address in brackets: [::1]:6432");
    }
    port = close + 1 < text.size() ? text.substr(close + 2) : "";
    text = text.substr(1, close - 1);
  } else if (const auto colon = text.find(':'); colon != std::string::npos) {
    if (text.find(':', colon + 1) != std::string::npos) {
      fail(*host, "expected HOST or HOST:PORT, an IPv6 address in brackets: [::1]:6432");
    }
    port = text.substr(colon + 1);
    text = text.substr(0, colon);
  }
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':';
  });
  if (!plain) {
    fail(*host,
         fmt::format("the host '{}' cannot be written into a URL or pgbouncer.ini: expected a host name or IP address (letters, digits, "
                     "'.', '-', '_'), optionally :PORT",
                     user_text(text)));
  }
  if (!port.empty() || host->items.front().ends_with(':')) {
    auto number = parse_count(port, 1, 65535);
    if (!number) {
      fail(*host, fmt::format("the port: {}", number.error()));
    }
    scenario.pgbouncer_port = *number;
  }
  scenario.pgbouncer_host = text;
}

// The deployment: the server's max_connections, instances, services, the PgBouncer switches.
void read_deployment(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  scenario.max_connections = count_or(inputs, "max_connections", rules.database.max_connections);
  if (find(inputs, "postgres_version") != nullptr) {
    scenario.postgres_version = static_cast<int>(count_or(inputs, "postgres_version", 0));
  }
  scenario.serverless = switch_value(inputs, "serverless").value_or(false);
  // A serverless execution serves one request at a time: one per VU carries the closed load. An
  // open load's executions depend on how long its requests last, which poolcalc is not told.
  std::int64_t instances_default = 1;
  if (scenario.serverless && find(inputs, "instances") == nullptr) {
    if (scenario.rps) {
      fail(*find(inputs, "serverless"),
           "with --rps the concurrent executions are not known: give --instances, the executions running at the peak");
    }
    if (scenario.vus > k_max_instances) {
      fail(*find(inputs, "serverless"),
           fmt::format("{} VUs would need {} executions, more than the {} poolcalc takes: give --instances, the executions running "
                       "at the peak",
                       scenario.vus,
                       scenario.vus,
                       k_max_instances));
    }
    instances_default = std::max<std::int64_t>(scenario.vus, 1);
  }
  if (scenario.serverless && find(inputs, "overhead") != nullptr) {
    fail(*find(inputs, "overhead"),
         "a serverless execution keeps no overhead connections: its pool is rules serverless.pool_per_execution");
  }
  scenario.instances = count_or(inputs, "instances", instances_default);
  scenario.max_instances = count_or(inputs, "max_instances", scenario.instances);
  if (scenario.max_instances < scenario.instances) {
    fail(*find(inputs, "max_instances"),
         scenario.serverless && find(inputs, "instances") == nullptr
           ? fmt::format("the platform's concurrency limit {} is below the {} executions the VUs need, one each: give --instances too",
                         scenario.max_instances,
                         scenario.instances)
           : fmt::format("{} is below --instances {}: the autoscaler's largest count is at least the instances that carry the load",
                         scenario.max_instances,
                         scenario.instances));
  }
  scenario.deploy_surge_percent =
    number_or(inputs, "deploy_surge", scenario.serverless ? rules.serverless.deploy_surge_percent : rules.fleet.rolling_max_surge_percent);
  if (find(inputs, "app_concurrency") != nullptr) {
    scenario.app_concurrency = count_or(inputs, "app_concurrency", 1);
  }
  if (find(inputs, "db_cores") != nullptr) {
    scenario.db_cores = count_or(inputs, "db_cores", 1);
  }
  scenario.services = count_or(inputs, "services", 1);
  scenario.transaction_pooling = switch_value(inputs, "transaction_pooling").value_or(false);
  scenario.remote_database = switch_value(inputs, "remote_database");
  read_pgbouncer_placement(inputs, scenario);
  if (scenario.serverless && scenario.topology == Topology::sidecar) {
    fail(*find(inputs, "topology"),
         "sidecar does not go with --serverless: a PgBouncer beside each execution pools nothing; use one shared PgBouncer");
  }
}

void read_timeouts(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  // Whole seconds: Prisma's pool_timeout and connect_timeout are integers.
  scenario.pool_timeout_s = static_cast<double>(count_or(inputs, "pool_timeout", static_cast<std::int64_t>(rules.timeouts.pool_timeout_s)));
  scenario.connect_timeout_s =
    static_cast<double>(count_or(inputs, "connect_timeout", static_cast<std::int64_t>(rules.timeouts.connect_timeout_s)));
  if (scenario.target && scenario.target->metric == Target::Metric::timeout_rate && scenario.pool_timeout_s == 0) {
    fail(*find(inputs, "target"), "a timeout_rate target needs a pool timeout, and --pool-timeout is 0 (never time out)");
  }
  scenario.request_timeout_s = number_or(inputs, "request_timeout", rules.timeouts.client_request_timeout_s);
  if (find(inputs, "app_timeout") != nullptr) {
    scenario.app_timeout_s = number_or(inputs, "app_timeout", 0);
  }
}

// The connections kept from the application (--reserve, else the rules'), within max_connections.
void read_reserved(const RawInputs& inputs, const Rules& rules, Scenario& scenario)
{
  const RawValue* reserve = find(inputs, "reserve");
  scenario.reserved = reserve != nullptr ? read_reserve(*reserve) : rules.database.reserved;
  std::int64_t reserved_total = 0;
  for (const ReserveEntry& entry : scenario.reserved) {
    reserved_total += entry.connections;
  }
  if (reserved_total > scenario.max_connections) {
    const RawValue* max_connections = find(inputs, "max_connections");
    const std::string origin = reserve != nullptr           ? reserve->origin
                               : max_connections != nullptr ? fmt::format("{} (with the default reserved budget)", max_connections->origin)
                                                            : "rules: database.reserved";
    throw InputError{ fmt::format("{}: the reserved connections ({}) exceed max_connections ({}); reserve at most {}",
                                  origin,
                                  reserved_total,
                                  scenario.max_connections,
                                  scenario.max_connections) };
  }
}

void read_database_url(const RawInputs& inputs, Scenario& scenario)
{
  if (const RawValue* url = find(inputs, "database_url")) {
    auto parsed = DatabaseUrl::parse(single(*url));
    if (!parsed) {
      fail(*url, parsed.error());
    }
    scenario.database_url = std::move(*parsed);
  }
}

// The product of the inputs, before any integer arithmetic (see k_max_total_connections).
void check_total(const RawInputs& inputs, const Scenario& scenario)
{
  const double largest_peak = offered_concurrency(scenario, scenario.query_ms.back());
  const auto instances = static_cast<double>(scenario.instances);
  const double largest_total =
    (std::ceil(largest_peak / instances) * scenario.burst + static_cast<double>(scenario.overhead + scenario.round_to)) * instances;
  if (!(largest_total <= k_max_total_connections)) {
    const RawValue* load = find(inputs, scenario.rps ? "rps" : "vus");
    throw InputError{ fmt::format("{}: the workload needs about {} connections, more than the {} poolcalc computes with; "
                                  "check the units (--query-ms is milliseconds)",
                                  load->origin,
                                  format_number(largest_total, 0),
                                  format_number(k_max_total_connections, 0)) };
  }
}

// Validates every input, in the order its errors are reported: the first bad one is named.
Scenario read_scenario(const RawInputs& inputs, const Rules& rules)
{
  Scenario scenario;
  read_load(inputs, scenario);
  read_hold_times(inputs, rules, scenario);
  read_pace(inputs, rules, scenario);
  read_queueing(inputs, rules, scenario);
  read_rule_of_thumb(inputs, rules, scenario);
  read_deployment(inputs, rules, scenario);
  read_timeouts(inputs, rules, scenario);
  read_reserved(inputs, rules, scenario);
  read_database_url(inputs, scenario);
  check_total(inputs, scenario);
  return scenario;
}

// The row of a key a scenario file may set; nullptr for any other key.
const InputSpec* file_input(std::string_view key)
{
  const auto& table = inputs();
  const auto it = std::find_if(table.begin(), table.end(), [&](const InputSpec& spec) { return spec.in_file && spec.key == key; });
  return it == table.end() ? nullptr : &*it;
}

// The text a flag would have for a TOML number. Whole-number inputs refuse a TOML float, as the
// rules files do.
std::string number_text(const toml::node& node, std::string_view key, bool whole, const detail::TableReader& reader)
{
  if (const auto* i = node.as_integer()) {
    return fmt::format("{}", i->get());
  }
  if (const auto* f = node.as_floating_point(); f != nullptr && !whole) {
    return fmt::format("{}", f->get());
  }
  reader.fail(node, key, whole ? "expected a whole number" : "expected a number");
}

// Turns a TOML value into RawValue items, in the same text a flag would have, checking its type.
// `key` is a file_input().
std::vector<std::string> items_of(const toml::node& node, std::string_view key, const detail::TableReader& reader)
{
  const InputType type = file_input(key)->type;
  switch (type) {
  case InputType::integer:
  case InputType::number:
    return { number_text(node, key, type == InputType::integer, reader) };
  case InputType::integers:
  case InputType::numbers: {
    const bool whole = type == InputType::integers;
    const auto* array = node.as_array();
    if (array == nullptr) {
      return { number_text(node, key, whole, reader) };
    }
    std::vector<std::string> items;
    for (const auto& element : *array) {
      items.push_back(number_text(element, key, whole, reader));
    }
    return items;
  }
  case InputType::operations: {
    std::vector<std::string> items;
    const auto* array = node.as_array();
    if (array == nullptr) {
      if (const auto* text = node.as_string()) {
        return { text->get() };
      }
      reader.fail(node, key, "expected a string or an array of strings");
    }
    for (const auto& element : *array) {
      const auto* text = element.as_string();
      if (text == nullptr) {
        reader.fail(element, key, "expected a string or an array of strings");
      }
      items.push_back(text->get());
    }
    return items;
  }
  case InputType::reserve: {
    const auto* table = node.as_table();
    if (table == nullptr) {
      reader.fail(node, key, "expected a table of NAME = N (e.g. reserve = { superuser = 3, admin = 5 })");
    }
    std::vector<std::string> items;
    for (const auto& [name, value] : detail::keys_in_file_order(*table)) {
      items.push_back(fmt::format("{}={}", name, number_text(*value, fmt::format("reserve.{}", name), true, reader)));
    }
    return items;
  }
  case InputType::boolean:
    if (const auto* b = node.as_boolean()) {
      return { b->get() ? "true" : "false" };
    }
    reader.fail(node, key, "expected true or false");
  case InputType::text:
    if (const auto* text = node.as_string()) {
      return { text->get() };
    }
    reader.fail(node, key, "expected a string");
  }
  reader.fail(node, key, "unsupported value");
}

} // namespace

double offered_concurrency(const Scenario& scenario, double hold_ms)
{
  const double hold_s = hold_ms / 1000.0;
  if (scenario.rps) {
    return *scenario.rps * scenario.queries_per_request * hold_s;
  }
  return static_cast<double>(scenario.vus) * scenario.activity * vu_query_rate(scenario, hold_s) * hold_s;
}

const std::vector<std::string_view>& input_keys()
{
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> result;
    for (const InputSpec& spec : inputs()) {
      if (spec.in_file) {
        result.push_back(spec.key);
      }
    }
    return result;
  }();
  return keys;
}

poolcalc::expected<Scenario, std::string> build_scenario(const RawInputs& inputs, const Rules& rules)
{
  try {
    return read_scenario(inputs, rules);
  } catch (const InputError& error) {
    return poolcalc::unexpected(error.message);
  }
}

poolcalc::expected<RawInputs, std::string> parse_scenario_toml(std::string_view toml_text, std::string_view source_name)
{
  try {
    const toml::table root = detail::parse_toml(toml_text, source_name);
    detail::TableReader reader(root, "", source_name);
    RawInputs inputs;
    for (const auto& [key, node_ptr] : detail::keys_in_file_order(root)) {
      const toml::node& node = *node_ptr;
      const std::string_view name = key;
      if (file_input(name) == nullptr) {
        throw InputError{ fmt::format("{}: {}: unknown key (accepted: {})",
                                      detail::location(source_name, node.source()),
                                      user_text(name),
                                      fmt::join(input_keys(), ", ")) };
      }
      RawValue value;
      value.items = items_of(node, name, reader);
      value.origin = fmt::format("{}: {}", detail::location(source_name, node.source()), name);
      inputs.emplace(std::string(name), std::move(value));
    }
    return inputs;
  } catch (const InputError& error) {
    return poolcalc::unexpected(error.message);
  }
}

namespace detail {

RawValue scenario_value(const toml::node& node, std::string_view key, const TableReader& reader)
{
  RawValue value;
  value.items = items_of(node, key, reader);
  value.origin = fmt::format("{}: {}", location(reader.source_name(), node.source()), reader.dotted(key));
  return value;
}

} // namespace detail

std::vector<std::string> scenario_labels(std::size_t count)
{
  if (count == 3) {
    return { "conservative", "realistic", "pessimistic" };
  }
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < count; ++i) {
    labels.push_back(count == 1 ? std::string("design") : fmt::format("scenario {}", i + 1));
  }
  return labels;
}

} // namespace poolcalc

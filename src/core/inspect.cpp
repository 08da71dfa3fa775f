#include "poolcalc/inspect.hpp"
#include "poolcalc/postgres_version.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

namespace poolcalc {

namespace {

bool is_idle_in_transaction(const Backend& b)
{
  return b.state == "idle in transaction" || b.state == "idle in transaction (aborted)";
}

double normal_cdf(double z)
{
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

// The share of one statement's calls at or below `x` ms: a normal(mean, stddev) cut to [0, max].
double truncated_cdf(const StatementStat& s, double x)
{
  const double upper = std::max(s.max_ms, s.mean_ms);
  if (x >= upper) {
    return 1.0;
  }
  if (x < 0) {
    return 0.0;
  }
  if (!(s.stddev_ms > 0)) {
    return x >= s.mean_ms ? 1.0 : 0.0;
  }
  const double lo = normal_cdf((0.0 - s.mean_ms) / s.stddev_ms);
  const double hi = normal_cdf((upper - s.mean_ms) / s.stddev_ms);
  if (!(hi - lo > 1e-12)) {
    return x >= s.mean_ms ? 1.0 : 0.0;
  }
  return std::clamp((normal_cdf((x - s.mean_ms) / s.stddev_ms) - lo) / (hi - lo), 0.0, 1.0);
}

// --- SQL text, as PostgreSQL's lexer splits it (src/backend/parser/scan.l) ---

bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Letters, digits, '_', '$' and every byte of a non-ASCII character continue an identifier.
bool is_word_char(char c)
{
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' || u == '$' || u >= 0x80;
}

bool is_word_start(char c)
{
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u >= 0x80;
}

char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

enum class TokenKind
{
  space,
  comment,
  word,       // a keyword or an unquoted identifier
  identifier, // "quoted"
  literal,
  number, // a numeric constant: 42, 1.5e-3, .5, 0x1F
  semicolon,
  other,
};

struct Token
{
  TokenKind kind = TokenKind::other;
  std::size_t begin = 0;
  std::size_t end = 0;      // one past the token
  std::size_t body = 0;     // literal: where its content starts (after E', $tag$)
  std::string_view closing; // literal: its closing quote or tag; empty when it does not end in the text
};

class SqlLexer
{
public:
  explicit SqlLexer(std::string_view sql)
    : m_sql(sql)
  {
  }

  bool done() const { return m_at >= m_sql.size(); }

  Token next()
  {
    const std::size_t n = m_sql.size();
    const std::size_t i = m_at;
    Token t;
    t.begin = i;
    const char c = m_sql[i];
    if (is_space(c)) {
      t.kind = TokenKind::space;
      t.end = i + 1;
      while (t.end < n && is_space(m_sql[t.end])) {
        ++t.end;
      }
    } else if (c == '-' && at(i + 1) == '-') {
      t.kind = TokenKind::comment;
      const std::size_t newline = m_sql.find('\n', i);
      t.end = newline == std::string_view::npos ? n : newline;
    } else if (c == '/' && at(i + 1) == '*') {
      t.kind = TokenKind::comment;
      t.end = block_comment_end(i);
    } else if (c == '"') {
      t.kind = TokenKind::identifier;
      t.end = quoted_end(i, '"', false).value_or(n);
    } else if (c == ';') {
      t.kind = TokenKind::semicolon;
      t.end = i + 1;
    } else if (c == '\'') {
      standard_literal(t, i);
    } else if ((c == 'e' || c == 'E') && at(i + 1) == '\'') {
      quoted_literal(t, i + 1, true);
    } else if ((c == 'u' || c == 'U') && at(i + 1) == '&' && at(i + 2) == '\'') {
      quoted_literal(t, i + 2, false); // U&'...' needs standard_conforming_strings on
    } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X') && at(i + 1) == '\'') {
      quoted_literal(t, i + 1, false);
    } else if ((c == 'n' || c == 'N') && at(i + 1) == '\'') {
      standard_literal(t, i + 1);
    } else if (c == '$' && dollar_tag(i) > 0) {
      const std::size_t tag_length = dollar_tag(i);
      t.kind = TokenKind::literal;
      t.body = i + tag_length;
      const std::string_view tag = m_sql.substr(i, tag_length);
      const std::size_t close = m_sql.find(tag, t.body);
      if (close == std::string_view::npos) {
        t.end = n;
      } else {
        t.end = close + tag_length;
        t.closing = m_sql.substr(close, tag_length);
      }
    } else if ((c >= '0' && c <= '9') || (c == '.' && at(i + 1) >= '0' && at(i + 1) <= '9')) {
      // A numeric constant: digits, '_', one '.', an exponent with its sign, or 0x/0o/0b digits.
      t.kind = TokenKind::number;
      t.end = i + 1;
      while (t.end < n) {
        const char d = m_sql[t.end];
        const char before = m_sql[t.end - 1];
        const bool sign = (d == '+' || d == '-') && (before == 'e' || before == 'E') && at(t.end + 1) >= '0' && at(t.end + 1) <= '9';
        if (!is_word_char(d) && d != '.' && !sign) {
          break;
        }
        ++t.end;
      }
    } else if (is_word_char(c)) {
      // A word or a $1 parameter: word characters never start a literal inside one.
      t.kind = TokenKind::word;
      t.end = i + 1;
      while (t.end < n && is_word_char(m_sql[t.end])) {
        ++t.end;
      }
    } else {
      t.kind = TokenKind::other;
      t.end = i + 1;
    }
    m_at = t.end;
    return t;
  }

private:
  char at(std::size_t i) const { return i < m_sql.size() ? m_sql[i] : '\0'; }

  // Block comments nest in SQL: /* a /* b */ still a comment */.
  std::size_t block_comment_end(std::size_t i) const
  {
    int depth = 0;
    while (i < m_sql.size()) {
      if (m_sql[i] == '/' && at(i + 1) == '*') {
        ++depth;
        i += 2;
      } else if (m_sql[i] == '*' && at(i + 1) == '/') {
        i += 2;
        if (--depth == 0) {
          return i;
        }
      } else {
        ++i;
      }
    }
    return m_sql.size();
  }

  // One past the closing quote of the quoted text opening at `open` (a doubled quote is part of
  // it; with `backslash`, a backslash escapes the next byte); none when it does not close.
  std::optional<std::size_t> quoted_end(std::size_t open, char quote, bool backslash) const
  {
    for (std::size_t i = open + 1; i < m_sql.size(); ++i) {
      if (backslash && m_sql[i] == '\\') {
        ++i;
      } else if (m_sql[i] == quote) {
        if (at(i + 1) != quote) {
          return i + 1;
        }
        ++i;
      }
    }
    return std::nullopt;
  }

  void quoted_literal(Token& t, std::size_t open, bool backslash) const
  {
    t.kind = TokenKind::literal;
    t.body = open + 1;
    const auto end = quoted_end(open, '\'', backslash);
    t.end = end.value_or(m_sql.size());
    if (end) {
      t.closing = m_sql.substr(*end - 1, 1);
    }
  }

  // '...' ends at the first lone quote when standard_conforming_strings is on (PostgreSQL's
  // default since 9.1), but a backslash escapes a quote when it is off; the session that ran the
  // statement is not known, so where the two readings differ, the rest of the text is masked.
  void standard_literal(Token& t, std::size_t open) const
  {
    quoted_literal(t, open, false);
    if (quoted_end(open, '\'', true) != quoted_end(open, '\'', false)) {
      t.end = m_sql.size();
      t.closing = {};
    }
  }

  // The length of the $tag$ opening at `i` ($$ or $name$, the name not starting with a digit),
  // 0 when there is none ($1 is a parameter). A `$` inside a word never gets here.
  std::size_t dollar_tag(std::size_t i) const
  {
    std::size_t j = i + 1;
    if (j < m_sql.size() && is_word_start(m_sql[j])) {
      while (j < m_sql.size() && is_word_char(m_sql[j]) && m_sql[j] != '$') {
        ++j;
      }
    }
    return at(j) == '$' ? j - i + 1 : 0;
  }

  std::string_view m_sql;
  std::size_t m_at = 0;
};

bool keyword_is(std::string_view word, std::string_view keyword)
{
  return word.size() == keyword.size() &&
         std::equal(word.begin(), word.end(), keyword.begin(), [](char a, char b) { return lower(a) == b; });
}

// The first words of one statement name a command that can carry a credential.
bool credential_command(const std::vector<std::string_view>& words)
{
  const auto word = [&](std::size_t i) { return i < words.size() ? words[i] : std::string_view(); };
  if (!keyword_is(word(0), "create") && !keyword_is(word(0), "alter")) {
    return false;
  }
  for (const char* object : { "role", "user", "group", "server", "subscription" }) {
    if (keyword_is(word(1), object)) {
      return true; // USER covers USER MAPPING
    }
  }
  return keyword_is(word(1), "foreign") && keyword_is(word(2), "data") && keyword_is(word(3), "wrapper");
}

// The start of the UTF-8 character at byte `i`: any byte but a continuation byte (10xxxxxx).
bool starts_character(char c)
{
  return (static_cast<unsigned char>(c) & 0xc0U) != 0x80U;
}

// The byte length of the first `max_chars` characters of `text`.
std::size_t prefix_bytes(std::string_view text, std::size_t max_chars)
{
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (starts_character(text[i]) && chars++ == max_chars) {
      return i;
    }
  }
  return text.size();
}

} // namespace

bool may_carry_credentials(std::string_view sql)
{
  SqlLexer lexer(sql);
  std::vector<std::string_view> words; // the current statement's first tokens, "" for a non-word
  bool judged = false;                 // the current statement's first four tokens were judged
  while (!lexer.done()) {
    const Token t = lexer.next();
    if (t.kind == TokenKind::space || t.kind == TokenKind::comment) {
      continue;
    }
    if (t.kind == TokenKind::semicolon) {
      if (!judged && credential_command(words)) {
        return true;
      }
      words.clear();
      judged = false;
      continue;
    }
    if (judged) {
      continue;
    }
    words.push_back(t.kind == TokenKind::word ? sql.substr(t.begin, t.end - t.begin) : std::string_view());
    if (words.size() == 4) {
      if (credential_command(words)) {
        return true;
      }
      judged = true;
    }
  }
  return !judged && credential_command(words);
}

std::string mask_literals(std::string_view sql)
{
  std::string out;
  out.reserve(sql.size());
  SqlLexer lexer(sql);
  while (!lexer.done()) {
    const Token t = lexer.next();
    const std::string_view text = sql.substr(t.begin, t.end - t.begin);
    if (t.kind == TokenKind::comment) {
      // A comment can hold anything ("/* password=... */"): its form is kept, its text is not.
      out += text.starts_with("--") ? "--..." : "/*...*/";
      continue;
    }
    if (t.kind == TokenKind::number) {
      out += "..."; // pg_stat_statements keeps a utility statement's constants as typed
      continue;
    }
    if (t.kind != TokenKind::literal) {
      out += text;
      continue;
    }
    out += sql.substr(t.begin, t.body - t.begin); // E', U&', $tag$
    out += "...";
    out += t.closing;
  }
  return out;
}

std::string statement_excerpt(std::string_view sql, std::size_t max_chars)
{
  std::string compact = compact_whitespace(mask_literals(sql));
  compact.resize(prefix_bytes(compact, max_chars));
  while (!compact.empty() && compact.back() == ' ') {
    compact.pop_back(); // the cut fell after a space
  }
  return compact;
}

std::string shorten(std::string_view text, std::size_t max_chars)
{
  if (prefix_bytes(text, max_chars) == text.size()) {
    return std::string(text);
  }
  const std::size_t keep = max_chars > 3 ? max_chars - 3 : 0;
  return std::string(text.substr(0, prefix_bytes(text, keep))) + "...";
}

void add_statement(ServerSnapshot& snapshot, StatementStat row, const std::optional<std::string>& text)
{
  if (!text || may_carry_credentials(*text)) {
    ++snapshot.withheld_statements;
    snapshot.withheld_calls += row.calls;
    if (text) { // counted in the server's sums, which must cover only what is counted
      snapshot.statements_calls -= row.calls;
      snapshot.statements_total_ms -= row.total_ms;
    }
    return;
  }
  row.query = statement_excerpt(*text);
  snapshot.statements.push_back(std::move(row));
}

std::string ms_text(double ms)
{
  return format_number(ms, std::abs(ms) < 1 ? 4 : 2);
}

std::string_view to_string(StatementsStatus status)
{
  switch (status) {
  case StatementsStatus::available:
    return "available";
  case StatementsStatus::not_installed:
    return "not_installed";
  case StatementsStatus::not_loaded:
    return "not_loaded";
  case StatementsStatus::not_readable:
    return "not_readable";
  }
  return "not_readable";
}

std::optional<double> mixture_p95(const std::vector<StatementStat>& statements)
{
  double weight = 0;
  double upper = 0;
  for (const StatementStat& s : statements) {
    if (s.calls > 0 && std::isfinite(s.mean_ms) && std::isfinite(s.stddev_ms) && std::isfinite(s.max_ms)) {
      weight += static_cast<double>(s.calls);
      upper = std::max({ upper, s.max_ms, s.mean_ms });
    }
  }
  if (!(weight > 0)) {
    return std::nullopt;
  }
  const auto cdf = [&](double x) {
    double sum = 0;
    for (const StatementStat& s : statements) {
      if (s.calls > 0 && std::isfinite(s.mean_ms) && std::isfinite(s.stddev_ms) && std::isfinite(s.max_ms)) {
        sum += static_cast<double>(s.calls) * truncated_cdf(s, x);
      }
    }
    return sum / weight;
  };
  double lo = 0;
  double hi = upper;
  for (int i = 0; i < 200 && hi - lo > 1e-9 * std::max(1.0, hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (cdf(mid) >= 0.95 ? hi : lo) = mid;
  }
  return hi;
}

namespace {

// The slots ordinary roles can have on this version: WAL senders have slots of their own from
// the major version rules.toml's postgres.wal_senders_separate_since (server_version_num is
// major x 10000).
void count_slots(Inspection& r, const Rules& rules)
{
  const ServerSnapshot& snapshot = r.snapshot;
  r.wal_senders_count = snapshot.version_num < rules.postgres.wal_senders_separate_since * 10000;
  const std::int64_t reserved = snapshot.reserved_connections.value_or(0);
  r.ordinary_slots =
    snapshot.max_connections - snapshot.superuser_reserved_connections - reserved - (r.wal_senders_count ? snapshot.max_wal_senders : 0);
  r.ordinary_slots = std::max<std::int64_t>(r.ordinary_slots, 0);
}

// Who holds the slots now, grouped by application, user, database and state (most
// connections first); returns every client backend but the inspection's own.
std::vector<Backend> count_connections(Inspection& r)
{
  const ServerSnapshot& snapshot = r.snapshot;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, ConnectionGroup> groups;
  std::vector<Backend> others;
  for (const Backend& b : snapshot.backends) {
    if (b.pid == snapshot.own_pid) {
      continue; // the inspection's own connection goes away with it
    }
    ++r.client_connections;
    if (!r.app.empty() && b.application == r.app) {
      ++r.app_connections;
    } else {
      ++r.other_connections;
    }
    if (!b.visible) {
      ++r.hidden_sessions;
    }
    ConnectionGroup& g = groups[{ b.application, b.user, b.database, b.state }];
    g.application = b.application;
    g.user = b.user;
    g.database = b.database;
    g.state = b.state;
    ++g.count;
    if (b.state_age_s) {
      g.longest_state_age_s = std::max(g.longest_state_age_s.value_or(0.0), *b.state_age_s);
    }
    others.push_back(b);
  }
  r.free_slots = std::max<std::int64_t>(r.ordinary_slots - r.client_connections, 0);
  for (auto& [key, group] : groups) {
    r.groups.push_back(group);
  }
  std::stable_sort(r.groups.begin(), r.groups.end(), [](const ConnectionGroup& a, const ConnectionGroup& b) { return a.count > b.count; });
  return others;
}

// The oldest connections, and the sessions past the rules' thresholds, longest first.
void list_sessions(Inspection& r, const std::vector<Backend>& others, const InspectRules& limits)
{
  const auto by = [](auto member) {
    return [member](const Backend& a, const Backend& b) { return (a.*member).value_or(-1.0) > (b.*member).value_or(-1.0); };
  };
  std::vector<Backend> sorted = others;
  std::stable_sort(sorted.begin(), sorted.end(), by(&Backend::connection_age_s));
  for (const Backend& b : sorted) {
    if (b.connection_age_s && static_cast<std::int64_t>(r.oldest.size()) < limits.list_limit) {
      r.oldest.push_back(b);
    }
    if (b.connection_age_s && *b.connection_age_s > limits.connection_age_info_s) {
      ++r.old_connections;
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(), by(&Backend::state_age_s));
  for (const Backend& b : sorted) {
    if (is_idle_in_transaction(b) && b.state_age_s && *b.state_age_s > limits.idle_in_transaction_warn_s) {
      r.idle_in_transaction.push_back(b);
    }
    if (b.state == "active" && b.state_age_s && *b.state_age_s > limits.active_query_warn_s) {
      r.long_active.push_back(b);
    }
  }
}

// The query times pg_stat_statements measured.
void measure_statements(Inspection& r)
{
  const ServerSnapshot& snapshot = r.snapshot;
  if (snapshot.statements_status == StatementsStatus::available && snapshot.statements_calls > 0 &&
      std::isfinite(snapshot.statements_total_ms) && snapshot.statements_total_ms >= 0) {
    r.mean_query_ms = round_decimal(snapshot.statements_total_ms / static_cast<double>(snapshot.statements_calls));
    r.p95_query_ms = mixture_p95(snapshot.statements);
  }
  for (const StatementStat& st : snapshot.statements) {
    if (st.query == "<insufficient privilege>") {
      ++r.hidden_statements;
    }
  }
}

} // namespace

Inspection analyze(const ServerSnapshot& snapshot, const Rules& rules, std::string_view app)
{
  Inspection r;
  r.snapshot = snapshot;
  r.app = std::string(app);
  count_slots(r, rules);
  list_sessions(r, count_connections(r), rules.inspect);
  measure_statements(r);
  r.findings = evaluate_server(r, rules);
  return r;
}

std::vector<ReserveEntry> live_reserve(const Inspection& inspection, const Rules& rules, std::optional<std::int64_t> max_connections)
{
  const std::int64_t limit = max_connections.value_or(inspection.snapshot.max_connections);
  const ServerSnapshot& s = inspection.snapshot;
  std::vector<ReserveEntry> live;
  live.push_back({ "superuser", s.superuser_reserved_connections });
  if (s.reserved_connections && *s.reserved_connections > 0) {
    live.push_back({ "reserved_connections", *s.reserved_connections });
  }
  if (inspection.wal_senders_count && s.max_wal_senders > 0) {
    live.push_back({ "replication", s.max_wal_senders });
  }
  live.push_back({ "other_apps", inspection.other_connections });
  const std::size_t server_entries = live.size();
  for (const ReserveEntry& entry : rules.database.reserved) {
    if (entry.name != "superuser" && entry.name != "other_apps" && entry.name != "replication" && entry.name != "reserved_connections") {
      live.push_back(entry); // policy, such as the default budget's admin headroom
    }
  }
  // Never more than max_connections: policy gives way first, then other applications' count
  // (superusers may hold reserved slots, so the counts can overlap).
  std::int64_t total = 0;
  for (const ReserveEntry& entry : live) {
    total += entry.connections;
  }
  for (std::size_t i = live.size(); i-- > 0 && total > limit;) {
    if (i < server_entries && live[i].name != "other_apps") {
      continue;
    }
    const std::int64_t cut = std::min(live[i].connections, total - limit);
    live[i].connections -= cut;
    total -= cut;
  }
  return live;
}

poolcalc::expected<void, std::string> apply_server(RawInputs& inputs, const Inspection& inspection, const Rules& rules)
{
  const auto from_flag = [&](std::string_view key) {
    const auto it = inputs.find(key);
    return it != inputs.end() && it->second.origin.starts_with("--");
  };
  if (!from_flag("max_connections")) {
    inputs["max_connections"] = RawValue{ { std::to_string(inspection.snapshot.max_connections) }, "server: max_connections" };
  }
  // The server's major version (server_version_num 150018 -> 15): the reserve is counted the way
  // this version does, as for --postgres-version.
  const std::int64_t major = inspection.snapshot.version_num / 10000;
  if (!from_flag("postgres_version") && major >= k_min_server_version && major <= k_max_server_version) {
    inputs["postgres_version"] = RawValue{ { std::to_string(major) }, "server: server_version_num" };
  }
  if (!from_flag("reserve")) {
    // Cut to the max_connections the plan uses: the server's, or --max-connections.
    std::optional<std::int64_t> max_connections;
    if (auto given = parse_count(inputs.at("max_connections").items.front(), 1, k_max_connections_limit)) {
      max_connections = *given;
    }
    RawValue reserve{ {}, "server: reserved budget" };
    for (const ReserveEntry& entry : live_reserve(inspection, rules, max_connections)) {
      reserve.items.push_back(fmt::format("{}={}", entry.name, entry.connections));
    }
    inputs["reserve"] = std::move(reserve);
  }
  if (const auto it = inputs.find("query_ms"); it != inputs.end()) {
    for (std::string& item : it->second.items) {
      if (item != "auto") {
        continue;
      }
      if (!inspection.mean_query_ms) {
        return poolcalc::unexpected(fmt::format("{}: 'auto' needs pg_stat_statements, and database '{}' gave no time: {}",
                                                it->second.origin,
                                                inspection.snapshot.current_database,
                                                inspection.snapshot.statements_status == StatementsStatus::available
                                                  ? std::string("no calls recorded yet")
                                                  : std::string(to_string(inspection.snapshot.statements_status))));
      }
      item = format_number(std::max(*inspection.mean_query_ms, k_min_ms), 3);
    }
  }
  return {};
}

poolcalc::expected<ConnectTimeout, std::string> inspect_connect_timeout(const RawInputs& inputs,
                                                                        const DatabaseUrl& url,
                                                                        std::string_view url_origin,
                                                                        const Rules& rules)
{
  if (const auto it = inputs.find("connect_timeout"); it != inputs.end() && !it->second.items.empty()) {
    const std::string& text = it->second.items.front();
    auto seconds = parse_count(text, 1, k_max_timeout_s);
    if (!seconds) {
      return poolcalc::unexpected(fmt::format("{}: {}, got '{}'", it->second.origin, seconds.error(), text));
    }
    return ConnectTimeout{ static_cast<double>(*seconds), it->second.origin };
  }
  if (const auto param = url.param("connect_timeout")) {
    auto seconds = parse_count(*param, 0, k_max_timeout_s);
    if (!seconds) {
      return poolcalc::unexpected(fmt::format("{}: connect_timeout: {}, got '{}'", url_origin, seconds.error(), *param));
    }
    if (*seconds > 0) {
      return ConnectTimeout{ static_cast<double>(*seconds), "connect_timeout in the URL" };
    }
  }
  return ConnectTimeout{ rules.inspect.connect_timeout_s, "inspect.connect_timeout_s" };
}

std::string duration_text(double seconds)
{
  if (!std::isfinite(seconds) || seconds < 0) {
    return "unknown";
  }
  if (seconds < 120) {
    return fmt::format("{} s", format_number(seconds, seconds < 10 ? 1 : 0));
  }
  if (seconds < 7200) {
    return fmt::format("{} min", format_number(seconds / 60.0, 0));
  }
  if (seconds < 172800) {
    return fmt::format("{} h", format_number(seconds / 3600.0, 0));
  }
  return fmt::format("{} d", format_number(seconds / 86400.0, 0));
}

} // namespace poolcalc

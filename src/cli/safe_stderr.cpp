#include "safe_stderr.hpp"

#include "poolcalc/safe_text.hpp"

#include <algorithm>

namespace poolcalc::cli {

namespace {

// The stream's slot for its Redactions (std::ios_base::pword), set by SafeStderr.
int redactions_slot()
{
  static const int slot = std::ios_base::xalloc();
  return slot;
}

void replace_all(std::string& text, std::string_view from, std::string_view to)
{
  if (from.empty()) {
    return;
  }
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

} // namespace

void Redactions::add(std::string_view value)
{
  add_value(value);
  if (value.starts_with('-')) {
    if (const std::size_t equals = value.find('='); equals != std::string_view::npos) {
      add_value(value.substr(equals + 1));
    }
  }
}

void Redactions::add_value(std::string_view value)
{
  const auto ranges = credential_ranges(value);
  if (ranges.empty()) {
    return;
  }
  m_values.emplace_back(std::string{ value }, mask_credentials(value));
  // Each credential with the characters around it in the value (':' and '@' in a URI's userinfo,
  // '=' and '&' in a query, the quotes of a key/value setting): a message quoting part of the value
  // quotes them too, and ordinary words never match, however short the password.
  for (const auto& [begin, end] : ranges) {
    const std::string before{ value.substr(begin > 0 ? begin - 1 : begin, begin > 0 ? 1 : 0) };
    const std::string after{ value.substr(end, end < value.size() ? 1 : 0) };
    const std::string credential{ value.substr(begin, end - begin) };
    for (const std::string& form : { credential, percent_decoded(credential) }) {
      std::pair<std::string, std::string> pattern{ before + form + after, before + "****" + after };
      if (std::find(m_credentials.begin(), m_credentials.end(), pattern) == m_credentials.end()) {
        m_credentials.push_back(std::move(pattern));
      }
    }
  }
  const auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(m_values.begin(), m_values.end(), longest_first);
  std::stable_sort(m_credentials.begin(), m_credentials.end(), longest_first);
}

std::string Redactions::apply(std::string_view line) const
{
  std::string out{ line };
  for (const auto& [value, masked] : m_values) {
    replace_all(out, value, masked);
  }
  for (const auto& [credential, masked] : m_credentials) {
    replace_all(out, credential, masked);
  }
  return out;
}

SafeStderr::Buffer::Buffer(std::ostream& target, Redactions redactions)
  : m_target(target)
  , m_redactions(std::move(redactions))
{
}

void SafeStderr::Buffer::put(char c)
{
  if (c == '\n') {
    end_progress(); // an ordinary line after a progress line: the progress text goes first
    emit_line();
    m_target << '\n';
    return;
  }
  m_line.push_back(c);
}

void SafeStderr::Buffer::emit_line()
{
  m_target << printable(m_redactions.apply(m_line));
  m_line.clear();
}

SafeStderr::Buffer::int_type SafeStderr::Buffer::overflow(int_type ch)
{
  if (traits_type::eq_int_type(ch, traits_type::eof())) {
    return traits_type::not_eof(ch);
  }
  put(traits_type::to_char_type(ch));
  return ch;
}

std::streamsize SafeStderr::Buffer::xsputn(const char* text, std::streamsize count)
{
  for (std::streamsize i = 0; i < count; ++i) {
    put(text[i]);
  }
  return count;
}

// A flush writes what is complete; a partial line waits for its end, so that a credential is
// never split between two writes.
int SafeStderr::Buffer::sync()
{
  m_target.flush();
  return m_target ? 0 : -1;
}

void SafeStderr::Buffer::progress(std::string_view text)
{
  const std::string shown = printable(m_redactions.apply(text));
  m_target << '\r' << shown;
  if (shown.size() < m_shown) {
    m_target << std::string(m_shown - shown.size(), ' ');
  }
  m_target.flush();
  m_shown = std::max(m_shown, shown.size());
}

void SafeStderr::Buffer::end_progress()
{
  if (m_shown > 0) {
    m_target << '\r' << std::string(m_shown, ' ') << '\r';
    m_target.flush();
    m_shown = 0;
  }
}

void show_progress(std::ostream& err, std::string_view text)
{
  if (auto* safe = dynamic_cast<SafeStderr::Buffer*>(err.rdbuf())) {
    safe->progress(text);
  } else {
    err << '\r' << text << std::flush;
  }
}

void end_progress(std::ostream& err)
{
  if (auto* safe = dynamic_cast<SafeStderr::Buffer*>(err.rdbuf())) {
    safe->end_progress();
  } else {
    err << "\r\x1b[K" << std::flush;
  }
}

void SafeStderr::Buffer::finish()
{
  if (!m_line.empty()) {
    emit_line();
  }
  m_target.flush();
}

SafeStderr::SafeStderr(std::ostream& target, Redactions redactions)
  : m_buffer(target, std::move(redactions))
  , m_stream(&m_buffer)
{
  m_stream.pword(redactions_slot()) = &m_buffer.redactions();
}

SafeStderr::~SafeStderr()
{
  m_buffer.finish();
}

void print_line(std::ostream& err, std::string_view prefix, std::string_view message)
{
  const auto* redactions = static_cast<const Redactions*>(err.pword(redactions_slot()));
  const std::string text = redactions != nullptr ? redactions->apply(message) : std::string{ message };
  err << "poolcalc: " << prefix << ": " << printable(text) << '\n';
}

void print_error(std::ostream& err, std::string_view message)
{
  print_line(err, "error", message);
}

} // namespace poolcalc::cli

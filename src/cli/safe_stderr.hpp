#pragma once
// Everything poolcalc writes to stderr passes through one filter, line by line, whichever part of
// the program wrote it (CLI11's parse errors included): a message may quote an argument or
// $DATABASE_URL whole or in part, so their credentials are masked wherever they appear, and
// whatever a terminal would act on is escaped (docs/architecture.md, "Quoting user text").

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc::cli {

// The user's values that hold credentials, and what replaces them in a message.
class Redactions
{
public:
  // Registers one whole value as the user gave it (an argument, an environment variable). When
  // it holds credentials (mask_credentials), the value is replaced by its masked form wherever a
  // message quotes it, and so is each credential with the character before and after it in the
  // value, as typed and percent-decoded (":pw@", "='pw'": a message quoting part of the value).
  // An argument "--flag=VALUE" registers VALUE too.
  void add(std::string_view value);

  // `line` with every registered value and credential masked.
  std::string apply(std::string_view line) const;

private:
  void add_value(std::string_view value);

  std::vector<std::pair<std::string, std::string>> m_values;      // as given, masked; longest first
  std::vector<std::pair<std::string, std::string>> m_credentials; // in context, masked; longest first
};

// A stream over `target` whose every line goes through `redactions` and printable() before it is
// written. Lines are written whole, when their '\n' arrives (a partial line at destruction).
class SafeStderr
{
public:
  SafeStderr(std::ostream& target, Redactions redactions);
  ~SafeStderr();
  SafeStderr(const SafeStderr&) = delete;
  SafeStderr& operator=(const SafeStderr&) = delete;

  std::ostream& stream() { return m_stream; }

  friend void show_progress(std::ostream& err, std::string_view text);
  friend void end_progress(std::ostream& err);

private:
  class Buffer : public std::streambuf
  {
  public:
    Buffer(std::ostream& target, Redactions redactions);
    void finish();
    Redactions& redactions() { return m_redactions; }
    // A progress line: written at once after a carriage return (redacted, printable, padded over
    // the one before), and cleared before the next ordinary line or by end_progress.
    void progress(std::string_view text);
    void end_progress();

  protected:
    int_type overflow(int_type ch) override;
    std::streamsize xsputn(const char* text, std::streamsize count) override;
    int sync() override;

  private:
    void put(char c);
    void emit_line();

    std::ostream& m_target;
    Redactions m_redactions;
    std::string m_line;
    std::size_t m_shown = 0; // columns of the progress line on the terminal now
  };

  Buffer m_buffer;
  std::ostream m_stream;
};

// A progress line on `err` (the one progress.cpp keeps): through a SafeStderr stream it is
// redacted and escaped like every line, shown at once and cleared before the next ordinary line;
// on any other stream it is written after a carriage return. A carriage return anywhere else is
// escaped like every control character.
void show_progress(std::ostream& err, std::string_view text);
void end_progress(std::ostream& err);

// Writes one line, "poolcalc: error: MESSAGE" for prefix "error": the message with what `err`'s
// Redactions mask (when `err` is a SafeStderr stream) and printable, so that nothing in it can end
// the line early or fake another. Every diagnostic is printed through here.
void print_line(std::ostream& err, std::string_view prefix, std::string_view message);

// print_line(err, "error", message).
void print_error(std::ostream& err, std::string_view message);

} // namespace poolcalc::cli

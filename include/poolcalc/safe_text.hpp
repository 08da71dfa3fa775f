#pragma once
// Text that came from outside (an argument, a file, an environment variable, a server) made safe
// to print: credentials masked and terminal control sequences escaped. Every message that quotes
// such text goes through here (docs/architecture.md, "Quoting user text").

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolcalc {

// `text` with everything a terminal would act on escaped, so that it prints as one inert line:
// C0 controls and DEL (\n, \r, \t, \e, else \xNN), C1 controls (\u{0080}-\u{009f}), the line and
// paragraph separators (U+2028, U+2029), the bidirectional controls (U+061C, U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069), and every byte that is not part of well-formed UTF-8 (\xNN).
// Everything else, backslashes included, is kept as it is. printable(printable(x)) == printable(x).
std::string printable(std::string_view text);

// Every credential in `text` replaced by "****", where `text` is one whole value as the user gave
// it (an argument, a file's value): a URI's userinfo password, whatever bytes it holds (it runs
// to the last '@' of the URI), `password`/`sslpassword` query parameters, and libpq key/value
// settings whose keyword ends in "password" in any case (`password='a b'`, `PASSWORD=x`), quoted
// or bare. Errs on the side of masking more. Everything else is kept.
std::string mask_credentials(std::string_view text);

// Where mask_credentials(text) masks: sorted, disjoint [begin, end) byte ranges of `text`.
std::vector<std::pair<std::size_t, std::size_t>> credential_ranges(std::string_view text);

// `text` with each run of blanks (space, tab, CR, LF, FF, VT) as one space, none at either end:
// a server's message or statement on one line.
std::string compact_whitespace(std::string_view text);

// `text` percent-decoded as libpq decodes a URI's parts ('+' stays '+'; a '%' without two hex
// digits stays as it is): "pass%77ord" is "password", and a message may quote a credential so.
std::string percent_decoded(std::string_view text);

// How a message quotes `part`, a piece of the value `whole` (one item of a comma list, a field
// of NAME:SHARE:MS): user_text(part), unless `whole` holds a credential, since a piece may hold
// part of a password that no parse of the piece alone finds ("postgresql://app:pa" of
// "postgresql://app:pa,ss@h/db"); then user_text(whole).
std::string user_text_part(std::string_view part, std::string_view whole);

// How a message quotes user text: mask_credentials, then printable. (Not `quoted`: std::quoted
// would win overload resolution by argument-dependent lookup for a std::string.)
std::string user_text(std::string_view text);

} // namespace poolcalc

// Fuzz target: the .env parser and its update (`poolcalc env --write`).
// Properties, for any file the parser accepts and any of the values poolcalc writes:
// - the parsed entries give the file back byte for byte;
// - after the update, every entry that is not the updated assignment of a managed key is
//   byte-identical and in its place; the updated ones keep their key, their text before the value
//   and after it; the only other change is managed keys appended at the end;
// - the new text parses, and reads the recommended value for each managed key.

#include "fuzz_checks.hpp"

#include "poolcalc/dotenv.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using poolcalc::fuzz::check;

namespace {

const std::vector<std::string> k_managed = { "DATABASE_URL",
                                             "DIRECT_URL",
                                             "DATABASE_POOL_SIZE",
                                             "DATABASE_CONNECTION_TIMEOUT",
                                             "DATABASE_POOL_TIMEOUT" };

// Values of the kinds poolcalc writes.
const std::vector<std::string> k_values = { "postgresql://app:pw@db:5432/shop?connection_limit=50&pool_timeout=30&connect_timeout=10",
                                            "postgresql://app@localhost/chat",
                                            "50",
                                            "10",
                                            "0.5",
                                            "" };

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size < 1) {
    return 0;
  }
  // The first byte chooses which keys get which value; the rest is the file.
  const unsigned choice = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto file = poolcalc::parse_dotenv(text, "fuzz.env");
  if (!file) {
    check(file.error().starts_with("fuzz.env:"), "a parse error without its location");
    return 0;
  }
  check(file->text() == text, "the entries do not give the file back");

  std::vector<std::pair<std::string, std::string>> values;
  for (std::size_t k = 0; k < k_managed.size(); ++k) {
    const std::size_t pick = (choice >> k) & 1U ? (choice + k) % k_values.size() : k_values.size();
    if (pick < k_values.size()) {
      values.emplace_back(k_managed[k], k_values[pick]);
    }
  }
  const auto update = poolcalc::update_dotenv(*file, values);
  if (!update) {
    return 0; // a value the file's syntax cannot carry: refused, nothing written
  }
  const auto after = poolcalc::parse_dotenv(update->text, "fuzz.env");
  check(after.has_value(), "the updated file does not parse");
  check(after->bom == file->bom, "the byte order mark changed");
  check(after->entries.size() >= file->entries.size(), "entries were lost");

  std::map<std::string, std::size_t> last; // the assignment each managed key's update touches
  for (std::size_t i = 0; i < file->entries.size(); ++i) {
    if (file->entries[i].kind == poolcalc::DotenvEntry::Kind::assignment) {
      last[file->entries[i].key] = i;
    }
  }
  for (std::size_t i = 0; i < file->entries.size(); ++i) {
    const poolcalc::DotenvEntry& before = file->entries[i];
    const poolcalc::DotenvEntry& now = after->entries[i];
    bool updated = false;
    for (const auto& [key, value] : values) {
      updated = updated || (before.kind == poolcalc::DotenvEntry::Kind::assignment && before.key == key && last[key] == i);
    }
    // The file's last line gains the file's line ending when a key is appended after it.
    const bool last_line = i + 1 == file->entries.size() && !before.text.ends_with('\n') && after->entries.size() > file->entries.size();
    const auto same_end = [&](std::string_view now_text, std::string_view before_text) {
      return now_text == before_text || (last_line && now_text == std::string(before_text) + file->eol);
    };
    if (!updated) {
      check(same_end(now.text, before.text), "an entry poolcalc does not manage changed");
      continue;
    }
    check(now.key == before.key, "an updated assignment changed its key");
    // Only the value's bytes are replaced (a blank may be put in before a '#' that followed an
    // unquoted value directly): the text before and after it stays.
    const std::string_view head = std::string_view(before.text).substr(0, before.value_begin);
    const std::string_view tail = std::string_view(before.text).substr(before.value_end);
    const std::string_view now_text = now.text;
    check(now_text.starts_with(head), "the text before a value changed");
    check(now_text.ends_with(tail) || (last_line && now_text.ends_with(std::string(tail) + file->eol)), "the text after a value changed");
  }
  for (std::size_t i = file->entries.size(); i < after->entries.size(); ++i) {
    const poolcalc::DotenvEntry& added = after->entries[i];
    bool managed = false;
    for (const auto& [key, value] : values) {
      managed = managed || added.key == key;
    }
    // A file without a final line ending gets one before the first appended line.
    check(managed || added.kind == poolcalc::DotenvEntry::Kind::blank, "an appended entry is not a managed key");
  }
  for (const auto& [key, value] : values) {
    const poolcalc::DotenvEntry* entry = after->find(key);
    check(entry != nullptr && entry->value == value, "a managed key does not read its new value");
  }
  return 0;
}

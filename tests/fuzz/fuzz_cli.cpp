// Fuzz target: the whole command line, in-process (poolcalc::cli::run), with a database URL
// whose password carries markers at its start, middle and end, passed in one of the ways users
// pass one: --database-url, a stray argument, a mistyped flag, $DATABASE_URL, a libpq key/value
// string, the value of another flag (--format, a list flag, a --reserve entry), a --config file.
// Properties: the exit code is 0, 1, 2 or 3; a usage error (2) prints exactly one line on stderr
// and nothing on stdout; stderr holds no control character but its line ends; the password
// appears on stdout only in the snippets that exist to carry it (`env`, `config`, `--format env`)
// and never on stderr.
// Arguments naming a path, `inspect` and `doctor` (a server, files) and `--write` (a file) are left out: the target
// must not touch the file system or the network.

#include "fuzz_checks.hpp"

#include "run.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using poolcalc::fuzz::check;

namespace {

constexpr std::string_view k_markers[] = { "MKa", "MKb", "MKc" };
constexpr std::size_t k_max_args = 24;

bool has(std::string_view text, std::string_view part)
{
  return text.find(part) != std::string_view::npos;
}

bool has_marker(std::string_view text)
{
  for (const std::string_view marker : k_markers) {
    if (has(text, marker)) {
      return true;
    }
  }
  return false;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
  // An empty directory of its own: relative file names resolve to nothing.
  static std::string dir = "/tmp/poolcalc-fuzz-cli-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr || ::chdir(dir.c_str()) != 0) {
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size < 2) {
    return 0;
  }
  // Byte 0: how the URL is passed; byte 1: how many of the password's bytes come first; then the
  // password's first bytes, and the arguments separated by NUL bytes.
  const unsigned how = data[0] % 11;
  const std::size_t password_bytes = std::min<std::size_t>(data[1] % 9, size - 2);
  const std::string bytes(reinterpret_cast<const char*>(data + 2), password_bytes);
  const std::string password = "MKa" + bytes + "MKb" + bytes + "MKc";
  std::string_view rest(reinterpret_cast<const char*>(data + 2 + password_bytes), size - 2 - password_bytes);
  if (has(password, std::string_view("\0", 1))) {
    return 0; // no argument can hold a NUL byte
  }

  std::vector<std::string> args = { "poolcalc" };
  while (!rest.empty() && args.size() < k_max_args) {
    const std::size_t end = rest.find('\0');
    args.emplace_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  for (const std::string& arg : args) {
    if (has(arg, "/") || arg == "inspect" || arg == "doctor" || arg.starts_with("--write") || has_marker(arg)) {
      return 0;
    }
  }

  const std::string url = "postgresql://app:" + password + "@db.example.com:5432/chat";
  std::optional<std::string> env_url;
  switch (how) {
  case 1:
    args.insert(args.end(), { "--database-url", url });
    break;
  case 2:
    args.push_back(url);
    break;
  case 3:
    args.push_back("--databse-url=" + url);
    break;
  case 4:
    env_url = url;
    break;
  case 5: {
    std::string escaped;
    for (const char c : password) {
      if (c == '\'' || c == '\\') {
        escaped += '\\';
      }
      escaped += c;
    }
    args.push_back("host=db.example.com password='" + escaped + "' dbname=chat");
    break;
  }
  case 6:
    args.insert(args.end(), { "--format", url });
    break;
  case 7: {
    std::string escaped; // a TOML basic string
    for (const char c : url) {
      if (c == '"' || c == '\\') {
        escaped += '\\';
      }
      escaped += c;
    }
    std::ofstream("scenario.toml", std::ios::trunc) << "database_url = \"" << escaped << "\"\n";
    args.insert(args.end(), { "--config", "scenario.toml" });
    break;
  }
  case 8:
    args.insert(args.end(), { "--query-ms", url });
    break;
  case 9:
    args.insert(args.end(), { "--pool", "10," + url });
    break;
  case 10:
    args.insert(args.end(), { "--reserve", "other=" + url });
    break;
  default:
    break;
  }

  std::vector<const char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  argv.push_back(nullptr);
  poolcalc::cli::Environment env;
  env.getenv = [&](std::string_view name) -> std::optional<std::string> { return name == "DATABASE_URL" ? env_url : std::nullopt; };
  std::ostringstream out;
  std::ostringstream err;
  const int code = poolcalc::cli::run(static_cast<int>(args.size()), argv.data(), out, err, env);

  check(code >= 0 && code <= 3, "an exit code outside 0-3");
  const std::string stdout_text = out.str();
  const std::string stderr_text = err.str();
  if (code == 2) {
    check(stdout_text.empty(), "a usage error printed on stdout");
    check(!stderr_text.empty() && stderr_text.find('\n') == stderr_text.size() - 1, "a usage error is not one line");
  }
  for (const char c : stderr_text) {
    const auto byte = static_cast<unsigned char>(c);
    check(byte == '\n' || (byte >= 0x20 && byte != 0x7f), "a control character on stderr");
  }
  check(!has_marker(stderr_text), "the password on stderr");
  bool snippet = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    snippet = snippet || args[i] == "env" || args[i] == "config" || args[i] == "--format=env" ||
              (args[i] == "--format" && i + 1 < args.size() && args[i + 1] == "env");
  }
  if (!snippet || (code != 0 && code != 3)) {
    check(!has_marker(stdout_text), "the password on stdout outside a snippet");
  }
  return 0;
}

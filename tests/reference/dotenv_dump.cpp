// For tests/reference/dotenv_differential.js: parses each file named on the command line with
// poolcalc's .env parser and prints one JSON line per file, {"values": {KEY: VALUE, ...}} (the
// last assignment of each key, as dotenv keeps it) or {"error": "..."}.

#include "poolcalc/dotenv.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const auto file = poolcalc::parse_dotenv(text.str(), argv[i]);
    nlohmann::json line;
    if (!file) {
      line["error"] = file.error();
    } else {
      nlohmann::json values = nlohmann::json::object();
      for (const poolcalc::DotenvEntry& entry : file->entries) {
        if (entry.kind == poolcalc::DotenvEntry::Kind::assignment) {
          values[entry.key] = entry.value;
        }
      }
      line["values"] = values;
    }
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  return 0;
}

// poolcalc's command line run inside the test process (tests/cli/process.hpp): what main() does,
// without a process's start-up.

#include "process.hpp"

#include "run.hpp"

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace poolcalc::test {

Result run_poolcalc_in_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env_vars)
{
  std::vector<const char*> argv = { "poolcalc" };
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  const cli::Environment env{ [&env_vars](std::string_view name) -> std::optional<std::string> {
                               const auto it = env_vars.find(std::string(name));
                               return it != env_vars.end() ? std::optional<std::string>(it->second) : std::nullopt;
                             },
                              false,
                              false };
  Result r;
  r.exit_code = cli::run(static_cast<int>(argv.size() - 1), argv.data(), out, err, env);
  r.out = out.str();
  r.err = err.str();
  return r;
}

} // namespace poolcalc::test

#include "context.hpp"

#include "run.hpp"
#include "safe_stderr.hpp"

#include "poolcalc/database_url.hpp"

namespace poolcalc::cli {

void report_failures(std::ostream& err, const std::vector<Finding>& findings)
{
  for (const Finding& finding : findings) {
    if (finding.level == Level::fail) {
      print_line(err, "fail", finding.id + ": " + finding.message);
    }
  }
}

int write_output(std::ostream& out, std::ostream& err, std::string_view output, int code)
{
  out << output;
  out.flush();
  if (!out) {
    err << "poolcalc: error: cannot write the output\n";
    return k_exit_runtime;
  }
  return code;
}

} // namespace poolcalc::cli

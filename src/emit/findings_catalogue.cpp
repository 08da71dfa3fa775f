#include "poolcalc/emit_findings.hpp"

#include "poolcalc/findings.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace poolcalc {

namespace {

std::string catalogue_text()
{
  std::string out;
  for (const FindingInfo& f : finding_catalogue()) {
    out += fmt::format("{}  {}  {}\n  {}\n  inputs: {}\n  source: {}\n\n",
                       f.id,
                       to_string(f.level),
                       to_string(f.subject),
                       f.summary,
                       fmt::join(f.inputs, ", "),
                       f.source);
  }
  return out;
}

std::string catalogue_json()
{
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const FindingInfo& f : finding_catalogue()) {
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (std::string_view input : f.inputs) {
      inputs.push_back(std::string(input));
    }
    list.push_back({ { "id", std::string(f.id) },
                     { "level", std::string(to_string(f.level)) },
                     { "subject", std::string(to_string(f.subject)) },
                     { "inputs", inputs },
                     { "source", std::string(f.source) },
                     { "summary", std::string(f.summary) } });
  }
  nlohmann::ordered_json j;
  j["schema_version"] = 1;
  j["findings"] = list;
  return j.dump(2) + "\n";
}

} // namespace

std::string render_finding_catalogue(std::string_view format)
{
  if (format == "text") {
    return catalogue_text();
  }
  if (format == "json") {
    return catalogue_json();
  }
  return {};
}

} // namespace poolcalc

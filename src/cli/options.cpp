#include "options.hpp"

#include "poolcalc/inputs.hpp"

#include <string>

namespace poolcalc::cli {

namespace {

OptionKind kind_of(InputType type)
{
  switch (type) {
  case InputType::numbers:
  case InputType::integers:
  case InputType::operations:
  case InputType::reserve:
    return OptionKind::list;
  case InputType::boolean:
    return OptionKind::flag;
  case InputType::integer:
  case InputType::number:
  case InputType::text:
    break;
  }
  return OptionKind::value;
}

} // namespace

std::vector<OptionSpec> sizing_options(const Rules& rules)
{
  std::vector<OptionSpec> options;
  for (const InputSpec& input : inputs()) {
    if (!is_sizing_input(input)) {
      continue;
    }
    options.push_back({ std::string(input.flag),
                        std::string(input.key),
                        std::string(input.value_name),
                        input.help(input, rules),
                        kind_of(input.type),
                        std::string(group_name(input.group)) });
  }
  return options;
}

} // namespace poolcalc::cli

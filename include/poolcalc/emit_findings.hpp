#pragma once
// The findings catalogue (finding_catalogue()) for people and programs: `poolcalc rules
// --findings`.

#include <string>
#include <string_view>

namespace poolcalc {

// "text": one block per rule (id, level, subject, inputs, source, summary), in catalogue order;
// "json": {"schema_version": 1, "findings": [{"id", "level", "subject", "inputs": [...],
// "source", "summary"}, ...]}. Any other format: empty.
std::string render_finding_catalogue(std::string_view format);

} // namespace poolcalc

#pragma once
// `poolcalc doctor`'s files and reports (docs/doctor.md): a capture saved as JSON and read back
// (to diagnose offline, or again with other inputs), and the diagnosis as text or JSON.

#include "poolcalc/doctor.hpp"
#include "poolcalc/expected.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace poolcalc {

// {"schema": "poolcalc-doctor-capture", "version": 1, ...}: every figure of the capture.
std::string capture_to_json(const Capture& capture);
// The same back; an error for anything else, a figure missing, negative or not a number.
poolcalc::expected<Capture, std::string> capture_from_json(std::string_view json_text);

std::string render_doctor_text(const Capture& capture, const std::optional<K6Figures>& k6, const Diagnosis& diagnosis);
std::string render_doctor_json(const Capture& capture, const std::optional<K6Figures>& k6, const Diagnosis& diagnosis);

} // namespace poolcalc

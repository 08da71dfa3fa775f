#include "files.hpp"

#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace poolcalc::cli {

namespace {

constexpr std::size_t k_mib = std::size_t{ 1 } << 20;

} // namespace

poolcalc::expected<std::string, std::string> read_file(const std::string& path, std::size_t max_mib)
{
  const std::string shown = user_text(path);
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec == std::errc::too_many_symbolic_link_levels) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': a loop of symbolic links ({})", shown, ec.message()));
  }
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': {}", shown, ec.message()));
  }
  if (ec || !std::filesystem::exists(status)) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': no such file", shown));
  }
  if (std::filesystem::is_directory(status)) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': it is a directory", shown));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': permission denied or unreadable", shown));
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_mib * k_mib) {
      return poolcalc::unexpected(fmt::format("cannot read '{}': larger than {} MiB", shown, max_mib));
    }
  }
  return text;
}

} // namespace poolcalc::cli

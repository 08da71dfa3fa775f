#include "files.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace poolcalc::cli {

namespace {

constexpr std::uintmax_t k_max_file_size = 1 << 20;

} // namespace

poolcalc::expected<std::string, std::string> read_file(const std::string& path)
{
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': no such file", path));
  }
  if (std::filesystem::is_directory(status)) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return poolcalc::unexpected(fmt::format("cannot read '{}': permission denied or unreadable", path));
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_file_size) {
      return poolcalc::unexpected(fmt::format("cannot read '{}': larger than 1 MiB", path));
    }
  }
  return text;
}

} // namespace poolcalc::cli

#include "cli/tracebacks.h"

#include <cctype>
#include <charconv>

namespace subcell {
namespace {

constexpr std::string_view kFile = "File \"<cell ";
constexpr std::string_view kLine = ">\", line ";

// Reads the decimal number at `pos`; advances `pos` past it.
std::optional<int> number_at(std::string_view text, std::size_t& pos) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), n);
  if (ec != std::errc()) return std::nullopt;
  pos = static_cast<std::size_t>(end - text.data());
  return n;
}

std::string rewrite_line(std::string_view line, const CellPlace& place) {
  const std::size_t at = line.find(kFile);
  if (at == std::string_view::npos) return std::string(line);
  std::size_t pos = at + kFile.size();
  const auto count = number_at(line, pos);
  if (!count || line.substr(pos, kLine.size()) != kLine) return std::string(line);
  pos += kLine.size();
  const auto number = number_at(line, pos);
  if (!number) return std::string(line);
  const auto replaced = place(*count, *number);
  if (!replaced) return std::string(line);
  return std::string(line.substr(0, at)) + *replaced + std::string(line.substr(pos));
}

}  // namespace

std::string rewrite_cell_frames(std::string_view traceback, const CellPlace& place) {
  std::string out;
  for (const std::string& line : split_lines(traceback)) {
    out += rewrite_line(line, place);
    out += '\n';
  }
  return out;
}

std::string ipython_place(int count, int line) {
  return "Cell In[" + std::to_string(count) + "], line " + std::to_string(line);
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

}  // namespace subcell

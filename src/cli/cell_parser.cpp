#include "cli/cell_parser.h"

#include <cctype>

namespace subcell {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

// Reads the text after `# %%`: bracketed tags and a title.
void read_marker(std::string_view rest, SourceCell& cell) {
  rest = trim(rest);
  std::string title;
  while (!rest.empty()) {
    if (rest.front() == '[') {
      const std::size_t close = rest.find(']');
      if (close == std::string_view::npos) break;
      std::string_view tag = trim(rest.substr(1, close - 1));
      if (tag == "markdown" || tag == "md") cell.markdown = true;
      if (tag == "reset") cell.reset = true;
      if (tag == "parameters") cell.parameters = true;
      rest = trim(rest.substr(close + 1));
      continue;
    }
    const std::size_t next = rest.find('[');
    std::string_view word = trim(rest.substr(0, next));
    if (!title.empty() && !word.empty()) title += ' ';
    title += word;
    if (next == std::string_view::npos) break;
    rest = rest.substr(next);
  }
  cell.title = title;
}

}  // namespace

bool is_cell_marker(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty() || t.front() != '#') return false;
  t.remove_prefix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return t.substr(0, 2) == "%%";
}

bool has_code(std::string_view code) {
  std::size_t pos = 0;
  while (pos < code.size()) {
    std::size_t end = code.find('\n', pos);
    if (end == std::string_view::npos) end = code.size();
    std::string_view line = trim(code.substr(pos, end - pos));
    if (!line.empty() && line.front() != '#') return true;
    pos = end + 1;
  }
  return false;
}

std::vector<SourceCell> parse_cells(std::string_view source) {
  std::vector<SourceCell> cells;
  SourceCell current;
  bool have_marker = false;
  std::vector<std::string_view> lines;
  auto flush = [&]() {
    // Drop trailing blank lines; keep leading ones so line numbers hold.
    while (!lines.empty() && is_blank(lines.back())) lines.pop_back();
    std::size_t skip = 0;
    while (skip < lines.size() && is_blank(lines[skip])) ++skip;
    current.first_line += static_cast<int>(skip);
    for (std::size_t i = skip; i < lines.size(); ++i) {
      current.code.append(lines[i]);
      current.code += '\n';
    }
    if (have_marker || !current.code.empty()) cells.push_back(std::move(current));
    lines.clear();
  };

  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= source.size()) {
    std::size_t end = source.find('\n', pos);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    if (is_cell_marker(line)) {
      flush();
      current = SourceCell{};
      current.marker_line = line_no;
      current.first_line = line_no + 1;
      const std::size_t at = line.find("%%");
      read_marker(line.substr(at + 2), current);
      have_marker = true;
    } else if (pos < source.size() || !line.empty()) {
      lines.push_back(line);
    }
    if (end == source.size()) break;
    pos = end + 1;
  }
  flush();
  return cells;
}

}  // namespace subcell

#include "cli/figures.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace subcell {
namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool decode_base64(std::string_view text, std::string& out) {
  out.clear();
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    const int v = sextet(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return true;
}

Figures::Figures(const std::string& source) {
  const std::size_t slash = source.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : source.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? source : source.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  directory_ = dir + name + "_figures";
}

Result<std::string> Figures::save(int cell_number, std::string_view base64, const std::string& display_id) {
  std::string png;
  if (!decode_base64(base64, png)) return Error{1, "an image/png display is not valid base64"};
  std::string path;
  if (auto known = path_of_display_.find(display_id); !display_id.empty() && known != path_of_display_.end()) {
    path = known->second;
  } else {
    path = directory_ + "/cell-" + std::to_string(cell_number) + "-" + std::to_string(++saved_per_cell_[cell_number]) +
           ".png";
    if (!display_id.empty()) path_of_display_[display_id] = path;
  }
  if (::mkdir(directory_.c_str(), 0777) != 0 && errno != EEXIST) {
    return Error{1, "cannot create " + directory_ + ": " + std::strerror(errno)};
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out) return Error{1, "cannot write " + path};
  return path;
}

}  // namespace subcell

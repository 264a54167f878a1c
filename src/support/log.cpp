#include "support/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace subcell::log {
namespace {

std::atomic<Level> g_level{Level::kWarn};

const char* label(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
    case Level::kOff: break;
  }
  return "";
}

}  // namespace

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level& out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"debug", Level::kDebug}, {"info", Level::kInfo}, {"warning", Level::kWarn},
      {"warn", Level::kWarn},   {"error", Level::kError}, {"off", Level::kOff}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      out = l;
      return true;
    }
  }
  return false;
}

void write(Level lvl, std::string_view message) {
  if (lvl < level()) return;
  std::string line = "subcell ";
  line += label(lvl);
  line += ": ";
  line += message;
  line += '\n';
  // One write per line keeps lines whole when threads log at once.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace subcell::log

namespace subcell::log {

void write_raw(std::string_view text) {
  if (level() == Level::kOff) return;
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

}  // namespace subcell::log

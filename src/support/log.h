// Human-readable logging to standard error, the side channel editors show in
// their output panes. Thread-safe: each line is one write(2).
#pragma once

#include <string_view>

namespace subcell::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view name, Level& out);

void write(Level level, std::string_view message);
// Text that is not subcell's own (a worker's stderr), as it is, unless
// logging is off.
void write_raw(std::string_view text);

inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace subcell::log

#include "cli/terminal_input.h"

#include <unistd.h>

#include <cerrno>
#include <iostream>

namespace subcell {

TerminalInput::TerminalInput() : terminal_(::isatty(STDIN_FILENO) != 0) {}

int TerminalInput::fd() const { return STDIN_FILENO; }

void TerminalInput::begin(bool password) {
  if (!password || !terminal_ || echo_off_ || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
  termios quiet = saved_;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
  echo_off_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
}

void TerminalInput::end() {
  if (!echo_off_) return;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  echo_off_ = false;
}

TerminalInput::Read TerminalInput::buffered(std::string& line) {
  const std::size_t newline = buffer_.find('\n');
  if (newline != std::string::npos) {
    line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Read::kLine;
  }
  if (at_end_ && !buffer_.empty()) {
    line = std::move(buffer_);  // a last line without a newline
    buffer_.clear();
    return Read::kLine;
  }
  return at_end_ ? Read::kEnd : Read::kWaiting;
}

TerminalInput::Read TerminalInput::read(std::string& line) {
  char chunk[4096];
  const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? Read::kWaiting : Read::kEnd;
  if (n == 0) {
    if (!terminal_) {
      at_end_ = true;
      return buffered(line);
    }
    // Ctrl+D at a terminal: this answer ends (what was typed, if any, is it).
    if (buffer_.empty()) return Read::kEnd;
    line = std::move(buffer_);
    buffer_.clear();
    return Read::kLine;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return buffered(line);
}

}  // namespace subcell

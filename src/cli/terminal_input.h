// TerminalInput: a cell's input() answered from this process's standard
// input. At a terminal the user types the answer (not echoed for a
// password); piped input is read a line per input(), the rest kept for the
// next ones.
//
// Reads only when asked and only what poll() says is there, so the run
// loop stays free to forward Ctrl+C or a cancel from the server meanwhile.
#pragma once

#include <termios.h>

#include <string>

namespace subcell {

class TerminalInput {
 public:
  TerminalInput();
  ~TerminalInput() { end(); }
  TerminalInput(const TerminalInput&) = delete;
  TerminalInput& operator=(const TerminalInput&) = delete;

  int fd() const;
  // Whether a terminal echoes what the user types (else: piped input).
  bool terminal() const { return terminal_; }
  // Starts reading one answer; at a terminal, a password is not echoed.
  void begin(bool password);
  // Restores the terminal (echo) after an answer, or when it is cancelled.
  void end();

  enum class Read {
    kLine,     // `line` holds the answer, without its newline
    kWaiting,  // no full line yet
    kEnd,      // end of input: no answer will come
  };
  // A line read ahead earlier (piped input), or end of input already seen.
  Read buffered(std::string& line);
  // fd() is readable: reads what is there.
  Read read(std::string& line);

 private:
  bool terminal_;
  bool at_end_ = false;  // piped input ended (a terminal's Ctrl+D ends only one answer)
  std::string buffer_;
  bool echo_off_ = false;
  termios saved_{};
};

}  // namespace subcell

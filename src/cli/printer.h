// Printer: what `subcell run` shows in the terminal. Output streams to
// stdout/stderr as it comes; headers, values and notes are coloured when
// asked (--color).
#pragma once

#include <string>
#include <string_view>

#include "cli/run_cell.h"

namespace subcell {

class Printer {
 public:
  explicit Printer(bool color) : color_(color) {}

  // `── cell 2: title (tour.py:11) ──`
  void header(int number, const RunCell& cell) const;
  void stream(std::string_view name, std::string_view text) const;
  // A display's or a value's text/plain; a figure's saved path under it.
  void display(std::string_view text) const;
  void value(int execution_count, std::string_view text) const;
  void figure(std::string_view path) const;
  // A traceback, already pointing into the file.
  void error(std::string_view traceback) const;
  // A dim line about what subcell did: `(session reset: ...)`.
  void note(std::string_view text) const;
  // `subcell: ...` on stderr: what went wrong outside the cells.
  void problem(std::string_view text) const;
  // input()'s prompt, without a newline.
  void prompt(std::string_view text) const;

 private:
  std::string style(const char* code, std::string_view text) const;
  bool color_;
};

}  // namespace subcell

#include "cli/printer.h"

#include <iostream>

namespace subcell {

std::string Printer::style(const char* code, std::string_view text) const {
  if (!color_) return std::string(text);
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

void Printer::header(int number, const RunCell& cell) const {
  std::cout << style("2", "── cell " + std::to_string(number) + (cell.title.empty() ? "" : ": " + cell.title) + " (" +
                              cell.where() + ") ──")
            << "\n" << std::flush;
}

void Printer::stream(std::string_view name, std::string_view text) const {
  std::ostream& os = name == "stderr" ? std::cerr : std::cout;
  os << text << std::flush;
}

void Printer::display(std::string_view text) const { std::cout << text << "\n" << std::flush; }

void Printer::value(int execution_count, std::string_view text) const {
  std::cout << style("32", "Out[" + std::to_string(execution_count) + "]: ") << text << "\n" << std::flush;
}

void Printer::figure(std::string_view path) const {
  std::cout << style("2", "(figure saved: " + std::string(path) + ")") << "\n" << std::flush;
}

void Printer::error(std::string_view traceback) const {
  std::cout << std::flush;
  std::cerr << style("31", traceback) << std::flush;
}

void Printer::note(std::string_view text) const { std::cout << style("2", text) << "\n" << std::flush; }

void Printer::problem(std::string_view text) const {
  std::cout << std::flush;
  std::cerr << "subcell: " << text << "\n" << std::flush;
}

void Printer::prompt(std::string_view text) const { std::cout << text << std::flush; }

}  // namespace subcell

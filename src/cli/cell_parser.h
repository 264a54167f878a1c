// Splits a Python file into cells at `# %%` markers, the convention of
// VS Code, Spyder and Jupytext ("percent format").
//
//   # %% optional title            a code cell
//   # %% [markdown]                a markdown cell (not run)
//   # %% [reset] optional title    subcell run: reset the session first
//   # %% [parameters]              subcell run --param: the values go after it
//
// Code before the first marker is a cell of its own when it is not blank.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace subcell {

struct SourceCell {
  int marker_line = 0;  // 1-based line of the `# %%` marker; 0 for leading code
  int first_line = 1;   // 1-based line in the file of the code's first line
  std::string title;
  std::string code;     // without the marker, trailing blank lines dropped
  bool markdown = false;
  bool reset = false;
  bool parameters = false;  // papermill's `parameters` tag
};

std::vector<SourceCell> parse_cells(std::string_view source);

// Whether `line` is a cell marker (`# %%`, `#%%`, leading spaces allowed).
bool is_cell_marker(std::string_view line);

// Whether `code` has anything to run: not only blank lines and comments
// (a file's header comment before its first marker, say).
bool has_code(std::string_view code);

}  // namespace subcell

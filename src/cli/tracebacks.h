// Tracebacks name cell code `File "<cell N>", line L` (N the execution
// count); these rewrite such frames to point where a reader can look.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace subcell {

// Replaces `File "<cell N>", line L` with place(N, L) where it returns a
// value; other lines are kept as they are.
using CellPlace = std::function<std::optional<std::string>(int count, int line)>;
std::string rewrite_cell_frames(std::string_view traceback, const CellPlace& place);

// IPython's way of naming a cell, for a notebook's error output:
// `Cell In[3], line 2`.
std::string ipython_place(int count, int line);

// The lines of `text` without their newlines (a notebook's traceback list).
std::vector<std::string> split_lines(std::string_view text);

}  // namespace subcell

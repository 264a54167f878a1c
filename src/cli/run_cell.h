// RunCell: one cell that `subcell run` runs, from a `# %%` file or a
// notebook, with what is needed to point a traceback back at its source.
#pragma once

#include <string>

namespace subcell {

struct RunCell {
  std::string code;
  std::string title;       // `# %% title`; a notebook cell's papermill tag
  bool reset = false;      // `# %% [reset]`: reset the session before the cell
  bool parameters = false; // tagged `parameters` (papermill): --param values go after it
  bool injected = false;   // the --param cell of a `# %%` file (not in the file)
  std::string file;        // the file's name, as tracebacks show it
  int first_line = 1;      // the file line of the code's first line (a `# %%` file)
  int marker_line = 0;     // the `# %%` line (a `# %%` file; 0: code before any marker)
  int notebook_cell = 0;   // 1-based position among the notebook's cells (0: not a notebook)
  int number = 0;          // `cell N` in the output and in figure names; 0: not run (blank)

  // Where the cell is, for its header: "tour.py:12", "demo.ipynb, cell 3".
  std::string where() const {
    if (notebook_cell > 0) return file + ", cell " + std::to_string(notebook_cell);
    if (injected) return "--param";
    return file + ":" + std::to_string(marker_line > 0 ? marker_line : first_line);
  }

  // Where line `line` of the cell's code is, as a traceback says it:
  // `File "tour.py", line 14`, `File "demo.ipynb", cell 3, line 2`.
  std::string traceback_place(int line) const {
    if (notebook_cell > 0) {
      return "File \"" + file + "\", cell " + std::to_string(notebook_cell) + ", line " + std::to_string(line);
    }
    if (injected) return "File \"<parameters>\", line " + std::to_string(line);
    return "File \"" + file + "\", line " + std::to_string(first_line + line - 1);
  }
};

}  // namespace subcell

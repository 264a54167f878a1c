// `subcell run FILE.py | NOTEBOOK.ipynb`: runs a `# %%` file or a notebook
// cell by cell in one session of a `subcell serve` started for it (a client
// like any editor), printing each cell's output as it streams, its value,
// or its error with traceback lines pointing into the file. A notebook can
// be written back with its outputs, as papermill and `jupyter nbconvert
// --execute` do.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace subcell {

struct RunFileOptions {
  std::string path;
  bool allow_errors = false;             // keep going after a failing cell; exit 0
  bool color = false;
  std::string output;                    // --output: write the executed notebook there
  bool inplace = false;                  // --inplace: write it back to `path`
  std::optional<double> timeout_seconds; // --timeout: each cell's time limit
  std::vector<std::string> parameters;   // --param name=value, in order
  std::string python;                    // --python: the session's Python
  std::string isolation;                 // --isolation: interpreter, process or auto
  std::string server_binary;             // the `subcell` started as `subcell serve`
};

// `run [options] FILE` (args[0] is "run"); the error is a usage message.
Result<RunFileOptions> parse_run_options(const std::vector<std::string_view>& args);

// Returns the process exit code: 0 when every cell ran without an error
// (or allow_errors), 1 when a cell failed or the session crashed, 2 when
// the file, the options or the server could not be used.
int run_file(const RunFileOptions& options);

}  // namespace subcell

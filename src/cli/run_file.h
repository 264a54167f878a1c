// `subcell run FILE.py`: runs a `# %%` file cell by cell in one session,
// through the same engine as the server, printing each cell's output as it
// streams, its value, or its error with traceback lines mapped back to the
// file.
#pragma once

#include <string>

namespace subcell {

struct RunFileOptions {
  std::string path;
  bool allow_errors = false;  // keep going after a failing cell; exit 0
  bool color = false;
};

// Returns the process exit code: 0 when every cell ran without an error
// (or allow_errors), 1 when a cell failed, 2 when the file or Python could
// not be used.
int run_file(const RunFileOptions& options);

}  // namespace subcell

// Notebook: a Jupyter notebook (nbformat 4) read from an .ipynb file, its
// code cells given to `subcell run`, their outputs written back. Everything
// else in the file (metadata, markdown, attachments) is kept as it was.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/run_cell.h"
#include "support/result.h"

namespace subcell {

class Notebook {
 public:
  using Json = nlohmann::json;

  // A readable message when the file is not JSON or not nbformat 4.
  static Result<Notebook> read(const std::string& path);

  // The code cells, in order (markdown and raw cells are not run).
  // `file` is the name tracebacks show.
  std::vector<RunCell> code_cells(const std::string& file) const;

  // papermill's convention: a code cell tagged `injected-parameters` with
  // `source`, in place of the one a previous run injected, else right
  // after the first cell tagged `parameters`, else first.
  void inject_parameters(const std::string& source);

  // Every code cell as never run: no outputs, no execution count.
  void clear_outputs();
  // The outputs of the code cell at `notebook_cell` (1-based, as RunCell).
  void set_outputs(int notebook_cell, std::optional<int> execution_count, Json outputs);

  // Jupyter's layout: one-space indent, sorted keys, a final newline.
  Status write(const std::string& path) const;

 private:
  explicit Notebook(Json doc) : doc_(std::move(doc)) {}
  Json doc_;
};

}  // namespace subcell

// RunOutput: where what the cells produce goes. Everything is printed as
// it arrives (Printer); images are saved beside the file (Figures); and
// each cell's outputs are kept the way Jupyter keeps them
// (JupyterOutputs), for a notebook written back.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/figures.h"
#include "cli/jupyter_outputs.h"
#include "cli/printer.h"
#include "cli/run_cell.h"

namespace subcell {

class RunOutput {
 public:
  using Json = nlohmann::json;

  // `source`: the file run (figures go beside it). `cells` outlives this.
  RunOutput(const Printer& printer, const std::string& source, const std::vector<RunCell>& cells);

  // The server's notifications about cell `cell` (nullopt: not one of ours).
  void stream(std::optional<std::size_t> cell, const std::string& name, const std::string& text);
  void display(std::optional<std::size_t> cell, const Json& data, const std::string& display_id, bool update);
  void clear(std::optional<std::size_t> cell, bool wait);

  // A cell/run result: its value and error. Returns whether it has an error.
  bool result(std::size_t cell, const Json& result);
  // A cell that got no result (its session crashed, the server is gone).
  void failed(std::size_t cell, const std::string& ename, const std::string& message);

  // input() writes the exchange to the cell's stdout; the terminal has
  // shown it already: the next stdout text is not printed when it starts
  // with `echo`.
  void expect_echo(std::string echo) { echo_ = std::move(echo); }

  // For the notebook: the cell's outputs and execution count.
  Json outputs(std::size_t cell) const { return outputs_.outputs(cell); }
  std::optional<int> execution_count(std::size_t cell) const;

 private:
  void save_figure(std::size_t cell, const Json& data, const std::string& display_id);
  std::string terminal_traceback(const std::string& traceback) const;

  const Printer& printer_;
  const std::vector<RunCell>& cells_;
  Figures figures_;
  JupyterOutputs outputs_;
  std::map<std::size_t, int> count_of_cell_;
  std::map<int, std::size_t> cell_of_count_;
  std::optional<std::string> echo_;
};

}  // namespace subcell

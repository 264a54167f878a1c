// JupyterOutputs: each cell's outputs as Jupyter would save them in a
// notebook (nbformat 4), built from the server's notifications the way
// Jupyter's front ends and nbclient build them from kernel messages:
//
// - consecutive writes to one stream are one `stream` output, carriage
//   returns applied (a progress bar saves as its last state);
// - a display with an id can be updated later, from any cell: every output
//   shown with that id is replaced in place and nothing is added. The ids
//   live here only: nbformat has no field for them (a message's
//   `transient.display_id` is not saved);
// - `clear_output()` empties the cell's outputs, with `wait` at its next
//   output.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace subcell {

class JupyterOutputs {
 public:
  using Json = nlohmann::json;

  explicit JupyterOutputs(std::size_t cells) : cells_(cells) {}

  void stream(std::size_t cell, const std::string& name, std::string_view text);
  // `display_id` empty: a display that cannot be updated.
  void display(std::size_t cell, const Json& data, const std::string& display_id);
  void update_display(const std::string& display_id, const Json& data);
  void execute_result(std::size_t cell, int execution_count, const Json& data);
  void error(std::size_t cell, const std::string& ename, const std::string& evalue,
             const std::vector<std::string>& traceback);
  void clear(std::size_t cell, bool wait);

  // The cell's outputs, in nbformat 4's form (text split into lines).
  Json outputs(std::size_t cell) const;

 private:
  struct Cell {
    std::vector<Json> outputs;
    bool clear_on_next = false;  // clear_output(wait=True) was called
  };
  Cell& before_output(std::size_t cell);
  void forget_displays(std::size_t cell);

  std::vector<Cell> cells_;
  // display id -> the (cell, output index) pairs showing it
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> displays_;
};

// Text with carriage returns applied as a terminal shows it: on each line,
// what precedes a `\r` that is followed by more text is overwritten
// (nbconvert's coalesce_streams; a trailing `\r` waits for what comes next).
std::string apply_carriage_returns(std::string_view text);

// nbformat's multiline string: the text split after each newline.
nlohmann::json multiline(std::string_view text);

}  // namespace subcell

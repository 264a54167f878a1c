#include "cli/run_output.h"

#include "cli/tracebacks.h"

namespace subcell {
namespace {

std::string plain_text(const nlohmann::json& bundle) {
  const auto text = bundle.find("text/plain");
  return text != bundle.end() && text->is_string() ? text->get<std::string>() : std::string();
}

}  // namespace

RunOutput::RunOutput(const Printer& printer, const std::string& source, const std::vector<RunCell>& cells)
    : printer_(printer), cells_(cells), figures_(source), outputs_(cells.size()) {}

void RunOutput::stream(std::optional<std::size_t> cell, const std::string& name, const std::string& text) {
  std::string_view shown = text;
  if (name == "stdout" && echo_) {
    if (shown.substr(0, echo_->size()) == *echo_) shown.remove_prefix(echo_->size());
    echo_.reset();
  }
  printer_.stream(name, shown);
  if (cell) outputs_.stream(*cell, name, text);
}

void RunOutput::display(std::optional<std::size_t> cell, const Json& data, const std::string& display_id,
                        bool update) {
  printer_.display(plain_text(data));
  if (cell) save_figure(*cell, data, display_id);
  if (update) {
    outputs_.update_display(display_id, data);
  } else if (cell) {
    outputs_.display(*cell, data, display_id);
  }
}

void RunOutput::clear(std::optional<std::size_t> cell, bool wait) {
  // A terminal keeps what it printed; the notebook is cleared.
  if (cell) outputs_.clear(*cell, wait);
}

bool RunOutput::result(std::size_t cell, const Json& result) {
  const int count = result.value("executionCount", 0);
  count_of_cell_[cell] = count;
  cell_of_count_[count] = cell;
  if (const auto value = result.find("value"); value != result.end() && value->is_object()) {
    printer_.value(count, plain_text(*value));
    save_figure(cell, *value, {});
    outputs_.execute_result(cell, count, *value);
  }
  const auto error = result.find("error");
  if (error == result.end() || !error->is_object()) return false;
  const std::string traceback = error->value("traceback", std::string());
  printer_.error(terminal_traceback(traceback));
  const std::string in_notebook = rewrite_cell_frames(traceback, [](int c, int line) -> std::optional<std::string> {
    return ipython_place(c, line);
  });
  outputs_.error(cell, error->value("type", std::string("Error")), error->value("message", std::string()),
                 split_lines(in_notebook));
  return true;
}

void RunOutput::failed(std::size_t cell, const std::string& ename, const std::string& message) {
  outputs_.error(cell, ename, message, {});
}

std::optional<int> RunOutput::execution_count(std::size_t cell) const {
  const auto count = count_of_cell_.find(cell);
  return count == count_of_cell_.end() ? std::nullopt : std::optional<int>(count->second);
}

// Frames in the run's cells point into the file: `File "tour.py", line 36`.
std::string RunOutput::terminal_traceback(const std::string& traceback) const {
  return rewrite_cell_frames(traceback, [this](int count, int line) -> std::optional<std::string> {
    const auto at = cell_of_count_.find(count);
    if (at == cell_of_count_.end()) return std::nullopt;
    return cells_[at->second].traceback_place(line);
  });
}

void RunOutput::save_figure(std::size_t cell, const Json& data, const std::string& display_id) {
  const auto png = data.find("image/png");
  if (png == data.end() || !png->is_string()) return;
  auto saved = figures_.save(cells_[cell].number, png->get<std::string>(), display_id);
  if (saved) {
    printer_.figure(*saved);
  } else {
    printer_.problem(saved.error().message);
  }
}

}  // namespace subcell

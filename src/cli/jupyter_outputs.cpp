#include "cli/jupyter_outputs.h"

namespace subcell {

std::string apply_carriage_returns(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool newline = end != std::string_view::npos;
    if (!newline) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (newline) {
      while (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // "a\r\n" is "a\n"
    }
    // The last carriage return with text after it overwrites what precedes it.
    const std::size_t cr = line.size() < 2 ? std::string_view::npos : line.rfind('\r', line.size() - 2);
    if (cr != std::string_view::npos) line.remove_prefix(cr + 1);
    out += line;
    if (newline) out += '\n';
    pos = end + 1;
  }
  return out;
}

nlohmann::json multiline(std::string_view text) {
  nlohmann::json lines = nlohmann::json::array();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(std::string(text.substr(pos, end - pos)));
    pos = end;
  }
  return lines;
}

JupyterOutputs::Cell& JupyterOutputs::before_output(std::size_t cell) {
  Cell& c = cells_.at(cell);
  if (c.clear_on_next) {
    c.outputs.clear();
    forget_displays(cell);
    c.clear_on_next = false;
  }
  return c;
}

void JupyterOutputs::forget_displays(std::size_t cell) {
  for (auto& [id, places] : displays_) {
    std::erase_if(places, [cell](const auto& place) { return place.first == cell; });
  }
}

void JupyterOutputs::stream(std::size_t cell, const std::string& name, std::string_view text) {
  Cell& c = before_output(cell);
  if (!c.outputs.empty() && c.outputs.back()["output_type"] == "stream" && c.outputs.back()["name"] == name) {
    Json& last = c.outputs.back();
    last["text"] = apply_carriage_returns(last["text"].get<std::string>() + std::string(text));
    return;
  }
  c.outputs.push_back(Json{{"output_type", "stream"}, {"name", name}, {"text", apply_carriage_returns(text)}});
}

void JupyterOutputs::display(std::size_t cell, const Json& data, const std::string& display_id) {
  Cell& c = before_output(cell);
  if (!display_id.empty()) displays_[display_id].emplace_back(cell, c.outputs.size());
  c.outputs.push_back(Json{{"output_type", "display_data"}, {"data", data}, {"metadata", Json::object()}});
}

void JupyterOutputs::update_display(const std::string& display_id, const Json& data) {
  auto it = displays_.find(display_id);
  if (it == displays_.end()) return;
  for (const auto& [cell, index] : it->second) cells_.at(cell).outputs.at(index)["data"] = data;
}

void JupyterOutputs::execute_result(std::size_t cell, int execution_count, const Json& data) {
  Cell& c = before_output(cell);
  c.outputs.push_back(Json{{"output_type", "execute_result"},
                           {"execution_count", execution_count},
                           {"data", data},
                           {"metadata", Json::object()}});
}

void JupyterOutputs::error(std::size_t cell, const std::string& ename, const std::string& evalue,
                           const std::vector<std::string>& traceback) {
  Cell& c = before_output(cell);
  c.outputs.push_back(Json{{"output_type", "error"}, {"ename", ename}, {"evalue", evalue}, {"traceback", traceback}});
}

void JupyterOutputs::clear(std::size_t cell, bool wait) {
  Cell& c = cells_.at(cell);
  if (wait) {
    c.clear_on_next = true;
    return;
  }
  c.outputs.clear();
  forget_displays(cell);
  c.clear_on_next = false;
}

JupyterOutputs::Json JupyterOutputs::outputs(std::size_t cell) const {
  Json out = Json::array();
  for (Json output : cells_.at(cell).outputs) {
    if (output.contains("text")) output["text"] = multiline(output["text"].get<std::string>());
    if (output.contains("data")) {
      // As nbformat writes them: text types and SVG/JavaScript as lines,
      // JSON types as JSON, images as their base64 string.
      for (auto& [mime, value] : output["data"].items()) {
        const bool lines = mime.rfind("text/", 0) == 0 || mime == "image/svg+xml" || mime == "application/javascript";
        if (lines && value.is_string()) value = multiline(value.get<std::string>());
      }
    }
    out.push_back(std::move(output));
  }
  return out;
}

}  // namespace subcell

#include "cli/notebook.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "cli/jupyter_outputs.h"

namespace subcell {
namespace {

// nbformat's multiline string: a string, or a list of strings to join.
std::string joined(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::string out;
  if (value.is_array()) {
    for (const auto& part : value) {
      if (part.is_string()) out += part.get<std::string>();
    }
  }
  return out;
}

bool has_tag(const nlohmann::json& cell, const char* tag) {
  const auto metadata = cell.find("metadata");
  if (metadata == cell.end() || !metadata->is_object()) return false;
  const auto tags = metadata->find("tags");
  if (tags == metadata->end() || !tags->is_array()) return false;
  for (const auto& t : *tags) {
    if (t.is_string() && t.get<std::string>() == tag) return true;
  }
  return false;
}

bool is_code(const nlohmann::json& cell) { return cell.value("cell_type", "") == "code"; }

// A fresh cell id (nbformat 4.5: 1-64 of [a-zA-Z0-9-_], unique).
std::string new_cell_id(const std::set<std::string>& taken) {
  static std::mt19937_64 random{std::random_device{}()};
  for (;;) {
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
    if (!taken.count(id)) return id;
  }
}

}  // namespace

Result<Notebook> Notebook::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{2, "cannot read " + path};
  Json doc = Json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error{2, path + " is not a notebook: not valid JSON"};
  const Json major = doc.value("nbformat", Json());
  if (!major.is_number_integer() || major.get<int>() != 4) {
    return Error{2, path + ": only nbformat 4 notebooks can be run (this one says nbformat " + major.dump() +
                        "); convert it with `jupyter nbconvert --to notebook --nbformat 4`"};
  }
  if (!doc.contains("cells") || !doc["cells"].is_array()) return Error{2, path + " is not a notebook: no cells"};
  for (const Json& cell : doc["cells"]) {
    if (!cell.is_object() || !cell.contains("cell_type")) {
      return Error{2, path + " is not a valid notebook: a cell has no cell_type"};
    }
  }
  return Notebook(std::move(doc));
}

std::vector<RunCell> Notebook::code_cells(const std::string& file) const {
  std::vector<RunCell> cells;
  int position = 0;
  for (const Json& cell : doc_["cells"]) {
    ++position;
    if (!is_code(cell)) continue;
    RunCell run;
    run.code = joined(cell.value("source", Json()));
    run.file = file;
    run.notebook_cell = position;
    run.parameters = has_tag(cell, "parameters");
    if (has_tag(cell, "injected-parameters")) {
      run.title = "injected parameters";
    } else if (run.parameters) {
      run.title = "parameters";
    }
    cells.push_back(std::move(run));
  }
  return cells;
}

void Notebook::inject_parameters(const std::string& source) {
  Json& cells = doc_["cells"];
  Json cell{{"cell_type", "code"},
            {"execution_count", nullptr},
            {"metadata", {{"tags", {"injected-parameters"}}}},
            {"outputs", Json::array()},
            {"source", multiline(source)}};
  std::size_t at = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (has_tag(cells[i], "injected-parameters")) {
      cells.erase(cells.begin() + static_cast<std::ptrdiff_t>(i));
      at = i;
      break;
    }
    if (at == 0 && has_tag(cells[i], "parameters")) at = i + 1;
  }
  cells.insert(cells.begin() + static_cast<std::ptrdiff_t>(at), std::move(cell));
  // nbformat 4.5 gives every cell an id.
  if (doc_.value("nbformat_minor", 0) >= 5) {
    std::set<std::string> taken;
    for (const Json& c : cells) {
      if (c.contains("id") && c["id"].is_string()) taken.insert(c["id"].get<std::string>());
    }
    for (Json& c : cells) {
      if (!c.contains("id")) taken.insert(c["id"] = new_cell_id(taken));
    }
  }
}

void Notebook::clear_outputs() {
  for (Json& cell : doc_["cells"]) {
    if (!is_code(cell)) continue;
    cell["outputs"] = Json::array();
    cell["execution_count"] = nullptr;
  }
}

void Notebook::set_outputs(int notebook_cell, std::optional<int> execution_count, Json outputs) {
  Json& cell = doc_["cells"].at(static_cast<std::size_t>(notebook_cell - 1));
  cell["outputs"] = std::move(outputs);
  cell["execution_count"] = execution_count ? Json(*execution_count) : Json(nullptr);
}

Status Notebook::write(const std::string& path) const {
  // Written beside the target and renamed over it: a notebook is never
  // left half written (--inplace).
  const std::string temporary = path + ".subcell-" + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Error{2, "cannot write " + path};
    out << doc_.dump(1, ' ', false, Json::error_handler_t::replace) << "\n";
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      return Error{2, "cannot write " + path};
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return Error{2, "cannot write " + path};
  }
  return Ok{};
}

}  // namespace subcell

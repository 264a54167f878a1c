// `--param name=value`: papermill's parameters, injected as a code cell.
// A value is the Python literal it spells when it parses as one (with
// Python's own ast.literal_eval, run in a session), a string otherwise:
// `--param n=3` is `n = 3`, `--param name=Ada` is `name = "Ada"`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace subcell {

struct Parameter {
  std::string name;
  std::string value;  // as given
};

// "name=value" (the value may be empty, or hold more '=').
Result<Parameter> parse_parameter(std::string_view argument);

// A cell that prints, as one JSON object, either {"source": the injected
// cell's code} or {"error": why a name cannot be assigned}.
std::string parameters_cell(const std::vector<Parameter>& parameters);

}  // namespace subcell

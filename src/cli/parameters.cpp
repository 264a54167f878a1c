#include "cli/parameters.h"

#include <nlohmann/json.hpp>

namespace subcell {
namespace {

// A JSON string is also a valid Python string literal.
std::string python_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<Parameter> parse_parameter(std::string_view argument) {
  const std::size_t eq = argument.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Error{2, "--param needs name=value, not '" + std::string(argument) + "'"};
  }
  return Parameter{std::string(argument.substr(0, eq)), std::string(argument.substr(eq + 1))};
}

std::string parameters_cell(const std::vector<Parameter>& parameters) {
  std::string pairs;
  for (const Parameter& p : parameters) pairs += "(" + python_string(p.name) + ", " + python_string(p.value) + "), ";
  // A literal keeps the text it was given (1e3 stays 1e3); anything else
  // becomes a string. Double quotes, as papermill writes strings.
  return "import ast, json, keyword\n"
         "def literal(text):\n"
         "    try:\n"
         "        ast.literal_eval(text)\n"
         "    except Exception:\n"
         "        return False\n"
         "    return True\n"
         "def assignment(name, text):\n"
         "    value = text.strip() if literal(text) else json.dumps(text, ensure_ascii=False)\n"
         "    return f'{name} = {value}\\n'\n"
         "pairs = [" + pairs + "]\n"
         "bad = [n for n, _ in pairs if not n.isidentifier() or keyword.iskeyword(n)]\n"
         "print(json.dumps({'error': f'--param: {bad[0]!r} is not a Python name'} if bad else\n"
         "                 {'source': '# Parameters\\n' + ''.join(assignment(n, v) for n, v in pairs)}))\n";
}

}  // namespace subcell

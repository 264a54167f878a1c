#include <unistd.h>

#include <charconv>

#include "cli/run_file.h"

namespace subcell {
namespace {

bool parse_seconds(std::string_view text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && out > 0 && out <= 1e7;
}

}  // namespace

Result<RunFileOptions> parse_run_options(const std::vector<std::string_view>& args) {
  RunFileOptions options;
  options.color = ::isatty(STDOUT_FILENO) != 0;
  // `--name value` or `--name=value`.
  auto value = [&](std::size_t& i, std::string_view name, std::string_view& out) {
    const std::string_view a = args[i];
    if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
      out = a.substr(name.size() + 1);
      return true;
    }
    if (a != name || i + 1 >= args.size()) return false;
    out = args[++i];
    return true;
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a = args[i];
    std::string_view v;
    if (a == "--allow-errors") {
      options.allow_errors = true;
    } else if (a == "--color=always" || a == "--color") {
      options.color = true;
    } else if (a == "--color=never") {
      options.color = false;
    } else if (a == "--color=auto") {
    } else if (a == "--inplace") {
      options.inplace = true;
    } else if (value(i, "--output", v) || value(i, "-o", v)) {
      options.output = v;
    } else if (value(i, "--timeout", v)) {
      double seconds = 0;
      if (!parse_seconds(v, seconds)) return Error{2, "--timeout needs a positive number of seconds"};
      options.timeout_seconds = seconds;
    } else if (value(i, "--param", v) || value(i, "-p", v)) {
      options.parameters.emplace_back(v);
    } else if (value(i, "--python", v)) {
      options.python = v;
    } else if (value(i, "--isolation", v)) {
      if (v != "interpreter" && v != "process" && v != "auto") {
        return Error{2, "--isolation needs interpreter, process or auto"};
      }
      options.isolation = v;
    } else if (a == "--output" || a == "--timeout" || a == "--param" || a == "--python" || a == "--isolation") {
      return Error{2, std::string(a) + " needs a value"};
    } else if (!a.empty() && a[0] == '-') {
      return Error{2, "unknown option for run: " + std::string(a)};
    } else if (options.path.empty()) {
      options.path = a;
    } else {
      return Error{2, "run takes one file"};
    }
  }
  if (options.path.empty()) return Error{2, "run needs a file"};
  if (options.inplace && !options.output.empty()) return Error{2, "--inplace and --output: choose one"};
  return options;
}

}  // namespace subcell

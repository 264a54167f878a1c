// Which Python a path names: an interpreter, or an environment's directory
// (a venv, a conda env), asked of the interpreter itself (its version,
// sys.prefix, sys.executable) and remembered. Used to place a session that
// asks for a Python (session/open's `python`). Loop thread only: the first
// probe of a path runs the interpreter once (tens of ms); later ones are
// answered from memory.
#pragma once

#include <chrono>
#include <string>

#include "support/result.h"

namespace subcell {

struct PythonTarget {
  std::string executable;       // sys.executable (a venv's bin/python, not its base)
  std::string prefix;           // sys.prefix
  std::string base_prefix;      // sys.base_prefix: differs from prefix in a venv
  std::string version;          // "3.11.2"
  int minor = 0;                // 11
  bool system_site_packages = false;  // a venv made with --system-site-packages
  bool is_environment() const { return prefix != base_prefix; }
};

Result<PythonTarget> probe_python(const std::string& path,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace subcell

// Which stdlib extension modules need help to be safe in own-GIL
// subinterpreters, per CPython version, and the remedy for each.
//
// The table is data measured on this project's builds (shared/
// SUBINTERPRETERS.md, re-checked by tests/stress/import_every_module): the
// project's stress test imports every stdlib module in parallel sessions so
// that a new CPython release is measured, not assumed.
#pragma once

#include <string_view>
#include <vector>

namespace subcell::py {

struct BlockedModule {
  std::string_view name;
  std::string_view reason;  // shown in the ImportError a cell gets
};

struct ModulePolicy {
  // Imported once in the main interpreter before any session exists:
  // concurrent first initialisation of their static state is what crashes.
  std::vector<std::string_view> preimport_in_main;
  // Refused in sessions with an ImportError; accelerators among them make
  // their pure-Python twins load instead (datetime -> _pydatetime).
  std::vector<BlockedModule> block_in_sessions;
  // Whether Py_FinalizeEx is safe once every session has ended. 3.12 aborts
  // in it after sessions imported hashlib, ssl or asyncio (gh-112140).
  bool finalize_is_safe = true;
};

// The policy for the CPython this process runs (major.minor).
const ModulePolicy& module_policy(int minor);

}  // namespace subcell::py

// Runtime: the process's one CPython: the main interpreter, initialised once
// and otherwise left idle (its GIL released) while sessions run in their
// own interpreters.
#pragma once

#include <memory>
#include <string>

#include "support/result.h"

namespace subcell::py {

struct RuntimeInfo {
  std::string version;  // "3.13.0"
  int minor = 0;
  bool own_gil = false;  // sessions get a GIL of their own (PEP 684)
};

// The CPython version subcell was built against, e.g. "3.13.0".
std::string built_with_version();

class Runtime {
 public:
  // Initialises CPython (no signal handlers: the embedder owns signals),
  // pre-imports what the module policy says, and releases the GIL.
  static Result<std::unique_ptr<Runtime>> start();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeInfo& info() const { return info_; }

  // An interpreter could not be ended (a thread would not stop). The
  // process must then leave with _exit(), never Py_FinalizeEx.
  static void mark_unclean();
  static bool unclean();

  // Finalizes when that is known to be safe; returns whether it did. After
  // a false return the caller should flush and _exit().
  bool finalize();

 private:
  Runtime() = default;
  RuntimeInfo info_;
  void* main_thread_state_ = nullptr;
  bool finalized_ = false;
};

}  // namespace subcell::py

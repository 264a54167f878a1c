// Runtime: the process's one CPython: the main interpreter, initialised once
// and otherwise left idle (its GIL released) while sessions run in their
// own interpreters.
#pragma once

#include <memory>
#include <string>

#include "support/result.h"

namespace subcell::py {

struct RuntimeInfo {
  std::string version;  // "3.13.0": the libpython that runs
  int minor = 0;
  bool own_gil = false;     // sessions get a GIL of their own (PEP 684)
  std::string executable;   // sys.executable
  std::string prefix;       // sys.prefix (a venv's, for a worker started on one)
};

struct RuntimeOptions {
  // A process-isolated worker: its one session runs in the main
  // interpreter, on the main thread, with CPython's own signal handlers
  // (SIGINT raises KeyboardInterrupt), `site` imported for real, and
  // faulthandler, fork and every extension module available.
  bool main_interpreter_session = false;
  // The Python to be: its path decides sys.prefix and sys.path as if that
  // interpreter ran (a venv's pyvenv.cfg included). Default: the one this
  // build was made with.
  std::string executable;
};

// The CPython version subcell was built against, e.g. "3.13.0".
std::string built_with_version();

class Runtime {
 public:
  // Initialises CPython (no signal handlers: the embedder owns signals,
  // unless options.main_interpreter_session), pre-imports what the module
  // policy says, and releases the GIL. Call on the main thread.
  static Result<std::unique_ptr<Runtime>> start(RuntimeOptions options = {});

  // The main interpreter's thread state (a PyThreadState*), released by
  // start(): what a main-interpreter session attaches to, on the main thread.
  static void* main_thread_state();
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
  bool finalized_ = false;
};

}  // namespace subcell::py

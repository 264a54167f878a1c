// PythonSession: one session's Python side, an interpreter with subcell's
// runner installed, driven from the thread that created it: an own-GIL
// subinterpreter, or the main interpreter of a process-isolated worker.
//
// Each call attaches to the interpreter for its duration and detaches
// after, so threads the cells started run between cells. Failures of user
// code come back as values (RunOutcome::error); this class never throws
// and never lets a Python object out.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "python/interpreter.h"
#include "python/interrupt.h"
#include "python/outcome.h"
#include "python/ref.h"
#include "python/session_io.h"
#include "support/result.h"

namespace subcell::py {

enum class InterpreterKind {
  kSubinterpreter,  // own GIL, in a thread of the server (or a worker)
  kMain,            // the main interpreter of a process-isolated worker, on its main thread
};

class PythonSession {
 public:
  // Creates the interpreter on the calling thread (kMain: adopts the main
  // interpreter; the caller must be the main thread) and installs the
  // runner, the session's stdout/stderr (into `io`) and display(); a
  // subinterpreter also gets the interruptible time.sleep and joins, the
  // replayed `site` and the module policy. `io` and `interrupts` must
  // outlive the interpreter (if it is parked, forever).
  // `guard`: install the session guard (python/guard.py) in a subinterpreter.
  static Result<std::unique_ptr<PythonSession>> create(SessionIo& io, InterruptTarget& interrupts,
                                                       InterpreterKind kind = InterpreterKind::kSubinterpreter,
                                                       bool guard = true);
  ~PythonSession();
  PythonSession(const PythonSession&) = delete;
  PythonSession& operator=(const PythonSession&) = delete;

  // run(): the cell's (value, error) tuple. `token` identifies the run for
  // interrupts; with a `time_limit` the cell is interrupted once it has
  // run that long, and its KeyboardInterrupt says so.
  RunOutcome run(std::string_view code, std::uint64_t token,
                 std::optional<std::chrono::milliseconds> time_limit = std::nullopt);
  // Whether `code` imports, at its top level, modules known to need a
  // process (ProcessModules), and if so whether the session could move
  // (it holds no user state yet). Runs nothing of the cell.
  std::optional<NeedsProcess> placement(std::string_view code);
  // The result of a cell that needs a process in a session that cannot
  // move: not run, an ImportError that says why and suggests a restart.
  RunOutcome refuse(const NeedsProcess& needs);
  // Interruptible like a cell (`token`): finalizers of the user's objects
  // run here and may loop.
  ResetOutcome reset(std::uint64_t token = 0);
  CompleteOutcome complete(std::string_view code, std::optional<std::size_t> cursor);
  // From the session's inspector thread (never the one that runs cells),
  // while a cell may be running: it attaches with a thread state of its
  // own, between the cell's bytecodes. Reads, never changes, __main__.
  VariablesOutcome variables(std::size_t offset, std::size_t limit);
  InspectOutcome inspect(std::string_view code, std::optional<std::size_t> cursor);
  // On the inspector thread, before close(): its thread state goes.
  void release_inspector();

  // Set-up code (the pool's prelude), run outside __main__.
  std::optional<ErrorInfo> prelude(std::string_view code);
  // Pays ahead what a session's first multi-line cell would (warm pool).
  void warm_up();
  // Runs `fn` with the interpreter attached (its GIL held), on the
  // session's thread: work of other layers inside the session (a child
  // interpreter's run for its parent, python/child_host.h).
  void with_gil(const std::function<void()>& fn) {
    Interpreter::Scope attached(*interp_);
    fn();
  }
  void prepend_sys_path(const std::string& dir);
  // The session's working directory: chdir on this thread (whose fs
  // context is the session's own, see Session) and first on sys.path.
  Status set_cwd(const std::string& dir);
  // Sets (or, for an empty value, removes) variables of the session's
  // os.environ: the process's own in a main interpreter; in a
  // subinterpreter the session's private environment, which the
  // subprocesses it starts inherit.
  void update_environment(const std::map<std::string, std::optional<std::string>>& env);
  // Another environment of this Python (a venv, a conda env): the session
  // takes its sys.prefix, sys.executable and site-packages (.pth files
  // included) in place of the base installation's.
  Status use_environment(const std::string& prefix, const std::string& executable, bool system_site_packages);
  // The execution count the next cell gets is `count` + 1 (a session moved
  // to a process keeps counting).
  void set_execution_count(int count) { count_ = count; }
  InterpreterKind kind() const { return kind_; }

  // Runs what ending the interpreter would (atexit callbacks, finalizers of
  // __main__'s objects) under an interrupt at `grace`, then ends the
  // interpreter (see Interpreter::end). Nothing else may be called after.
  CloseOutcome close(std::chrono::milliseconds grace);

  int execution_count() const { return count_; }

 private:
  PythonSession(std::unique_ptr<Interpreter> interp, InterruptTarget& interrupts, InterpreterKind kind)
      : interp_(std::move(interp)), interrupts_(interrupts), kind_(kind) {}
  Status install(SessionIo& io, bool guard);

  std::unique_ptr<Interpreter> interp_;
  InterruptTarget& interrupts_;
  const InterpreterKind kind_;
  Ref run_, reset_, complete_, prelude_, warm_up_, update_environment_, needs_process_, finalize_;  // the runner's
  Ref variables_, inspect_;  // the runner's, called from the inspector thread
  Ref use_environment_;
  PyThreadState* inspector_ = nullptr;  // the inspector thread's, created on it
  Ref process_modules_;  // frozenset of ProcessModules, as of generation process_modules_generation_
  std::uint64_t process_modules_generation_ = 0;
  int count_ = 0;
  bool closed_ = false;
};

}  // namespace subcell::py

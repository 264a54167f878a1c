// PythonSession: one session's Python side, an interpreter with subcell's
// runner installed, driven from the thread that created it.
//
// Each call attaches to the interpreter for its duration and detaches
// after, so threads the cells started run between cells. Failures of user
// code come back as values (RunOutcome::error); this class never throws
// and never lets a Python object out.
#pragma once

#include <chrono>
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

class PythonSession {
 public:
  // Creates the interpreter on the calling thread and installs the runner,
  // the session's stdout/stderr (into `io`), display(), the interruptible
  // time.sleep and the module policy. `io` and `interrupts` must outlive
  // the interpreter (if it is parked, forever).
  static Result<std::unique_ptr<PythonSession>> create(SessionIo& io, InterruptTarget& interrupts);
  ~PythonSession();
  PythonSession(const PythonSession&) = delete;
  PythonSession& operator=(const PythonSession&) = delete;

  // run(): the cell's (value, error) tuple. `token` identifies the run for
  // interrupts.
  RunOutcome run(std::string_view code, std::uint64_t token);
  ResetOutcome reset();
  CompleteOutcome complete(std::string_view code, std::optional<std::size_t> cursor);
  // Set-up code (the pool's prelude), run outside __main__.
  std::optional<ErrorInfo> prelude(std::string_view code);
  // Pays ahead what a session's first multi-line cell would (warm pool).
  void warm_up();
  void prepend_sys_path(const std::string& dir);

  // Ends the interpreter (see Interpreter::end). Nothing else may be called after.
  CloseOutcome close(std::chrono::milliseconds grace);

  int execution_count() const { return count_; }

 private:
  PythonSession(std::unique_ptr<Interpreter> interp, InterruptTarget& interrupts)
      : interp_(std::move(interp)), interrupts_(interrupts) {}
  Status install(SessionIo& io);

  std::unique_ptr<Interpreter> interp_;
  InterruptTarget& interrupts_;
  Ref run_, reset_, complete_, prelude_, warm_up_;  // the runner's functions
  int count_ = 0;
  bool closed_ = false;
};

}  // namespace subcell::py

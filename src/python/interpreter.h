// Interpreter: owns one own-GIL subinterpreter (PEP 684).
//
// Created, used and ended on one OS thread: CPython requires the thread
// state given to Py_EndInterpreter to belong to the calling thread. Between
// uses the thread detaches (releases the interpreter's GIL) so threads the
// cells started keep running. Never copied or moved: its address is its
// identity for the pending calls aimed at it.
#pragma once

#include <Python.h>

#include <chrono>
#include <memory>

#include "python/interrupt.h"
#include "python/outcome.h"
#include "support/result.h"

namespace subcell::py {

class Interpreter {
 public:
  // Creates an interpreter on the calling thread, which must hold no thread
  // state. Returns attached: the new interpreter's GIL is held.
  static Result<std::unique_ptr<Interpreter>> create();
  // The main interpreter, through the thread state Runtime::start() left
  // (main thread only). Returns attached. Ending it ends nothing: the
  // process's exit does.
  static std::unique_ptr<Interpreter> adopt_main();
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  void attach();
  void detach();
  bool attached() const { return attached_; }
  PyInterpreterState* state() const { return interp_; }
  bool is_main() const { return main_; }

  // Threads of this interpreter other than the caller's. Attached only.
  int count_other_threads() const;

  // Stops every other thread (SystemExit, woken from waits) for up to
  // `grace`, then ends the interpreter; if a thread will not stop, parks
  // it instead (ending would abort or hang the process). Attached on
  // entry; detached, and the interpreter unusable, afterwards.
  CloseOutcome end(InterruptTarget& interrupts, std::chrono::milliseconds grace);

  // RAII: attached for one scope.
  class Scope {
   public:
    explicit Scope(Interpreter& interp) : interp_(interp) { interp_.attach(); }
    ~Scope() { interp_.detach(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Interpreter& interp_;
  };

 private:
  Interpreter(PyThreadState* tstate, bool main);
  void signal_other_threads(InterruptTarget& interrupts) const;

  PyThreadState* tstate_;
  PyInterpreterState* interp_;
  const bool main_;
  bool attached_ = true;
  bool alive_ = true;
};

}  // namespace subcell::py

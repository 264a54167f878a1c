#include "python/interpreter.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "python/compat.h"
#include "python/runtime.h"
#include "support/log.h"

namespace subcell::py {
namespace {

#if SUBCELL_HAS_SUBINTERPRETERS
PyInterpreterConfig own_gil_config() {
  PyInterpreterConfig config{};
  config.use_main_obmalloc = 0;
  config.allow_fork = 0;  // fork() in a multi-threaded server is not survivable
  config.allow_exec = 1;  // subprocess works
  config.allow_threads = 1;
  config.allow_daemon_threads = 1;  // libraries start them; closing stops them first
  config.check_multi_interp_extensions = 1;
  config.gil = PyInterpreterConfig_OWN_GIL;
  return config;
}
#endif

}  // namespace

Interpreter::Interpreter(PyThreadState* tstate, bool main)
    : tstate_(tstate), interp_(PyThreadState_GetInterpreter(tstate)), main_(main) {}

std::unique_ptr<Interpreter> Interpreter::adopt_main() {
  auto* tstate = static_cast<PyThreadState*>(Runtime::main_thread_state());
  PyEval_RestoreThread(tstate);
  return std::unique_ptr<Interpreter>(new Interpreter(tstate, /*main=*/true));
}

Result<std::unique_ptr<Interpreter>> Interpreter::create() {
#if !SUBCELL_HAS_SUBINTERPRETERS
  return Error{0, "interpreter sessions need CPython 3.12 or later (own-GIL subinterpreters); this worker runs " PY_VERSION
                  " and hosts process sessions only"};
#else
  const PyInterpreterConfig config = own_gil_config();
  std::string why;
  // CPython 3.12.1 very rarely fails a creation with a type mix-up between
  // interpreters (1 in ~20,000 here); a second attempt succeeds.
  for (int attempt = 0; attempt < 2; ++attempt) {
    PyThreadState* tstate = nullptr;
    PyStatus status = Py_NewInterpreterFromConfig(&tstate, &config);
    if (!PyStatus_Exception(status) && tstate != nullptr) {
      return std::unique_ptr<Interpreter>(new Interpreter(tstate, /*main=*/false));
    }
    why = status.err_msg != nullptr ? status.err_msg : "unknown error";
  }
  return Error{0, "cannot create a subinterpreter: " + why};
#endif
}

Interpreter::~Interpreter() {
  if (alive_) {
    // Ending needs the owning thread and a stop of all threads; a session
    // always calls end(). Getting here is a bug: leave it parked.
    log::error("an interpreter was destroyed without being ended; parking it");
    Runtime::mark_unclean();
  }
}

void Interpreter::attach() {
  if (!attached_) {
    PyEval_RestoreThread(tstate_);
    attached_ = true;
  }
}

void Interpreter::detach() {
  if (attached_) {
    PyEval_SaveThread();
    attached_ = false;
  }
}

int Interpreter::count_other_threads() const {
  int n = 0;
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(interp_); ts != nullptr; ts = PyThreadState_Next(ts)) {
    if (ts != tstate_) ++n;
  }
  return n;
}

void Interpreter::signal_other_threads(InterruptTarget& interrupts) const {
  interrupts.stop_other_threads();
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(interp_); ts != nullptr; ts = PyThreadState_Next(ts)) {
    if (ts == tstate_) continue;
    // SystemExit ends a thread quietly; the signal breaks a lock wait so
    // that the pending call can raise it there too.
    PyThreadState_SetAsyncExc(ts->thread_id, PyExc_SystemExit);
    if (ts->native_thread_id != 0) {
      ::syscall(SYS_tgkill, ::getpid(), static_cast<pid_t>(ts->native_thread_id), SIGUSR2);
    }
  }
}

CloseOutcome Interpreter::end(InterruptTarget& interrupts, std::chrono::milliseconds grace) {
  attach();
  CloseOutcome outcome;
  int others = count_other_threads();
  outcome.stray_threads = others;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (others > 0 && std::chrono::steady_clock::now() < deadline) {
    signal_other_threads(interrupts);
    detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    attach();
    others = count_other_threads();
  }
  alive_ = false;
  if (main_) {
    // The process ends it; threads that would not stop go with it.
    detach();
    outcome.ended = others == 0;
    return outcome;
  }
  if (others > 0) {
    // A thread blocked in C or swallowing SystemExit: Py_EndInterpreter
    // would abort ("not the last thread") or wait forever. Keep it.
    log::warn(std::to_string(others) + " thread(s) would not stop; the interpreter is parked until exit");
    detach();
    Runtime::mark_unclean();
    outcome.ended = false;
    return outcome;
  }
  Py_EndInterpreter(tstate_);
  tstate_ = nullptr;
  attached_ = false;
  return outcome;
}

}  // namespace subcell::py

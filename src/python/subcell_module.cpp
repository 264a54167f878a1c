#include "python/subcell_module.h"

#include <stdlib.h>

#include <climits>
#include <cmath>
#include <mutex>

#include "python/convert.h"
#include "python/compat.h"
#include "python/ref.h"
#include "support/protected_fds.h"

namespace subcell::py {
namespace {

struct ModuleState {
  SessionIo* io;
  InterruptTarget* interrupts;
};

ModuleState* state_of(PyObject* module) { return static_cast<ModuleState*>(PyModule_GetState(module)); }

// Drops the GIL only if an I/O call actually has to wait, and waits no
// longer than the interrupt (cell thread) or the session's close allow.
class InterruptibleWait final : public Waiter {
 public:
  InterruptibleWait(InterruptTarget& interrupts, bool interruptible)
      : interrupts_(interrupts), interruptible_(interruptible) {}
  void release_gil() override { saved_ = PyEval_SaveThread(); }
  void reacquire_gil() override { PyEval_RestoreThread(saved_); }
  std::stop_token stop_token() override {
    return interruptible_ ? interrupts_.stop_token_for_current_thread() : std::stop_token{};
  }

 private:
  InterruptTarget& interrupts_;
  bool interruptible_;
  PyThreadState* saved_ = nullptr;
};

ModuleState* bound_state(PyObject* module) {
  ModuleState* st = state_of(module);
  if (st == nullptr || st->io == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "_subcell is not bound to a session");
    return nullptr;
  }
  return st;
}

// The cell was interrupted while waiting: raise KeyboardInterrupt once.
// Returns false when the wait must simply be repeated without the token.
bool raise_interrupt(ModuleState* st) {
  if (st->interrupts->on_cell_thread()) {
    if (!st->interrupts->consume()) return false;
    // In a main-interpreter session the SIGINT that woke the wait raises
    // it (once); in a subinterpreter this checks nothing.
    if (PyErr_CheckSignals() < 0) return true;
    PyErr_SetNone(PyExc_KeyboardInterrupt);
  } else {
    PyErr_SetNone(PyExc_SystemExit);  // the session is closing: helper threads end
  }
  return true;
}

PyObject* write_stream(PyObject* module, PyObject* arg, Stream stream) {
  if (!PyUnicode_Check(arg)) {
    return PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s", Py_TYPE(arg)->tp_name);
  }
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(arg, &size);
  Ref escaped;
  if (utf8 == nullptr) {  // lone surrogates: send them escaped rather than fail the print
    PyErr_Clear();
    escaped = steal(PyUnicode_AsEncodedString(arg, "utf-8", "backslashreplace"));
    if (!escaped) return nullptr;
    utf8 = PyBytes_AS_STRING(escaped.get());
    size = PyBytes_GET_SIZE(escaped.get());
  }
  const Py_ssize_t length = PyUnicode_GET_LENGTH(arg);
  if (size == 0) return PyLong_FromSsize_t(length);
  std::string_view text(utf8, static_cast<size_t>(size));
  InterruptibleWait wait(*st->interrupts, true);
  IoStatus s = st->io->write(stream, text, wait);
  if (s == IoStatus::kStopped && raise_interrupt(st)) return nullptr;
  if (s == IoStatus::kStopped) {
    InterruptibleWait plain(*st->interrupts, false);
    s = st->io->write(stream, text, plain);
  }
  if (s == IoStatus::kClosed) {
    PyErr_SetString(PyExc_BrokenPipeError, "the session's output is closed (the session is closing)");
    return nullptr;
  }
  return PyLong_FromSsize_t(length);
}

PyObject* write_stdout(PyObject* module, PyObject* arg) { return write_stream(module, arg, Stream::kStdout); }
PyObject* write_stderr(PyObject* module, PyObject* arg) { return write_stream(module, arg, Stream::kStderr); }

// Runs an output call interruptibly; if the cell is interrupted while it
// waits (output backpressure), KeyboardInterrupt, once; the output itself
// is then sent without waiting on the interrupt again.
template <typename Send>
PyObject* send_output(ModuleState* st, Send send) {
  InterruptibleWait wait(*st->interrupts, true);
  IoStatus s = send(wait);
  if (s == IoStatus::kStopped && raise_interrupt(st)) return nullptr;
  if (s == IoStatus::kStopped) {
    InterruptibleWait plain(*st->interrupts, false);
    s = send(plain);
  }
  if (s == IoStatus::kClosed) {
    PyErr_SetString(PyExc_BrokenPipeError, "the session's output is closed (the session is closing)");
    return nullptr;
  }
  Py_RETURN_NONE;
}

// emit_display(bundle, display_id=None, update=False)
PyObject* emit_display(PyObject* module, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 3 || !PyDict_Check(args[0])) {
    return PyErr_Format(PyExc_TypeError, "emit_display(bundle: dict, display_id=None, update=False)");
  }
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  Display display;
  display.data = bundle_from_dict(args[0]);
  if (nargs > 1 && args[1] != Py_None) display.display_id = to_utf8(args[1]);
  display.update = nargs > 2 && PyObject_IsTrue(args[2]) == 1;
  if (display.data.empty()) Py_RETURN_NONE;
  return send_output(st, [&](Waiter& wait) { return st->io->display(display, wait); });
}

PyObject* clear_output(PyObject* module, PyObject* arg) {
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  const bool wait_for_next = PyObject_IsTrue(arg) == 1;
  return send_output(st, [&](Waiter& wait) { return st->io->clear_output(wait_for_next, wait); });
}

// time.sleep for sessions: the same contract, but an interrupt (or closing
// the session) wakes it at once instead of after the full duration.
PyObject* sleep(PyObject* module, PyObject* arg) {
  double seconds = PyFloat_AsDouble(arg);
  if (seconds == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    return PyErr_Format(PyExc_TypeError, "'%.200s' object cannot be interpreted as an integer or float",
                        Py_TYPE(arg)->tp_name);
  }
  if (std::isnan(seconds)) {
    PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
    return nullptr;
  }
  if (seconds < 0) {
    PyErr_SetString(PyExc_ValueError, "sleep length must be non-negative");
    return nullptr;
  }
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  std::stop_token stop = st->interrupts->stop_token_for_current_thread();
  bool completed = false;
  Py_BEGIN_ALLOW_THREADS
  completed = st->interrupts->sleep(seconds, stop);
  Py_END_ALLOW_THREADS
  if (!completed && raise_interrupt(st)) return nullptr;
  Py_RETURN_NONE;
}

// sys._current_frames() limited to this interpreter's threads. CPython's
// own returns frames of every interpreter and crashes the process when a
// session touches another interpreter's frames. The thread list is stable
// while this interpreter's GIL is held.
PyObject* current_frames(PyObject* /*module*/, PyObject* /*unused*/) {
  Ref result = steal(PyDict_New());
  if (!result) return nullptr;
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(PyInterpreterState_Get()); ts != nullptr;
       ts = PyThreadState_Next(ts)) {
    Ref frame = steal(reinterpret_cast<PyObject*>(PyThreadState_GetFrame(ts)));
    if (!frame) continue;
    Ref key = steal(PyLong_FromUnsignedLong(ts->thread_id));
    if (!key || PyDict_SetItem(result.get(), key.get(), frame.get()) < 0) return nullptr;
  }
  return result.release();
}

// time.tzset() of a session: the timezone is the process's (C's tzname),
// so the session's TZ is applied to the process environment first.
PyObject* set_process_timezone(PyObject* /*module*/, PyObject* arg) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (arg == Py_None) {
    ::unsetenv("TZ");
  } else if (PyUnicode_Check(arg)) {
    const char* tz = PyUnicode_AsUTF8(arg);
    if (tz == nullptr) return nullptr;
    ::setenv("TZ", tz, 1);
  } else {
    return PyErr_Format(PyExc_TypeError, "TZ must be a str or None, not %.100s", Py_TYPE(arg)->tp_name);
  }
  Py_RETURN_NONE;
}

// The guard's view of the descriptors the server owns (support/protected_fds.h).
PyObject* is_protected_fd(PyObject* /*module*/, PyObject* arg) {
  const long fd = PyLong_AsLong(arg);
  if (fd == -1 && PyErr_Occurred()) return nullptr;
  return PyBool_FromLong(fd >= 0 && fd <= INT_MAX && protected_fds::contains(static_cast<int>(fd)));
}

PyObject* protected_fd_list(PyObject* /*module*/, PyObject* /*unused*/) {
  Ref list = steal(PyList_New(0));
  for (int fd : protected_fds::all()) {
    Ref n = steal(PyLong_FromLong(fd));
    if (!list || !n || PyList_Append(list.get(), n.get()) < 0) return nullptr;
  }
  return list.release();
}

// os._exit / os.abort in a subinterpreter session: the session ends (the
// server goes on). The caller raises SystemExit to unwind its thread.
PyObject* end_session(PyObject* module, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyUnicode_Check(args[0])) return PyErr_Format(PyExc_TypeError, "end_session(how, status)");
  const long status = PyLong_AsLong(args[1]);
  if (status == -1 && PyErr_Occurred()) return nullptr;
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  SessionEnd end;
  end.how = PyUnicode_CompareWithASCIIString(args[0], "abort") == 0 ? SessionEnd::How::kAbort : SessionEnd::How::kExit;
  end.status = static_cast<int>(status);
  st->io->end_session(end);
  Py_RETURN_NONE;
}

// request_input(prompt, password): what the user typed (the client is
// asked with cell/input). KeyboardInterrupt when interrupted or dismissed,
// EOFError when no client can answer.
PyObject* request_input(PyObject* module, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyUnicode_Check(args[0])) return PyErr_Format(PyExc_TypeError, "request_input(prompt, password)");
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  const std::string prompt = to_utf8(args[0]);
  const bool password = PyObject_IsTrue(args[1]) == 1;
  InterruptibleWait wait(*st->interrupts, true);
  InputReply reply = st->io->read_input(prompt, password, wait);
  switch (reply.status) {
    case InputReply::Status::kAnswered:
      return PyUnicode_DecodeUTF8(reply.text.data(), static_cast<Py_ssize_t>(reply.text.size()), "replace");
    case InputReply::Status::kCancelled: PyErr_SetString(PyExc_KeyboardInterrupt, "input was cancelled"); return nullptr;
    case InputReply::Status::kUnsupported: PyErr_SetString(PyExc_EOFError, reply.text.c_str()); return nullptr;
    case InputReply::Status::kEof: PyErr_SetString(PyExc_EOFError, "EOF when reading a line"); return nullptr;
    case InputReply::Status::kClosed:
      PyErr_SetString(PyExc_EOFError, "the session is closing: no more input");
      return nullptr;
    case InputReply::Status::kStopped:
      if (!raise_interrupt(st)) PyErr_SetNone(PyExc_KeyboardInterrupt);
      return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* current_cell(PyObject* module, PyObject* /*unused*/) {
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  return PyLong_FromUnsignedLongLong(st->io->current_cell());
}

PyObject* set_thread_origin(PyObject* module, PyObject* arg) {
  const unsigned long long cell = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return nullptr;
  ModuleState* st = bound_state(module);
  if (st == nullptr) return nullptr;
  st->io->set_thread_origin(cell);
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"write_stdout", write_stdout, METH_O, "Write text to the session's stdout."},
    {"write_stderr", write_stderr, METH_O, "Write text to the session's stderr."},
    {"emit_display", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(emit_display)), METH_FASTCALL,
     "Send a MIME bundle {mime: str} to the client, optionally under a display id (and as an update)."},
    {"clear_output", clear_output, METH_O, "Clear the cell's outputs (now, or when the next output arrives)."},
    {"current_cell", current_cell, METH_NOARGS, "The running cell (a handle for set_thread_origin)."},
    {"request_input", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(request_input)), METH_FASTCALL,
     "Asks the client for a line of input (input(), getpass, sys.stdin)."},
    {"set_thread_origin", set_thread_origin, METH_O, "This thread was started by that cell."},
    {"sleep", sleep, METH_O, "time.sleep, interruptible by the session."},
    {"current_frames", current_frames, METH_NOARGS, "sys._current_frames for this interpreter only."},
    {"set_process_timezone", set_process_timezone, METH_O, "Sets the process's TZ (for time.tzset)."},
    {"is_protected_fd", is_protected_fd, METH_O, "Whether a descriptor belongs to the server."},
    {"protected_fds", protected_fd_list, METH_NOARGS, "The descriptors that belong to the server."},
    {"end_session", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(end_session)), METH_FASTCALL,
     "Ends this session (os._exit, os.abort in a subinterpreter)."},
    {nullptr, nullptr, 0, nullptr},
};

int exec_module(PyObject* module) {
  ModuleState* st = state_of(module);
  st->io = nullptr;
  st->interrupts = nullptr;
  return 0;
}

PyModuleDef_Slot kSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(exec_module)},
    SUBCELL_PER_INTERPRETER_GIL_SLOT
    {0, nullptr},
};

PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT,
    "_subcell",
    "subcell's bridge between a session's Python code and the server.",
    sizeof(ModuleState),
    kMethods,
    kSlots,
    nullptr,
    nullptr,
    nullptr,
};

PyObject* init_module() { return PyModuleDef_Init(&kModule); }

}  // namespace

void register_subcell_module() { PyImport_AppendInittab("_subcell", &init_module); }

bool bind_subcell_module(PyObject* module, SessionIo* io, InterruptTarget* interrupts) {
  ModuleState* st = state_of(module);
  if (st == nullptr) return false;
  st->io = io;
  st->interrupts = interrupts;
  return true;
}

}  // namespace subcell::py

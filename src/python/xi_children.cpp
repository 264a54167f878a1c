// Child interpreters from Python: the primitives behind
// `subcell.interpreters` (python/subcell_api.py), over the ChildHost the
// sessions layer provides, and what runs inside a child for its parent.
#include <atomic>
#include <mutex>

#include "python/convert.h"
#include "python/python_session.h"
#include "python/ref.h"
#include "python/xi_state.h"

namespace subcell::py {
namespace {

std::atomic<ChildHostFactory> g_factory{nullptr};

}  // namespace

void set_child_host_factory(ChildHostFactory factory) { g_factory.store(factory); }
ChildHostFactory child_host_factory() { return g_factory.load(); }

namespace xi_impl {
namespace {

constexpr int kStopped = 1;  // ChildHost errors that mean "interrupted"

ChildHost* host(State* st) {
  if (!st->children) {
    ChildHostFactory factory = child_host_factory();
    if (factory == nullptr || st->io == nullptr) {
      PyErr_SetString(PyExc_RuntimeError, "child interpreters are not available in this interpreter");
      return nullptr;
    }
    ChildParent parent;
    parent.io = st->io;
    parent.label = st->label;
    st->children = factory(parent);
  }
  return st->children.get();
}

State* module_state(PyObject* module) { return state_of_module(module); }

PyObject* raise_host_error(State* st, const Error& e) {
  if (e.code == kStopped && raise_stopped(st)) return nullptr;
  PyErr_SetString(PyExc_RuntimeError, e.message.c_str());
  return nullptr;
}

Ref text(const std::string& s) {
  return steal(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

// ErrorInfo -> (type, message, traceback, [(file, line, function, source), ...])
PyObject* error_tuple(const ErrorInfo& e) {
  Ref frames = steal(PyList_New(0));
  if (!frames) return nullptr;
  for (const TraceFrame& f : e.frames) {
    Ref line = f.line ? steal(PyLong_FromLong(*f.line)) : borrow(Py_None);
    Ref frame = steal(PyTuple_Pack(4, text(f.file).get(), line.get(), text(f.function).get(), text(f.source).get()));
    if (!frame || PyList_Append(frames.get(), frame.get()) < 0) return nullptr;
  }
  return PyTuple_Pack(4, text(e.type).get(), text(e.message).get(), text(e.traceback).get(), frames.get());
}

PyObject* result_tuple(State* st, ChildResult& r) {
  if (r.error) {
    Ref err = steal(error_tuple(*r.error));
    return err ? PyTuple_Pack(2, Py_None, err.get()) : nullptr;
  }
  Ref value = steal(from_value(st, r.value));
  return value ? PyTuple_Pack(2, value.get(), Py_None) : nullptr;
}

// ---------------------------------------------------------------- _RunFuture

struct FutureObject {
  PyObject_HEAD
  std::shared_ptr<ChildRun>* run;
  PyObject* result;  // (value, error tuple), once taken
};

PyObject* future_done(PyObject* self, PyObject* /*unused*/) {
  auto* f = reinterpret_cast<FutureObject*>(self);
  return PyBool_FromLong(f->result != nullptr || (*f->run)->done() ? 1 : 0);
}

PyObject* future_result(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"timeout", nullptr};
  PyObject* timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:result", const_cast<char**>(kKeywords), &timeout)) return nullptr;
  auto* f = reinterpret_cast<FutureObject*>(self);
  if (f->result != nullptr) return Py_NewRef(f->result);
  State* st = static_cast<State*>(PyType_GetModuleState(Py_TYPE(self)));
  xi::Wait wait;
  if (!make_wait(st, timeout, wait)) return nullptr;
  ChildRun& run = **f->run;
  for (;;) {
    bool finished = false;
    Py_BEGIN_ALLOW_THREADS
    finished = run.wait(wait.stop, wait.deadline);
    Py_END_ALLOW_THREADS
    if (finished) break;
    if (wait.stop.stop_requested()) {
      // The parent was interrupted: so is the child's run.
      run.interrupt();
      if (raise_stopped(st)) return nullptr;
      wait.stop = {};
      continue;
    }
    PyErr_SetString(PyExc_TimeoutError, "the child interpreter's run did not finish in time");
    return nullptr;
  }
  ChildResult r = run.take();
  f->result = result_tuple(st, r);
  return f->result != nullptr ? Py_NewRef(f->result) : nullptr;
}

PyObject* future_interrupt(PyObject* self, PyObject* /*unused*/) {
  (*reinterpret_cast<FutureObject*>(self)->run)->interrupt();
  Py_RETURN_NONE;
}

void future_dealloc(PyObject* self) {
  auto* f = reinterpret_cast<FutureObject*>(self);
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_CLEAR(f->result);
  delete f->run;
  f->run = nullptr;
  type->tp_free(self);
  Py_DECREF(type);
}

int future_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<FutureObject*>(self)->result);
  Py_VISIT(Py_TYPE(self));
  return 0;
}

#define XI_KW(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f))

PyMethodDef kFutureMethods[] = {
    {"result", XI_KW(future_result), METH_VARARGS | METH_KEYWORDS, "result(timeout=None) -> (value, error)"},
    {"done", future_done, METH_NOARGS, "Whether the run has finished."},
    {"interrupt", future_interrupt, METH_NOARGS, "Interrupts the run (KeyboardInterrupt in the child)."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kFutureSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(future_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(future_traverse)},
    {Py_tp_methods, kFutureMethods},
    {0, nullptr},
};

PyType_Spec kFutureSpec = {
    "_subcell_xi._RunFuture", sizeof(FutureObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kFutureSlots,
};

// ---------------------------------------------------------------- functions

bool child_number(PyObject* obj, std::uint64_t& out) {
  out = PyLong_AsUnsignedLongLong(obj);
  return !(out == static_cast<std::uint64_t>(-1) && PyErr_Occurred());
}

PyObject* interp_create(PyObject* module, PyObject* prelude) {
  State* st = module_state(module);
  ChildHost* h = host(st);
  if (h == nullptr) return nullptr;
  std::string code;
  if (prelude != Py_None) {
    if (!PyUnicode_Check(prelude)) return PyErr_Format(PyExc_TypeError, "prelude must be a str or None");
    code = to_utf8(prelude);
  }
  xi::Wait wait;
  if (!make_wait(st, Py_None, wait)) return nullptr;
  Result<std::uint64_t> made = Error{};
  Py_BEGIN_ALLOW_THREADS
  made = h->create(code, wait.stop);
  Py_END_ALLOW_THREADS
  if (!made) return raise_host_error(st, made.error());
  return PyLong_FromUnsignedLongLong(*made);
}

PyObject* interp_run(PyObject* module, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 3 || !PyUnicode_Check(args[1])) return PyErr_Format(PyExc_TypeError, "_interp_run(number, code, names)");
  State* st = module_state(module);
  ChildHost* h = host(st);
  std::uint64_t number = 0;
  if (h == nullptr || !child_number(args[0], number)) return nullptr;
  SharedNames names;
  if (args[2] != Py_None) {
    if (!PyDict_Check(args[2])) return PyErr_Format(PyExc_TypeError, "channels must be a dict of name: object");
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(args[2], &pos, &key, &value)) {
      if (!PyUnicode_Check(key)) return PyErr_Format(PyExc_TypeError, "channels: names must be str");
      xi::Value v;
      if (!to_value(st, value, v, /*may_borrow=*/false)) return nullptr;
      names.emplace_back(to_utf8(key), std::move(v));
    }
  }
  Result<std::shared_ptr<ChildRun>> run = Error{};
  std::string code = to_utf8(args[1]);
  Py_BEGIN_ALLOW_THREADS
  run = h->run(number, std::move(code), std::move(names));
  Py_END_ALLOW_THREADS
  if (!run) return raise_host_error(st, run.error());
  auto* f = PyObject_GC_New(FutureObject, st->future_type);
  if (f == nullptr) return nullptr;
  f->run = new std::shared_ptr<ChildRun>(std::move(*run));
  f->result = nullptr;
  PyObject_GC_Track(f);
  return reinterpret_cast<PyObject*>(f);
}

PyObject* interp_reset(PyObject* module, PyObject* arg) {
  State* st = module_state(module);
  ChildHost* h = host(st);
  std::uint64_t number = 0;
  if (h == nullptr || !child_number(arg, number)) return nullptr;
  xi::Wait wait;
  if (!make_wait(st, Py_None, wait)) return nullptr;
  Status s = Ok{};
  Py_BEGIN_ALLOW_THREADS
  s = h->reset(number, wait.stop);
  Py_END_ALLOW_THREADS
  if (!s) return raise_host_error(st, s.error());
  Py_RETURN_NONE;
}

PyObject* interp_close(PyObject* module, PyObject* arg) {
  State* st = module_state(module);
  ChildHost* h = host(st);
  std::uint64_t number = 0;
  if (h == nullptr || !child_number(arg, number)) return nullptr;
  Status s = Ok{};
  Py_BEGIN_ALLOW_THREADS
  s = h->close(number);
  Py_END_ALLOW_THREADS
  if (!s) return raise_host_error(st, s.error());
  Py_RETURN_NONE;
}

PyObject* interp_list(PyObject* module, PyObject* /*unused*/) {
  State* st = module_state(module);
  Ref out = steal(PyList_New(0));
  if (!out || !st->children) return out.release();
  for (const ChildInfo& c : st->children->list()) {
    Ref number = steal(PyLong_FromUnsignedLongLong(c.number));
    Ref item = steal(PyTuple_Pack(3, number.get(), text(c.id).get(), c.busy ? Py_True : Py_False));
    if (!item || PyList_Append(out.get(), item.get()) < 0) return nullptr;
  }
  return out.release();
}

// (id, parent id or None, number): this interpreter, for get_current().
PyObject* interp_current(PyObject* module, PyObject* /*unused*/) {
  State* st = module_state(module);
  std::string id = st->label;
  if (id.empty()) {
    ChildHost* h = st->io != nullptr ? host(st) : nullptr;
    if (h == nullptr) PyErr_Clear();
    id = h != nullptr ? h->parent_id() : std::string();
  }
  Ref parent = st->parent_label.empty() ? borrow(Py_None) : text(st->parent_label);
  Ref number = steal(PyLong_FromUnsignedLongLong(st->number));
  return PyTuple_Pack(3, text(id).get(), parent.get(), number.get());
}

}  // namespace

PyMethodDef kChildrenMethods[] = {
    {"_interp_create", interp_create, METH_O, "A new child interpreter; its number."},
    {"_interp_run", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(interp_run)), METH_FASTCALL,
     "Runs code in a child; a future of (value, error)."},
    {"_interp_reset", interp_reset, METH_O, "A fresh __main__ in the child."},
    {"_interp_close", interp_close, METH_O, "Closes the child."},
    {"_interp_list", interp_list, METH_NOARGS, "[(number, id, busy)] of this interpreter's children."},
    {"_interp_current", interp_current, METH_NOARGS, "(id, parent, number) of this interpreter."},
    {nullptr, nullptr, 0, nullptr},
};

bool add_children_api(PyObject* module, State* st) {
  st->future_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &kFutureSpec, nullptr));
  return st->future_type != nullptr;
}

void close_children(State* st) {
  if (!st->children) return;
  std::unique_ptr<ChildHost> children = std::move(st->children);
  Py_BEGIN_ALLOW_THREADS
  children->close_all();
  children.reset();
  Py_END_ALLOW_THREADS
}

}  // namespace xi_impl

// ---------------------------------------------------------------- in the child

ChildResult run_in_child(PythonSession& session, const std::string& code, SharedNames names, std::uint64_t token) {
  ChildResult result;
  if (!names.empty()) {
    session.with_gil([&] {
      xi_impl::State* st = xi_impl::current_state();
      PyObject* main = PyImport_AddModule("__main__");  // borrowed
      PyObject* ns = main != nullptr ? PyModule_GetDict(main) : nullptr;
      for (auto& [name, value] : names) {
        Ref obj = st != nullptr && ns != nullptr ? steal(xi_impl::from_value(st, value)) : Ref();
        if (!obj || PyDict_SetItemString(ns, name.c_str(), obj.get()) < 0) {
          result.error = error_from_current_exception("binding " + name + " in the child interpreter");
          return;
        }
      }
    });
    if (result.error) return result;
  }
  RunOutcome outcome = session.run(code, token);
  result.execution_count = outcome.execution_count;
  if (outcome.error) {
    result.error = std::move(outcome.error);
    return result;
  }
  if (!outcome.value) return result;  // no value, or None
  std::string repr;
  for (const MimeEntry& m : *outcome.value) {
    if (m.mime == "text/plain") repr = m.data;
  }
  session.with_gil([&] {
    // The runner left the value in `_`; shareable values cross as they
    // are, anything else as its repr.
    xi_impl::State* st = xi_impl::current_state();
    PyObject* main = PyImport_AddModule("__main__");
    PyObject* value = main != nullptr ? PyDict_GetItemString(PyModule_GetDict(main), "_") : nullptr;
    if (st != nullptr && value != nullptr && xi_impl::to_value(st, value, result.value, /*may_borrow=*/false)) return;
    PyErr_Clear();
    result.value = xi::Value::str(repr);
  });
  return result;
}

void set_interpreter_label(PythonSession& session, const std::string& id, const std::string& parent,
                           std::uint64_t number) {
  session.with_gil([&] {
    xi_impl::State* st = xi_impl::current_state();
    if (st == nullptr) {
      PyErr_Clear();
      return;
    }
    st->label = id;
    st->parent_label = parent;
    st->number = number;
  });
}

}  // namespace subcell::py

// `_subcell_xi` (channel ends, module state, the binding to a session) and
// the `subcell` module built from python/subcell_api.py. See xi_module.h.
#include "python/xi_module.h"

#include "python/compat.h"

#include <marshal.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <string>

#include "python/ref.h"
#include "python/subcell_api_source.h"
#include "python/xi_state.h"

namespace subcell::py {
namespace xi_impl {
namespace {

State* state_of_type(PyTypeObject* type) { return static_cast<State*>(PyType_GetModuleState(type)); }
State* state_of_end(PyObject* self) { return state_of_type(Py_TYPE(self)); }
EndObject* as_end(PyObject* self) { return reinterpret_cast<EndObject*>(self); }

// Buffers this interpreter lent and got back are released on the next call
// made here, if no pending call did it first.
void tidy(State* st) {
  if (st->domain && st->domain->has_returned()) st->domain->release_returned();
}

PyObject* raise_eof(const EndObject* end) {
  PyErr_Format(PyExc_EOFError, "channel %llu is closed, or nobody else holds its %s end any more",
               static_cast<unsigned long long>(end->channel), end->side == xi::Side::kRecv ? "sending" : "receiving");
  return nullptr;
}

PyObject* raise_timeout(const char* what) {
  PyErr_Format(PyExc_TimeoutError, "%s timed out", what);
  return nullptr;
}

// Runs a blocking backend call with the GIL released, as often as an
// interrupt with nothing to raise requires. `call(wait)` returns a Status.
template <typename Call>
bool blocking(State* st, xi::Wait& wait, xi::Status& status, Call&& call) {
  for (;;) {
    Py_BEGIN_ALLOW_THREADS
    status = call(wait);
    Py_END_ALLOW_THREADS
    if (status != xi::Status::kStopped) return true;
    if (raise_stopped(st)) return false;
    wait.stop = {};  // stopped for nothing we can raise: go on without it
  }
}

bool parse_timeout(PyObject* args, PyObject* kwargs, const char* name, PyObject** timeout) {
  static const char* kKeywords[] = {"timeout", nullptr};
  *timeout = Py_None;
  return PyArg_ParseTupleAndKeywords(args, kwargs, name, const_cast<char**>(kKeywords), timeout) != 0;
}

// ---------------------------------------------------------------- RecvChannel

PyObject* recv(PyObject* self, PyObject* args, PyObject* kwargs) {
  PyObject* timeout = nullptr;
  if (!parse_timeout(args, kwargs, "|O:recv", &timeout)) return nullptr;
  State* st = state_of_end(self);
  EndObject* end = as_end(self);
  tidy(st);
  xi::Wait wait;
  if (!make_wait(st, timeout, wait)) return nullptr;
  xi::Received got;
  xi::Status status = xi::Status::kOk;
  if (!blocking(st, wait, status, [&](const xi::Wait& w) {
        return xi::backend().recv(end->channel, st->owner, w, got);
      })) {
    return nullptr;
  }
  switch (status) {
    case xi::Status::kOk: {
      PyObject* obj = from_value(st, got.value);
      got.done();
      return obj;
    }
    case xi::Status::kTimeout: return raise_timeout("recv()");
    default: return raise_eof(end);
  }
}

PyObject* recv_nowait(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"default", nullptr};
  PyObject* fallback = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:recv_nowait", const_cast<char**>(kKeywords), &fallback)) {
    return nullptr;
  }
  State* st = state_of_end(self);
  EndObject* end = as_end(self);
  tidy(st);
  xi::Received got;
  xi::Status status;
  Py_BEGIN_ALLOW_THREADS
  status = xi::backend().recv_nowait(end->channel, st->owner, got);
  Py_END_ALLOW_THREADS
  switch (status) {
    case xi::Status::kOk: {
      PyObject* obj = from_value(st, got.value);
      got.done();
      return obj;
    }
    case xi::Status::kEmpty:
      if (fallback != nullptr) return Py_NewRef(fallback);
      PyErr_Format(st->channel_empty, "channel %llu: nothing was waiting to be received",
                   static_cast<unsigned long long>(end->channel));
      return nullptr;
    default: return raise_eof(end);
  }
}

// ---------------------------------------------------------------- SendChannel

PyObject* send_value(PyObject* self, PyObject* obj, PyObject* timeout, bool buffer) {
  State* st = state_of_end(self);
  EndObject* end = as_end(self);
  tidy(st);
  xi::Wait wait;
  if (!make_wait(st, timeout, wait)) return nullptr;
  xi::Status status = xi::Status::kOk;
  for (;;) {
    // Converted again on a retry: the first value went with its withdrawn offer.
    xi::Value value;
    if (!(buffer ? buffer_to_value(st, obj, value) : to_value(st, obj, value, true))) return nullptr;
    Py_BEGIN_ALLOW_THREADS
    status = xi::backend().send(end->channel, st->owner, std::move(value), wait);
    Py_END_ALLOW_THREADS
    if (status != xi::Status::kStopped) break;
    if (raise_stopped(st)) return nullptr;
    wait.stop = {};  // stopped for nothing we can raise: go on without it
  }
  switch (status) {
    case xi::Status::kOk: Py_RETURN_NONE;
    case xi::Status::kTimeout: return raise_timeout("send()");
    default: return raise_eof(end);
  }
}

PyObject* send(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"obj", "timeout", nullptr};
  PyObject* obj = nullptr;
  PyObject* timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:send", const_cast<char**>(kKeywords), &obj, &timeout)) {
    return nullptr;
  }
  return send_value(self, obj, timeout, false);
}

PyObject* send_buffer(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"obj", "timeout", nullptr};
  PyObject* obj = nullptr;
  PyObject* timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:send_buffer", const_cast<char**>(kKeywords), &obj, &timeout)) {
    return nullptr;
  }
  return send_value(self, obj, timeout, true);
}

PyObject* send_nowait(PyObject* self, PyObject* obj) {
  State* st = state_of_end(self);
  EndObject* end = as_end(self);
  tidy(st);
  xi::Value value;
  if (!to_value(st, obj, value, true)) return nullptr;
  xi::Status status;
  Py_BEGIN_ALLOW_THREADS
  status = xi::backend().send_nowait(end->channel, st->owner, std::move(value));
  Py_END_ALLOW_THREADS
  if (status == xi::Status::kOk) Py_RETURN_TRUE;
  if (status == xi::Status::kEmpty) Py_RETURN_FALSE;
  return raise_eof(end);
}

// ---------------------------------------------------------------- both ends

PyObject* end_close(PyObject* self, PyObject* /*unused*/) {
  Py_BEGIN_ALLOW_THREADS
  xi::backend().close(as_end(self)->channel);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

PyObject* end_id(PyObject* self, void* /*closure*/) {
  return PyLong_FromUnsignedLongLong(as_end(self)->channel);
}

PyObject* end_repr(PyObject* self) {
  EndObject* end = as_end(self);
  return PyUnicode_FromFormat("%s(%llu)", end->side == xi::Side::kRecv ? "RecvChannel" : "SendChannel",
                              static_cast<unsigned long long>(end->channel));
}

Py_hash_t end_hash(PyObject* self) {
  EndObject* end = as_end(self);
  Py_hash_t h = static_cast<Py_hash_t>(end->channel * 2 + static_cast<unsigned>(end->side));
  return h == -1 ? -2 : h;
}

PyObject* end_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || Py_TYPE(self) != Py_TYPE(other)) Py_RETURN_NOTIMPLEMENTED;
  const bool same = as_end(self)->channel == as_end(other)->channel;
  return PyBool_FromLong((op == Py_EQ) == same ? 1 : 0);
}

void end_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  EndObject* end = as_end(self);
  State* st = state_of_type(type);
  if (end->held && st != nullptr && !st->released) xi::backend().hold(end->channel, end->side, st->owner, -1);
  type->tp_free(self);
  Py_DECREF(type);
}

PyGetSetDef kEndGetSet[] = {
    {"id", end_id, nullptr, "The channel's id (the same for both of its ends).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

#define XI_KW(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f))

PyMethodDef kRecvMethods[] = {
    {"recv", XI_KW(recv), METH_VARARGS | METH_KEYWORDS,
     "recv(timeout=None)\n--\n\nWaits for an object and returns it. TimeoutError after `timeout` seconds; "
     "EOFError once the channel is closed, or once nobody else holds its sending end. Interruptible."},
    {"recv_nowait", XI_KW(recv_nowait), METH_VARARGS | METH_KEYWORDS,
     "recv_nowait(default=<raise>)\n--\n\nAn object a sender is waiting to hand over, else `default` "
     "(ChannelEmpty when no default is given)."},
    {"close", end_close, METH_NOARGS, "close()\n--\n\nCloses the channel for everyone: waiting senders and "
                                      "receivers get EOFError."},
    {nullptr, nullptr, 0, nullptr},
};

PyMethodDef kSendMethods[] = {
    {"send", XI_KW(send), METH_VARARGS | METH_KEYWORDS,
     "send(obj, timeout=None)\n--\n\nSends `obj` and waits until a receiver has taken it. TimeoutError after "
     "`timeout` seconds (the object was not received); EOFError once the channel is closed, or nobody else holds "
     "its receiving end. TypeError for objects a channel does not carry. Interruptible."},
    {"send_nowait", send_nowait, METH_O,
     "send_nowait(obj)\n--\n\nHands `obj` to a receiver that is waiting; returns whether one took it."},
    {"send_buffer", XI_KW(send_buffer), METH_VARARGS | METH_KEYWORDS,
     "send_buffer(obj, timeout=None)\n--\n\nLends a buffer-protocol object without copying it: the receiver gets "
     "a read-only memoryview of this memory, which cannot be resized or freed until the receiver releases the "
     "view. (Across processes the bytes are copied.)"},
    {"close", end_close, METH_NOARGS, "close()\n--\n\nCloses the channel for everyone: waiting senders and "
                                      "receivers get EOFError."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kRecvSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(end_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(end_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(end_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(end_richcompare)},
    {Py_tp_methods, kRecvMethods},
    {Py_tp_getset, kEndGetSet},
    {Py_tp_doc, const_cast<char*>("The receiving end of a channel. Can itself be sent through a channel.")},
    {0, nullptr},
};

PyType_Slot kSendSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(end_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(end_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(end_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(end_richcompare)},
    {Py_tp_methods, kSendMethods},
    {Py_tp_getset, kEndGetSet},
    {Py_tp_doc, const_cast<char*>("The sending end of a channel. Can itself be sent through a channel.")},
    {0, nullptr},
};

constexpr unsigned kEndFlags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION;
PyType_Spec kRecvSpec = {"_subcell_xi.RecvChannel", sizeof(EndObject), 0, kEndFlags, kRecvSlots};
PyType_Spec kSendSpec = {"_subcell_xi.SendChannel", sizeof(EndObject), 0, kEndFlags, kSendSlots};

// ---------------------------------------------------------------- module functions

PyObject* pair(State* st, Result<xi::ChannelId> id) {
  if (!id) {
    PyErr_SetString(st->channel_error, id.error().message.c_str());
    return nullptr;
  }
  Ref r = steal(new_end(st, *id, xi::Side::kRecv, false));
  Ref s = steal(new_end(st, *id, xi::Side::kSend, false));
  if (!r || !s) return nullptr;
  return PyTuple_Pack(2, r.get(), s.get());
}

PyObject* create_channel(PyObject* module, PyObject* /*unused*/) {
  State* st = state_of_module(module);
  Result<xi::ChannelId> id = Error{};
  Py_BEGIN_ALLOW_THREADS
  id = xi::backend().create(st->owner);
  Py_END_ALLOW_THREADS
  return pair(st, std::move(id));
}

PyObject* named_channel(PyObject* module, PyObject* name) {
  if (!PyUnicode_Check(name)) return PyErr_Format(PyExc_TypeError, "a channel name is a str");
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(name, &size);
  if (text == nullptr) return nullptr;
  if (size == 0 || size > 256) return PyErr_Format(PyExc_ValueError, "a channel name has 1 to 256 characters");
  State* st = state_of_module(module);
  const std::string n(text, static_cast<std::size_t>(size));
  Result<xi::ChannelId> id = Error{};
  Py_BEGIN_ALLOW_THREADS
  id = xi::backend().open(n, st->owner);
  Py_END_ALLOW_THREADS
  return pair(st, std::move(id));
}

// atexit, when the session's interpreter closes: its children close, its
// channel ends stop counting, and what it lent stays valid.
PyObject* at_close(PyObject* module, PyObject* /*unused*/) {
  State* st = state_of_module(module);
  if (!st->released && st->owner != 0) {
    st->released = true;
    Py_BEGIN_ALLOW_THREADS
    xi::backend().release_owner(st->owner);
    Py_END_ALLOW_THREADS
  }
  close_children(st);
  if (st->domain) st->domain->closing();
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"create_channel", create_channel, METH_NOARGS, "create_channel() -> (RecvChannel, SendChannel)"},
    {"channel", named_channel, METH_O, "channel(name) -> (RecvChannel, SendChannel)"},
    {"_at_close", at_close, METH_NOARGS, "Run when the interpreter closes."},
    {nullptr, nullptr, 0, nullptr},
};

// ---------------------------------------------------------------- module

int xi_exec(PyObject* module) {
  State* st = new (PyModule_GetState(module)) State();
  st->recv_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &kRecvSpec, nullptr));
  st->send_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &kSendSpec, nullptr));
  if (st->recv_type == nullptr || st->send_type == nullptr || !add_buffer_type(module, st)) return -1;
  st->channel_error = PyErr_NewExceptionWithDoc("subcell.ChannelError", "A channel operation failed.", nullptr,
                                                nullptr);
  if (st->channel_error == nullptr) return -1;
  st->channel_empty = PyErr_NewExceptionWithDoc("subcell.ChannelEmpty",
                                                "recv_nowait() found nothing waiting to be received.",
                                                st->channel_error, nullptr);
  if (st->channel_empty == nullptr) return -1;
  if (PyModule_AddObjectRef(module, "RecvChannel", reinterpret_cast<PyObject*>(st->recv_type)) < 0 ||
      PyModule_AddObjectRef(module, "SendChannel", reinterpret_cast<PyObject*>(st->send_type)) < 0 ||
      PyModule_AddObjectRef(module, "SharedBuffer", reinterpret_cast<PyObject*>(st->buffer_type)) < 0 ||
      PyModule_AddObjectRef(module, "ChannelError", st->channel_error) < 0 ||
      PyModule_AddObjectRef(module, "ChannelEmpty", st->channel_empty) < 0) {
    return -1;
  }
  if (PyModule_AddFunctions(module, kChildrenMethods) < 0 || !add_children_api(module, st)) return -1;
  return 0;
}

int xi_traverse(PyObject* module, visitproc visit, void* arg) {
  State* st = static_cast<State*>(PyModule_GetState(module));
  if (st == nullptr) return 0;
  Py_VISIT(st->recv_type);
  Py_VISIT(st->send_type);
  Py_VISIT(st->buffer_type);
  Py_VISIT(st->future_type);
  Py_VISIT(st->channel_error);
  Py_VISIT(st->channel_empty);
  return 0;
}

int xi_clear(PyObject* module) {
  State* st = static_cast<State*>(PyModule_GetState(module));
  if (st == nullptr) return 0;
  Py_CLEAR(st->recv_type);
  Py_CLEAR(st->send_type);
  Py_CLEAR(st->buffer_type);
  Py_CLEAR(st->future_type);
  Py_CLEAR(st->channel_error);
  Py_CLEAR(st->channel_empty);
  return 0;
}

void xi_free(void* module) {
  State* st = static_cast<State*>(PyModule_GetState(static_cast<PyObject*>(module)));
  if (st == nullptr) return;
  xi_clear(static_cast<PyObject*>(module));
  if (!st->released && st->owner != 0) xi::backend().release_owner(st->owner);
  close_children(st);
  st->~State();
}

PyModuleDef_Slot kSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(xi_exec)},
    SUBCELL_PER_INTERPRETER_GIL_SLOT
    {0, nullptr},
};

PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT,
    "_subcell_xi",
    "The C half of `subcell`: channel ends, lent buffers, child interpreters.",
    sizeof(State),
    kMethods,
    kSlots,
    xi_traverse,
    xi_clear,
    xi_free,
};

PyObject* init_xi() { return PyModuleDef_Init(&kModule); }

// ---------------------------------------------------------------- `subcell`

// The module's code, compiled once per process and kept marshalled.
Ref load_api_code() {
  static std::once_flag once;
  static std::string bytecode;
  std::call_once(once, [] {
    Ref code = steal(Py_CompileString(kSubcellApiSource.data(), "<subcell>", Py_file_input));
    Ref bytes = code ? steal(PyMarshal_WriteObjectToString(code.get(), Py_MARSHAL_VERSION)) : Ref();
    if (bytes) bytecode.assign(PyBytes_AS_STRING(bytes.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.get())));
    PyErr_Clear();
  });
  if (bytecode.empty()) return steal(Py_CompileString(kSubcellApiSource.data(), "<subcell>", Py_file_input));
  return steal(PyMarshal_ReadObjectFromString(bytecode.data(), static_cast<Py_ssize_t>(bytecode.size())));
}

int api_exec(PyObject* module) {
  Ref code = load_api_code();
  if (!code) return -1;
  PyObject* dict = PyModule_GetDict(module);  // borrowed
  if (PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) return -1;
  Ref result = steal(PyEval_EvalCode(code.get(), dict, dict));
  return result ? 0 : -1;
}

PyModuleDef_Slot kApiSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(api_exec)},
    SUBCELL_PER_INTERPRETER_GIL_SLOT
    {0, nullptr},
};

PyModuleDef kApiModule = {
    PyModuleDef_HEAD_INIT, "subcell", nullptr, 0, nullptr, kApiSlots, nullptr, nullptr, nullptr,
};

PyObject* init_api() { return PyModuleDef_Init(&kApiModule); }

}  // namespace

State* state_of_module(PyObject* module) { return static_cast<State*>(PyModule_GetState(module)); }

State* current_state() {
  Ref module = steal(PyImport_ImportModule("_subcell_xi"));
  return module ? state_of_module(module.get()) : nullptr;
}

PyObject* new_end(State* st, xi::ChannelId channel, xi::Side side, bool take_hold) {
  PyTypeObject* type = side == xi::Side::kRecv ? st->recv_type : st->send_type;
  auto* end = PyObject_New(EndObject, type);
  if (end == nullptr) return nullptr;
  end->channel = channel;
  end->side = side;
  end->held = true;
  if (take_hold) xi::backend().hold(channel, side, st->owner, +1);
  return reinterpret_cast<PyObject*>(end);
}

bool make_wait(State* st, PyObject* timeout, xi::Wait& out) {
  out.stop = st->interrupts != nullptr ? st->interrupts->stop_token_for_current_thread() : std::stop_token{};
  out.deadline.reset();
  if (timeout == nullptr || timeout == Py_None) return true;
  const double seconds = PyFloat_AsDouble(timeout);
  if (seconds == -1.0 && PyErr_Occurred()) return false;
  if (std::isnan(seconds) || seconds < 0) {
    PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number of seconds, or None");
    return false;
  }
  const auto span = std::chrono::duration<double>(std::min(seconds, 1e9));
  out.deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(span);
  return true;
}

bool raise_stopped(State* st) {
  InterruptTarget* interrupts = st->interrupts;
  if (interrupts == nullptr) return false;
  if (interrupts->on_cell_thread()) {
    if (!interrupts->consume()) return false;
    // A main-interpreter session was woken by the SIGINT that raises it.
    if (PyErr_CheckSignals() < 0) return true;
    PyErr_SetNone(PyExc_KeyboardInterrupt);
  } else {
    PyErr_SetNone(PyExc_SystemExit);  // the session is closing: helper threads end
  }
  return true;
}

}  // namespace xi_impl

void register_xi_modules() {
  PyImport_AppendInittab("_subcell_xi", &xi_impl::init_xi);
  PyImport_AppendInittab("subcell", &xi_impl::init_api);
}

bool install_xi(SessionIo& io, InterruptTarget& interrupts) {
  Ref module = steal(PyImport_ImportModule("_subcell_xi"));
  if (!module) return false;
  xi_impl::State* st = xi_impl::state_of_module(module.get());
  st->io = &io;
  st->interrupts = &interrupts;
  st->domain = std::make_shared<xi_impl::Domain>(PyInterpreterState_Get());
  st->owner = xi::backend().new_owner("session");
  Ref atexit = steal(PyImport_ImportModule("atexit"));
  Ref hook = module ? steal(PyObject_GetAttrString(module.get(), "_at_close")) : Ref();
  if (!atexit || !hook) return false;
  return Ref(steal(PyObject_CallMethod(atexit.get(), "register", "O", hook.get()))).get() != nullptr;
}

}  // namespace subcell::py

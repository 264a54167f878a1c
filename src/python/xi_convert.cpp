// Python objects <-> xi::Value, and buffers lent across interpreters.
//
// What crosses: None, bool, int (any size), float, str, bytes, tuples of
// these, channel ends (exact types only, as CPython's own cross-interpreter
// data), and buffers (send_buffer). Large str and bytes are borrowed: the
// receiver copies straight out of the sender's object (one copy). A lent
// buffer is not copied at all: the receiver gets a read-only memoryview of
// the sender's memory, through a SharedBuffer exporter that keeps the lease.
#include <cstring>
#include <utility>

#include "python/compat.h"
#include "python/ref.h"
#include "python/xi_state.h"
#include "support/log.h"

// Exported by libpython 3.12 and 3.13, declared only in internal headers
// (see python/interrupt.cpp): a call run by a thread of `interp`.

namespace subcell::py::xi_impl {
namespace {

// Payloads up to this size are copied when sent (the sender goes on at
// once); larger ones are borrowed and copied once, by the receiver.
constexpr std::size_t kBorrowAbove = 64 * 1024;
constexpr int kMaxDepth = 200;

// A buffer of this interpreter, lent out. Given back (released here) when
// the last receiver lets go.
class Lease final : public xi::SharedBuffer {
 public:
  Lease(const Py_buffer& view, std::shared_ptr<Domain> domain) : view_(view), domain_(std::move(domain)) {
    data = view_.buf;
    size = static_cast<std::size_t>(view_.len);
    format = view_.format != nullptr ? view_.format : "B";
    itemsize = static_cast<std::size_t>(view_.itemsize);
    if (view_.ndim >= 1 && view_.shape != nullptr) {
      shape.assign(view_.shape, view_.shape + view_.ndim);
      if (view_.strides != nullptr) strides.assign(view_.strides, view_.strides + view_.ndim);
    }
    domain_->lent();
  }
  ~Lease() override { domain_->give_back(view_); }

 private:
  Py_buffer view_;
  std::shared_ptr<Domain> domain_;
};

bool set_type_error(PyObject* obj) {
  PyErr_Format(PyExc_TypeError,
               "%.100s objects cannot be sent through a channel: it carries bytes, str, int, float, bool, None, "
               "tuples of them and channel ends (a buffer goes with send_buffer())",
               Py_TYPE(obj)->tp_name);
  return false;
}

bool text_value(PyObject* obj, xi::Value& out, bool may_borrow) {
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(obj, &size);
  out.kind = xi::Value::Kind::kStr;
  if (utf8 == nullptr) {
    // Lone surrogates: carried as they are (decoded the same way).
    PyErr_Clear();
    Ref encoded = steal(PyUnicode_AsEncodedString(obj, "utf-8", "surrogatepass"));
    if (!encoded) return false;
    out.text.assign(PyBytes_AS_STRING(encoded.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(encoded.get())));
    return true;
  }
  if (may_borrow && static_cast<std::size_t>(size) > kBorrowAbove) {
    out.view = std::string_view(utf8, static_cast<std::size_t>(size));
    out.borrowed = true;
  } else {
    out.text.assign(utf8, static_cast<std::size_t>(size));
  }
  return true;
}

// ---------------------------------------------------------------- exporter

// `_subcell_xi.SharedBuffer`: the receiving side of a lent buffer. Exports
// the lent memory read-only; the lease goes when this object does.
struct BufferObject {
  PyObject_HEAD
  std::shared_ptr<xi::SharedBuffer>* lease;
  Py_ssize_t shape1;  // for a buffer lent without a shape: one dimension
  Py_ssize_t stride1;
  int ndim;
};

bool c_contiguous(const xi::SharedBuffer& b) {
  if (b.strides.empty()) return true;
  Py_ssize_t expected = static_cast<Py_ssize_t>(b.itemsize);
  for (std::size_t i = b.shape.size(); i-- > 0;) {
    if (b.shape[i] > 1 && b.strides[i] != expected) return false;
    expected *= b.shape[i];
  }
  return true;
}

int buffer_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  auto* b = reinterpret_cast<BufferObject*>(self);
  const xi::SharedBuffer& lease = **b->lease;
  if ((flags & PyBUF_WRITABLE) == PyBUF_WRITABLE) {
    PyErr_SetString(PyExc_BufferError, "a buffer received from a channel is read-only (it is the sender's memory)");
    return -1;
  }
  const bool contiguous = c_contiguous(lease);
  if (!contiguous && (flags & PyBUF_STRIDES) != PyBUF_STRIDES) {
    PyErr_SetString(PyExc_BufferError, "the received buffer is not contiguous");
    return -1;
  }
  view->obj = Py_NewRef(self);
  view->buf = const_cast<void*>(lease.data);
  view->len = static_cast<Py_ssize_t>(lease.size);
  view->readonly = 1;
  view->itemsize = static_cast<Py_ssize_t>(lease.itemsize);
  view->format = (flags & PyBUF_FORMAT) == PyBUF_FORMAT ? const_cast<char*>(lease.format.c_str()) : nullptr;
  view->suboffsets = nullptr;
  view->internal = nullptr;
  if ((flags & PyBUF_ND) != PyBUF_ND) {
    // A plain run of bytes.
    view->ndim = 1;
    view->shape = nullptr;
    view->strides = nullptr;
    if (view->format == nullptr) view->itemsize = 1;
    return 0;
  }
  view->ndim = b->ndim;
  if (lease.shape.empty()) {
    view->shape = &b->shape1;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &b->stride1 : nullptr;
  } else {
    view->shape = const_cast<Py_ssize_t*>(reinterpret_cast<const Py_ssize_t*>(lease.shape.data()));
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES && !lease.strides.empty()
                        ? const_cast<Py_ssize_t*>(reinterpret_cast<const Py_ssize_t*>(lease.strides.data()))
                        : nullptr;
  }
  return 0;
}

void buffer_dealloc(PyObject* self) {
  auto* b = reinterpret_cast<BufferObject*>(self);
  PyTypeObject* type = Py_TYPE(self);
  delete b->lease;  // gives the memory back to its interpreter
  b->lease = nullptr;
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* buffer_repr(PyObject* self) {
  auto* b = reinterpret_cast<BufferObject*>(self);
  return PyUnicode_FromFormat("<subcell shared buffer of %zd bytes>", static_cast<Py_ssize_t>((*b->lease)->size));
}

PyType_Slot kBufferSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(buffer_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(buffer_repr)},
    {Py_bf_getbuffer, reinterpret_cast<void*>(buffer_getbuffer)},
    {Py_tp_doc, const_cast<char*>("Memory lent by another interpreter through a channel (read-only).")},
    {0, nullptr},
};

PyType_Spec kBufferSpec = {
    "_subcell_xi.SharedBuffer", sizeof(BufferObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION, kBufferSlots,
};

PyObject* memoryview_of(State* st, std::shared_ptr<xi::SharedBuffer> lease) {
  auto* b = PyObject_New(BufferObject, st->buffer_type);
  if (b == nullptr) return nullptr;
  b->lease = new std::shared_ptr<xi::SharedBuffer>(std::move(lease));
  const xi::SharedBuffer& l = **b->lease;
  const std::size_t item = l.itemsize == 0 ? 1 : l.itemsize;
  b->shape1 = static_cast<Py_ssize_t>(l.size / item);
  b->stride1 = static_cast<Py_ssize_t>(item);
  b->ndim = l.shape.empty() ? 1 : static_cast<int>(l.shape.size());
  Ref owner = steal(reinterpret_cast<PyObject*>(b));
  return PyMemoryView_FromObject(owner.get());
}

}  // namespace

// ---------------------------------------------------------------- Domain

void Domain::lent() {
  std::lock_guard lock(mutex_);
  ++outstanding_;
}

int Domain::outstanding() const {
  std::lock_guard lock(mutex_);
  return outstanding_;
}

void Domain::give_back(Py_buffer view) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    returned_.push_back(view);
    --outstanding_;
    has_returned_.store(true);
    if (keeping_) {
      cv_.notify_all();
      return;
    }
    if (!scheduled_) schedule = scheduled_ = true;
  }
  if (!schedule) return;
  // The pending call owns a reference; if the interpreter ends first the
  // call never runs and the reference is lost, never dangling.
  auto* arg = new std::shared_ptr<Domain>(shared_from_this());
  if (add_pending_call(interp_, &Domain::on_pending_call, arg) != 0) {
    delete arg;  // the queue is full: the next call into this interpreter releases them
    std::lock_guard lock(mutex_);
    scheduled_ = false;
  }
}

int Domain::on_pending_call(void* arg) {
  std::unique_ptr<std::shared_ptr<Domain>> self(static_cast<std::shared_ptr<Domain>*>(arg));
  {
    std::lock_guard lock((*self)->mutex_);
    (*self)->scheduled_ = false;
  }
  (*self)->release_returned();
  return 0;
}

void Domain::release_returned() {
  std::vector<Py_buffer> views;
  {
    std::lock_guard lock(mutex_);
    views.swap(returned_);
    has_returned_.store(false);
  }
  for (Py_buffer& v : views) PyBuffer_Release(&v);
}

void Domain::closing() {
  release_returned();
  std::unique_lock lock(mutex_);
  if (outstanding_ == 0 || keeping_) return;
  // Receivers still read our memory: this interpreter must not end under
  // them. A thread of ours that will not stop keeps it parked (see
  // Interpreter::end) and releases each buffer as it comes back. Its
  // thread state exists before this returns, so that the interpreter's
  // end counts it.
  keeping_ = true;
  log::info(std::to_string(outstanding_) + " buffer(s) lent by a closing interpreter are still in use; it is kept");
  std::thread([self = shared_from_this()] { self->keeper_main(); }).detach();
  cv_.wait(lock, [&] { return keeper_ready_; });
}

void Domain::keeper_main() {
  PyThreadState* ts = PyThreadState_New(interp_);
  {
    std::lock_guard lock(mutex_);
    keeper_ready_ = true;
  }
  cv_.notify_all();
  for (;;) {
    std::vector<Py_buffer> views;
    bool last = false;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return !returned_.empty() || outstanding_ == 0; });
      views.swap(returned_);
      has_returned_.store(false);
      last = outstanding_ == 0;
    }
    if (!views.empty()) {
      PyEval_RestoreThread(ts);
      for (Py_buffer& v : views) PyBuffer_Release(&v);
      PyEval_SaveThread();
    }
    if (last) break;
  }
  PyEval_RestoreThread(ts);
  PyThreadState_Clear(ts);
  PyThreadState_DeleteCurrent();
}

// ---------------------------------------------------------------- to_value

bool to_value(State* st, PyObject* obj, xi::Value& out, bool may_borrow, int depth) {
  if (depth > kMaxDepth) {
    PyErr_SetString(PyExc_TypeError, "tuples nested this deep cannot be sent through a channel");
    return false;
  }
  if (obj == Py_None) {
    out.kind = xi::Value::Kind::kNone;
  } else if (PyBool_Check(obj)) {
    out = xi::Value::boolean(obj == Py_True);
  } else if (PyLong_CheckExact(obj)) {
    int overflow = 0;
    const long long n = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (n == -1 && PyErr_Occurred()) return false;
    if (overflow == 0) {
      out = xi::Value::int64(n);
    } else {
      // Any size: as hexadecimal text (no limit on digits, unlike str()).
      Ref hex = steal(PyNumber_ToBase(obj, 16));
      if (!hex) return false;
      Py_ssize_t size = 0;
      const char* text = PyUnicode_AsUTF8AndSize(hex.get(), &size);
      if (text == nullptr) return false;
      out.kind = xi::Value::Kind::kBigInt;
      out.text.assign(text, static_cast<std::size_t>(size));
    }
  } else if (PyFloat_CheckExact(obj)) {
    out = xi::Value::real_number(PyFloat_AS_DOUBLE(obj));
  } else if (PyUnicode_CheckExact(obj)) {
    return text_value(obj, out, may_borrow);
  } else if (PyBytes_CheckExact(obj)) {
    out.kind = xi::Value::Kind::kBytes;
    const auto size = static_cast<std::size_t>(PyBytes_GET_SIZE(obj));
    if (may_borrow && size > kBorrowAbove) {
      out.view = std::string_view(PyBytes_AS_STRING(obj), size);
      out.borrowed = true;
    } else {
      out.text.assign(PyBytes_AS_STRING(obj), size);
    }
  } else if (PyTuple_CheckExact(obj)) {
    out.kind = xi::Value::Kind::kTuple;
    const Py_ssize_t n = PyTuple_GET_SIZE(obj);
    out.items.resize(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (!to_value(st, PyTuple_GET_ITEM(obj, i), out.items[static_cast<std::size_t>(i)], may_borrow, depth + 1)) {
        return false;
      }
    }
  } else if (Py_IS_TYPE(obj, st->recv_type) || Py_IS_TYPE(obj, st->send_type)) {
    auto* end = reinterpret_cast<EndObject*>(obj);
    out = xi::backend().end_value(end->channel, end->side);
  } else {
    return set_type_error(obj);
  }
  return true;
}

bool buffer_to_value(State* st, PyObject* obj, xi::Value& out) {
  if (!PyObject_CheckBuffer(obj)) {
    PyErr_Format(PyExc_TypeError, "send_buffer() needs an object with the buffer protocol, not %.100s",
                 Py_TYPE(obj)->tp_name);
    return false;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(obj, &view, PyBUF_FULL_RO) < 0) return false;
  if (view.suboffsets != nullptr) {
    PyBuffer_Release(&view);
    PyErr_SetString(PyExc_TypeError, "send_buffer() cannot lend a buffer with suboffsets");
    return false;
  }
  out.kind = xi::Value::Kind::kBuffer;
  if (st->domain) {
    out.buffer = std::make_shared<Lease>(view, st->domain);
  } else {
    // No domain (an interpreter subcell did not set up): lend a copy.
    out.buffer = std::make_shared<xi::OwnedBuffer>(std::string(static_cast<const char*>(view.buf),
                                                               static_cast<std::size_t>(view.len)));
    PyBuffer_Release(&view);
  }
  return true;
}

// ---------------------------------------------------------------- from_value

PyObject* from_value(State* st, xi::Value& v) {
  switch (v.kind) {
    case xi::Value::Kind::kNone: Py_RETURN_NONE;
    case xi::Value::Kind::kBool: return PyBool_FromLong(v.flag ? 1 : 0);
    case xi::Value::Kind::kInt: return PyLong_FromLongLong(v.integer);
    case xi::Value::Kind::kBigInt: return PyLong_FromString(v.text.c_str(), nullptr, 16);
    case xi::Value::Kind::kFloat: return PyFloat_FromDouble(v.real);
    case xi::Value::Kind::kStr: {
      const std::string_view d = v.data();
      return PyUnicode_DecodeUTF8(d.data(), static_cast<Py_ssize_t>(d.size()), "surrogatepass");
    }
    case xi::Value::Kind::kBytes: {
      const std::string_view d = v.data();
      return PyBytes_FromStringAndSize(d.data(), static_cast<Py_ssize_t>(d.size()));
    }
    case xi::Value::Kind::kTuple: {
      Ref t = steal(PyTuple_New(static_cast<Py_ssize_t>(v.items.size())));
      if (!t) return nullptr;
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        PyObject* item = from_value(st, v.items[i]);
        if (item == nullptr) return nullptr;
        PyTuple_SET_ITEM(t.get(), static_cast<Py_ssize_t>(i), item);
      }
      return t.release();
    }
    case xi::Value::Kind::kBuffer: return memoryview_of(st, v.buffer);
    case xi::Value::Kind::kEnd: {
      xi::backend().adopt_end(v, st->owner);
      return new_end(st, v.channel, v.side, /*take_hold=*/false);
    }
  }
  PyErr_SetString(PyExc_SystemError, "a channel delivered a value of unknown kind");
  return nullptr;
}

bool add_buffer_type(PyObject* module, State* st) {
  st->buffer_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &kBufferSpec, nullptr));
  return st->buffer_type != nullptr;
}

}  // namespace subcell::py::xi_impl

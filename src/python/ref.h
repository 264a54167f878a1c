// Ref: an owned reference to a Python object (nanobind's `object`); a raw
// PyObject* is a borrowed one. Transfers are named: steal() takes over a
// new reference, borrow() adds one. Use only with the owning interpreter's
// GIL held, and never let a Ref outlive its interpreter.
#pragma once

#include <Python.h>

#include <utility>

namespace subcell::py {

class Ref {
 public:
  Ref() = default;
  ~Ref() { Py_XDECREF(ptr_); }
  Ref(const Ref& other) : ptr_(Py_XNewRef(other.ptr_)) {}
  Ref(Ref&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  Ref& operator=(Ref other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }

  static Ref steal(PyObject* p) { return Ref(p); }
  static Ref borrow(PyObject* p) { return Ref(Py_XNewRef(p)); }

  PyObject* get() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  PyObject* release() { return std::exchange(ptr_, nullptr); }
  void reset() { Py_CLEAR(ptr_); }

 private:
  explicit Ref(PyObject* p) : ptr_(p) {}
  PyObject* ptr_ = nullptr;
};

inline Ref steal(PyObject* p) { return Ref::steal(p); }
inline Ref borrow(PyObject* p) { return Ref::borrow(p); }

}  // namespace subcell::py

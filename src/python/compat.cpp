#include "python/compat.h"

#if PY_VERSION_HEX >= 0x030C0000
extern "C" int _PyEval_AddPendingCall(PyInterpreterState* interp, int (*func)(void*), void* arg, int flags);
#else
extern "C" int _PyEval_AddPendingCall(PyInterpreterState* interp, int (*func)(void*), void* arg);
#endif

namespace subcell::py {

int add_pending_call(PyInterpreterState* interp, int (*func)(void*), void* arg) {
#if PY_VERSION_HEX >= 0x030C0000
  return _PyEval_AddPendingCall(interp, func, arg, 0);
#else
  return _PyEval_AddPendingCall(interp, func, arg);
#endif
}

PyObject* take_raised_exception() {
#if PY_VERSION_HEX >= 0x030C0000
  return PyErr_GetRaisedException();
#else
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  if (type == nullptr) return nullptr;
  PyErr_NormalizeException(&type, &value, &traceback);
  if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return value;
#endif
}

}  // namespace subcell::py

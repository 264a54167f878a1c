// What differs between the CPython versions the engine builds against:
// 3.12 and later embed it with own-GIL subinterpreters; 3.11 only as the
// main interpreter of a process worker (Python environments on another
// CPython, see README). Include after <Python.h>.
#pragma once

#include <Python.h>

// Own-GIL subinterpreters (PEP 684) and their module slot.
#if PY_VERSION_HEX >= 0x030C0000
#define SUBCELL_HAS_SUBINTERPRETERS 1
#define SUBCELL_PER_INTERPRETER_GIL_SLOT {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#else
#define SUBCELL_HAS_SUBINTERPRETERS 0
#define SUBCELL_PER_INTERPRETER_GIL_SLOT
#endif

namespace subcell::py {

// Exported by libpython 3.11-3.13 but declared only in the internal headers
// (pycore_ceval.h). Unlike Py_AddPendingCall, it targets a given
// interpreter; 0 for the last parameter means "any thread" in 3.12
// (`mainthreadonly`) and 3.13 (`flags`); 3.11 has no such parameter.
int add_pending_call(PyInterpreterState* interp, int (*func)(void*), void* arg);

// The exception being raised, taken (PyErr_GetRaisedException from 3.12).
PyObject* take_raised_exception();

}  // namespace subcell::py

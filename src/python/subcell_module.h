// `_subcell`: the built-in extension module every session imports. It is
// the only way session code reaches the C++ side: its stdout/stderr writes,
// display(), an interruptible time.sleep and a safe sys._current_frames.
//
// Multi-phase init with per-interpreter state and
// Py_MOD_PER_INTERPRETER_GIL_SUPPORTED, so each own-GIL interpreter gets
// its own module object bound to its own session.
#pragma once

#include <Python.h>

#include "python/interrupt.h"
#include "python/session_io.h"

namespace subcell::py {

// Registers the module in the inittab. Call before Py_Initialize.
void register_subcell_module();

// Points an imported `_subcell` module at its session. GIL held.
bool bind_subcell_module(PyObject* module, SessionIo* io, InterruptTarget* interrupts);

}  // namespace subcell::py

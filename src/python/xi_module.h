// `_subcell_xi` and `subcell`: channels and child interpreters for session
// code (PEP 554's programming model).
//
// `_subcell_xi` is the C half (multi-phase, per-interpreter state,
// Py_MOD_PER_INTERPRETER_GIL_SUPPORTED): channel ends, lent buffers, the
// child-interpreter primitives. `subcell` is the public module, Python
// source compiled into the binary (python/subcell_api.py), importable in
// every session; `help(subcell)` documents it. Channels live in the
// process's xi::Backend (the registry here, the server's from a worker).
#pragma once

#include "python/interrupt.h"
#include "python/session_io.h"

namespace subcell::py {

// Registers `_subcell_xi` and `subcell` in the inittab. Before Py_Initialize.
void register_xi_modules();

// Sets up a session's interpreter (GIL held, on its thread): imports
// `_subcell_xi` and binds it to the session's output (a child's output goes
// there) and interrupts (channel waits are interruptible like time.sleep),
// gives the interpreter its channel owner, and arranges that when the
// interpreter closes its children close, its channel ends are released and
// buffers it lent stay valid. False with an exception set on failure.
bool install_xi(SessionIo& io, InterruptTarget& interrupts);

}  // namespace subcell::py

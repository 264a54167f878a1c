// Child interpreters of sessions (`subcell.interpreters`): the sessions
// layer's py::ChildHost.
//
// A child is a Session of its own (thread, own-GIL interpreter, job FIFO)
// that belongs to the interpreter that created it, not to the
// SessionManager: its runs are jobs on its thread, its output is written
// into its parent's output a line at a time, labelled with its id
// ("nb/1"), and it closes when its parent does. Children are taken from a
// warm pool of their own (filled once children are first asked for).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sessions/session.h"

namespace subcell {

// Registers the child host with the python layer. Idempotent; the
// SessionManager calls it.
void install_child_hosts();

struct ChildSummary {
  std::string id;      // "nb/1"
  std::string parent;  // "nb"
  SessionState state = SessionState::kIdle;
  int runs = 0;
  int queued = 0;
};

// Every child (and grandchild) of the session with this serial.
std::vector<ChildSummary> children_of(std::uint64_t session_serial);

// Closes the warm children nobody has taken (before the runtime goes).
void close_child_pool();

}  // namespace subcell

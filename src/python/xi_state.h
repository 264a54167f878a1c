// The per-interpreter state of `_subcell_xi` (python/xi_module.cpp) and
// what its parts share: conversions between Python objects and xi::Value
// (xi_convert.cpp), channel ends (xi_module.cpp), child interpreters
// (xi_children.cpp). Private to python/.
#pragma once

#include <Python.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "python/child_host.h"
#include "python/interrupt.h"
#include "python/session_io.h"
#include "xi/backend.h"

namespace subcell::py::xi_impl {

// Gives buffers lent by this interpreter back to it. A receiver in another
// interpreter lets go of a lent buffer with its own GIL; the exporter must
// be released with ours, so the release is queued and run here: by a
// pending call into this interpreter, by the next `_subcell_xi` call made
// here, or, once the interpreter is closing with buffers still lent, by a
// keeper thread that holds the interpreter open (parked rather than ended
// under a reader) until the last one comes back.
class Domain : public std::enable_shared_from_this<Domain> {
 public:
  explicit Domain(PyInterpreterState* interp) : interp_(interp) {}
  // Counts a buffer lent out.
  void lent();
  // Any thread: queue `view` for release in this interpreter.
  void give_back(Py_buffer view);
  // This interpreter's thread, GIL held: release what came back.
  void release_returned();
  // The interpreter is closing (its GIL held, on its session thread).
  // Releases what came back; if buffers are still out, starts the keeper.
  void closing();
  int outstanding() const;
  bool has_returned() const { return has_returned_.load(std::memory_order_relaxed); }

 private:
  static int on_pending_call(void* arg);
  void keeper_main();

  PyInterpreterState* interp_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Py_buffer> returned_;
  std::atomic<bool> has_returned_{false};
  int outstanding_ = 0;
  bool scheduled_ = false;
  bool keeping_ = false;
  bool keeper_ready_ = false;  // the keeper's thread state exists
};

struct State {
  // Types (heap types, per interpreter).
  PyTypeObject* recv_type = nullptr;
  PyTypeObject* send_type = nullptr;
  PyTypeObject* buffer_type = nullptr;
  PyTypeObject* future_type = nullptr;
  PyObject* channel_error = nullptr;  // subcell.ChannelError
  PyObject* channel_empty = nullptr;  // subcell.ChannelEmpty

  // The binding (bind_xi_module), all null in an interpreter subcell did
  // not set up (the module then works, without interrupts or children).
  SessionIo* io = nullptr;
  InterruptTarget* interrupts = nullptr;
  xi::OwnerId owner = 0;
  bool released = false;  // the owner's holds were dropped (closing)
  std::shared_ptr<Domain> domain;
  std::string label;         // this interpreter's id ("nb", "nb/1"); empty: ask the child host
  std::string parent_label;  // a child's parent id
  std::uint64_t number = 0;  // a child's number under its parent; 0 for a session
  std::unique_ptr<ChildHost> children;
};

// RecvChannel / SendChannel instances.
struct EndObject {
  PyObject_HEAD
  xi::ChannelId channel;
  xi::Side side;
  bool held;  // counts as one of its owner's holds of that side
};

// A new end object of this interpreter. `take_hold`: add a hold (false when
// the backend already counted it: create, open, adopt).
PyObject* new_end(State* st, xi::ChannelId channel, xi::Side side, bool take_hold);

State* state_of_module(PyObject* module);
// The state of this interpreter's `_subcell_xi` (imported if needed).
State* current_state();

// ---- conversions (xi_convert.cpp)

// A Python object -> a Value for send(). TypeError for what a channel does
// not carry. Large str/bytes are borrowed when `may_borrow` (the sender
// waits until they are consumed).
bool to_value(State* st, PyObject* obj, xi::Value& out, bool may_borrow, int depth = 0);
// A buffer-protocol object -> a lent buffer (send_buffer).
bool buffer_to_value(State* st, PyObject* obj, xi::Value& out);
// A received Value -> a new Python object of this interpreter (ends are
// adopted by `st`'s owner).
PyObject* from_value(State* st, xi::Value& value);

// ---- waits (xi_module.cpp)

// The wait for a blocking call: interruptible on the cell's thread (and
// at closing on others), until `timeout` (None: no deadline).
bool make_wait(State* st, PyObject* timeout, xi::Wait& out);
// The wait was stopped: raise KeyboardInterrupt (cell thread) or
// SystemExit (the session is closing); false when there is nothing to
// raise and the wait should go on without the interrupt.
bool raise_stopped(State* st);

// ---- types and functions of the other parts

bool add_buffer_type(PyObject* module, State* st);
bool add_children_api(PyObject* module, State* st);
extern PyMethodDef kChildrenMethods[];
// Closing: the children close with their parent.
void close_children(State* st);

}  // namespace subcell::py::xi_impl

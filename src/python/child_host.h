// ChildHost: what a session's `subcell.interpreters` needs from the layer
// that owns sessions, without including it (sessions/ implements this and
// registers a factory; the python layer never includes sessions/).
//
// A child is an own-GIL interpreter on a thread of its own (a Session in
// sessions/), owned by the interpreter that created it: listed under it,
// its output written into its parent's output labelled with the child, and
// closed when the parent closes. Calls come from the parent's threads with
// the parent's GIL released; they may block (waits honour `stop`).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "python/outcome.h"
#include "python/session_io.h"
#include "support/result.h"
#include "xi/value.h"

namespace subcell::py {

class PythonSession;

// What a child's run() gives back: the last expression's value (shareable,
// or its repr as a str; None when there was none), or the error.
struct ChildResult {
  xi::Value value;
  std::optional<ErrorInfo> error;
  int execution_count = 0;
};

// Names bound in the child's __main__ before a run (PEP 554's `channels`).
using SharedNames = std::vector<std::pair<std::string, xi::Value>>;

// One run in progress (run_async's future).
class ChildRun {
 public:
  virtual ~ChildRun() = default;
  // Waits until the run is over; false when `stop` fired or the deadline
  // passed first.
  virtual bool wait(std::stop_token stop, std::optional<std::chrono::steady_clock::time_point> deadline) = 0;
  virtual bool done() const = 0;
  // After done(): the outcome (moved out once).
  virtual ChildResult take() = 0;
  // Interrupts the run (KeyboardInterrupt in the child).
  virtual void interrupt() = 0;
};

struct ChildInfo {
  std::uint64_t number = 0;  // 1, 2, ... per parent
  std::string id;            // "<parent>/<number>", as session/list shows it
  bool busy = false;
  int runs = 0;
};

class ChildHost {
 public:
  virtual ~ChildHost() = default;
  // A new child, warm from the pool when one is ready; `prelude` runs in
  // its __main__ first (its error, if any, comes back instead).
  virtual Result<std::uint64_t> create(const std::string& prelude, std::stop_token stop) = 0;
  virtual Result<std::shared_ptr<ChildRun>> run(std::uint64_t child, std::string code, SharedNames names) = 0;
  virtual Status reset(std::uint64_t child, std::stop_token stop) = 0;
  // Closes the child and waits for it (bounded by its close grace).
  virtual Status close(std::uint64_t child) = 0;
  virtual std::vector<ChildInfo> list() const = 0;
  // The parent's id ("nb"), for get_current() in a session.
  virtual std::string parent_id() const = 0;
  // The parent is going: every child closes.
  virtual void close_all() = 0;
};

// The parent, as the python layer knows it.
struct ChildParent {
  SessionIo* io = nullptr;  // where the children's output goes
  std::string label;        // the parent's id when it is a child itself (its children are "<label>/<n>")
};

using ChildHostFactory = std::unique_ptr<ChildHost> (*)(const ChildParent& parent);
// Registered by sessions/ at start-up; without one, create() fails.
void set_child_host_factory(ChildHostFactory factory);
ChildHostFactory child_host_factory();

// Runs in the child, on its thread (a job of its session): binds `names`
// in __main__, runs `code` as a cell (tracebacks show "<cell N>") and turns
// the last value into a ChildResult. `token` identifies the run for
// interrupts.
ChildResult run_in_child(PythonSession& session, const std::string& code, SharedNames names, std::uint64_t token);

// Names a child interpreter: what its `subcell.interpreters.get_current()`
// says (its id, its parent's id, its number). On the child's thread.
void set_interpreter_label(PythonSession& session, const std::string& id, const std::string& parent,
                           std::uint64_t number);

}  // namespace subcell::py

// SessionIo: what a session's Python code asks of its session: where its
// output goes, and ending it (os._exit). The `_subcell` module calls it
// with the GIL held; implementations (sessions/output_sink) may block, and
// release the GIL through the Waiter first.
#pragma once

#include <cstdint>
#include <string>
#include <stop_token>
#include <string_view>

#include "python/outcome.h"

namespace subcell::py {

enum class IoStatus {
  kOk,
  kStopped,  // `stop` fired while waiting (the cell was interrupted)
  kClosed,   // the session's output is closed (the session is closing)
};

// How an I/O call may wait when it has to: it drops the GIL first, and
// gives up when `stop_token()` fires (the cell was interrupted, or the
// session is closing). Only consulted on the slow path, so a write that
// does not wait costs neither.
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void release_gil() = 0;
  virtual void reacquire_gil() = 0;
  virtual std::stop_token stop_token() = 0;
};

// How session code asked its session to end (os._exit, os.abort): what a
// process would have done, done to the session alone.
struct SessionEnd {
  enum class How { kExit, kAbort } how = How::kExit;
  int status = 0;  // os._exit's
};

// display(obj, display_id=...) / update_display(obj, display_id=...).
struct Display {
  MimeBundle data;
  std::string display_id;  // empty: a display that is never updated
  bool update = false;     // replaces what was shown under display_id
};

// What the client answered to an input() of the cell.
struct InputReply {
  enum class Status {
    kAnswered,     // `text` is what the user typed
    kCancelled,    // the user dismissed the request: the cell gets KeyboardInterrupt
    kEof,          // the client's input has ended: the cell gets EOFError
    kUnsupported,  // no client can answer (`text`: why): the cell gets EOFError
    kStopped,      // the cell was interrupted while it waited
    kClosed,       // the session is closing
  } status = Status::kAnswered;
  std::string text;
};

class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual IoStatus write(Stream stream, std::string_view utf8, Waiter& waiter) = 0;
  // The cell running now (an opaque handle; 0 when none), and, on a thread
  // a cell started, that cell: the thread's output after it is late.
  virtual std::uint64_t current_cell() = 0;
  virtual void set_thread_origin(std::uint64_t cell) = 0;
  virtual IoStatus display(Display display, Waiter& waiter) = 0;
  // clear_output(wait): the cell's outputs go, now or when the next comes.
  virtual IoStatus clear_output(bool wait, Waiter& waiter) = 0;
  // Any thread of the session, GIL held; must not block on the session.
  virtual void end_session(SessionEnd end) = 0;
  // input()/getpass()/sys.stdin: asks the client and waits for the answer
  // (releasing the GIL through the Waiter), interruptibly.
  virtual InputReply read_input(std::string_view prompt, bool password, Waiter& waiter) = 0;
};

}  // namespace subcell::py

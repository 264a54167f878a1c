// SessionIo: where a session's Python output goes. The `_subcell` module
// calls it with the GIL held; implementations (sessions/output_sink) may
// block, and release the GIL through GilRelease first.
#pragma once

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

class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual IoStatus write(Stream stream, std::string_view utf8, Waiter& waiter) = 0;
  virtual IoStatus display(MimeBundle bundle, Waiter& waiter) = 0;
};

}  // namespace subcell::py

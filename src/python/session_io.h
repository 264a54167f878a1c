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

class GilRelease {
 public:
  virtual ~GilRelease() = default;
  virtual void release() = 0;
  virtual void reacquire() = 0;
};

class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual IoStatus write(Stream stream, std::string_view utf8, std::stop_token stop, GilRelease& gil) = 0;
  virtual IoStatus display(MimeBundle bundle, std::stop_token stop, GilRelease& gil) = 0;
};

}  // namespace subcell::py

// What a session sends to its consumer (the server's event loop, or the
// run-mode printer), in order, through one Channel. Plain data only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "channels/channel.h"
#include "python/outcome.h"
#include "python/session_io.h"

namespace subcell {

using JobId = std::uint64_t;

// The cell that output belongs to.
struct CellRef {
  JobId job = 0;
  int execution_count = 0;
  CellTag tag;
};

struct SessionReady {
  std::optional<std::string> error;  // set when the interpreter could not be created
};

struct CellStarted {
  CellRef cell;
};

struct StreamOutput {
  CellRef cell;
  Stream stream = Stream::kStdout;
  std::string text;
  bool late = false;  // a thread wrote it after `cell` had finished
};

struct DisplayOutput {
  CellRef cell;
  MimeBundle data;
  std::string display_id;  // empty when the display cannot be updated
  bool update = false;     // replaces the outputs shown under display_id
};

// The cell called input(): the consumer asks the client and answers with
// Session::answer_input(id, ...).
struct InputRequest {
  CellRef cell;
  std::uint64_t id = 0;
  std::string prompt;
  bool password = false;
};

// The cell stopped waiting for input `id` (it was interrupted).
struct InputCancelled {
  std::uint64_t id = 0;
};

struct ClearOutput {
  CellRef cell;
  bool wait = false;  // clear when the cell's next output arrives
};

// A job could not run (the session failed to start, or is closing), or
// the session ended under it (`crashed`).
struct JobFailed {
  std::string message;
  bool crashed = false;
};

struct JobDone {
  JobId job = 0;
  std::variant<RunOutcome, ResetOutcome, CompleteOutcome, VariablesOutcome, InspectOutcome, JobFailed> outcome;
};

struct SessionClosed {
  CloseOutcome outcome;
};

// Session code ended the session (os._exit, os.abort in a subinterpreter):
// it closes itself; `cancelled` are the queued jobs it dropped.
struct SessionEnded {
  py::SessionEnd end;
  std::vector<JobId> cancelled;
};

// Queued jobs the session dropped by itself (a stop-on-error cell failed).
struct JobsCancelled {
  std::vector<JobId> jobs;
  std::string reason;
};

using SessionEvent = std::variant<SessionReady, CellStarted, StreamOutput, DisplayOutput, ClearOutput, InputRequest,
                                  InputCancelled, JobDone, JobsCancelled, SessionEnded, SessionClosed>;

// Output costs its bytes; consecutive writes of one cell to one stream
// merge into one event (up to kMaxChunk), which is how output is coalesced.
struct SessionEventTraits {
  static constexpr std::size_t kOverhead = 64;
  static constexpr std::size_t kMaxChunk = 256 * 1024;

  static std::size_t cost(const SessionEvent& e) {
    if (const auto* out = std::get_if<StreamOutput>(&e)) return out->text.size() + kOverhead;
    if (const auto* shown = std::get_if<DisplayOutput>(&e)) {
      std::size_t n = kOverhead;
      for (const MimeEntry& m : shown->data) n += m.data.size();
      return n;
    }
    return kOverhead;
  }

  static bool merge(SessionEvent& tail, SessionEvent& incoming) {
    auto* a = std::get_if<StreamOutput>(&tail);
    auto* b = std::get_if<StreamOutput>(&incoming);
    if (a == nullptr || b == nullptr || a->stream != b->stream || a->cell.job != b->cell.job || a->late != b->late ||
        a->text.size() + b->text.size() > kMaxChunk) {
      return false;
    }
    a->text += b->text;
    return true;
  }
};

using EventChannel = Channel<SessionEvent, SessionEventTraits>;

}  // namespace subcell

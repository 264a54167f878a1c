// OutputSink: a session's stdout/stderr/display, as seen from Python
// (py::SessionIo), turned into events on the session's channel.
//
// Called by any thread of the session's interpreter, GIL held. Writes
// merge in the channel (coalescing); the consumer is woken only when the
// channel becomes non-empty, when 64 KiB are waiting, or for events that
// must not wait (displays, results). When the channel is full the writer
// drops the GIL and blocks until the consumer catches up: output is never
// dropped, only slowed down.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

#include "python/session_io.h"
#include "sessions/session_events.h"

namespace subcell {

class Session;

// Told when a session's channel needs draining. Called from session
// threads; must be cheap and must not call back into the session.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // `urgent`: drain now (a result, a display, a full buffer). Otherwise the
  // consumer may wait a few milliseconds to coalesce more output.
  virtual void on_session_events(Session& session, bool urgent) = 0;
};

class OutputSink final : public py::SessionIo {
 public:
  static constexpr std::size_t kUrgentBytes = 64 * 1024;

  OutputSink(Session& session, EventChannel& channel, SessionListener& listener)
      : session_(session), channel_(channel), listener_(listener) {}
  // The session this is the output of (its children find their parent so).
  Session& session() const { return session_; }

  py::IoStatus write(Stream stream, std::string_view utf8, py::Waiter& waiter) override;
  std::uint64_t current_cell() override;
  void set_thread_origin(std::uint64_t cell) override;
  py::IoStatus display(py::Display display, py::Waiter& waiter) override;
  py::IoStatus clear_output(bool wait, py::Waiter& waiter) override;
  void end_session(py::SessionEnd end) override;
  py::InputReply read_input(std::string_view prompt, bool password, py::Waiter& waiter) override;
  // The consumer's answer to InputRequest `id` (any thread).
  void answer_input(std::uint64_t id, py::InputReply reply);

  // The cell that output belongs to from now on (session thread), and
  // its end: output of threads after it is late.
  void set_cell(CellRef cell);
  void cell_finished();
  CellRef cell() const;

  // Sends a non-output event and wakes the consumer at once, or (kSoon)
  // lets it ride along with the next drain, at most a few ms later. Blocks
  // while the channel is full; false once the channel is closed.
  enum class Wake { kNow, kSoon };
  bool post(SessionEvent event, Wake wake = Wake::kNow);

  // From now on output goes to the server log, not the client: the session
  // is being closed and nobody is waiting for it.
  void set_closing();

 private:
  py::IoStatus send(SessionEvent event, py::Waiter& waiter, bool urgent);
  void wake_if_needed(const SendInfo& info, std::size_t cost, bool urgent);

  Session& session_;
  EventChannel& channel_;
  SessionListener& listener_;
  // Where a write goes: the running cell's, or late to the cell that
  // started the writing thread.
  std::pair<CellRef, bool> destination() const;

  std::mutex input_mutex_;  // guards inputs_, next_input_
  std::condition_variable_any input_answered_;
  std::map<std::uint64_t, std::optional<py::InputReply>> inputs_;  // waiting input() calls
  std::uint64_t next_input_ = 1;

  mutable std::mutex mutex_;  // guards cell_, running_, origins_
  CellRef cell_;
  bool running_ = false;
  std::map<JobId, CellRef> origins_;  // cells that started threads
  std::atomic<JobId> job_{0};  // cell_.job, readable without the lock
  std::atomic<bool> closing_{false};
};

}  // namespace subcell

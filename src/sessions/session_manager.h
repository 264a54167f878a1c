// SessionManager: the session engine's front door. Opens, finds, lists
// and closes sessions, and keeps a warm pool of interpreters so that
// opening a session does not wait for CPython to build one.
//
// The boundary between the engine (interpreters, threads, channels) and
// whoever drives it: it knows nothing of JSON, libuv or the transport, so
// the server and `subcell run` share it, and a later step can host it in
// worker processes. Not thread-safe: one owner thread calls it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sessions/session.h"
#include "support/result.h"

namespace subcell {

struct OpenOptions {
  std::optional<std::string> id;
  std::optional<std::string> cwd;
  std::optional<std::string> name;
  // Variables set (or, when empty, unset) in the session's environment.
  std::map<std::string, std::optional<std::string>> env;
  std::optional<std::chrono::milliseconds> cell_time_limit;
  std::optional<int> execution_count;  // counting goes on from here (a moved session)
  std::optional<bool> guard;           // the session guard; the manager's default when absent
  std::optional<Environment> environment;  // another environment of this Python
};

struct SessionSummary {
  std::string id;
  std::string name;
  SessionState state = SessionState::kIdle;
  int cells_run = 0;
  int queued_cells = 0;
  py::InterpreterKind kind = py::InterpreterKind::kSubinterpreter;
  std::string parent;  // set for a child interpreter (subcell.interpreters): its parent's id
  PythonIdentity python;
};

class SessionManager {
 public:
  // Error codes of open(); the server maps them to JSON-RPC codes.
  enum OpenError { kIdInUse = 1, kBadCwd = 2, kBadId = 3, kNoRoom = 4 };

  SessionManager(SessionListener& listener, SessionOptions options);
  // Closes every session, waiting up to their close grace.
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Keeps `size` interpreters warm, each having run `prelude`; `guard`:
  // whether sessions get the session guard unless open() says otherwise.
  void configure_pool(std::size_t size, std::string prelude, bool guard = true);
  // Replaces the interpreters open() took from the pool. Not done by open()
  // itself: creating an interpreter keeps a core busy for a few ms, which
  // would slow the reply to the open and the session's first cells.
  void refill_pool();

  struct Opened {
    Session* session;
    bool pooled;  // taken warm from the pool
  };
  Result<Opened> open(const OpenOptions& options);

  // An open session by id; null when unknown or closing.
  Session* find(const std::string& id) const;
  // Any live session (pooled, open or closing) by serial; null if gone.
  Session* by_serial(std::uint64_t serial) const;
  std::vector<SessionSummary> list() const;

  // Starts closing; returns the cancelled queued jobs. The session stays
  // (findable by serial, not by id) until reap().
  std::vector<JobId> close(Session& session);
  // Starts closing every open session; returns the cancelled jobs.
  std::vector<JobId> close_all();
  // After the session's SessionClosed: joins its thread and frees it, or
  // keeps it forever if its interpreter was parked.
  void reap(Session& session);
  // Closing sessions that have not finished `after` their close began are
  // abandoned (Session::abandon): returned once, kept (never joined or
  // freed) until they finish by themselves, if ever. The process must then
  // leave with _exit (Runtime::mark_unclean).
  std::vector<Session*> abandon_overdue(std::chrono::steady_clock::duration after);
  bool closing_any() const { return !closing_.empty(); }
  // Open and closing sessions are gone; abandoned ones do not count.
  bool all_closed() const { return open_.empty() && closing_.empty(); }

 private:
  void fill_pool();
  void discard_pool();

  SessionListener& listener_;
  SessionOptions options_;
  std::size_t pool_target_ = 0;
  std::string pool_prelude_;
  int pool_failures_ = 0;
  std::vector<std::unique_ptr<Session>> pool_;
  std::unordered_map<std::string, std::unique_ptr<Session>> open_;
  std::vector<std::unique_ptr<Session>> closing_;
  std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> close_began_;  // by serial
  std::vector<std::unique_ptr<Session>> parked_;
  std::vector<std::unique_ptr<Session>> abandoned_;
  std::uint64_t next_auto_id_ = 1;
  bool main_taken_ = false;  // the main interpreter hosts one session per process
};

}  // namespace subcell

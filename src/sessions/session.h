// Session: one notebook's interpreter, the thread that owns it, and a FIFO
// of jobs (cells, resets, completions) that thread runs one at a time.
//
// The interpreter is created, used and ended on the session's own thread
// (clangd's ASTWorker shape): a thread of its own for a subinterpreter,
// the process's main thread for the main interpreter of a process worker
// (support/main_thread.h). On Linux a subinterpreter session's thread has
// its own filesystem context (unshare(CLONE_FS)): its working directory
// and umask are the session's, inherited by the threads and processes its
// cells start, and no other session's chdir moves it.
//
// Everything the session produces, including each job's result, goes out
// through its event channel in order, so the consumer always sees a cell's
// output before its result. Public methods are safe to call from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <functional>
#include <future>

#include "python/interrupt.h"
#include "python/python_session.h"
#include "sessions/output_sink.h"
#include "sessions/session_events.h"
#include "support/spin.h"

namespace subcell {

struct RunJob {
  JobId id = 0;
  std::string code;
  CellTag tag;
  bool stop_on_error = false;  // an error cancels the cells queued behind it
  // An auto session: a cell that needs a process is not run, and the
  // session holds its queue for the owner to move (RunOutcome::needs_process).
  bool check_placement = false;
};
struct ResetJob {
  JobId id = 0;
};
struct CompleteJob {
  JobId id = 0;
  std::string code;
  std::optional<std::size_t> cursor;
};
// Another environment of the same Python (a venv, a conda env): the
// session takes its sys.prefix, site-packages and .pth files.
struct Environment {
  std::string prefix;
  std::string executable;
  bool system_site_packages = false;
};

// Which Python a session runs, as session/list shows it.
struct PythonIdentity {
  std::string version;
  std::string executable;
  std::string prefix;
};

struct ConfigureJob {
  std::optional<std::string> cwd;  // the session's working directory
  std::map<std::string, std::optional<std::string>> env;  // set (or unset) in its environment
  std::optional<Environment> environment;
  std::optional<int> execution_count;  // counting goes on from here (a moved session)
};
// Work of another layer run on the session's thread, in its turn (a child
// interpreter's run for its parent: sessions/children.cpp). No request
// waits on it: dropped unrun when the session closes.
struct CallJob {
  std::function<void(py::PythonSession&)> fn;
};
using Job = std::variant<RunJob, ResetJob, CompleteJob, ConfigureJob, CallJob>;

// Reads of the live namespace, answered by the session's inspector thread
// while a cell may be running, never queued behind it.
struct VariablesJob {
  JobId id = 0;
  std::size_t offset = 0;
  std::size_t limit = 200;
};
struct InspectJob {
  JobId id = 0;
  std::string code;
  std::optional<std::size_t> cursor;
};
using InspectorJob = std::variant<VariablesJob, InspectJob>;

enum class SessionState { kStarting, kIdle, kBusy, kClosing, kClosed };

struct SessionOptions {
  py::InterpreterKind kind = py::InterpreterKind::kSubinterpreter;
  std::size_t channel_bytes = 1u << 20;
  std::string prelude;  // run before the session reports ready
  bool warm = false;    // pay first-cell costs ahead (pool interpreters)
  std::chrono::milliseconds close_grace{2000};
  // Each cell is interrupted once it has run this long.
  std::optional<std::chrono::milliseconds> cell_time_limit;
  // The session guard (python/guard.py) in a subinterpreter.
  bool guard = true;
};

class Session {
 public:
  // Starts the thread, which creates the interpreter and posts SessionReady.
  Session(SessionListener& listener, SessionOptions options);
  // Joins the thread; begin_close() must have been called (or is, now).
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A fresh id for a job, unique in the process.
  static JobId next_job_id();

  // Queues a job. False when the session is closing (nothing queued).
  bool submit(Job job);

  // Queues a read of the live namespace on the inspector thread (started
  // on first use). False when the session is not ready or is closing.
  bool inspect(InspectorJob job);

  // Removes queued cells: all of them, or the one with `job`. Returns the
  // ids removed; their requests are the caller's to answer.
  std::vector<JobId> cancel_queued(std::optional<JobId> job = std::nullopt);
  // Removes and returns every queued job, in order (the session moves).
  std::deque<Job> take_queued();

  // Raises KeyboardInterrupt in the running cell (`job`, or any). True if
  // a cell was running.
  bool interrupt(JobId job = 0);

  // Stops accepting jobs, cancels queued ones (returned), interrupts the
  // running one, and lets the thread end the interpreter. SessionClosed is
  // the last event; then the channel closes.
  std::vector<JobId> begin_close();

  // The consumer's answer to an InputRequest event. Any thread.
  void answer_input(std::uint64_t id, py::InputReply reply) { sink_.answer_input(id, std::move(reply)); }

  // Session code called os._exit/os.abort (through py::SessionIo): the
  // session closes itself and says so with SessionEnded. Any thread.
  void end_from_python(py::SessionEnd end);

  // Given up on: closing did not finish in time (a cell stuck in C, a
  // finalizer that loops). Its thread is left to whatever it does; output
  // goes to the log; nothing it produces reaches a client any more.
  void abandon();
  bool abandoned() const { return abandoned_.load(); }

  // Whether the thread has finished (after SessionClosed).
  bool finished() const { return state() == SessionState::kClosed; }
  // After finished(): whether the interpreter was parked, not ended. A
  // parked session must never be destroyed: its threads still use it.
  bool parked() const { return parked_.load(); }
  void join();

  EventChannel& events() { return channel_; }
  SessionState state() const { return state_.load(); }
  int cells_run() const { return cells_run_.load(); }
  int queued_cells() const;

  // Unique in the process, fixed for the session's life (listeners get it).
  const std::uint64_t serial;
  // Identity, set by the owner on the owner's thread.
  std::string id;
  std::string name;
  PythonIdentity python;

  py::InterpreterKind kind() const { return options_.kind; }
  // Set by the owner before the session's first cell (session/open).
  void set_cell_time_limit(std::optional<std::chrono::milliseconds> limit);

 private:
  void main();
  void spin_for_job();
  void run_job(py::PythonSession& python, Job& job);
  void fail_queued(const std::string& message);
  void fill_cell_tags(ErrorInfo& error) const;
  void inspector_main();
  void stop_inspector();

  const SessionOptions options_;
  EventChannel channel_;
  OutputSink sink_;
  // Must outlive the interpreter; a parked session is never destroyed.
  py::InterruptTarget interrupts_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool closing_ = false;
  bool held_ = false;  // a cell needs a process: run nothing more until closed
  // Mirrors of queue_.size() and closing_ for the lock-free spin.
  std::atomic<int> queued_{0};
  std::atomic<bool> closing_requested_{false};
  SpinPolicy job_spin_{std::chrono::microseconds(200)};  // session thread only
  std::optional<JobId> running_cell_;

  std::atomic<SessionState> state_{SessionState::kStarting};
  std::atomic<int> cells_run_{0};
  std::atomic<bool> parked_{false};
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> ended_{false};  // end_from_python was called
  // Cell ids by execution count, for frames of earlier cells; only cells
  // that define code are remembered. Session thread only.
  std::map<int, CellTag> tags_;
  std::atomic<std::int64_t> cell_time_limit_ms_{0};  // 0: none
  std::thread thread_;
  std::future<void> main_thread_done_;  // kMain: main() has returned

  // The inspector: a second thread in the interpreter (python_ is set
  // while the interpreter is usable from it).
  std::mutex inspector_mutex_;
  std::condition_variable inspector_wake_;
  std::deque<InspectorJob> inspector_queue_;
  bool inspector_stopping_ = false;
  py::PythonSession* python_ = nullptr;  // guarded by inspector_mutex_
  std::thread inspector_;
};

}  // namespace subcell

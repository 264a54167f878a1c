// Worker: one `subcell worker` child process and the connection to it, as
// seen from the server's loop thread.
//
// The child is this same binary running the same Server and session engine
// (`subcell worker`), and the connection speaks subcell's own protocol over
// a socketpair, so one decoder and one schema serve both sides of the
// process boundary (clangd's remote index shape). This class only spawns
// the child, frames messages to it, numbers our requests and hands back
// their responses, passes its notifications on, keeps the tail of its
// stderr for crash reports (and forwards the rest to the server's log),
// and reports how it ended. What the requests mean is the owner's
// business. Loop thread only.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "rpc/json.h"
#include "support/result.h"
#include "support/uv_handle.h"
#include "transport/stdio_transport.h"

namespace subcell {

enum class WorkerKind {
  kProcess,       // hosts one session in its main interpreter (isolation "process")
  kInterpreters,  // hosts many own-GIL interpreter sessions (recycled workers)
};

struct WorkerExit {
  int exit_status = 0;      // set when the child exited by itself
  int term_signal = 0;      // set when a signal ended it
  std::string stderr_tail;  // its last lines of standard error
  std::string describe() const;  // "killed by SIGSEGV", "exited with status 3"
};

class Worker;

class WorkerListener {
 public:
  virtual ~WorkerListener() = default;
  // A response to request() `id`: the whole message ("result" or "error").
  virtual void on_worker_response(Worker& worker, std::int64_t id, rpc::Json response) = 0;
  // A request from the worker (cell/input): answer it with Worker::respond.
  virtual void on_worker_request(Worker& worker, rpc::Json id, std::string method, rpc::Json params) = 0;
  // A notification; `body` is its exact bytes, for passing on unchanged
  // (parse it only when its params matter: output is the hot path).
  virtual void on_worker_notification(Worker& worker, std::string_view method, std::string body) = 0;
  // The connection is gone and the process has ended. Requests still
  // unanswered will never be; the Worker may be destroyed from here on.
  virtual void on_worker_exit(Worker& worker, const WorkerExit& exit) = 0;
};

struct WorkerOptions {
  std::string binary;  // the subcell executable (this one)
  rpc::Json capabilities = rpc::Json::object();  // the client's, as the worker's client has them
  WorkerKind kind = WorkerKind::kProcess;
  std::vector<std::string> args;  // more command-line arguments for `subcell worker`
  std::size_t max_message_bytes = 256u << 20;
};

class Worker final : private StdioTransport::Handler {
 public:
  // Spawns the child and sends it `initialize` with `initialization_options`.
  static Result<std::unique_ptr<Worker>> spawn(uv_loop_t* loop, const WorkerOptions& options,
                                               rpc::Json initialization_options, WorkerListener& listener);
  // Kills the child if it still runs (SIGKILL to its process group).
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sends a request; its response comes to on_worker_response with the id
  // returned here. Nothing is sent once the worker is gone (returns 0).
  std::int64_t request(std::string_view method, rpc::Json params);
  void notify(std::string_view method, rpc::Json params);
  // Answers a request the worker sent (on_worker_request).
  void respond(const rpc::Json& id, Result<rpc::Json> result);
  // The initialize response has arrived: the worker's Python is up.
  bool ready() const { return ready_; }

  // Backpressure: stop reading what the worker sends while the client is
  // not reading what we send it.
  void pause_reading() { transport_->pause_input(); }
  void resume_reading() { transport_->resume_input(); }

  // Asks the worker to leave (shutdown + exit); it is killed if it has not
  // after `grace`.
  void stop(std::uint64_t grace_ms);
  // Sends `signal` to the worker's process group (the child and whatever
  // its cells started).
  void kill(int signal);

  pid_t pid() const { return pid_; }
  WorkerKind kind() const { return kind_; }
  bool gone() const { return exit_reported_ || exiting_; }
  // Resident memory of the child, in bytes (from /proc); 0 if unknown.
  std::size_t resident_bytes() const;
  const std::uint64_t serial;

 private:
  Worker(uv_loop_t* loop, WorkerKind kind, WorkerListener& listener);
  Status start(const WorkerOptions& options);
  void on_frame(Frame frame) override;
  void on_input_end() override;
  void on_writable() override {}
  void on_exit(int64_t status, int term_signal);
  void on_stderr(ssize_t n, const uv_buf_t* buf);
  void maybe_report_exit();

  uv_loop_t* loop_;
  const WorkerKind kind_;
  WorkerListener& listener_;
  UvHandle<uv_process_t> process_;
  UvHandle<uv_pipe_t> stderr_pipe_;
  UvHandle<uv_timer_t> timer_;  // kill deadline after stop(); stderr drain after exit
  std::unique_ptr<StdioTransport> transport_;
  std::vector<int> fds_;  // ours, registered with protected_fds
  pid_t pid_ = -1;
  std::int64_t next_id_ = 1;
  std::int64_t initialize_id_ = 0;
  std::int64_t shutdown_id_ = -1;
  bool ready_ = false;
  bool connection_closed_ = false;
  bool exited_ = false;
  bool stderr_done_ = false;
  bool exiting_ = false;
  bool exit_reported_ = false;
  WorkerExit exit_;
  std::string stderr_partial_;
  std::deque<std::string> stderr_lines_;
  std::size_t stderr_bytes_ = 0;
};

}  // namespace subcell

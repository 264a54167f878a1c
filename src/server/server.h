// Server: `subcell serve`. Wires the stdio transport, the JSON-RPC
// dispatcher and the session engine together on one libuv loop.
//
// Threads: the loop thread (the caller of run()) owns every uv handle, the
// transport, the dispatcher and the SessionManager. Session threads only
// touch the wake queue (a mutex and uv_async_send); the loop then drains
// their channels, turning events into notifications and replies. Output is
// drained a few milliseconds late to coalesce it, results at once, and not
// at all while the client is not reading (backpressure).
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "python/runtime.h"
#include "rpc/dispatcher.h"
#include "sessions/session_manager.h"
#include "support/spin.h"
#include "support/uv_handle.h"
#include "transport/stdio_transport.h"

namespace subcell {

struct ServerOptions {
  std::size_t max_message_bytes = FrameDecoder::kDefaultMaxBody;
  std::size_t output_channel_bytes = 1u << 20;
  std::size_t pool_size = 1;
  std::string prelude;
  std::chrono::milliseconds close_grace{2000};
  std::chrono::milliseconds coalesce{2};
};

class Server final : public SessionListener, public rpc::Outgoing, public StdioTransport::Handler {
 public:
  Server(const py::RuntimeInfo& python, ServerOptions options);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until `exit` or end of input; returns the process exit code.
  int run(int in_fd, int out_fd);

  // SessionListener: any thread.
  void on_session_events(Session& session, bool urgent) override;
  // rpc::Outgoing: loop thread.
  void send(const rpc::Json& message) override;
  // StdioTransport::Handler: loop thread.
  void on_frame(Frame frame) override;
  void on_input_end() override;
  void on_writable() override;
  void on_frames_done() override;

 private:
  struct PendingJob {
    rpc::Reply reply;
    std::uint64_t session_serial;
    bool is_cell;
    CellTag cell;
    std::string request_key;
  };
  struct PendingClose {
    rpc::Reply reply;
    int cancelled_cells;
  };

  // handlers.cpp: the method table and one handler per method.
  void bind_methods();
  void on_initialize(const rpc::Json& params, rpc::Reply reply);
  void on_shutdown(const rpc::Json& params, rpc::Reply reply);
  void on_session_open(const rpc::Json& params, rpc::Reply reply);
  void on_session_close(const rpc::Json& params, rpc::Reply reply);
  void on_session_list(const rpc::Json& params, rpc::Reply reply);
  void on_session_reset(const rpc::Json& params, rpc::Reply reply);
  void on_cell_run(const rpc::Json& params, rpc::Reply reply);
  void on_cell_interrupt(const rpc::Json& params, rpc::Reply reply);
  void on_cell_complete(const rpc::Json& params, rpc::Reply reply);
  void on_cancel_request(const rpc::Json& params);
  void on_exit(const rpc::Json& params);
  Result<Session*> open_session(const std::string& id);
  void submit(Session& session, Job job, JobId id, rpc::Reply reply, bool is_cell, CellTag cell);
  void cancel_jobs(const std::vector<JobId>& ids, const std::string& why);

  // server.cpp: events from sessions.
  void on_wake();
  void drain_dirty(bool urgent_only);
  void schedule_drain(std::chrono::milliseconds delay);
  enum class DrainResult { kDone, kMore, kGone };
  DrainResult drain(Session& session);
  bool handle(Session& session, SessionEvent& event);
  void on_job_done(JobDone& done);
  void on_session_ready(Session& session, const SessionReady& ready);
  void send_raw(std::string body);

  // server.cpp: leaving.
  void begin_exit(int code);
  void maybe_finish();
  void finish();
  void close_when_flushed();

  static constexpr std::chrono::milliseconds kPoolRefillDelay{20};

  const py::RuntimeInfo python_;
  const ServerOptions options_;
  uv_loop_t loop_{};
  UvHandle<uv_async_t> wake_;
  UvHandle<uv_timer_t> coalesce_timer_;
  UvHandle<uv_timer_t> exit_timer_;
  UvHandle<uv_timer_t> pool_timer_;
  UvHandle<uv_signal_t> sigterm_;
  UvHandle<uv_signal_t> sigint_;
  std::unique_ptr<StdioTransport> transport_;
  rpc::Dispatcher dispatcher_;
  std::unique_ptr<SessionManager> sessions_;

  std::mutex wake_mutex_;  // guards wakes_ and accepting_wakes_
  std::vector<std::pair<std::uint64_t, bool>> wakes_;
  bool accepting_wakes_ = true;
  std::atomic<bool> urgent_wake_{false};  // an urgent event is waiting (lock-free peek)
  bool submitted_ = false;                // a job was queued while handling the current read
  // Waiting for a just-submitted job's result (on_frames_done): worth it
  // while results come back within this limit.
  SpinPolicy result_spin_{std::chrono::microseconds(150)};
  std::unordered_map<std::uint64_t, bool> dirty_;  // serial -> urgent
  bool coalescing_ = false;

  std::unordered_map<JobId, PendingJob> jobs_;
  std::unordered_map<std::string, JobId> job_by_request_;
  std::unordered_map<std::uint64_t, std::pair<rpc::Reply, bool>> opening_;  // serial -> (reply, pooled)
  std::unordered_map<std::uint64_t, PendingClose> closing_;
  std::optional<rpc::Reply> shutdown_reply_;

  bool shutdown_received_ = false;
  bool exiting_ = false;
  bool finished_ = false;
  std::uint64_t flush_deadline_ = 0;
  int exit_code_ = 0;
};

}  // namespace subcell

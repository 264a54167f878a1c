// Server: `subcell serve`, and the same server inside `subcell worker`.
// Wires a transport, the JSON-RPC dispatcher and the session engine
// together on one libuv loop.
//
// Sessions live where their isolation puts them: interpreter sessions in
// this process's SessionManager (or in a recycled worker), process
// sessions in a worker process of their own (workers/). For sessions in a
// worker the server is a router: it forwards their requests, passes their
// notifications on unchanged and turns a worker's death into
// `session/crashed` (remote.cpp). A worker runs this same class in a
// worker role, hosting the sessions it is sent.
//
// Threads: the loop thread (the caller of run()) owns every uv handle, the
// transport, the dispatcher, the SessionManager and the workers. Session
// threads only touch the wake queue (a mutex and uv_async_send); the loop
// then drains their channels, turning events into notifications and
// replies. Output is drained a few milliseconds late to coalesce it,
// results at once, and not at all while the client is not reading
// (backpressure, which reaches workers by not reading them either).
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/protocol_json.h"
#include "python/runtime.h"
#include "rpc/dispatcher.h"
#include "sessions/session_manager.h"
#include "support/protected_fds.h"
#include "support/spin.h"
#include "support/uv_handle.h"
#include "transport/stdio_transport.h"
#include "workers/supervisor.h"
#include "server/channel_service.h"
#include "server/upstream.h"

namespace subcell {

enum class ServerRole {
  kServer,             // `subcell serve`: the client's server
  kProcessWorker,      // `subcell worker --process`: one session, in the main interpreter
  kInterpreterWorker,  // `subcell worker --interpreters`: interpreter sessions placed out of the server
};

struct ServerOptions {
  ServerRole role = ServerRole::kServer;
  std::size_t max_message_bytes = FrameDecoder::kDefaultMaxBody;
  std::size_t output_channel_bytes = 1u << 20;
  std::size_t pool_size = 1;
  std::string prelude;
  std::chrono::milliseconds close_grace{2000};
  std::chrono::milliseconds coalesce{2};
  // Placement (kServer only).
  std::string self_binary;  // this executable, started as `subcell worker`
  protocol::Isolation isolation = protocol::Isolation::kInterpreter;  // session/open's default
  std::size_t process_pool_size = 1;
  bool interpreters_in_workers = false;
  std::size_t recycle_after_sessions = 500;
  std::size_t recycle_after_mb = 1024;
  protocol::Limits limits;  // session/open's defaults
  bool guard = true;        // the session guard in interpreter sessions
  std::optional<std::string> python;  // session/open's default Python (--python)
};

class Server final : public SessionListener,
                     public rpc::Outgoing,
                     public StdioTransport::Handler,
                     public WorkerListener {
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
  // WorkerListener: loop thread.
  void on_worker_response(Worker& worker, std::int64_t id, rpc::Json response) override;
  void on_worker_notification(Worker& worker, std::string_view method, std::string body) override;
  void on_worker_exit(Worker& worker, const WorkerExit& exit) override;
  void on_worker_request(Worker& worker, rpc::Json id, std::string method, rpc::Json params) override;

 private:
  struct PendingJob {
    rpc::Reply reply;
    std::uint64_t session_serial;
    bool is_cell;
    CellTag cell;
    std::string request_key;
    // An auto session's cell: what it takes to run it again elsewhere.
    std::optional<RunJob> resubmit;
  };
  struct PendingClose {
    rpc::Reply reply;
    int cancelled_cells;
  };
  // What the server keeps of a local session beyond the engine's Session.
  struct LocalInfo {
    protocol::SessionOpenParams params;  // as opened, for a move to a process
    protocol::Limits limits;
    bool auto_isolation = false;
  };
  struct RemoteSession;
  struct Forwarded;
  using Done = std::function<void(Result<rpc::Json>)>;

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
  // channel_service.cpp answers these (the server); a worker has none.
  void on_channel_request(std::string_view method, const rpc::Json& params, rpc::Reply reply);
  void on_session_restart(const rpc::Json& params, rpc::Reply reply);
  void on_session_variables(const rpc::Json& params, rpc::Reply reply);
  void on_cell_inspect(const rpc::Json& params, rpc::Reply reply);
  void submit_inspection(Session& session, InspectorJob job, JobId id, rpc::Reply reply);
  void fail_overdue_inspections();
  void on_cancel_request(const rpc::Json& params);
  void on_exit(const rpc::Json& params);
  Result<Session*> open_session(const std::string& id);
  bool id_in_use(const std::string& id) const;
  std::string new_session_id();
  void open_local(std::string id, protocol::SessionOpenParams params, protocol::Limits limits, bool auto_isolation,
                  Done done);
  rpc::Json capabilities() const;
  protocol::Isolation own_isolation() const;
  void submit(Session& session, Job job, JobId id, rpc::Reply reply, bool is_cell, CellTag cell,
              std::optional<RunJob> resubmit = std::nullopt);
  void cancel_jobs(const std::vector<JobId>& ids, const std::string& why);

  // server.cpp: events from sessions.
  void on_wake();
  void drain_dirty(bool urgent_only);
  void schedule_drain(std::chrono::milliseconds delay);
  enum class DrainResult { kDone, kMore, kGone };
  DrainResult drain(Session& session);
  bool handle(Session& session, SessionEvent& event);
  void on_job_done(Session& session, JobDone& done);
  void on_session_ready(Session& session, const SessionReady& ready);
  void on_session_ended(Session& session, const SessionEnded& ended);
  void watch_closing();
  void abandon_overdue();
  void send_raw(std::string body);

  // remote.cpp: sessions in worker processes.
  void configure_workers(const protocol::InitializeParams& p);
  void open_remote(WorkerKind kind, std::string id, const protocol::SessionOpenParams& params,
                   const protocol::Limits& limits, Done done);
  // The worker binary built for CPython 3.`minor` (this one for its own).
  std::optional<std::string> worker_binary_for(int minor) const;
  PythonIdentity own_python() const;
  RemoteSession* find_remote(const std::string& id);
  // Sends `method` to the session's worker; `done` gets its answer, or an
  // error if the worker dies first. `client_id` is the client's request id
  // ($/cancelRequest finds the forwarded request by it).
  void forward(RemoteSession& session, std::string_view method, rpc::Json params, Done done,
               const rpc::Json& client_id = nullptr, bool is_cell = false);
  void forward_reply(RemoteSession& session, std::string_view method, const rpc::Json& params, rpc::Reply reply,
                     bool is_cell = false);
  void close_remote(RemoteSession& session, rpc::Reply reply);
  void remove_remote(const std::string& id);
  bool cancel_remote(const std::string& request_key);
  void list_sessions(rpc::Reply reply);
  void on_remote_cell_started(RemoteSession& session);
  void on_remote_cell_done(RemoteSession& session, std::int64_t id);
  void pause_workers(bool paused);
  bool workers_idle() const;
  void stop_workers(std::uint64_t grace_ms);

  // client_requests.cpp: requests to the client (cell/input), ours and
  // those of workers, and their answers.
  using Answer = std::function<void(rpc::Response)>;
  std::string ask_client(std::string_view method, rpc::Json params, Answer answer);
  void cancel_client_request(const std::string& id);
  void on_client_response(rpc::Response response);
  void on_input_request(Session& session, const InputRequest& request);
  void on_input_cancelled(Session& session, const InputCancelled& cancelled);
  void cancel_worker_request(Worker& worker, const rpc::Json& worker_id);
  void forget_worker_requests(Worker& worker);

  // placement.cpp: auto sessions that move to a process; session/restart.
  void move_to_process(Session& session, PendingJob cell, const NeedsProcess& needs, int execution_count);
  void forward_moved_job(RemoteSession& session, Job job);
  void open_with(std::string id, protocol::SessionOpenParams params, Done done);

  // server.cpp: leaving.
  void begin_exit(int code);
  void maybe_finish();
  void finish();
  void close_when_flushed();

  static constexpr std::chrono::milliseconds kPoolRefillDelay{20};
  static constexpr std::chrono::milliseconds kAbandonSlack{500};

  const py::RuntimeInfo python_;
  ServerOptions options_;  // initialize may change the placement defaults
  // Held while the loop and its handles are made, so their descriptors
  // land above protected_fds::floor(), out of cells' reach.
  std::unique_ptr<protected_fds::FdFloor> fd_floor_;
  uv_loop_t loop_{};
  UvHandle<uv_async_t> wake_;
  UvHandle<uv_timer_t> coalesce_timer_;
  UvHandle<uv_timer_t> exit_timer_;
  UvHandle<uv_timer_t> pool_timer_;
  UvHandle<uv_timer_t> close_watchdog_;  // abandons sessions that do not close in time
  UvHandle<uv_timer_t> inspect_watchdog_;  // answers inspections a GIL-holding cell delays
  std::map<JobId, std::uint64_t> inspection_deadlines_;  // job -> uv_now() deadline
  UvHandle<uv_signal_t> sigterm_;
  UvHandle<uv_signal_t> sigint_;
  std::unique_ptr<StdioTransport> transport_;
  rpc::Dispatcher dispatcher_;
  std::unique_ptr<SessionManager> sessions_;
  std::unordered_map<std::uint64_t, LocalInfo> local_info_;  // by Session::serial
  std::unique_ptr<WorkerSupervisor> workers_;
  // Channels: the registry's `channel/*` methods (the server), or the way a
  // worker's sessions reach them (a worker).
  std::unique_ptr<ChannelService> channels_;
  std::unique_ptr<Upstream> upstream_;
  std::unordered_map<std::string, std::unique_ptr<RemoteSession>> remote_;
  std::map<std::pair<std::uint64_t, std::int64_t>, std::unique_ptr<Forwarded>> forwarded_;  // (worker, its id)
  std::unordered_map<std::string, std::pair<std::uint64_t, std::int64_t>> forwarded_by_request_;
  bool workers_paused_ = false;
  bool client_input_ = false;  // the client answers cell/input
  std::uint64_t next_client_request_ = 1;
  std::unordered_map<std::string, Answer> client_requests_;  // by our id
  // Our id of each input request, by session serial and the session's input id.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> input_requests_;
  // Our id of each request a worker sent through us, by worker serial and its id (as JSON text).
  std::map<std::pair<std::uint64_t, std::string>, std::string> worker_requests_;
  std::uint64_t next_auto_id_ = 1;

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
  std::unordered_map<std::uint64_t, std::pair<Done, bool>> opening_;  // serial -> (answer, pooled)
  std::unordered_map<std::uint64_t, PendingClose> closing_;
  std::optional<rpc::Reply> shutdown_reply_;

  bool shutdown_received_ = false;
  bool exiting_ = false;
  bool finished_ = false;
  std::uint64_t flush_deadline_ = 0;
  int exit_code_ = 0;
};

}  // namespace subcell

#include "server/server.h"

#include <signal.h>
#include <unistd.h>

#include "protocol/protocol_json.h"
#include "server/remote_session.h"
#include "rpc/error_code.h"
#include "support/log.h"
#include "support/spin.h"
#include "server/channel_service.h"
#include "server/upstream.h"
#include "xi/backend.h"

namespace subcell {
namespace {

// How much of one session's output is drained per round, so that one
// chatty session cannot starve the others.
constexpr std::size_t kDrainBudget = 1u << 20;
// After `exit`, how long closing sessions and flushing output may take.
constexpr auto kFlushGrace = std::chrono::milliseconds(1000);

Server* from(uv_handle_t* h) { return static_cast<Server*>(h->data); }

}  // namespace

Server::Server(const py::RuntimeInfo& python, ServerOptions options)
    : python_(python), options_(std::move(options)), dispatcher_(*this) {
  fd_floor_ = std::make_unique<protected_fds::FdFloor>();
  uv_loop_init(&loop_);
  SessionOptions so;
  so.kind = options_.role == ServerRole::kProcessWorker ? py::InterpreterKind::kMain : py::InterpreterKind::kSubinterpreter;
  so.channel_bytes = options_.output_channel_bytes;
  so.close_grace = options_.close_grace;
  sessions_ = std::make_unique<SessionManager>(*this, so);
  bind_methods();
}

Server::~Server() {
  {
    // Session threads may still post while the manager winds down; from
    // here on nobody listens.
    std::lock_guard lock(wake_mutex_);
    accepting_wakes_ = false;
  }
  sessions_.reset();
  channels_.reset();
  if (upstream_) xi::set_backend(nullptr);
  upstream_.reset();
  remote_.clear();     // their timers are handles of the loop
  forwarded_.clear();
  workers_.reset();  // kills any worker still running
  transport_.reset();
  // Closing the loop needs every handle's close callback to have run.
  while (uv_loop_close(&loop_) == UV_EBUSY) uv_run(&loop_, UV_RUN_NOWAIT);
}

int Server::run(int in_fd, int out_fd) {
  wake_.get()->data = this;
  uv_async_init(&loop_, wake_.get(), [](uv_async_t* h) { from(reinterpret_cast<uv_handle_t*>(h))->on_wake(); });
  wake_.mark_initialized();
  for (auto* timer : {&coalesce_timer_, &exit_timer_, &pool_timer_, &close_watchdog_, &inspect_watchdog_}) {
    uv_timer_init(&loop_, timer->get());
    timer->mark_initialized();
    timer->get()->data = this;
  }
  if (options_.role == ServerRole::kServer) workers_ = std::make_unique<WorkerSupervisor>(&loop_, *this);
  if (options_.role == ServerRole::kServer) {
    channels_ = std::make_unique<ChannelService>(&loop_, [this](rpc::Json message) { send(message); });
  } else {
    // A worker's sessions reach the server's channels through this
    // connection; set before any session (the pool) starts.
    upstream_ = std::make_unique<Upstream>(
        &loop_,
        [this](std::string_view method, rpc::Json params, std::function<void(rpc::Response)> answer) {
          return ask_client(method, std::move(params), std::move(answer));
        },
        [this](std::string_view method, rpc::Json params) { send(rpc::make_notification(method, std::move(params))); });
    xi::set_backend(upstream_.get());
  }
  // A worker leaves signals to its Python (SIGINT interrupts its cell) and
  // to its parent (which kills it); only the client's server handles them.
  const bool own_signals = options_.role == ServerRole::kServer;
  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    if (!own_signals) break;
    uv_signal_init(&loop_, handle->get());
    handle->mark_initialized();
    handle->get()->data = this;
    uv_signal_start(
        handle->get(),
        [](uv_signal_t* h, int sig) {
          log::info(std::string("received signal ") + strsignal(sig) + "; exiting");
          from(reinterpret_cast<uv_handle_t*>(h))->begin_exit(1);
        },
        signum);
  }

  // A worker's output waits in the server's queue, not in its own too:
  // backpressure reaches its sessions after little buffering.
  const std::size_t high_water = options_.role == ServerRole::kServer ? StdioTransport::kHighWater : 256u << 10;
  transport_ = std::make_unique<StdioTransport>(&loop_, in_fd, out_fd, options_.max_message_bytes, high_water);
  if (Status s = transport_->start(this); !s) {
    log::error(s.error().message);
    return 2;
  }
  // Every descriptor the server has now is its own: the session guard
  // keeps cells off them (python/guard.py).
  fd_floor_.reset();
  protected_fds::add_all_open(protected_fds::floor());
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

// ------------------------------------------------------------------ input

void Server::on_frame(Frame frame) {
  switch (frame.kind) {
    case Frame::Kind::kBody: {
      auto parsed = rpc::parse_message(frame.body);
      if (auto* bad = std::get_if<rpc::BadMessage>(&parsed)) {
        // A short Content-Length runs into the next message: give that
        // message back to the decoder rather than lose it too.
        if (bad->code == rpc::kParseError) {
          const std::size_t lost = transport_->decoder().recover_from_bad_body(frame.body);
          if (lost < frame.body.size()) {
            bad->message += " (the frame ran into the next message; " + std::to_string(lost) +
                            " bytes were dropped and the next message recovered)";
          }
        }
        dispatcher_.reject(*bad);
        return;
      }
      dispatcher_.dispatch(std::move(std::get<rpc::Message>(parsed)));
      return;
    }
    case Frame::Kind::kGarbage:
      dispatcher_.reject({rpc::kParseError,
                          "Parse error: skipped " + std::to_string(frame.skipped) + " bytes that were not a frame (" +
                              frame.reason + ")",
                          nullptr});
      return;
    case Frame::Kind::kTooLarge:
      dispatcher_.reject({rpc::kInvalidRequest,
                          "Invalid request: a message of " + std::to_string(frame.declared) +
                              " bytes exceeds the limit of " + std::to_string(options_.max_message_bytes) +
                              " bytes; it is skipped",
                          rpc::sniff_request_id(frame.body)});
      return;
    case Frame::Kind::kTruncated:
      log::warn("input ended inside a message (" + std::to_string(frame.skipped) + " bytes dropped)");
      return;
  }
}

void Server::on_input_end() {
  log::info("end of input");
  begin_exit(shutdown_received_ ? 0 : 1);
}

void Server::send(const rpc::Json& message) { send_raw(rpc::dump(message)); }

void Server::send_raw(std::string body) {
  if (transport_) transport_->send(body);
}

// ------------------------------------------------------------------ session events

void Server::on_session_events(Session& session, bool urgent) {
  std::lock_guard lock(wake_mutex_);
  if (!accepting_wakes_) return;
  wakes_.emplace_back(session.serial, urgent);
  if (urgent) urgent_wake_.store(true, std::memory_order_release);
  uv_async_send(wake_.get());
}

void Server::on_frames_done() {
  // A quick cell's result usually follows within microseconds: wait for it
  // here for a moment rather than go back to epoll and be woken for it,
  // which costs a thread wake-up (~20 us on a VM).
  if (!std::exchange(submitted_, false) || !result_spin_.worth_spinning()) return;
  if (spin_until([&] { return urgent_wake_.load(std::memory_order_acquire); }, result_spin_.limit())) on_wake();
}

void Server::on_wake() {
  std::vector<std::pair<std::uint64_t, bool>> wakes;
  {
    std::lock_guard lock(wake_mutex_);
    wakes.swap(wakes_);
    urgent_wake_.store(false, std::memory_order_relaxed);
  }
  bool any_urgent = false;
  for (auto [serial, urgent] : wakes) {
    bool& u = dirty_[serial];
    u = u || urgent;
    any_urgent = any_urgent || urgent;
  }
  if (any_urgent) drain_dirty(/*urgent_only=*/true);
  // Plain output waits a moment so that more of it leaves in one message.
  if (!dirty_.empty()) schedule_drain(options_.coalesce);
}

void Server::schedule_drain(std::chrono::milliseconds delay) {
  if (coalescing_) return;  // a drain is already due
  coalescing_ = true;
  uv_timer_start(
      coalesce_timer_.get(),
      [](uv_timer_t* t) {
        Server* self = from(reinterpret_cast<uv_handle_t*>(t));
        self->coalescing_ = false;
        self->drain_dirty(false);
      },
      static_cast<std::uint64_t>(delay.count()), 0);
}

void Server::on_writable() {
  pause_workers(false);
  drain_dirty(false);
}

void Server::drain_dirty(bool urgent_only) {
  if (!transport_) return;
  transport_->cork();
  std::vector<std::uint64_t> serials;
  for (const auto& [serial, urgent] : dirty_) {
    if (urgent || !urgent_only) serials.push_back(serial);
  }
  bool more = false;
  for (std::uint64_t serial : serials) {
    // The client is behind: stop here and let the sessions block;
    // on_writable() resumes.
    if (transport_->above_high_water()) break;
    dirty_.erase(serial);
    Session* s = sessions_->by_serial(serial);
    if (s == nullptr) continue;
    // Events sent after the drain woke the loop again; only a drain cut
    // short by its budget needs another round.
    if (drain(*s) == DrainResult::kMore) {
      dirty_[serial] = false;
      more = true;
    }
  }
  transport_->uncork();
  if (transport_->above_high_water()) pause_workers(true);
  if (more) schedule_drain(std::chrono::milliseconds(0));
}

Server::DrainResult Server::drain(Session& session) {
  std::vector<SessionEvent> events;
  std::size_t cost = 0;
  session.events().drain(events, kDrainBudget);
  for (SessionEvent& e : events) {
    cost += SessionEventTraits::cost(e);
    if (!handle(session, e)) return DrainResult::kGone;
  }
  return cost >= kDrainBudget ? DrainResult::kMore : DrainResult::kDone;
}

bool Server::handle(Session& session, SessionEvent& event) {
  if (session.abandoned() && !std::holds_alternative<SessionClosed>(event)) return true;  // nobody listens
  if (auto* out = std::get_if<StreamOutput>(&event)) {
    if (!session.id.empty()) send_raw(protocol::output_notification(session.id, *out));
  } else if (auto* started = std::get_if<CellStarted>(&event)) {
    send_raw(protocol::started_notification(session.id, started->cell));
  } else if (auto* shown = std::get_if<DisplayOutput>(&event)) {
    if (!session.id.empty()) send_raw(protocol::display_notification(session.id, *shown));
  } else if (auto* clear = std::get_if<ClearOutput>(&event)) {
    if (!session.id.empty()) send_raw(protocol::clear_notification(session.id, *clear));
  } else if (auto* input = std::get_if<InputRequest>(&event)) {
    on_input_request(session, *input);
  } else if (auto* withdrawn = std::get_if<InputCancelled>(&event)) {
    on_input_cancelled(session, *withdrawn);
  } else if (auto* done = std::get_if<JobDone>(&event)) {
    on_job_done(session, *done);
  } else if (auto* cancelled = std::get_if<JobsCancelled>(&event)) {
    cancel_jobs(cancelled->jobs, cancelled->reason);
  } else if (auto* ended = std::get_if<SessionEnded>(&event)) {
    on_session_ended(session, *ended);
  } else if (auto* ready = std::get_if<SessionReady>(&event)) {
    on_session_ready(session, *ready);
  } else if (auto* closed = std::get_if<SessionClosed>(&event)) {
    if (auto it = closing_.find(session.serial); it != closing_.end()) {
      it->second.reply(protocol::encode_close(closed->outcome, it->second.cancelled_cells));
      closing_.erase(it);
    }
    local_info_.erase(session.serial);
    sessions_->reap(session);  // `session` is gone after this
    maybe_finish();
    return false;
  }
  return true;
}

void Server::on_session_ready(Session& session, const SessionReady& ready) {
  auto it = opening_.find(session.serial);
  if (it == opening_.end()) return;  // a pool interpreter, or already answered
  auto [reply, pooled] = std::move(it->second);
  opening_.erase(it);
  if (ready.error) {
    reply(Error{rpc::kSessionStartFailed, "session/open: " + *ready.error});
    auto cancelled = sessions_->close(session);
    cancel_jobs(cancelled, "the session could not start");
    watch_closing();
    return;
  }
  reply(protocol::encode_opened(session.id, pooled, own_isolation(), ::getpid(), session.python));
}

void Server::on_job_done(Session& session, JobDone& done) {
  auto it = jobs_.find(done.job);
  if (it == jobs_.end()) return;
  result_spin_.ended();
  PendingJob pending = std::move(it->second);
  jobs_.erase(it);
  job_by_request_.erase(pending.request_key);
  inspection_deadlines_.erase(done.job);
  if (auto* run = std::get_if<RunOutcome>(&done.outcome);
      run != nullptr && run->needs_process && run->needs_process->movable && pending.resubmit) {
    return move_to_process(session, std::move(pending), *run->needs_process, run->execution_count);
  }
  std::visit(
      [&](auto& outcome) {
        using T = std::decay_t<decltype(outcome)>;
        if constexpr (std::is_same_v<T, JobFailed>) {
          pending.reply(Error{outcome.crashed ? rpc::kSessionCrashed : rpc::kSessionStartFailed,
                              pending.reply.method() + ": " + outcome.message});
        } else {
          pending.reply(protocol::encode(outcome));
        }
      },
      done.outcome);
}

void Server::on_session_ended(Session& session, const SessionEnded& ended) {
  // What a process session's crash looks like, for an interpreter session
  // whose code called os._exit or os.abort: the session goes, the server
  // and every other session stay.
  protocol::Crash crash;
  if (ended.end.how == py::SessionEnd::How::kAbort) {
    crash.cause = "signal";
    crash.signal = "SIGABRT";
    crash.message = "the session's code called os.abort(); the session was ended (the server goes on)";
  } else {
    crash.cause = "exit";
    crash.exit_code = ended.end.status;
    crash.message = "the session's code called os._exit(" + std::to_string(ended.end.status) +
                    "); the session was ended (the server goes on)";
  }
  const std::string id = session.id;
  if (!id.empty()) send(rpc::make_notification("session/crashed", protocol::crashed_params(id, crash)));
  for (JobId job : ended.cancelled) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) continue;
    PendingJob pending = std::move(it->second);
    jobs_.erase(it);
    job_by_request_.erase(pending.request_key);
    pending.reply(Error{rpc::kSessionCrashed, pending.reply.method() + ": session '" + id + "' ended: " + crash.message});
  }
  (void)sessions_->close(session);
  watch_closing();
}

// ------------------------------------------------------------------ closing

void Server::watch_closing() {
  if (uv_is_active(close_watchdog_.base())) return;
  uv_timer_start(
      close_watchdog_.get(), [](uv_timer_t* t) { from(reinterpret_cast<uv_handle_t*>(t))->abandon_overdue(); }, 100, 100);
}

void Server::abandon_overdue() {
  // A session gets its close grace for its threads, and a little more for
  // the cell to notice its interrupt; one still closing after that is
  // stuck (in C, or in a loop that swallows interrupts) and is abandoned,
  // so that close, shutdown and exit answer in bounded time.
  for (Session* s : sessions_->abandon_overdue(options_.close_grace + kAbandonSlack)) {
    if (auto it = closing_.find(s->serial); it != closing_.end()) {
      CloseOutcome outcome;
      outcome.ended = false;
      it->second.reply(protocol::encode_close(outcome, it->second.cancelled_cells, "abandoned"));
      closing_.erase(it);
    }
    std::vector<JobId> owed;
    for (const auto& [id, job] : jobs_) {
      if (job.session_serial == s->serial) owed.push_back(id);
    }
    cancel_jobs(owed, "the session was closed while this was running, and abandoned");
    if (auto it = opening_.find(s->serial); it != opening_.end()) {
      it->second.first(Error{rpc::kSessionStartFailed, "session/open: the session did not start in time"});
      opening_.erase(it);
    }
    local_info_.erase(s->serial);
  }
  if (!sessions_->closing_any()) uv_timer_stop(close_watchdog_.get());
  maybe_finish();
}

// ------------------------------------------------------------------ leaving

void Server::begin_exit(int code) {
  if (exiting_) return;
  exiting_ = true;
  exit_code_ = code;
  cancel_jobs(sessions_->close_all(), "the server is exiting");
  watch_closing();
  stop_workers(static_cast<std::uint64_t>(options_.close_grace.count()));
  uv_timer_start(
      exit_timer_.get(), [](uv_timer_t* t) { from(reinterpret_cast<uv_handle_t*>(t))->finish(); },
      static_cast<std::uint64_t>((options_.close_grace + kFlushGrace).count()), 0);
  maybe_finish();
}

void Server::maybe_finish() {
  const bool all_closed = sessions_->all_closed() && workers_idle();
  if (shutdown_reply_ && all_closed) {
    (*shutdown_reply_)(rpc::Json(nullptr));
    shutdown_reply_.reset();
  }
  if (!exiting_ || !all_closed) return;
  if (transport_ && transport_->queued_bytes() > 0) {
    // Let the last replies reach the client; on_writable does not fire for
    // small queues, so poll the queue briefly.
    uv_timer_start(
        coalesce_timer_.get(), [](uv_timer_t* t) { from(reinterpret_cast<uv_handle_t*>(t))->maybe_finish(); }, 1, 0);
    return;
  }
  finish();
}

void Server::finish() {
  if (finished_) return;
  finished_ = true;
  if (!sessions_->all_closed()) log::warn("exiting with sessions that did not close in time");
  // Whatever is still owed is answered now (Reply's destructor says the
  // request was dropped), then the output gets a moment to drain.
  jobs_.clear();
  forwarded_.clear();
  forwarded_by_request_.clear();
  opening_.clear();
  closing_.clear();
  shutdown_reply_.reset();
  {
    std::lock_guard lock(wake_mutex_);
    accepting_wakes_ = false;
  }
  flush_deadline_ = uv_now(&loop_) + static_cast<std::uint64_t>(kFlushGrace.count());
  close_when_flushed();
}

void Server::close_when_flushed() {
  if (transport_ && transport_->queued_bytes() > 0 && uv_now(&loop_) < flush_deadline_) {
    uv_timer_start(
        exit_timer_.get(), [](uv_timer_t* t) { from(reinterpret_cast<uv_handle_t*>(t))->close_when_flushed(); }, 1, 0);
    return;
  }
  if (transport_) transport_->close();
  if (channels_) channels_->close();
  if (upstream_) upstream_->close();
  wake_.close();
  coalesce_timer_.close();
  exit_timer_.close();
  pool_timer_.close();
  close_watchdog_.close();
  inspect_watchdog_.close();
  sigterm_.close();
  sigint_.close();
}

}  // namespace subcell

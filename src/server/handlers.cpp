// The method table of `subcell serve` and one handler per method. Params
// are decoded by protocol/protocol_json; a decode failure is the reply.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/protocol_json.h"
#include "rpc/error_code.h"
#include "server/remote_session.h"
#include "server/server.h"
#include "support/log.h"
#include "version.h"
#include "workers/python_probe.h"

namespace subcell {

using rpc::Json;

namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The process-isolated worker's data size (heap, anonymous mappings): an
// allocation past it fails with MemoryError instead of the machine's OOM
// killer ending the worker.
Status apply_memory_limit(std::int64_t mb) {
  struct rlimit limit {};
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(mb) * 1024 * 1024;
  if (::setrlimit(RLIMIT_DATA, &limit) != 0) {
    return Error{0, std::string("cannot set the memory limit: ") + std::strerror(errno)};
  }
  return Ok{};
}

}  // namespace

void Server::bind_methods() {
  using Handler = void (Server::*)(const Json&, rpc::Reply);
  auto request = [this](const char* method, Handler handler) {
    dispatcher_.on_request(method, [this, handler](const Json& p, rpc::Reply r) { (this->*handler)(p, std::move(r)); });
  };
  request("initialize", &Server::on_initialize);
  request("shutdown", &Server::on_shutdown);
  request("session/open", &Server::on_session_open);
  request("session/close", &Server::on_session_close);
  request("session/list", &Server::on_session_list);
  request("session/reset", &Server::on_session_reset);
  request("cell/run", &Server::on_cell_run);
  request("cell/interrupt", &Server::on_cell_interrupt);
  request("cell/complete", &Server::on_cell_complete);
  request("session/restart", &Server::on_session_restart);
  for (const char* method : {"channel/open", "channel/send", "channel/recv", "channel/close"}) {
    dispatcher_.on_request(method, [this, method](const Json& p, rpc::Reply r) { on_channel_request(method, p, std::move(r)); });
  }
  request("session/variables", &Server::on_session_variables);
  request("cell/inspect", &Server::on_cell_inspect);
  dispatcher_.on_notification("initialized", [](const Json&) {});
  dispatcher_.on_notification("$/cancelRequest", [this](const Json& p) { on_cancel_request(p); });
  dispatcher_.on_notification("exit", [this](const Json& p) { on_exit(p); });
  dispatcher_.on_response([this](rpc::Response r) { on_client_response(std::move(r)); });
}

void Server::on_initialize(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_initialize(params);
  if (!p) return reply(p.error());
  if (!p->client.empty()) log::info("client: " + p->client);
  if (p->guard) options_.guard = *p->guard;
  if (p->python) options_.python = p->python;
  client_input_ = p->client_input;
  sessions_->configure_pool(p->pool_size ? static_cast<std::size_t>(*p->pool_size) : options_.pool_size,
                            p->prelude.value_or(options_.prelude), options_.guard);
  if (p->isolation) options_.isolation = *p->isolation;
  if (p->interpreters_in_workers) options_.interpreters_in_workers = *p->interpreters_in_workers;
  if (p->limits.memory_mb) options_.limits.memory_mb = p->limits.memory_mb;
  if (p->limits.cell_timeout_seconds) options_.limits.cell_timeout_seconds = p->limits.cell_timeout_seconds;
  configure_workers(*p);
  reply(Json{
      {"serverInfo", {{"name", "subcell"}, {"version", kSubcellVersion}}},
      {"python", {{"version", python_.version}, {"ownGil", python_.own_gil}}},
      {"capabilities", capabilities()},
      {"limits", {{"maxMessageBytes", options_.max_message_bytes}, {"outputChannelBytes", options_.output_channel_bytes}}},
  });
}

Json Server::capabilities() const {
  // What an interrupt reaches depends on where the session runs: signals
  // reach a process session's blocking calls, never a subinterpreter's.
  const Json interpreter_interrupt{{"bytecode", true}, {"sleep", true}, {"lockWaits", true}, {"blockingCalls", false}};
  const Json process_interrupt{{"bytecode", true}, {"sleep", true}, {"lockWaits", true}, {"blockingCalls", true}};
  Json caps{{"interrupt", interpreter_interrupt}, {"display", true}, {"reset", true}, {"complete", true}};
  if (options_.role == ServerRole::kServer) {
    caps["guard"] = options_.guard;
    caps["isolation"] = Json{
        {"modes", {"interpreter", "process", "auto"}},
        {"default", protocol::isolation_name(options_.isolation)},
        {"interpreterHost", options_.interpreters_in_workers ? "workers" : "server"},
        {"interpreter", {{"interrupt", interpreter_interrupt}, {"memoryLimit", false}, {"cellTimeout", true}}},
        {"process", {{"interrupt", process_interrupt}, {"memoryLimit", true}, {"cellTimeout", true}}},
    };
    // The CPython versions sessions can run: the embedded one, and each one
    // a worker was built for (subcell-py3.N beside this binary).
    Json pythons = Json::array();
    for (int minor = 11; minor <= 20; ++minor) {
      if (worker_binary_for(minor)) pythons.push_back("3." + std::to_string(minor));
    }
    caps["pythons"] = std::move(pythons);
  }
  return caps;
}

protocol::Isolation Server::own_isolation() const {
  return options_.role == ServerRole::kProcessWorker ? protocol::Isolation::kProcess : protocol::Isolation::kInterpreter;
}

void Server::on_shutdown(const Json&, rpc::Reply reply) {
  shutdown_received_ = true;
  cancel_jobs(sessions_->close_all(), "the server is shutting down");
  watch_closing();
  stop_workers(static_cast<std::uint64_t>(options_.close_grace.count()) + 1000);
  shutdown_reply_.emplace(std::move(reply));
  maybe_finish();
}

void Server::on_exit(const Json&) { begin_exit(shutdown_received_ ? 0 : 1); }

Result<Session*> Server::open_session(const std::string& id) {
  if (Session* s = sessions_->find(id)) return s;
  return Error{rpc::kUnknownSession, "no open session '" + id + "'"};
}

bool Server::id_in_use(const std::string& id) const { return sessions_->find(id) != nullptr || remote_.count(id) != 0; }

std::string Server::new_session_id() {
  std::string id;
  do {
    id = "s" + std::to_string(next_auto_id_++);
  } while (id_in_use(id));
  return id;
}

void Server::on_session_open(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session_open(params);
  if (!p) return reply(p.error());
  std::string id = p->open.id ? *p->open.id : new_session_id();
  if (id_in_use(id)) return reply(Error{rpc::kSessionExists, "session/open: a session with id '" + id + "' is already open"});
  if (p->open.cwd && !is_directory(*p->open.cwd)) {
    return reply(Error{rpc::kInvalidParams, "session/open: cwd '" + *p->open.cwd + "' is not a directory"});
  }
  if (options_.role == ServerRole::kInterpreterWorker && p->python) {
    // An environment of this Python, for an interpreter session placed here.
    auto target = probe_python(*p->python);
    if (!target) return reply(Error{rpc::kInvalidParams, "session/open: params.python: " + target.error().message});
    if (target->prefix != python_.prefix) {
      p->open.environment = Environment{target->prefix, target->executable, target->system_site_packages};
    }
  }
  if (options_.role != ServerRole::kServer) {
    // A worker hosts what the server placed in it.
    auto shared = std::make_shared<rpc::Reply>(std::move(reply));
    const protocol::Limits limits = p->limits;
    return open_local(std::move(id), std::move(*p), limits, false, [shared](Result<Json> r) { (*shared)(std::move(r)); });
  }
  const protocol::Isolation isolation = p->isolation.value_or(options_.isolation);
  if (isolation == protocol::Isolation::kInterpreter && p->limits.memory_mb) {
    return reply(Error{rpc::kInvalidParams,
                       "session/open: params.limits.memoryMB: a memory limit needs isolation \"process\" or "
                       "\"auto\" (interpreter sessions share the server's memory)"});
  }
  p->isolation = isolation;
  auto shared = std::make_shared<rpc::Reply>(std::move(reply));
  open_with(std::move(id), std::move(*p), [shared](Result<Json> r) { (*shared)(std::move(r)); });
}

void Server::open_local(std::string id, protocol::SessionOpenParams params, protocol::Limits limits,
                        bool auto_isolation, Done done) {
  if (options_.role == ServerRole::kProcessWorker && limits.memory_mb) {
    if (Status s = apply_memory_limit(*limits.memory_mb); !s) {
      return done(Error{rpc::kSessionStartFailed, "session/open: " + s.error().message});
    }
  }
  OpenOptions open = params.open;
  open.id = id;
  if (limits.cell_timeout_seconds) {
    open.cell_time_limit = std::chrono::milliseconds(static_cast<std::int64_t>(*limits.cell_timeout_seconds * 1000.0));
  }
  auto opened = sessions_->open(open);
  if (!opened) {
    const int code = opened.error().code == SessionManager::kIdInUse     ? rpc::kSessionExists
                     : opened.error().code == SessionManager::kNoRoom   ? rpc::kSessionStartFailed
                                                                         : rpc::kInvalidParams;
    return done(Error{code, "session/open: " + opened.error().message});
  }
  Session& session = *opened->session;
  session.python = own_python();
  if (params.open.environment) {
    session.python.executable = params.open.environment->executable;
    session.python.prefix = params.open.environment->prefix;
  }
  local_info_[session.serial] = LocalInfo{std::move(params), limits, auto_isolation};
  if (opened->pooled) {
    // Refill once the new session's first cells had the machine to
    // themselves (an interpreter takes a core for a few ms to build).
    uv_timer_start(
        pool_timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Server*>(t->data);
          self->sessions_->refill_pool();
          if (self->workers_) self->workers_->refill_pool();
        },
        kPoolRefillDelay.count(), 0);
  }
  if (session.state() == SessionState::kStarting) {
    opening_.emplace(session.serial, std::make_pair(std::move(done), opened->pooled));  // answered on SessionReady
  } else {
    done(protocol::encode_opened(session.id, opened->pooled, own_isolation(), ::getpid(), session.python));
  }
}

void Server::on_session_close(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session(params, "session/close");
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) return close_remote(*remote, std::move(reply));
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  auto cancelled = sessions_->close(**session);
  cancel_jobs(cancelled, "the session was closed");
  closing_.emplace((*session)->serial, PendingClose{std::move(reply), static_cast<int>(cancelled.size())});
  watch_closing();
}

void Server::on_session_list(const Json&, rpc::Reply reply) { list_sessions(std::move(reply)); }

void Server::on_session_reset(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session(params, "session/reset");
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) return forward_reply(*remote, "session/reset", params, std::move(reply));
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit(**session, ResetJob{id}, id, std::move(reply), false, {});
}

void Server::on_cell_run(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_run(params);
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) return forward_reply(*remote, "cell/run", params, std::move(reply), true);
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  CellTag cell = p->cell;
  RunJob job{id, std::move(p->code), p->cell, p->stop_on_error};
  std::optional<RunJob> resubmit;
  if (auto info = local_info_.find((*session)->serial); info != local_info_.end() && info->second.auto_isolation) {
    job.check_placement = true;
    resubmit = job;  // the cell may have to run again in a process
  }
  submit(**session, std::move(job), id, std::move(reply), true, std::move(cell), std::move(resubmit));
}

void Server::on_cell_complete(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_complete(params);
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) {
    return forward_reply(*remote, "cell/complete", params, std::move(reply));
  }
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit(**session, CompleteJob{id, std::move(p->code), p->cursor}, id, std::move(reply), false, {});
}

void Server::submit(Session& session, Job job, JobId id, rpc::Reply reply, bool is_cell, CellTag cell,
                    std::optional<RunJob> resubmit) {
  std::string key = rpc::dump(reply.id());
  if (!session.submit(std::move(job))) {
    return reply(Error{rpc::kUnknownSession, "session '" + session.id + "' is closing"});
  }
  job_by_request_[key] = id;
  submitted_ = true;
  result_spin_.started();
  jobs_.emplace(id, PendingJob{std::move(reply), session.serial, is_cell, std::move(cell), std::move(key),
                               std::move(resubmit)});
}

void Server::on_session_variables(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_variables(params);
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) {
    return forward_reply(*remote, "session/variables", params, std::move(reply));
  }
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit_inspection(**session, VariablesJob{id, p->offset, p->limit}, id, std::move(reply));
}

void Server::on_cell_inspect(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_complete(params, "cell/inspect");
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) {
    return forward_reply(*remote, "cell/inspect", params, std::move(reply));
  }
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit_inspection(**session, InspectJob{id, std::move(p->code), p->cursor}, id, std::move(reply));
}

void Server::submit_inspection(Session& session, InspectorJob job, JobId id, rpc::Reply reply) {
  // Never queued behind a cell: the session's inspector thread answers it
  // between the running cell's bytecodes. A cell holding the GIL in one
  // long C call delays it; past the deadline the client gets an error.
  constexpr std::uint64_t kDeadlineMs = 2000;
  std::string key = rpc::dump(reply.id());
  if (!session.inspect(std::move(job))) {
    return reply(Error{rpc::kUnknownSession, reply.method() + ": session '" + session.id + "' is not ready"});
  }
  jobs_.emplace(id, PendingJob{std::move(reply), session.serial, false, {}, std::move(key), std::nullopt});
  inspection_deadlines_[id] = uv_now(&loop_) + kDeadlineMs;
  if (!uv_is_active(inspect_watchdog_.base())) {
    uv_timer_start(
        inspect_watchdog_.get(), [](uv_timer_t* t) { static_cast<Server*>(t->data)->fail_overdue_inspections(); },
        100, 100);
  }
}

void Server::fail_overdue_inspections() {
  const std::uint64_t now = uv_now(&loop_);
  for (auto it = inspection_deadlines_.begin(); it != inspection_deadlines_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (auto job = jobs_.find(it->first); job != jobs_.end()) {
      PendingJob pending = std::move(job->second);
      jobs_.erase(job);
      job_by_request_.erase(pending.request_key);
      pending.reply(Error{rpc::kSessionBusy,
                          pending.reply.method() +
                              ": the session's running cell holds its interpreter in a long C call; ask again "
                              "when it returns"});
    }
    it = inspection_deadlines_.erase(it);
  }
  if (inspection_deadlines_.empty()) uv_timer_stop(inspect_watchdog_.get());
}

void Server::on_cell_interrupt(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_interrupt(params);
  if (!p) return reply(p.error());
  if (RemoteSession* remote = find_remote(p->session)) {
    return forward_reply(*remote, "cell/interrupt", params, std::move(reply));
  }
  auto found = open_session(p->session);
  if (!found) return reply(found.error());
  Session& session = **found;
  std::vector<JobId> cancelled;
  bool interrupted = false;
  if (!p->cell) {
    cancelled = session.cancel_queued();
    interrupted = session.interrupt(0);
  } else {
    // Every cell run of this session with that id, queued or running.
    std::vector<JobId> matching;
    for (const auto& [id, job] : jobs_) {
      if (job.is_cell && job.session_serial == session.serial && job.cell == *p->cell) matching.push_back(id);
    }
    for (JobId id : matching) {
      auto removed = session.cancel_queued(id);
      if (!removed.empty()) {
        cancelled.insert(cancelled.end(), removed.begin(), removed.end());
      } else {
        interrupted = session.interrupt(id) || interrupted;
      }
    }
  }
  cancel_jobs(cancelled, "the cell was interrupted before it ran");
  reply(Json{{"interrupted", interrupted}, {"cancelledCells", cancelled.size()}});
}

void Server::on_cancel_request(const Json& params) {
  auto p = protocol::decode_cancel(params);
  if (!p) {
    log::warn(p.error().message);
    return;
  }
  const std::string key = rpc::dump(p->id);
  if (cancel_remote(key)) return;
  if (channels_ && channels_->cancel(0, key)) return;
  auto by_request = job_by_request_.find(key);
  if (by_request == job_by_request_.end()) return;  // answered already, or not a job
  const JobId id = by_request->second;
  auto job = jobs_.find(id);
  if (job == jobs_.end() || !job->second.is_cell) return;
  Session* session = sessions_->by_serial(job->second.session_serial);
  if (session == nullptr) return;
  if (!session->cancel_queued(id).empty()) {
    cancel_jobs({id}, "cancelled by the client before it ran");
  } else {
    session->interrupt(id);  // running: it answers with its KeyboardInterrupt
  }
}

void Server::cancel_jobs(const std::vector<JobId>& ids, const std::string& why) {
  for (JobId id : ids) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    PendingJob pending = std::move(it->second);
    jobs_.erase(it);
    job_by_request_.erase(pending.request_key);
    pending.reply(Error{rpc::kRequestCancelled, pending.reply.method() + ": " + why});
  }
}

}  // namespace subcell

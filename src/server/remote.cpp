// Sessions that live in worker processes: the server as a router.
//
// A remote session's requests are forwarded to its worker with the same
// method and params (the session id is the client's on both sides), under
// a request id of the server's own; the worker's answer goes back to the
// client under the client's id. Its notifications pass through unchanged.
// When a worker dies, each of its sessions gets a `session/crashed`
// notification and every request it still owed is answered with
// SessionCrashed; the other sessions never notice.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "protocol/protocol_json.h"
#include "rpc/error_code.h"
#include "server/remote_session.h"
#include "server/server.h"
#include "support/log.h"
#include "workers/python_probe.h"

namespace subcell {

using rpc::Json;

namespace {

// A process session whose cell outlives its time limit by this much (it
// ignored the interrupt) has its worker killed.
constexpr std::uint64_t kTimeLimitKillGraceMs = 3000;
// A process session that has not closed this long after its close grace
// (a cell stuck in C ignoring SIGINT) has its worker killed.
constexpr std::uint64_t kCloseKillGraceMs = 1000;

Result<Json> as_result(Json& response) {
  if (auto e = response.find("error"); e != response.end() && e->is_object()) {
    return Error{e->value("code", static_cast<int>(rpc::kInternalError)), e->value("message", std::string("error"))};
  }
  return std::move(response["result"]);
}

}  // namespace

void Server::configure_workers(const protocol::InitializeParams& p) {
  if (!workers_) return;
  SupervisorOptions o;
  o.binary = options_.self_binary;
  o.process_pool_size = p.process_pool_size ? static_cast<std::size_t>(*p.process_pool_size) : options_.process_pool_size;
  const std::string prelude = p.prelude.value_or(options_.prelude);
  o.process_init = Json{{"poolSize", 1}, {"prelude", prelude}};
  const std::size_t pool = p.pool_size ? static_cast<std::size_t>(*p.pool_size) : options_.pool_size;
  o.interpreters_init = Json{{"poolSize", pool}, {"prelude", prelude}, {"guard", p.guard.value_or(options_.guard)}};
  o.recycle_after_sessions =
      p.recycle_after_sessions ? static_cast<std::size_t>(*p.recycle_after_sessions) : options_.recycle_after_sessions;
  o.recycle_after_mb = p.recycle_after_mb ? static_cast<std::size_t>(*p.recycle_after_mb) : options_.recycle_after_mb;
  o.client_capabilities = Json{{"input", p.client_input}};
  workers_->configure(std::move(o));
}

Server::RemoteSession* Server::find_remote(const std::string& id) {
  auto it = remote_.find(id);
  return it == remote_.end() || it->second->closing ? nullptr : it->second.get();
}

void Server::open_remote(WorkerKind kind, std::string id, const protocol::SessionOpenParams& params,
                         const protocol::Limits& limits, Done done) {
  bool warm = false;
  Result<Worker*> worker = Error{};
  if (kind == WorkerKind::kInterpreters) {
    worker = workers_->interpreter_host();
  } else if (!params.python) {
    worker = workers_->take_process_worker(warm);
  } else {
    // A process worker on that Python: built for its version, started on it.
    auto target = probe_python(*params.python);
    if (!target) return done(Error{rpc::kInvalidParams, "session/open: params.python: " + target.error().message});
    auto binary = worker_binary_for(target->minor);
    if (!binary) {
      return done(Error{rpc::kInvalidParams, "session/open: params.python: no worker for CPython 3." +
                                                 std::to_string(target->minor) + " in this build (see the README)"});
    }
    worker = workers_->start_process_worker(*binary, target->executable);
  }
  if (!worker) return done(Error{rpc::kSessionStartFailed, "session/open: " + worker.error().message});
  if (kind == WorkerKind::kInterpreters) warm = (*worker)->ready();
  auto session = std::make_unique<RemoteSession>();
  session->id = id;
  session->worker = *worker;
  session->kind = kind;
  session->params = params;
  if (limits.cell_timeout_seconds) {
    session->cell_limit_ms = static_cast<std::uint64_t>(*limits.cell_timeout_seconds * 1000.0);
  }
  uv_timer_init(&loop_, session->timer.get());
  session->timer.mark_initialized();
  session->timer.get()->data = session.get();
  RemoteSession& s = *session;
  remote_.emplace(id, std::move(session));
  workers_->session_added(**worker);
  if (kind == WorkerKind::kProcess) {
    uv_timer_start(
        pool_timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Server*>(t->data);
          self->sessions_->refill_pool();
          if (self->workers_) self->workers_->refill_pool();
        },
        kPoolRefillDelay.count(), 0);
  }
  Json open = protocol::encode_open_for_worker(id, params, limits);
  // An interpreter host applies the environment to the session; a process
  // worker was started on its Python.
  if (kind == WorkerKind::kInterpreters && params.python) open["python"] = *params.python;
  forward(s, "session/open", std::move(open),
          [this, id, done = std::move(done), warm](Result<Json> r) {
            if (!r) {
              remove_remote(id);
              return done(std::move(r));
            }
            Json result = std::move(r).value();
            // Warm means both: a started worker, and a ready session in it.
            result["pooled"] = warm && result.value("pooled", false);
            done(std::move(result));
          });
}

void Server::forward(RemoteSession& session, std::string_view method, Json params, Done done, const Json& client_id,
                     bool is_cell) {
  Worker& worker = *session.worker;
  const std::int64_t id = worker.request(method, std::move(params));
  if (id == 0) {
    return done(Error{rpc::kSessionCrashed, "session '" + session.id + "': its worker process is gone"});
  }
  auto f = std::make_unique<Forwarded>();
  f->done = std::move(done);
  f->session = session.id;
  f->method = method;
  f->is_cell = is_cell;
  if (!client_id.is_null()) {
    f->request_key = rpc::dump(client_id);
    forwarded_by_request_[f->request_key] = {worker.serial, id};
  }
  if (is_cell) session.cells.push_back(id);
  forwarded_[{worker.serial, id}] = std::move(f);
}

void Server::forward_reply(RemoteSession& session, std::string_view method, const Json& params, rpc::Reply reply,
                           bool is_cell) {
  const Json client_id = reply.id();
  auto shared = std::make_shared<rpc::Reply>(std::move(reply));
  forward(
      session, method, params, [shared](Result<Json> r) { (*shared)(std::move(r)); }, client_id, is_cell);
}

void Server::on_worker_response(Worker& worker, std::int64_t id, Json response) {
  auto it = forwarded_.find({worker.serial, id});
  if (it == forwarded_.end()) return;
  std::unique_ptr<Forwarded> f = std::move(it->second);
  forwarded_.erase(it);
  if (!f->request_key.empty()) forwarded_by_request_.erase(f->request_key);
  if (f->is_cell) {
    if (auto s = remote_.find(f->session); s != remote_.end()) on_remote_cell_done(*s->second, id);
  }
  f->done(as_result(response));
}

void Server::on_worker_notification(Worker& worker, std::string_view method, std::string body) {
  if (method == "$/cancelRequest") {  // the worker withdraws a request it sent through us
    Json message = Json::parse(body, nullptr, false);
    const Json id = message.is_object() ? message["params"].value("id", Json()) : Json();
    if (channels_ && channels_->cancel(worker.serial, rpc::dump(id))) return;
    if (message.is_object()) cancel_worker_request(worker, id);
    return;
  }
  if (method == "channel/hold") {  // an interpreter of the worker holds or lets go of channel ends
    Json message = Json::parse(body, nullptr, false);
    if (channels_ && message.is_object()) channels_->hold(worker.serial, message["params"]);
    return;
  }
  if (method == "cell/started" || method == "session/crashed") {
    Json message = Json::parse(body, nullptr, false);
    const std::string session = message.is_object() ? message["params"].value("session", "") : "";
    auto it = remote_.find(session);
    if (it != remote_.end() && it->second->worker == &worker) {
      if (method == "cell/started") {
        on_remote_cell_started(*it->second);
      } else {
        send_raw(std::move(body));  // an interpreter session of a host ended itself
        remove_remote(session);
        return;
      }
    }
  }
  send_raw(std::move(body));
  if (transport_ && transport_->above_high_water()) pause_workers(true);
}

void Server::on_remote_cell_started(RemoteSession& session) {
  if (!session.cell_limit_ms || session.kind != WorkerKind::kProcess) return;
  // The worker interrupts the cell at its limit; one that ignores the
  // interrupt (or sits in C with SIGINT blocked) costs its worker.
  uv_timer_start(
      session.timer.get(),
      [](uv_timer_t* t) {
        auto* s = static_cast<RemoteSession*>(t->data);
        if (s->cells.empty() || s->worker == nullptr) return;
        log::warn("session '" + s->id + "': a cell ignored its time limit; killing its worker");
        s->killed_for_time = true;
        s->worker->kill(SIGKILL);
      },
      *session.cell_limit_ms + kTimeLimitKillGraceMs, 0);
}

void Server::on_remote_cell_done(RemoteSession& session, std::int64_t id) {
  session.cells.erase(std::remove(session.cells.begin(), session.cells.end(), id), session.cells.end());
  if (!session.closing) uv_timer_stop(session.timer.get());
}

void Server::close_remote(RemoteSession& session, rpc::Reply reply) {
  session.closing = true;
  uv_timer_stop(session.timer.get());
  const std::string id = session.id;
  auto shared = std::make_shared<rpc::Reply>(std::move(reply));
  forward(session, "session/close", Json{{"session", id}}, [this, id, shared](Result<Json> r) {
    remove_remote(id);
    (*shared)(std::move(r));
  });
  if (session.kind == WorkerKind::kProcess) {
    uv_timer_start(
        session.timer.get(),
        [](uv_timer_t* t) {
          auto* s = static_cast<RemoteSession*>(t->data);
          if (s->worker != nullptr) s->worker->kill(SIGKILL);
        },
        static_cast<std::uint64_t>(options_.close_grace.count()) + kCloseKillGraceMs, 0);
  }
}

void Server::remove_remote(const std::string& id) {
  auto it = remote_.find(id);
  if (it == remote_.end()) return;
  std::unique_ptr<RemoteSession> session = std::move(it->second);
  remote_.erase(it);
  if (session->worker != nullptr && !session->worker->gone() && workers_) workers_->session_removed(*session->worker);
  maybe_finish();
}

bool Server::cancel_remote(const std::string& request_key) {
  auto it = forwarded_by_request_.find(request_key);
  if (it == forwarded_by_request_.end() || !workers_) return false;
  const auto [serial, id] = it->second;
  for (Worker* w : workers_->workers()) {
    if (w->serial == serial) w->notify("$/cancelRequest", Json{{"id", id}});
  }
  return true;
}

void Server::list_sessions(rpc::Reply reply) {
  struct Gather {
    rpc::Reply reply;
    Json sessions;
    int waiting = 0;
    void finish() {
      std::sort(sessions.begin(), sessions.end(),
                [](const Json& a, const Json& b) { return a.value("session", "") < b.value("session", ""); });
      reply(Json{{"sessions", std::move(sessions)}});
    }
  };
  auto gather = std::make_shared<Gather>(Gather{std::move(reply), Json::array(), 0});
  gather->sessions = protocol::encode_list(sessions_->list(), own_isolation(), ::getpid())["sessions"];
  // One session/list per worker that hosts open sessions of ours.
  std::vector<RemoteSession*> one_per_worker;
  for (auto& [id, s] : remote_) {
    if (s->closing) continue;
    Worker* worker = s->worker;
    auto same = [worker](RemoteSession* o) { return o->worker == worker; };
    if (std::none_of(one_per_worker.begin(), one_per_worker.end(), same)) one_per_worker.push_back(s.get());
  }
  for (RemoteSession* s : one_per_worker) {
    ++gather->waiting;
    Worker* worker = s->worker;
    forward(*s, "session/list", Json::object(), [this, gather, worker](Result<Json> r) {
      if (r) {
        // Only the worker's sessions that are ours and open, and their
        // child interpreters (whose "parent" is one of those).
        std::set<std::string> ours;
        Json& entries = r.value()["sessions"];
        for (Json& entry : entries) {
          auto it = remote_.find(entry.value("session", ""));
          if (it != remote_.end() && it->second->worker == worker && !it->second->closing && !entry.contains("parent")) {
            ours.insert(entry.value("session", ""));
            gather->sessions.push_back(std::move(entry));
          }
        }
        for (bool more = true; more;) {
          more = false;
          for (Json& entry : entries) {
            if (entry.is_object() && ours.count(entry.value("parent", "")) != 0 &&
                ours.insert(entry.value("session", "")).second) {
              gather->sessions.push_back(std::move(entry));
              more = true;
            }
          }
        }
      }
      if (--gather->waiting == 0) gather->finish();
    });
  }
  if (gather->waiting == 0) gather->finish();
}

void Server::pause_workers(bool paused) {
  if (!workers_ || paused == workers_paused_) return;
  workers_paused_ = paused;
  for (Worker* w : workers_->workers()) paused ? w->pause_reading() : w->resume_reading();
}

bool Server::workers_idle() const { return !workers_ || workers_->empty(); }

void Server::stop_workers(std::uint64_t grace_ms) {
  if (!workers_) return;
  // Their sessions end with them, as asked: no crash to report.
  for (auto& [id, s] : remote_) s->closing = true;
  workers_->stop_all(grace_ms);
}

void Server::on_worker_exit(Worker& worker, const WorkerExit& exit) {
  if (channels_) channels_->forget_worker(worker.serial);  // its sessions' waits end, their ends go
  protocol::Crash crash;
  crash.stderr_tail = exit.stderr_tail;
  crash.message = "its worker process (pid " + std::to_string(worker.pid()) + ") " + exit.describe();
  if (exit.term_signal != 0) {
    crash.cause = "signal";
    const char* abbrev = sigabbrev_np(exit.term_signal);
    crash.signal = std::string("SIG") + (abbrev != nullptr ? abbrev : std::to_string(exit.term_signal));
  } else {
    crash.cause = "exit";
    crash.exit_code = exit.exit_status;
  }

  std::vector<std::string> lost;
  std::vector<std::string> gone;  // closing as asked: their close (if any) is answered below
  for (auto& [id, s] : remote_) {
    if (s->worker != &worker) continue;
    s->worker = nullptr;
    (s->closing ? gone : lost).push_back(id);
  }
  for (const std::string& id : gone) remote_.erase(id);
  for (const std::string& id : lost) {
    protocol::Crash c = crash;
    if (remote_[id]->killed_for_time) {
      c.cause = "timeLimit";
      c.message = "a cell ran past its time limit and ignored the interrupt, so its worker process (pid " +
                  std::to_string(worker.pid()) + ") was killed";
    }
    send(rpc::make_notification("session/crashed", protocol::crashed_params(id, c)));
    remote_.erase(id);
  }

  // Every request the worker still owed is answered now.
  std::vector<std::unique_ptr<Forwarded>> owed;
  for (auto it = forwarded_.begin(); it != forwarded_.end();) {
    if (it->first.first != worker.serial) {
      ++it;
      continue;
    }
    if (!it->second->request_key.empty()) forwarded_by_request_.erase(it->second->request_key);
    owed.push_back(std::move(it->second));
    it = forwarded_.erase(it);
  }
  for (auto& f : owed) {
    if (f->method == "session/close") {
      remote_.erase(f->session);
      f->done(Json{{"interpreter", "killed"}, {"cancelledCells", 0}, {"strayThreads", 0}});
    } else if (f->method == "session/list") {
      f->done(Json{{"sessions", Json::array()}});
    } else {
      f->done(Error{rpc::kSessionCrashed,
                    f->method + ": session '" + f->session + "' crashed: " + crash.message});
    }
  }
  if (!lost.empty()) log::warn("worker " + std::to_string(worker.pid()) + " " + exit.describe());
  forget_worker_requests(worker);
  workers_->forget(worker);
  maybe_finish();
}

}  // namespace subcell

// The method table of `subcell serve` and one handler per method. Params
// are decoded by protocol/protocol_json; a decode failure is the reply.
#include "protocol/protocol_json.h"
#include "rpc/error_code.h"
#include "server/server.h"
#include "support/log.h"
#include "version.h"

namespace subcell {

using rpc::Json;

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
  dispatcher_.on_notification("initialized", [](const Json&) {});
  dispatcher_.on_notification("$/cancelRequest", [this](const Json& p) { on_cancel_request(p); });
  dispatcher_.on_notification("exit", [this](const Json& p) { on_exit(p); });
}

void Server::on_initialize(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_initialize(params);
  if (!p) return reply(p.error());
  if (!p->client.empty()) log::info("client: " + p->client);
  sessions_->configure_pool(p->pool_size ? static_cast<std::size_t>(*p->pool_size) : options_.pool_size,
                            p->prelude.value_or(options_.prelude));
  reply(Json{
      {"serverInfo", {{"name", "subcell"}, {"version", kSubcellVersion}}},
      {"python", {{"version", python_.version}, {"ownGil", python_.own_gil}}},
      {"capabilities",
       {{"interrupt", {{"bytecode", true}, {"sleep", true}, {"lockWaits", true}, {"blockingCalls", false}}},
        {"display", true},
        {"reset", true},
        {"complete", true}}},
      {"limits", {{"maxMessageBytes", options_.max_message_bytes}, {"outputChannelBytes", options_.output_channel_bytes}}},
  });
}

void Server::on_shutdown(const Json&, rpc::Reply reply) {
  shutdown_received_ = true;
  cancel_jobs(sessions_->close_all(), "the server is shutting down");
  shutdown_reply_.emplace(std::move(reply));
  maybe_finish();
}

void Server::on_exit(const Json&) { begin_exit(shutdown_received_ ? 0 : 1); }

Result<Session*> Server::open_session(const std::string& id) {
  if (Session* s = sessions_->find(id)) return s;
  return Error{rpc::kUnknownSession, "no open session '" + id + "'"};
}

void Server::on_session_open(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session_open(params);
  if (!p) return reply(p.error());
  auto opened = sessions_->open(*p);
  if (!opened) {
    const int code = opened.error().code == SessionManager::kIdInUse ? rpc::kSessionExists : rpc::kInvalidParams;
    return reply(Error{code, "session/open: " + opened.error().message});
  }
  Session& session = *opened->session;
  if (opened->pooled) {
    // Refill once the new session's first cells had the machine to
    // themselves (an interpreter takes a core for a few ms to build).
    uv_timer_start(
        pool_timer_.get(), [](uv_timer_t* t) { static_cast<Server*>(t->data)->sessions_->refill_pool(); },
        kPoolRefillDelay.count(), 0);
  }
  if (session.state() == SessionState::kStarting) {
    opening_.emplace(session.serial, std::make_pair(std::move(reply), opened->pooled));  // answered on SessionReady
  } else {
    reply(protocol::encode_opened(session.id, opened->pooled));
  }
}

void Server::on_session_close(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session(params, "session/close");
  if (!p) return reply(p.error());
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  auto cancelled = sessions_->close(**session);
  cancel_jobs(cancelled, "the session was closed");
  closing_.emplace((*session)->serial, PendingClose{std::move(reply), static_cast<int>(cancelled.size())});
}

void Server::on_session_list(const Json&, rpc::Reply reply) { reply(protocol::encode_list(sessions_->list())); }

void Server::on_session_reset(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session(params, "session/reset");
  if (!p) return reply(p.error());
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit(**session, ResetJob{id}, id, std::move(reply), false, {});
}

void Server::on_cell_run(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_run(params);
  if (!p) return reply(p.error());
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  CellTag cell = p->cell;
  submit(**session, RunJob{id, std::move(p->code), p->cell, p->stop_on_error}, id, std::move(reply), true,
         std::move(cell));
}

void Server::on_cell_complete(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_complete(params);
  if (!p) return reply(p.error());
  auto session = open_session(p->session);
  if (!session) return reply(session.error());
  const JobId id = Session::next_job_id();
  submit(**session, CompleteJob{id, std::move(p->code), p->cursor}, id, std::move(reply), false, {});
}

void Server::submit(Session& session, Job job, JobId id, rpc::Reply reply, bool is_cell, CellTag cell) {
  std::string key = rpc::dump(reply.id());
  if (!session.submit(std::move(job))) {
    return reply(Error{rpc::kUnknownSession, "session '" + session.id + "' is closing"});
  }
  job_by_request_[key] = id;
  submitted_ = true;
  result_spin_.started();
  jobs_.emplace(id, PendingJob{std::move(reply), session.serial, is_cell, std::move(cell), std::move(key)});
}

void Server::on_cell_interrupt(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_cell_interrupt(params);
  if (!p) return reply(p.error());
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
  auto by_request = job_by_request_.find(rpc::dump(p->id));
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

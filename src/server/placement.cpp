// Where a session runs, decided and changed: session/open's placement,
// an `auto` session's move to a process, and session/restart.
//
// An auto session starts as an interpreter session. Its cells are checked
// before they run (RunJob::check_placement): one that imports a module
// known to need a process, in a session that holds no state yet, is not
// run; the session holds its queue, and here it becomes a process session
// under the same id: the cell and everything queued behind it are sent to
// the new worker in order, and the client is told with session/changed.
#include <unistd.h>

#include "workers/python_probe.h"

#include "protocol/protocol_json.h"
#include "rpc/error_code.h"
#include "server/remote_session.h"
#include "server/server.h"
#include "support/log.h"

namespace subcell {

using rpc::Json;

namespace {

protocol::Limits merged(const protocol::Limits& defaults, const protocol::Limits& asked) {
  protocol::Limits out = defaults;
  if (asked.memory_mb) out.memory_mb = asked.memory_mb;
  if (asked.cell_timeout_seconds) out.cell_timeout_seconds = asked.cell_timeout_seconds;
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::optional<std::string> Server::worker_binary_for(int minor) const {
  if (minor == python_.minor) return options_.self_binary;
  const std::string dir = options_.self_binary.substr(0, options_.self_binary.rfind('/') + 1);
  const std::string binary = dir + "subcell-py3." + std::to_string(minor);
  if (::access(binary.c_str(), X_OK) != 0) return std::nullopt;
  return binary;
}

PythonIdentity Server::own_python() const { return {python_.version, python_.executable, python_.prefix}; }

void Server::open_with(std::string id, protocol::SessionOpenParams params, Done done) {
  protocol::Isolation isolation = params.isolation.value_or(options_.isolation);
  protocol::Limits limits = merged(options_.limits, params.limits);
  if (!params.python) params.python = options_.python;
  if (params.python) {
    auto target = probe_python(*params.python);
    if (!target) return done(Error{rpc::kInvalidParams, "session/open: params.python: " + target.error().message});
    if (target->minor != python_.minor) {
      // Another CPython: a process session, on a worker built for its version.
      isolation = protocol::Isolation::kProcess;
    } else if (target->prefix == python_.prefix && target->executable == python_.executable) {
      params.python.reset();  // this very Python
    } else if (isolation != protocol::Isolation::kProcess) {
      // An environment of this Python: the interpreter session takes its
      // prefix and site-packages.
      params.open.environment = Environment{target->prefix, target->executable, target->system_site_packages};
    }
  }
  switch (isolation) {
    case protocol::Isolation::kProcess:
      return open_remote(WorkerKind::kProcess, std::move(id), params, limits, std::move(done));
    case protocol::Isolation::kInterpreter:
      limits.memory_mb.reset();  // the server's memory, not a worker's
      if (options_.interpreters_in_workers) {
        return open_remote(WorkerKind::kInterpreters, std::move(id), params, limits, std::move(done));
      }
      return open_local(std::move(id), std::move(params), limits, false, std::move(done));
    case protocol::Isolation::kAuto:
      // Starts in this process; the memory limit applies once it moves.
      return open_local(std::move(id), std::move(params), limits, true, std::move(done));
  }
}

void Server::move_to_process(Session& session, PendingJob cell, const NeedsProcess& needs, int execution_count) {
  const std::string id = session.id;
  auto info = local_info_.find(session.serial);
  protocol::SessionOpenParams params = info != local_info_.end() ? info->second.params : protocol::SessionOpenParams{};
  protocol::Limits limits = info != local_info_.end() ? info->second.limits : options_.limits;
  params.open.execution_count = execution_count;

  // The interpreter holds nothing of the user's: it goes, its queue moves.
  std::deque<Job> queued = session.take_queued();
  (void)sessions_->close(session);
  watch_closing();
  session.id.clear();  // the id belongs to the process session from now on

  const std::string reason = "the cell imports " + joined(needs.modules) + ", which cannot load in a subinterpreter";
  open_remote(WorkerKind::kProcess, id, params, limits, [id](Result<Json> r) {
    if (!r) log::error("session '" + id + "' could not move to a process: " + r.error().message);
  });
  RemoteSession* remote = find_remote(id);
  if (remote == nullptr) {
    cell.reply(Error{rpc::kSessionStartFailed, "cell/run: session '" + id + "' could not move to a process"});
    for (Job& job : queued) {
      std::visit(
          [&](auto& j) {
            if constexpr (requires { j.id; }) cancel_jobs({j.id}, "the session could not move to a process");
          },
          job);
    }
    return;
  }
  Json modules = Json::array();
  for (const std::string& m : needs.modules) modules.push_back(m);
  send(rpc::make_notification("session/changed", Json{{"session", id},
                                                      {"isolation", "process"},
                                                      {"previous", "interpreter"},
                                                      {"reason", reason},
                                                      {"modules", std::move(modules)},
                                                      {"pid", remote->worker->pid()}}));
  log::info("session '" + id + "' moves to a process: " + reason);
  const RunJob& run = *cell.resubmit;
  Json run_params{{"session", id}, {"code", run.code}, {"cell", protocol::cell_json(run.tag)}};
  if (run.stop_on_error) run_params["stopOnError"] = true;
  forward_reply(*remote, "cell/run", run_params, std::move(cell.reply), true);
  for (Job& job : queued) forward_moved_job(*remote, std::move(job));
}

void Server::forward_moved_job(RemoteSession& remote, Job job) {
  // A queued job's request becomes the same request to the worker.
  const JobId id = std::visit(
      [](const auto& j) -> JobId {
        if constexpr (requires { j.id; }) {
          return j.id;
        } else {
          return 0;
        }
      },
      job);
  auto pending = jobs_.find(id);
  if (id == 0 || pending == jobs_.end()) return;
  PendingJob p = std::move(pending->second);
  jobs_.erase(pending);
  job_by_request_.erase(p.request_key);
  if (auto* run = std::get_if<RunJob>(&job)) {
    Json params{{"session", remote.id}, {"code", run->code}, {"cell", protocol::cell_json(run->tag)}};
    if (run->stop_on_error) params["stopOnError"] = true;
    forward_reply(remote, "cell/run", params, std::move(p.reply), true);
  } else if (std::holds_alternative<ResetJob>(job)) {
    forward_reply(remote, "session/reset", Json{{"session", remote.id}}, std::move(p.reply));
  } else if (auto* complete = std::get_if<CompleteJob>(&job)) {
    Json params{{"session", remote.id}, {"code", complete->code}};
    if (complete->cursor) params["cursor"] = *complete->cursor;
    forward_reply(remote, "cell/complete", params, std::move(p.reply));
  }
}

void Server::on_session_restart(const Json& params, rpc::Reply reply) {
  auto p = protocol::decode_session_restart(params);
  if (!p) return reply(p.error());
  auto shared = std::make_shared<rpc::Reply>(std::move(reply));
  auto reopen = [this, shared](std::string id, protocol::SessionOpenParams open) {
    open_with(std::move(id), std::move(open), [shared](Result<Json> r) { (*shared)(std::move(r)); });
  };
  if (RemoteSession* remote = find_remote(p->session)) {
    protocol::SessionOpenParams open = remote->params;
    if (p->isolation) open.isolation = p->isolation;
    const std::string id = remote->id;
    remote->closing = true;
    forward(*remote, "session/close", Json{{"session", id}}, [this, id, open, reopen](Result<Json>) mutable {
      remove_remote(id);
      reopen(id, std::move(open));
    });
    return;
  }
  auto session = open_session(p->session);
  if (!session) return (*shared)(session.error());
  protocol::SessionOpenParams open;
  if (auto info = local_info_.find((*session)->serial); info != local_info_.end()) open = info->second.params;
  if (p->isolation) open.isolation = p->isolation;
  cancel_jobs(sessions_->close(**session), "the session was restarted");
  watch_closing();
  reopen(p->session, std::move(open));
}

}  // namespace subcell

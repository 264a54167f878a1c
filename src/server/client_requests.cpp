// Requests the server sends to its client: `cell/input` when a cell reads
// input, for the server's own sessions and for the sessions of its workers
// (a worker's server sends it to its client, this server, which passes it
// on). Each gets an id of ours; the client's answer is routed back to the
// session, or to the worker under the worker's own id.
#include "rpc/error_code.h"
#include "server/remote_session.h"
#include "server/server.h"
#include "support/log.h"

namespace subcell {

using rpc::Json;

std::string Server::ask_client(std::string_view method, Json params, Answer answer) {
  std::string id = "subcell-" + std::to_string(next_client_request_++);
  client_requests_.emplace(id, std::move(answer));
  send(Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  return id;
}

void Server::cancel_client_request(const std::string& id) {
  if (client_requests_.erase(id) == 0) return;
  send(rpc::make_notification("$/cancelRequest", Json{{"id", id}}));
}

void Server::on_client_response(rpc::Response response) {
  if (!response.id.is_string()) return;
  auto it = client_requests_.find(response.id.get<std::string>());
  if (it == client_requests_.end()) return;  // withdrawn meanwhile
  Answer answer = std::move(it->second);
  client_requests_.erase(it);
  answer(std::move(response));
}

void Server::on_input_request(Session& session, const InputRequest& request) {
  if (!client_input_) {
    session.answer_input(request.id, {py::InputReply::Status::kUnsupported,
                                      "input() needs a client that answers cell/input requests (it announces "
                                      "capabilities.input in initialize); this one does not"});
    return;
  }
  const std::uint64_t serial = session.serial;
  const std::uint64_t input = request.id;
  const std::string id = ask_client(
      "cell/input",
      Json{{"session", session.id},
           {"cell", protocol::cell_json(request.cell.tag)},
           {"executionCount", request.cell.execution_count},
           {"prompt", request.prompt},
           {"password", request.password}},
      [this, serial, input](rpc::Response r) {
        input_requests_.erase({serial, input});
        Session* s = sessions_->by_serial(serial);
        if (s == nullptr) return;
        const Json* text = r.result.is_object() ? &r.result["text"] : nullptr;
        if (!r.error && text != nullptr && text->is_string()) {
          s->answer_input(input, {py::InputReply::Status::kAnswered, text->get<std::string>()});
        } else if (!r.error && r.result.is_object() && r.result.value("eof", false)) {
          s->answer_input(input, {py::InputReply::Status::kEof, {}});
        } else {
          s->answer_input(input, {py::InputReply::Status::kCancelled, {}});
        }
      });
  input_requests_[{serial, input}] = id;
}

void Server::on_input_cancelled(Session& session, const InputCancelled& cancelled) {
  auto it = input_requests_.find({session.serial, cancelled.id});
  if (it == input_requests_.end()) return;
  const std::string id = it->second;
  input_requests_.erase(it);
  cancel_client_request(id);
}

void Server::on_worker_request(Worker& worker, Json id, std::string method, Json params) {
  if (method.rfind("channel/", 0) == 0 && channels_) {
    // A worker's session uses a channel: the registry is here.
    const std::uint64_t serial = worker.serial;
    channels_->request(serial, method, params, rpc::dump(id), [this, serial, id](Result<Json> r) {
      if (!workers_) return;
      for (Worker* w : workers_->workers()) {
        if (w->serial == serial) w->respond(id, std::move(r));
      }
    });
    return;
  }
  if (method != "cell/input") {
    return worker.respond(id, Error{rpc::kMethodNotFound, "unknown method: " + method});
  }
  const std::uint64_t serial = worker.serial;
  const std::string key = rpc::dump(id);
  const std::string ours = ask_client(method, std::move(params), [this, serial, id, key](rpc::Response r) {
    worker_requests_.erase({serial, key});
    if (!workers_) return;
    for (Worker* w : workers_->workers()) {
      if (w->serial != serial) continue;
      if (r.error) {
        w->respond(id, *r.error);
      } else {
        w->respond(id, std::move(r.result));
      }
    }
  });
  worker_requests_[{serial, key}] = ours;
}

void Server::cancel_worker_request(Worker& worker, const Json& worker_id) {
  auto it = worker_requests_.find({worker.serial, rpc::dump(worker_id)});
  if (it == worker_requests_.end()) return;
  const std::string ours = it->second;
  worker_requests_.erase(it);
  cancel_client_request(ours);
}

void Server::forget_worker_requests(Worker& worker) {
  for (auto it = worker_requests_.begin(); it != worker_requests_.end();) {
    if (it->first.first != worker.serial) {
      ++it;
      continue;
    }
    cancel_client_request(it->second);
    it = worker_requests_.erase(it);
  }
}

}  // namespace subcell

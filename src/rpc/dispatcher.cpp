#include "rpc/dispatcher.h"

#include <exception>

#include "rpc/error_code.h"
#include "support/log.h"

namespace subcell::rpc {

Reply::Reply(Json id, std::string method, Outgoing& out)
    : id_(std::move(id)), method_(std::move(method)), out_(&out) {}

Reply::Reply(Reply&& other) noexcept
    : id_(std::move(other.id_)), method_(std::move(other.method_)), out_(std::exchange(other.out_, nullptr)) {}

Reply& Reply::operator=(Reply&& other) noexcept {
  if (this != &other) {
    if (out_ != nullptr) (*this)(Error{kInternalError, "the request was dropped"});
    id_ = std::move(other.id_);
    method_ = std::move(other.method_);
    out_ = std::exchange(other.out_, nullptr);
  }
  return *this;
}

Reply::~Reply() {
  if (out_ != nullptr) {
    log::error(method_ + ": handler finished without replying");
    (*this)(Error{kInternalError, method_ + ": the server dropped this request (a bug in subcell)"});
  }
}

void Reply::operator()(Result<Json> result) {
  if (out_ == nullptr) {
    log::error(method_ + ": replied twice; the second reply is dropped");
    return;
  }
  Outgoing* out = std::exchange(out_, nullptr);
  if (result) {
    out->send(make_result(id_, std::move(result).value()));
  } else {
    const Error& e = result.error();
    out->send(make_error(id_, e.code, e.message));
  }
}

void Dispatcher::on_request(std::string method, RequestHandler handler) {
  requests_[std::move(method)] = std::move(handler);
}

void Dispatcher::on_notification(std::string method, NotificationHandler handler) {
  notifications_[std::move(method)] = std::move(handler);
}

void Dispatcher::dispatch(std::string_view body) {
  auto parsed = parse_message(body);
  if (auto* bad = std::get_if<BadMessage>(&parsed)) return reject(*bad);
  dispatch(std::move(std::get<Message>(parsed)));
}

void Dispatcher::dispatch(Message message) {
  if (auto* request = std::get_if<Request>(&message)) return handle(std::move(*request));
  if (auto* note = std::get_if<Notification>(&message)) return handle(std::move(*note));
  auto& response = std::get<Response>(message);
  if (responses_) return responses_(std::move(response));
  log::info("ignoring a response from the client to " + dump(response.id));
}

void Dispatcher::reject(const BadMessage& bad) {
  log::warn(bad.message);
  out_.send(make_error(bad.id, bad.code, bad.message));
}

void Dispatcher::handle(Request request) {
  Reply reply(request.id, request.method, out_);
  const bool is_initialize = request.method == "initialize";
  switch (state_) {
    case State::kUninitialized:
      if (!is_initialize) {
        return reply(Error{kServerNotInitialized, request.method + ": the server is not initialized yet"});
      }
      break;
    case State::kRunning:
      if (is_initialize) return reply(Error{kInvalidRequest, "initialize: the server is already initialized"});
      break;
    case State::kShutDown:
      return reply(Error{kInvalidRequest, request.method + ": the server is shutting down; only exit is accepted"});
  }
  auto it = requests_.find(request.method);
  if (it == requests_.end()) return reply(Error{kMethodNotFound, "unknown method: " + request.method});
  if (is_initialize) state_ = State::kRunning;
  if (request.method == "shutdown") state_ = State::kShutDown;
  try {
    it->second(request.params, std::move(reply));
  } catch (const std::exception& e) {
    // Handlers report failures as values; an exception is a bug. The Reply,
    // if still owned, answers InternalError as it unwinds.
    log::error(request.method + ": " + e.what());
  }
}

void Dispatcher::handle(Notification note) {
  const bool is_exit = note.method == "exit";
  if (state_ != State::kRunning && !is_exit) {
    log::info("dropping notification " + note.method + (state_ == State::kUninitialized ? " before initialize" : " after shutdown"));
    return;
  }
  auto it = notifications_.find(note.method);
  if (it == notifications_.end()) {
    // "$/" notifications are optional by LSP rules; others are worth a note.
    if (note.method.rfind("$/", 0) != 0) log::warn("unknown notification: " + note.method);
    return;
  }
  try {
    it->second(note.params);
  } catch (const std::exception& e) {
    log::error(note.method + ": " + e.what());
  }
}

}  // namespace subcell::rpc

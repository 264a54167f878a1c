// Dispatcher: routes parsed messages to handlers, with LSP lifecycle rules.
//
// Every method is one line in a bind table (server/handlers.cpp). Requests
// before `initialize` get ServerNotInitialized; after `shutdown`, every
// request gets InvalidRequest and only `exit` is acted on. Errors a client
// caused are answered here and never reach a handler. Loop thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rpc/json.h"
#include "rpc/message.h"
#include "rpc/reply.h"

namespace subcell::rpc {

class Dispatcher {
 public:
  using RequestHandler = std::function<void(const Json& params, Reply reply)>;
  using NotificationHandler = std::function<void(const Json& params)>;

  enum class State { kUninitialized, kRunning, kShutDown };

  explicit Dispatcher(Outgoing& out) : out_(out) {}

  using ResponseHandler = std::function<void(Response response)>;

  void on_request(std::string method, RequestHandler handler);
  void on_notification(std::string method, NotificationHandler handler);
  // Responses from the client to requests the server sent.
  void on_response(ResponseHandler handler) { responses_ = std::move(handler); }

  // Handles one frame body.
  void dispatch(std::string_view body);
  void dispatch(Message message);

  // Answers a message that could not be parsed or framed.
  void reject(const BadMessage& bad);

  State state() const { return state_; }

 private:
  void handle(Request request);
  void handle(Notification notification);

  Outgoing& out_;
  State state_ = State::kUninitialized;
  std::unordered_map<std::string, RequestHandler> requests_;
  std::unordered_map<std::string, NotificationHandler> notifications_;
  ResponseHandler responses_;
};

}  // namespace subcell::rpc

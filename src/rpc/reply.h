// Reply: answers one JSON-RPC request exactly once.
//
// Handlers receive a Reply and may call it later (a cell's result comes
// back from its session). A Reply destroyed without being called answers
// InternalError, so a forgotten path can never leave a client waiting; a
// second call is logged and dropped.
#pragma once

#include <string>

#include "rpc/json.h"
#include "support/result.h"

namespace subcell::rpc {

// Where the rpc layer writes messages. Implemented by the server.
class Outgoing {
 public:
  virtual ~Outgoing() = default;
  virtual void send(const Json& message) = 0;
};

class Reply {
 public:
  Reply(Json id, std::string method, Outgoing& out);
  ~Reply();
  Reply(Reply&& other) noexcept;
  Reply& operator=(Reply&& other) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  // Sends `result`, or an error response when it holds an Error.
  void operator()(Result<Json> result);

  const Json& id() const { return id_; }
  const std::string& method() const { return method_; }
  bool pending() const { return out_ != nullptr; }

 private:
  Json id_;
  std::string method_;
  Outgoing* out_;  // null once replied (or moved from)
};

}  // namespace subcell::rpc

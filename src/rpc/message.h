// JSON-RPC 2.0 envelopes: parsing a frame body into a request, a
// notification or a response, and building replies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "rpc/json.h"
#include "support/result.h"

namespace subcell::rpc {

struct Request {
  Json id;  // integer or string
  std::string method;
  Json params;  // object, array or null when absent
};

struct Notification {
  std::string method;
  Json params;
};

// A response from the client to a request the server sent (cell/input).
struct Response {
  Json id;
  Json result;                  // when it succeeded
  std::optional<Error> error;   // when it did not
};

using Message = std::variant<Request, Notification, Response>;

// A message that cannot be handled, with the id to answer it under (null
// when none could be read).
struct BadMessage {
  int code;
  std::string message;
  Json id;
};

// Parses one frame body. Never throws.
std::variant<Message, BadMessage> parse_message(std::string_view body);

// Reads the top-level "id" from the start of a body that is not valid (or
// not complete) JSON, so that its error can still be routed to the request.
Json sniff_request_id(std::string_view body_prefix);

Json make_result(const Json& id, Json result);
Json make_error(const Json& id, int code, std::string_view message);
Json make_notification(std::string_view method, Json params);

}  // namespace subcell::rpc

// Channel values as JSON (protocol/README.md, "Channels"): what
// `channel/send`, `channel/recv` and `channel/message` carry between the
// server and its client, and between a worker's sessions and the server's
// registry.
//
//   "data": "text"            a str
//   "base64": "..."           bytes (a buffer arrives as bytes too)
//   "value": <XiValue>        anything a channel carries:
//      null, true/false, 12 (int), 1.5 (float), "text" (str), [..] (tuple),
//      {"bytes": b64}, {"buffer": b64}, {"int": "0x1f..."} (any size),
//      {"float": "nan"|"inf"|"-inf"}, {"channel": 7, "end": "send"|"recv"}
#pragma once

#include <string>

#include "rpc/json.h"
#include "support/result.h"
#include "xi/backend.h"

namespace subcell::protocol {

// A Value as the "value" JSON. Ends are written as they are; `on_end` (if
// set) is called for each (the server takes a hold for the receiver).
rpc::Json value_json(const xi::Value& value, const std::function<void(const xi::Value&)>& on_end = nullptr);
// The "value" JSON -> a Value. Ends get `make_end(channel, side)` (the
// server: counted as in flight).
Result<xi::Value> value_from_json(const rpc::Json& json,
                                  const std::function<xi::Value(xi::ChannelId, xi::Side)>& make_end);

// For clients: {"data": s} for a str, {"base64": b} for bytes and buffers,
// {"value": ...} for anything else.
rpc::Json message_json(const xi::Value& value, const std::function<void(const xi::Value&)>& on_end = nullptr);
// channel/send's params: exactly one of data, base64, value.
Result<xi::Value> message_from_params(const rpc::Json& params,
                                      const std::function<xi::Value(xi::ChannelId, xi::Side)>& make_end);

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace subcell::protocol

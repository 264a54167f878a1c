// The JSON type of the rpc layer. Only rpc/, protocol/ and server/ include
// this: the session engine and the Python layer never see JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace subcell::rpc {

using Json = nlohmann::json;

// Serializes compactly. Invalid UTF-8 (from a misbehaving cell, say) is
// replaced instead of throwing, so a message can always be sent.
std::string dump(const Json& value);

}  // namespace subcell::rpc

// JSON-RPC error codes: the JSON-RPC 2.0 set, LSP's, and subcell's own
// (implementation-defined range -32099..-32000). protocol/README.md lists
// when each is used.
#pragma once

namespace subcell::rpc {

enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kServerNotInitialized = -32002,
  kRequestCancelled = -32800,
  kUnknownSession = -32010,
  kSessionExists = -32011,
  kSessionStartFailed = -32012,
  kSessionCrashed = -32013,
  kChannelClosed = -32014,
  kSessionBusy = -32015,
};

}  // namespace subcell::rpc

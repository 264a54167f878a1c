// What the server keeps of a session that lives in a worker process, and of
// a request forwarded to a worker (server/remote.cpp). Private to server/.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "server/server.h"

namespace subcell {

struct Server::RemoteSession {
  std::string id;
  Worker* worker = nullptr;
  WorkerKind kind = WorkerKind::kProcess;
  bool closing = false;
  bool killed_for_time = false;
  std::optional<std::uint64_t> cell_limit_ms;
  protocol::SessionOpenParams params;  // as opened, for session/restart
  std::deque<std::int64_t> cells;  // forwarded cell/run ids, oldest (running) first
  UvHandle<uv_timer_t> timer;      // the running cell's hard limit, or the close deadline
};

struct Server::Forwarded {
  Done done;
  std::string session;      // empty for requests to a worker as a whole
  std::string request_key;  // the client's request id as JSON text, for $/cancelRequest
  std::string method;
  bool is_cell = false;
};

}  // namespace subcell

// ServerConnection: `subcell serve` as a child process on two pipes, spoken
// to synchronously. `subcell run` is a client of the server like any editor:
// one engine, one protocol (protocol/README.md).
//
// Single-threaded: send a message, then wait() for the next one from the
// server, or for one of the caller's descriptors (a Ctrl+C pipe, the
// terminal) to become readable, whichever comes first.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "support/result.h"
#include "transport/frame_decoder.h"

namespace subcell {

using Json = nlohmann::json;

class ServerConnection {
 public:
  // Starts `binary args...` with stdin and stdout on pipes and stderr
  // shared. The child gets a process group of its own, so the terminal's
  // Ctrl+C reaches only the client, which turns it into `cell/interrupt`.
  static Result<std::unique_ptr<ServerConnection>> start(const std::string& binary,
                                                         const std::vector<std::string>& args);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Sends a request; returns its id.
  std::int64_t request(std::string_view method, const Json& params);
  void notify(std::string_view method, const Json& params);
  // Answers a request the server sent (`cell/input`).
  void respond(const Json& id, const Json& result);
  void respond_error(const Json& id, int code, std::string_view message);

  enum class Wait {
    kMessage,  // `message` holds the next message from the server
    kWatched,  // one of `watch` is readable (its revents say which)
    kClosed,   // the server closed its output: it exited or is exiting
  };
  Wait wait(Json& message, std::span<pollfd> watch);

  // Closes the server's input (which it takes as `exit`) and waits up to
  // `timeout_ms` for it to leave, then kills it. Its exit status, 128+signal
  // when a signal ended it.
  int finish(int timeout_ms);

 private:
  ServerConnection(pid_t pid, int to_server, int from_server);
  void send(const Json& message);

  pid_t pid_;
  int to_server_;
  int from_server_;
  FrameDecoder decoder_;
  std::int64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace subcell

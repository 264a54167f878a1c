// Upstream: the channel backend of a worker process's sessions.
//
// Channels live in the server's registry, not in a worker: a worker's
// sessions (and their child interpreters) reach them through the protocol
// itself. Each operation is a `channel/*` request from the worker's Server
// to its client, the server (ChannelService answers it), with typed values
// ("value"), channel ids, and a `holder` naming the interpreter; holds are
// `channel/hold` notifications. A blocking call waits for the answer on the
// calling Python thread (its GIL released); an interrupt sends
// `$/cancelRequest` and takes the answer that comes back, which may still
// be a value that was received meanwhile (never lost). Buffers are copied
// across the process boundary.
//
// Calls come from any thread; the requests leave from the worker's loop.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rpc/json.h"
#include "rpc/message.h"
#include "support/uv_handle.h"
#include "xi/backend.h"

namespace subcell {

class Upstream final : public xi::Backend {
 public:
  // Sends a request to the server and routes its answer back (loop thread).
  using Ask = std::function<std::string(std::string_view method, rpc::Json params,
                                        std::function<void(rpc::Response)> answer)>;
  // Sends a notification to the server (loop thread).
  using Notify = std::function<void(std::string_view method, rpc::Json params)>;

  Upstream(uv_loop_t* loop, Ask ask, Notify notify);
  ~Upstream() override;
  // Loop thread, when the connection ends: calls still waiting fail.
  void close();

  xi::OwnerId new_owner(const std::string& label) override;
  void release_owner(xi::OwnerId owner) override;
  Result<xi::ChannelId> create(xi::OwnerId owner) override;
  Result<xi::ChannelId> open(const std::string& name, xi::OwnerId owner) override;
  void hold(xi::ChannelId channel, xi::Side side, xi::OwnerId owner, int delta) override;
  xi::Value end_value(xi::ChannelId channel, xi::Side side) override;
  void adopt_end(const xi::Value& end, xi::OwnerId receiver) override;
  xi::Status send(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value, const xi::Wait& wait) override;
  xi::Status send_nowait(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value) override;
  xi::Status recv(xi::ChannelId channel, xi::OwnerId owner, const xi::Wait& wait, xi::Received& out) override;
  xi::Status recv_nowait(xi::ChannelId channel, xi::OwnerId owner, xi::Received& out) override;
  void close(xi::ChannelId channel) override;
  bool shares_memory() const override { return false; }

 private:
  struct Call;
  struct Outgoing;
  struct Shared;
  // A request and its answer; `stop` ends the wait early (the request is
  // then cancelled, and its answer still awaited briefly).
  Result<rpc::Json> call(std::string_view method, rpc::Json params, std::stop_token stop = {});
  void notify(std::string_view method, rpc::Json params);
  xi::Status send_impl(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value, const xi::Wait* wait);
  xi::Status recv_impl(xi::ChannelId channel, xi::OwnerId owner, const xi::Wait* wait, xi::Received& out);

  std::shared_ptr<Shared> shared_;
  UvHandle<uv_async_t> async_;
  std::atomic<xi::OwnerId> next_owner_{1};
};

}  // namespace subcell

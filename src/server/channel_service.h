// ChannelService: the `channel/*` methods, answered from the process's
// channel registry (xi::Registry) on the server's loop.
//
// Two kinds of callers use the same methods: the client (`channel/open`
// by name, `channel/send` with text or base64, `channel/recv`,
// `channel/close`, and `channel/message` notifications for a client that
// asked to be notified), and the sessions of worker processes, whose
// `subcell` module has no registry of its own and asks this one
// (server/upstream.h), with typed values, channel ids, and `holder`s (the
// interpreter in the worker that holds an end).
//
// Nothing here blocks the loop: waits are the registry's async waits, whose
// callbacks (on whatever thread completed them) queue their answer and wake
// the loop. Deadlines are one timer. Loop thread only, but for those
// callbacks.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpc/json.h"
#include "support/result.h"
#include "support/uv_handle.h"
#include "xi/registry.h"

namespace subcell {

class ChannelService {
 public:
  using Answer = std::function<void(Result<rpc::Json>)>;
  using Notify = std::function<void(rpc::Json message)>;

  ChannelService(uv_loop_t* loop, Notify notify);
  ~ChannelService();
  ChannelService(const ChannelService&) = delete;
  ChannelService& operator=(const ChannelService&) = delete;
  // Closes its loop handles; pending requests are answered as cancelled.
  void close();

  // A request: from the client (`worker` 0) or from a worker (its serial).
  // `key` identifies it for cancel() (the request id as JSON text).
  void request(std::uint64_t worker, std::string_view method, const rpc::Json& params, const std::string& key,
               Answer answer);
  // A worker's `channel/hold` notification.
  void hold(std::uint64_t worker, const rpc::Json& params);
  // $/cancelRequest: a waiting send or recv ends (answered RequestCancelled,
  // or with its value if it was taken meanwhile). False if `key` is not ours.
  bool cancel(std::uint64_t worker, const std::string& key);
  // The worker died: every hold of its interpreters goes, its waits end.
  void forget_worker(std::uint64_t worker);

 private:
  struct Op {
    Answer answer;
    xi::Registry::Handle handle;
    std::uint64_t worker = 0;
    std::string key;
    std::optional<std::uint64_t> deadline;  // uv_now() ms
  };
  struct Done {
    std::uint64_t op = 0;       // 0: a notification to send
    Result<rpc::Json> result = rpc::Json(nullptr);
  };
  // Where the registry's callbacks (any thread) leave their answers; it
  // outlives this service, so a late callback finds it closed, not freed.
  struct Inbox {
    std::mutex mutex;
    std::vector<Done> done;
    uv_async_t* async = nullptr;  // null once closed
    void post(Done d);
  };

  void open(std::uint64_t worker, const rpc::Json& params, Answer answer);
  void send(std::uint64_t worker, const rpc::Json& params, const std::string& key, Answer answer);
  void recv(std::uint64_t worker, const rpc::Json& params, const std::string& key, Answer answer);
  void close_channel(const rpc::Json& params, Answer answer);
  Result<xi::ChannelId> resolve(std::uint64_t worker, const rpc::Json& params, std::string_view method, bool create);
  xi::OwnerId owner_of(std::uint64_t worker, const rpc::Json& params);
  // Registers a waiting send or recv (its answer, cancel key and timeout); its number.
  std::uint64_t add(std::uint64_t worker, const rpc::Json& params, const std::string& key, Answer answer);
  void on_async();
  void arm_timer();
  void on_timer();

  uv_loop_t* loop_;
  Notify notify_;
  xi::Registry& registry_;
  UvHandle<uv_async_t> async_;
  UvHandle<uv_timer_t> timer_;
  bool closed_ = false;

  xi::OwnerId client_;  // the client's holds
  std::set<xi::ChannelId> client_opened_;
  std::set<xi::ChannelId> notifying_;  // channels whose messages go to the client
  std::map<std::pair<std::uint64_t, std::string>, xi::OwnerId> holders_;  // (worker, holder) -> owner
  std::uint64_t next_op_ = 1;
  std::unordered_map<std::uint64_t, Op> ops_;
  std::map<std::pair<std::uint64_t, std::string>, std::uint64_t> by_key_;  // (worker, key) -> op
  std::shared_ptr<Inbox> inbox_;
};

}  // namespace subcell

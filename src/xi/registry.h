// Registry: every channel of the process (the server's), named and
// anonymous, in plain C++.
//
// A channel is a rendezvous: an offer (a sender and its value) waits in the
// channel until a receiver takes it, or a receiver waits until an offer
// comes. Waiters block on their own condition variable (after a short spin
// when the last wait was short), never by polling. Blocking waits end on
// their stop token or deadline; async waits (the server's loop: client
// requests, workers' requests) complete through a callback, which may run
// on any thread, possibly before the call that queued them returns.
//
// A value that borrows the sender's memory (large str/bytes) is consumed
// in place: its sender waits, uninterruptibly but briefly, until the
// receiver signals it has built its copy (Received::done()).
//
// Holds and EOF: see backend.h. Channels are freed when nothing holds
// either end and nothing waits; closing a named channel frees its name.
// Thread-safe. One instance per process, never destroyed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "xi/backend.h"

namespace subcell::xi {

class Registry final : public Backend {
 public:
  // A value was received (`value` non-null, valid during the call), or the
  // operation ended otherwise.
  using Callback = std::function<void(Status, Value* value)>;
  // Delivers what is sent while no receiver waits (a client's notify).
  using Listener = std::function<void(Value& value)>;

  struct Pending;
  using Handle = std::shared_ptr<Pending>;

  static constexpr OwnerId kInFlight = 1;

  static Registry& instance();
  Registry();

  OwnerId new_owner(const std::string& label) override;
  void release_owner(OwnerId owner) override;
  Result<ChannelId> create(OwnerId owner) override;
  Result<ChannelId> open(const std::string& name, OwnerId owner) override;
  void hold(ChannelId channel, Side side, OwnerId owner, int delta) override;
  Value end_value(ChannelId channel, Side side) override;
  void adopt_end(const Value& end, OwnerId receiver) override;
  Status send(ChannelId channel, OwnerId owner, Value&& value, const Wait& wait) override;
  Status send_nowait(ChannelId channel, OwnerId owner, Value&& value) override;
  Status recv(ChannelId channel, OwnerId owner, const Wait& wait, Received& out) override;
  Status recv_nowait(ChannelId channel, OwnerId owner, Received& out) override;
  void close(ChannelId channel) override;
  bool shares_memory() const override { return true; }

  // Async forms, for the server's loop. `done` is called exactly once
  // (perhaps before these return, then the handle is null). The value
  // passed to send_async must own its data.
  Handle send_async(ChannelId channel, OwnerId owner, Value value, bool nowait, Callback done);
  Handle recv_async(ChannelId channel, OwnerId owner, bool nowait, Callback done);
  // Withdraws a waiting async operation: its callback gets `why` now.
  // False when it had already completed (its callback ran or runs).
  bool cancel(const Handle& handle, Status why = Status::kStopped);

  // What is sent on `channel` while no receiver waits goes to `listener`
  // (null: stop). Offers already waiting are delivered at once.
  void set_listener(ChannelId channel, Listener listener);
  // The named channel's id, if it exists and is open.
  std::optional<ChannelId> find(const std::string& name) const;
  bool exists(ChannelId channel) const;

  struct Stats {
    std::size_t channels = 0, named = 0, waiting = 0;
  };
  Stats stats() const;

 private:
  struct Chan;
  std::shared_ptr<Chan> get(ChannelId id) const;
  Result<ChannelId> make(const std::string* name, OwnerId owner);
  void hold_locked(Chan& c, Side side, OwnerId owner, int delta);
  bool abandoned(const Chan& c, Side needed, OwnerId self) const;
  // Wakes waiters whose other side has gone; returns callbacks to run.
  void recheck_locked(Chan& c, std::vector<std::function<void()>>& after);
  void maybe_forget(const std::shared_ptr<Chan>& c);
  Status offer(const std::shared_ptr<Chan>& c, OwnerId owner, Value&& value, const Wait* wait, bool nowait,
               Callback* async, Handle* handle);
  Status take(const std::shared_ptr<Chan>& c, OwnerId owner, const Wait* wait, bool nowait, Received* out,
              Callback* async, Handle* handle);
  Status wait_blocking(const std::shared_ptr<Chan>& c, const Handle& p, const Wait& wait);

  mutable std::mutex mutex_;  // guards channels_, names_, owned_
  std::unordered_map<ChannelId, std::shared_ptr<Chan>> channels_;
  std::unordered_map<std::string, ChannelId> names_;
  std::unordered_map<OwnerId, std::set<ChannelId>> owned_;  // channels each owner holds an end of
  std::atomic<ChannelId> next_channel_{1};
  std::atomic<OwnerId> next_owner_{kInFlight + 1};
};

}  // namespace subcell::xi

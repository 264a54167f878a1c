#include "xi/registry.h"

#include <algorithm>
#include <cstdlib>

#include "support/spin.h"

namespace subcell::xi {

// ---------------------------------------------------------------- pieces

// One side of a rendezvous: an offer (a sender and its value) or a
// receiver. Its state moves only under its channel's lock while it is
// queued; waking goes through its own mutex and condition variable.
struct Registry::Pending final : Completion {
  enum : int {
    kWaiting,    // queued in its channel
    kMatched,    // paired: a receiver's value is in `value`; an offer's value is being consumed
    kDone,       // consumed: the sender may go on
    kClosed,     // the channel closed, or its other side went away
    kCancelled,  // withdrawn by its own waiter (stop, deadline, cancel)
  };

  Side side = Side::kSend;
  OwnerId owner = 0;
  ChannelId channel = 0;
  Value value;
  bool borrowed = false;  // the value points into the sender's memory
  Callback callback;      // set for async operations
  std::mutex m;
  std::condition_variable_any cv;
  std::atomic<int> state{kWaiting};

  void set_state(int s) {
    {
      std::lock_guard lock(m);
      state.store(s);
    }
    cv.notify_all();
  }
  // The receiver has built its copy of a borrowed value.
  void done() override { set_state(kDone); }
};

struct Registry::Chan {
  ChannelId id = 0;
  std::string name;  // empty: anonymous
  std::mutex m;
  bool closed = false;
  std::deque<Handle> offers;
  std::deque<Handle> receivers;
  std::map<OwnerId, int> holds[2];  // by Side: live end objects per owner
  std::set<OwnerId> ever[2];        // owners that ever held that side
  Listener listener;
};

namespace {

// Keeps a side counted as held while an end is in flight.
class InFlight final : public EndHold {
 public:
  InFlight(Registry& registry, ChannelId channel, Side side) : registry_(registry), channel_(channel), side_(side) {
    registry_.hold(channel_, side_, Registry::kInFlight, +1);
  }
  ~InFlight() override { registry_.hold(channel_, side_, Registry::kInFlight, -1); }

 private:
  Registry& registry_;
  ChannelId channel_;
  Side side_;
};

void run_all(std::vector<std::function<void()>>& after) {
  for (auto& f : after) f();
  after.clear();
}

// Spinning before blocking would save the futex wake-up when the other
// side answers within microseconds (two sessions on two idle cores). On the
// shared 2-core machine this was measured on it did not pay: a 60 us spin
// made a ping-pong 7x slower (70 us against 10 us), a 20 us one cut 1 KB
// throughput by 4x, because the spinner holds a CPU the other side needs.
// So waits block at once unless SUBCELL_XI_SPIN_US asks for a spin, which
// then backs off: a spin that ends without the answer makes the next waits
// of this thread block at once, twice as many each time it happens again.
class AdaptiveSpin {
 public:
  bool should_spin() {
    if (limit().count() == 0 || !several_cpus()) return false;
    if (skip_ > 0) {
      --skip_;
      return false;
    }
    return true;
  }
  void spun(bool answered) {
    if (answered) {
      penalty_ = 1;
    } else {
      skip_ = penalty_;
      penalty_ = std::min(penalty_ * 2, 4096);
    }
  }
  static std::chrono::microseconds limit() {
    static const std::chrono::microseconds value = [] {
      const char* env = std::getenv("SUBCELL_XI_SPIN_US");  // for measurements; 0 turns spinning off
      return std::chrono::microseconds(env != nullptr ? std::atoi(env) : 0);
    }();
    return value;
  }

 private:
  int skip_ = 0;
  int penalty_ = 1;
};

thread_local AdaptiveSpin t_spin;

}  // namespace

Backend* g_backend = nullptr;

Backend& backend() { return g_backend != nullptr ? *g_backend : Registry::instance(); }
void set_backend(Backend* b) { g_backend = b; }

// ---------------------------------------------------------------- registry

Registry& Registry::instance() {
  static Registry* registry = new Registry();  // never destroyed: threads may outlive main
  return *registry;
}

Registry::Registry() = default;

OwnerId Registry::new_owner(const std::string& /*label*/) { return next_owner_.fetch_add(1); }

std::shared_ptr<Registry::Chan> Registry::get(ChannelId id) const {
  std::lock_guard lock(mutex_);
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second;
}

bool Registry::exists(ChannelId channel) const { return get(channel) != nullptr; }

std::optional<ChannelId> Registry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

Registry::Stats Registry::stats() const {
  std::lock_guard lock(mutex_);
  Stats s;
  s.channels = channels_.size();
  s.named = names_.size();
  for (const auto& [id, c] : channels_) {
    std::lock_guard cl(c->m);
    s.waiting += c->offers.size() + c->receivers.size();
  }
  return s;
}

Result<ChannelId> Registry::make(const std::string* name, OwnerId owner) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Chan> c;
  if (name != nullptr) {
    if (auto it = names_.find(*name); it != names_.end()) c = channels_.at(it->second);
  }
  if (!c) {
    c = std::make_shared<Chan>();
    c->id = next_channel_.fetch_add(1);
    if (name != nullptr) {
      c->name = *name;
      names_[*name] = c->id;
    }
    channels_.emplace(c->id, c);
  }
  owned_[owner].insert(c->id);
  std::lock_guard cl(c->m);
  hold_locked(*c, Side::kRecv, owner, +1);
  hold_locked(*c, Side::kSend, owner, +1);
  return c->id;
}

Result<ChannelId> Registry::create(OwnerId owner) { return make(nullptr, owner); }

Result<ChannelId> Registry::open(const std::string& name, OwnerId owner) {
  if (name.empty()) return Error{0, "a channel name must not be empty"};
  return make(&name, owner);
}

void Registry::hold_locked(Chan& c, Side side, OwnerId owner, int delta) {
  auto& holds = c.holds[static_cast<int>(side)];
  int& n = holds[owner];
  n += delta;
  if (n <= 0) holds.erase(owner);
  if (delta > 0) c.ever[static_cast<int>(side)].insert(owner);
}

bool Registry::abandoned(const Chan& c, Side needed, OwnerId self) const {
  // Somebody else held the other end, and nobody else holds it now.
  const int i = static_cast<int>(needed);
  const bool others_ever = std::any_of(c.ever[i].begin(), c.ever[i].end(), [&](OwnerId o) { return o != self; });
  if (!others_ever) return false;
  return std::none_of(c.holds[i].begin(), c.holds[i].end(), [&](const auto& h) { return h.first != self; });
}

void Registry::recheck_locked(Chan& c, std::vector<std::function<void()>>& after) {
  auto sweep = [&](std::deque<Handle>& queue, Side needed) {
    std::erase_if(queue, [&](const Handle& p) {
      if (!abandoned(c, needed, p->owner)) return false;
      if (p->callback) {
        p->state.store(Pending::kClosed);
        after.push_back([p] { p->callback(Status::kClosed, nullptr); });
      } else {
        p->set_state(Pending::kClosed);
      }
      return true;
    });
  };
  sweep(c.offers, Side::kRecv);
  sweep(c.receivers, Side::kSend);
}

void Registry::maybe_forget(const std::shared_ptr<Chan>& c) {
  std::lock_guard lock(mutex_);
  std::lock_guard cl(c->m);
  if (!c->holds[0].empty() || !c->holds[1].empty() || !c->offers.empty() || !c->receivers.empty() || c->listener) {
    return;
  }
  if (auto it = channels_.find(c->id); it != channels_.end() && it->second == c) channels_.erase(it);
  if (!c->name.empty()) {
    if (auto it = names_.find(c->name); it != names_.end() && it->second == c->id) names_.erase(it);
  }
}

void Registry::hold(ChannelId channel, Side side, OwnerId owner, int delta) {
  std::shared_ptr<Chan> c;
  {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    c = it->second;
    if (delta > 0) owned_[owner].insert(channel);
  }
  std::vector<std::function<void()>> after;
  {
    std::lock_guard cl(c->m);
    hold_locked(*c, side, owner, delta);
    if (delta < 0) recheck_locked(*c, after);
  }
  run_all(after);
  if (delta < 0) maybe_forget(c);
}

void Registry::release_owner(OwnerId owner) {
  std::set<ChannelId> channels;
  {
    std::lock_guard lock(mutex_);
    auto it = owned_.find(owner);
    if (it == owned_.end()) return;
    channels.swap(it->second);
    owned_.erase(it);
  }
  for (ChannelId id : channels) {
    std::shared_ptr<Chan> c = get(id);
    if (!c) continue;
    std::vector<std::function<void()>> after;
    {
      std::lock_guard cl(c->m);
      c->holds[0].erase(owner);
      c->holds[1].erase(owner);
      recheck_locked(*c, after);
    }
    run_all(after);
    maybe_forget(c);
  }
}

Value Registry::end_value(ChannelId channel, Side side) {
  Value v = Value::end(channel, side);
  v.hold = std::make_shared<InFlight>(*this, channel, side);
  return v;
}

void Registry::adopt_end(const Value& end, OwnerId receiver) { hold(end.channel, end.side, receiver, +1); }

void Registry::close(ChannelId channel) {
  std::shared_ptr<Chan> c;
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    c = it->second;
    if (!c->name.empty()) {
      if (auto n = names_.find(c->name); n != names_.end() && n->second == channel) names_.erase(n);
    }
    std::lock_guard cl(c->m);
    c->closed = true;
    c->listener = nullptr;
    for (auto* queue : {&c->offers, &c->receivers}) {
      for (const Handle& p : *queue) {
        if (p->callback) {
          p->state.store(Pending::kClosed);
          after.push_back([p] { p->callback(Status::kClosed, nullptr); });
        } else {
          p->set_state(Pending::kClosed);
        }
      }
      queue->clear();
    }
  }
  run_all(after);
  maybe_forget(c);
}

void Registry::set_listener(ChannelId channel, Listener listener) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) return;
  std::deque<Handle> offers;
  {
    std::lock_guard cl(c->m);
    if (c->closed) return;
    c->listener = listener;
    if (listener) offers.swap(c->offers);
  }
  for (const Handle& o : offers) {
    listener(o->value);
    if (o->callback) {
      o->state.store(Pending::kDone);
      o->callback(Status::kOk, nullptr);
    } else {
      o->set_state(Pending::kDone);
    }
  }
  if (!listener) maybe_forget(c);
}

// ---------------------------------------------------------------- waiting

Status Registry::wait_blocking(const std::shared_ptr<Chan>& c, const Handle& p, const Wait& wait) {
  if (t_spin.should_spin()) {
    t_spin.spun(spin_until([&] { return p->state.load(std::memory_order_acquire) != Pending::kWaiting; },
                           AdaptiveSpin::limit()));
  }
  if (p->state.load() == Pending::kWaiting) {
    std::unique_lock lock(p->m);
    auto matched = [&] { return p->state.load() != Pending::kWaiting; };
    if (wait.deadline) {
      p->cv.wait_until(lock, wait.stop, *wait.deadline, matched);
    } else {
      p->cv.wait(lock, wait.stop, matched);
    }
  }
  if (p->state.load() == Pending::kWaiting) {
    // Stopped or timed out: withdraw, unless it was matched meanwhile (then
    // the rendezvous happened and must not be lost).
    std::unique_lock cl(c->m);
    if (p->state.load() == Pending::kWaiting) {
      auto& queue = p->side == Side::kSend ? c->offers : c->receivers;
      queue.erase(std::remove(queue.begin(), queue.end(), p), queue.end());
      p->state.store(Pending::kCancelled);
      cl.unlock();
      maybe_forget(c);
      return wait.stop.stop_requested() ? Status::kStopped : Status::kTimeout;
    }
  }
  return p->state.load() == Pending::kClosed ? Status::kClosed : Status::kOk;
}

// ---------------------------------------------------------------- sending

Status Registry::offer(const std::shared_ptr<Chan>& c, OwnerId owner, Value&& value, const Wait* wait, bool nowait,
                       Callback* async, Handle* handle) {
  const bool borrowed = has_borrowed(value);
  Handle receiver;
  Listener listener;
  Status status = Status::kOk;
  Handle queued;
  {
    std::lock_guard cl(c->m);
    if (c->closed) {
      status = Status::kClosed;
    } else if (!c->receivers.empty()) {
      receiver = c->receivers.front();
      c->receivers.pop_front();
      if (receiver->callback) {
        receiver->state.store(Pending::kMatched);
      } else {
        receiver->value = std::move(value);
        receiver->borrowed = borrowed;
        receiver->set_state(Pending::kMatched);
      }
    } else if (c->listener) {
      listener = c->listener;
    } else if (abandoned(*c, Side::kRecv, owner)) {
      status = Status::kClosed;
    } else if (nowait) {
      status = Status::kEmpty;
    } else {
      queued = std::make_shared<Pending>();
      queued->side = Side::kSend;
      queued->owner = owner;
      queued->channel = c->id;
      queued->value = std::move(value);
      queued->borrowed = borrowed;
      if (async != nullptr) queued->callback = std::move(*async);
      c->offers.push_back(queued);
    }
  }

  if (queued) {
    if (async != nullptr) {
      *handle = queued;
      return Status::kOk;
    }
    status = wait_blocking(c, queued, *wait);
    if (status == Status::kOk && queued->borrowed) {
      // Taken; the receiver is building its copy from our memory.
      std::unique_lock lock(queued->m);
      queued->cv.wait(lock, [&] { return queued->state.load() == Pending::kDone; });
    }
    return status;
  }
  if (receiver) {
    if (receiver->callback) {
      receiver->callback(Status::kOk, &value);  // consumes it before returning
    } else if (borrowed) {
      std::unique_lock lock(receiver->m);
      receiver->cv.wait(lock, [&] { return receiver->state.load() == Pending::kDone; });
    }
  } else if (listener) {
    listener(value);
  }
  if (async != nullptr) (*async)(status, nullptr);
  return status;
}

Status Registry::send(ChannelId channel, OwnerId owner, Value&& value, const Wait& wait) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) return Status::kClosed;
  return offer(c, owner, std::move(value), &wait, false, nullptr, nullptr);
}

Status Registry::send_nowait(ChannelId channel, OwnerId owner, Value&& value) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) return Status::kClosed;
  return offer(c, owner, std::move(value), nullptr, true, nullptr, nullptr);
}

Registry::Handle Registry::send_async(ChannelId channel, OwnerId owner, Value value, bool nowait, Callback done) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) {
    done(Status::kClosed, nullptr);
    return nullptr;
  }
  Handle handle;
  offer(c, owner, std::move(value), nullptr, nowait, &done, &handle);
  return handle;
}

// ---------------------------------------------------------------- receiving

Status Registry::take(const std::shared_ptr<Chan>& c, OwnerId owner, const Wait* wait, bool nowait, Received* out,
                      Callback* async, Handle* handle) {
  Handle offer;
  Handle queued;
  Status status = Status::kOk;
  {
    std::lock_guard cl(c->m);
    if (!c->offers.empty()) {
      offer = c->offers.front();
      c->offers.pop_front();
      offer->state.store(Pending::kMatched);
    } else if (c->closed || abandoned(*c, Side::kSend, owner)) {
      status = Status::kClosed;
    } else if (nowait) {
      status = Status::kEmpty;
    } else {
      queued = std::make_shared<Pending>();
      queued->side = Side::kRecv;
      queued->owner = owner;
      queued->channel = c->id;
      if (async != nullptr) queued->callback = std::move(*async);
      c->receivers.push_back(queued);
    }
  }

  if (offer) {
    // The sender learns its value was taken: at once when it owns its
    // data, once we have built our copy when it lent us its memory.
    auto finish_offer = [&] {
      if (offer->callback) {
        offer->state.store(Pending::kDone);
        offer->callback(Status::kOk, nullptr);
      } else {
        offer->set_state(Pending::kDone);
      }
    };
    if (async != nullptr) {
      (*async)(Status::kOk, &offer->value);
      finish_offer();
      return Status::kOk;
    }
    out->value = std::move(offer->value);
    if (offer->borrowed && !offer->callback) {
      out->completion = offer;  // done() wakes the sender
    } else {
      finish_offer();
    }
    return Status::kOk;
  }
  if (queued) {
    if (async != nullptr) {
      *handle = queued;
      return Status::kOk;
    }
    status = wait_blocking(c, queued, *wait);
    if (status == Status::kOk) {
      out->value = std::move(queued->value);
      if (queued->borrowed) {
        out->completion = queued;  // the sender waits for our done()
      } else {
        queued->state.store(Pending::kDone);
      }
    }
    return status;
  }
  if (async != nullptr) (*async)(status, nullptr);
  return status;
}

Status Registry::recv(ChannelId channel, OwnerId owner, const Wait& wait, Received& out) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) return Status::kClosed;
  return take(c, owner, &wait, false, &out, nullptr, nullptr);
}

Status Registry::recv_nowait(ChannelId channel, OwnerId owner, Received& out) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) return Status::kClosed;
  return take(c, owner, nullptr, true, &out, nullptr, nullptr);
}

Registry::Handle Registry::recv_async(ChannelId channel, OwnerId owner, bool nowait, Callback done) {
  std::shared_ptr<Chan> c = get(channel);
  if (!c) {
    done(Status::kClosed, nullptr);
    return nullptr;
  }
  Handle handle;
  take(c, owner, nullptr, nowait, nullptr, &done, &handle);
  return handle;
}

bool Registry::cancel(const Handle& p, Status why) {
  if (!p) return false;
  std::shared_ptr<Chan> c = get(p->channel);
  if (!c) return false;
  {
    std::unique_lock cl(c->m);
    auto& queue = p->side == Side::kSend ? c->offers : c->receivers;
    auto it = std::find(queue.begin(), queue.end(), p);
    if (it == queue.end()) return false;
    queue.erase(it);
    p->state.store(Pending::kCancelled);
  }
  p->callback(why, nullptr);
  maybe_forget(c);
  return true;
}

}  // namespace subcell::xi

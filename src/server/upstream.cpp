#include "server/upstream.h"

#include <algorithm>
#include <chrono>
#include <deque>

#include "protocol/channel_json.h"
#include "rpc/error_code.h"

namespace subcell {

using rpc::Json;

namespace {

// After an interrupt, how long the answer to the cancelled request may
// take (the server answers at once; this only bounds a lost connection).
constexpr auto kCancelAnswerWait = std::chrono::seconds(5);

// An end made inside this process (a parent handing one to its child):
// the receiver's hold is ours to count. Ends delivered by the server come
// with their hold already taken for the receiver.
class LocalEnd final : public xi::EndHold {};

std::string holder(xi::OwnerId owner) { return std::to_string(owner); }

xi::Status status_of(const Error& e) {
  if (e.code == rpc::kRequestCancelled) return xi::Status::kStopped;
  return xi::Status::kClosed;  // ChannelClosed, or the connection is gone
}

}  // namespace

struct Upstream::Call {
  std::mutex mutex;
  std::condition_variable_any cv;
  bool done = false;
  std::optional<rpc::Response> response;
  std::string id;  // ours, once sent (loop thread)

  void finish(std::optional<rpc::Response> r) {
    {
      std::lock_guard lock(mutex);
      if (done) return;
      response = std::move(r);
      done = true;
    }
    cv.notify_all();
  }
};

struct Upstream::Outgoing {
  enum Kind { kRequest, kNotify, kCancel } kind = kRequest;
  std::string method;
  Json params;
  std::shared_ptr<Call> call;
};

// What the loop and the callers share; callers may outlive the loop.
struct Upstream::Shared {
  std::mutex mutex;
  std::deque<Outgoing> queue;
  std::vector<std::weak_ptr<Call>> in_flight;
  uv_async_t* async = nullptr;  // null once closed
  Ask ask;
  Notify notify;

  bool post(Outgoing out) {
    std::lock_guard lock(mutex);
    if (async == nullptr) return false;
    queue.push_back(std::move(out));
    uv_async_send(async);
    return true;
  }

  void drain() {
    std::deque<Outgoing> items;
    {
      std::lock_guard lock(mutex);
      items.swap(queue);
    }
    for (Outgoing& o : items) {
      switch (o.kind) {
        case Outgoing::kRequest: {
          std::shared_ptr<Call> call = o.call;
          call->id = ask(o.method, std::move(o.params), [call](rpc::Response r) { call->finish(std::move(r)); });
          std::lock_guard lock(mutex);
          std::erase_if(in_flight, [](const std::weak_ptr<Call>& w) { return w.expired(); });
          in_flight.push_back(call);
          break;
        }
        case Outgoing::kNotify: notify(o.method, std::move(o.params)); break;
        case Outgoing::kCancel:
          if (!o.call->id.empty()) notify("$/cancelRequest", Json{{"id", o.call->id}});
          break;
      }
    }
  }
};

Upstream::Upstream(uv_loop_t* loop, Ask ask, Notify notify) : shared_(std::make_shared<Shared>()) {
  shared_->ask = std::move(ask);
  shared_->notify = std::move(notify);
  async_.get()->data = shared_.get();
  uv_async_init(loop, async_.get(), [](uv_async_t* h) { static_cast<Shared*>(h->data)->drain(); });
  async_.mark_initialized();
  shared_->async = async_.get();
}

Upstream::~Upstream() { close(); }

void Upstream::close() {
  std::vector<std::weak_ptr<Call>> calls;
  std::deque<Outgoing> unsent;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->async == nullptr) return;
    shared_->async = nullptr;
    calls.swap(shared_->in_flight);
    unsent.swap(shared_->queue);
  }
  for (auto& w : calls) {
    if (auto c = w.lock()) c->finish(std::nullopt);
  }
  for (auto& o : unsent) {
    if (o.call) o.call->finish(std::nullopt);
  }
  async_.close();
}

Result<Json> Upstream::call(std::string_view method, Json params, std::stop_token stop) {
  auto c = std::make_shared<Call>();
  if (!shared_->post(Outgoing{Outgoing::kRequest, std::string(method), std::move(params), c})) {
    return Error{rpc::kInternalError, "the connection to the server is closed"};
  }
  {
    std::unique_lock lock(c->mutex);
    c->cv.wait(lock, stop, [&] { return c->done; });
    if (!c->done) {
      // Interrupted: withdraw it, then take whatever answer comes (a value
      // received meanwhile must not be lost).
      lock.unlock();
      shared_->post(Outgoing{Outgoing::kCancel, {}, nullptr, c});
      lock.lock();
      if (!c->cv.wait_for(lock, kCancelAnswerWait, [&] { return c->done; })) {
        return Error{rpc::kRequestCancelled, "cancelled (the server did not answer)"};
      }
    }
  }
  if (!c->response) return Error{rpc::kInternalError, "the connection to the server closed"};
  if (c->response->error) return *c->response->error;
  return std::move(c->response->result);
}

void Upstream::notify(std::string_view method, Json params) {
  shared_->post(Outgoing{Outgoing::kNotify, std::string(method), std::move(params), nullptr});
}

// ---------------------------------------------------------------- owners and holds

xi::OwnerId Upstream::new_owner(const std::string& /*label*/) { return next_owner_.fetch_add(1); }

void Upstream::release_owner(xi::OwnerId owner) { notify("channel/hold", Json{{"holder", holder(owner)}, {"release", true}}); }

Result<xi::ChannelId> Upstream::create(xi::OwnerId owner) {
  auto r = call("channel/open", Json{{"holder", holder(owner)}});
  if (!r) return r.error();
  return r.value().value("channel", xi::ChannelId{0});
}

Result<xi::ChannelId> Upstream::open(const std::string& name, xi::OwnerId owner) {
  auto r = call("channel/open", Json{{"name", name}, {"holder", holder(owner)}});
  if (!r) return r.error();
  return r.value().value("channel", xi::ChannelId{0});
}

void Upstream::hold(xi::ChannelId channel, xi::Side side, xi::OwnerId owner, int delta) {
  notify("channel/hold",
         Json{{"holder", holder(owner)}, {"channel", channel}, {"side", xi::side_name(side)}, {"delta", delta}});
}

xi::Value Upstream::end_value(xi::ChannelId channel, xi::Side side) {
  xi::Value v = xi::Value::end(channel, side);
  v.hold = std::make_shared<LocalEnd>();
  return v;
}

void Upstream::adopt_end(const xi::Value& end, xi::OwnerId receiver) {
  if (dynamic_cast<LocalEnd*>(end.hold.get()) != nullptr) hold(end.channel, end.side, receiver, +1);
}

void Upstream::close(xi::ChannelId channel) { (void)call("channel/close", Json{{"channel", channel}}); }

// ---------------------------------------------------------------- send and receive

namespace {

void add_wait(Json& params, const xi::Wait* wait) {
  if (wait == nullptr) {
    params["nowait"] = true;
  } else if (wait->deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*wait->deadline -
                                                                            std::chrono::steady_clock::now());
    params["timeoutMs"] = std::max<std::int64_t>(0, left.count());
  }
}

}  // namespace

xi::Status Upstream::send_impl(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value, const xi::Wait* wait) {
  Json params{{"channel", channel}, {"holder", holder(owner)}, {"value", protocol::value_json(value)}};
  value = xi::Value{};  // a lent buffer goes back now: its bytes are in the request
  add_wait(params, wait);
  auto r = call("channel/send", std::move(params), wait != nullptr ? wait->stop : std::stop_token{});
  if (!r) return status_of(r.error());
  if (r.value().value("sent", false)) return xi::Status::kOk;
  return wait == nullptr ? xi::Status::kEmpty : xi::Status::kTimeout;
}

xi::Status Upstream::send(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value, const xi::Wait& wait) {
  return send_impl(channel, owner, std::move(value), &wait);
}

xi::Status Upstream::send_nowait(xi::ChannelId channel, xi::OwnerId owner, xi::Value&& value) {
  return send_impl(channel, owner, std::move(value), nullptr);
}

xi::Status Upstream::recv_impl(xi::ChannelId channel, xi::OwnerId owner, const xi::Wait* wait, xi::Received& out) {
  Json params{{"channel", channel}, {"holder", holder(owner)}};
  add_wait(params, wait);
  auto r = call("channel/recv", std::move(params), wait != nullptr ? wait->stop : std::stop_token{});
  if (!r) return status_of(r.error());
  const Json& result = r.value();
  if (result.value("timedOut", false)) return xi::Status::kTimeout;
  if (result.value("empty", false)) return xi::Status::kEmpty;
  auto v = protocol::value_from_json(result.value("value", Json(nullptr)),
                                     [](xi::ChannelId c, xi::Side s) { return xi::Value::end(c, s); });
  if (!v) return xi::Status::kClosed;
  out.value = std::move(*v);
  return xi::Status::kOk;
}

xi::Status Upstream::recv(xi::ChannelId channel, xi::OwnerId owner, const xi::Wait& wait, xi::Received& out) {
  return recv_impl(channel, owner, &wait, out);
}

xi::Status Upstream::recv_nowait(xi::ChannelId channel, xi::OwnerId owner, xi::Received& out) {
  return recv_impl(channel, owner, nullptr, out);
}

}  // namespace subcell

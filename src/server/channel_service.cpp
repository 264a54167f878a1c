#include "server/channel_service.h"

#include "protocol/channel_json.h"
#include "rpc/error_code.h"
#include "rpc/message.h"
#include "support/log.h"

namespace subcell {

using rpc::Json;

namespace {

ChannelService* from(uv_handle_t* h) { return static_cast<ChannelService*>(h->data); }

Error params_error(std::string_view method, const std::string& what) {
  return Error{rpc::kInvalidParams, std::string(method) + ": " + what};
}

Error closed_error(xi::ChannelId id) {
  return Error{rpc::kChannelClosed,
               "channel " + std::to_string(id) + " is closed, or nobody else holds its other end any more"};
}

std::optional<std::int64_t> timeout_ms(const Json& params) {
  auto t = params.find("timeoutMs");
  if (t == params.end() || !t->is_number_integer() || t->get<std::int64_t>() < 0) return std::nullopt;
  return t->get<std::int64_t>();
}

bool flag(const Json& params, const char* name) {
  auto f = params.find(name);
  return f != params.end() && f->is_boolean() && f->get<bool>();
}

}  // namespace

void ChannelService::Inbox::post(Done d) {
  std::lock_guard lock(mutex);
  if (async == nullptr) return;  // closed: nobody is waiting for it
  done.push_back(std::move(d));
  uv_async_send(async);
}

ChannelService::ChannelService(uv_loop_t* loop, Notify notify)
    : loop_(loop), notify_(std::move(notify)), registry_(xi::Registry::instance()), inbox_(std::make_shared<Inbox>()) {
  client_ = registry_.new_owner("client");
  async_.get()->data = this;
  uv_async_init(loop_, async_.get(), [](uv_async_t* h) { from(reinterpret_cast<uv_handle_t*>(h))->on_async(); });
  async_.mark_initialized();
  timer_.get()->data = this;
  uv_timer_init(loop_, timer_.get());
  timer_.mark_initialized();
  inbox_->async = async_.get();
}

ChannelService::~ChannelService() { close(); }

void ChannelService::close() {
  if (closed_) return;
  closed_ = true;
  for (xi::ChannelId id : notifying_) registry_.set_listener(id, nullptr);
  notifying_.clear();
  // Withdraw every wait; the registry calls back, the inbox is still open.
  std::vector<xi::Registry::Handle> handles;
  for (auto& [id, op] : ops_) handles.push_back(op.handle);
  for (auto& h : handles) registry_.cancel(h, xi::Status::kStopped);
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->async = nullptr;
  }
  for (auto& [id, op] : ops_) op.answer(Error{rpc::kRequestCancelled, "the server is closing"});
  ops_.clear();
  by_key_.clear();
  registry_.release_owner(client_);
  for (auto& [key, owner] : holders_) registry_.release_owner(owner);
  holders_.clear();
  async_.close();
  timer_.close();
}

// ---------------------------------------------------------------- requests

void ChannelService::request(std::uint64_t worker, std::string_view method, const Json& params,
                             const std::string& key, Answer answer) {
  if (closed_) return answer(Error{rpc::kRequestCancelled, "the server is closing"});
  if (!params.is_object()) return answer(params_error(method, "params: expected an object"));
  if (method == "channel/open") return open(worker, params, std::move(answer));
  if (method == "channel/send") return send(worker, params, key, std::move(answer));
  if (method == "channel/recv") return recv(worker, params, key, std::move(answer));
  if (method == "channel/close") return close_channel(params, std::move(answer));
  answer(Error{rpc::kMethodNotFound, "unknown method: " + std::string(method)});
}

xi::OwnerId ChannelService::owner_of(std::uint64_t worker, const Json& params) {
  if (worker == 0) return client_;
  auto h = params.find("holder");
  const std::string holder = h != params.end() && h->is_string() ? h->get<std::string>() : std::string("worker");
  auto [it, added] = holders_.try_emplace({worker, holder}, 0);
  if (added) it->second = registry_.new_owner("worker " + std::to_string(worker) + " " + holder);
  return it->second;
}

Result<xi::ChannelId> ChannelService::resolve(std::uint64_t worker, const Json& params, std::string_view method,
                                              bool create) {
  auto id = params.find("channel");
  if (id != params.end()) {
    if (!id->is_number_unsigned()) return params_error(method, "params.channel: expected a channel id");
    return id->get<xi::ChannelId>();
  }
  auto name = params.find("name");
  if (name == params.end() || !name->is_string() || name->get<std::string>().empty() ||
      name->get<std::string>().size() > 256) {
    return params_error(method, "params.name: expected a channel name (1 to 256 characters), or params.channel");
  }
  const std::string n = name->get<std::string>();
  if (auto found = registry_.find(n)) {
    if (worker == 0 && client_opened_.insert(*found).second) {
      registry_.hold(*found, xi::Side::kRecv, client_, +1);
      registry_.hold(*found, xi::Side::kSend, client_, +1);
    }
    return *found;
  }
  if (!create) return Error{rpc::kChannelClosed, std::string(method) + ": no open channel named '" + n + "'"};
  // Used by name before being opened: opened for the caller.
  auto opened = registry_.open(n, owner_of(worker, params));
  if (opened && worker == 0) client_opened_.insert(*opened);
  return opened;
}

void ChannelService::open(std::uint64_t worker, const Json& params, Answer answer) {
  const xi::OwnerId owner = owner_of(worker, params);
  auto name = params.find("name");
  Result<xi::ChannelId> id = Error{};
  if (name == params.end()) {
    id = registry_.create(owner);  // an anonymous channel (workers' create_channel())
  } else if (!name->is_string() || name->get<std::string>().empty() || name->get<std::string>().size() > 256) {
    return answer(params_error("channel/open", "params.name: expected a channel name (1 to 256 characters)"));
  } else if (worker == 0) {
    if (auto found = registry_.find(name->get<std::string>()); found && client_opened_.count(*found) != 0) {
      id = *found;  // the client holds it already
    } else {
      id = registry_.open(name->get<std::string>(), owner);
      if (id) client_opened_.insert(*id);
    }
  } else {
    id = registry_.open(name->get<std::string>(), owner);
  }
  if (!id) return answer(Error{rpc::kInvalidParams, "channel/open: " + id.error().message});
  Json result{{"channel", *id}};
  if (name != params.end()) result["name"] = *name;
  if (worker == 0 && flag(params, "notify") && notifying_.insert(*id).second) {
    // The client receives what no session is waiting for.
    std::weak_ptr<Inbox> inbox = inbox_;
    const xi::ChannelId channel = *id;
    const Json label = name != params.end() ? *name : Json(nullptr);
    const xi::OwnerId client = client_;
    registry_.set_listener(channel, [inbox, channel, label, client](xi::Value& v) {
      Json params = protocol::message_json(v, [&](const xi::Value& end) { xi::Registry::instance().adopt_end(end, client); });
      params["channel"] = channel;
      if (!label.is_null()) params["name"] = label;
      if (auto in = inbox.lock()) in->post(Done{0, rpc::make_notification("channel/message", std::move(params))});
    });
  }
  answer(std::move(result));
}

void ChannelService::send(std::uint64_t worker, const Json& params, const std::string& key, Answer answer) {
  auto id = resolve(worker, params, "channel/send", true);
  if (!id) return answer(id.error());
  auto value = protocol::message_from_params(
      params, [&](xi::ChannelId c, xi::Side s) { return registry_.end_value(c, s); });
  if (!value) return answer(value.error());
  const xi::ChannelId channel = *id;
  const std::uint64_t n = add(worker, params, key, std::move(answer));
  std::weak_ptr<Inbox> inbox = inbox_;
  auto handle = registry_.send_async(channel, owner_of(worker, params), std::move(*value), flag(params, "nowait"),
                                     [inbox, n, channel](xi::Status s, xi::Value*) {
                                       Done d{n, Json(nullptr)};
                                       switch (s) {
                                         case xi::Status::kOk: d.result = Json{{"sent", true}}; break;
                                         case xi::Status::kEmpty:
                                         case xi::Status::kTimeout: d.result = Json{{"sent", false}}; break;
                                         case xi::Status::kStopped:
                                           d.result = Error{rpc::kRequestCancelled, "channel/send: cancelled"};
                                           break;
                                         case xi::Status::kClosed: d.result = closed_error(channel); break;
                                       }
                                       if (auto in = inbox.lock()) in->post(std::move(d));
                                     });
  if (auto it = ops_.find(n); it != ops_.end()) it->second.handle = std::move(handle);
  arm_timer();
}

void ChannelService::recv(std::uint64_t worker, const Json& params, const std::string& key, Answer answer) {
  auto id = resolve(worker, params, "channel/recv", true);
  if (!id) return answer(id.error());
  const xi::ChannelId channel = *id;
  const xi::OwnerId owner = owner_of(worker, params);
  const std::uint64_t n = add(worker, params, key, std::move(answer));
  std::weak_ptr<Inbox> inbox = inbox_;
  const bool typed = worker != 0;  // workers get every value typed
  auto handle = registry_.recv_async(
      channel, owner, flag(params, "nowait"), [inbox, n, channel, owner, typed](xi::Status s, xi::Value* v) {
        Done d{n, Json(nullptr)};
        // A received end becomes the receiver's before its in-flight hold goes.
        auto adopt = [owner](const xi::Value& end) { xi::Registry::instance().adopt_end(end, owner); };
        switch (s) {
          case xi::Status::kOk:
            d.result = typed ? Json{{"value", protocol::value_json(*v, adopt)}} : protocol::message_json(*v, adopt);
            break;
          case xi::Status::kEmpty: d.result = Json{{"empty", true}}; break;
          case xi::Status::kTimeout: d.result = Json{{"timedOut", true}}; break;
          case xi::Status::kStopped: d.result = Error{rpc::kRequestCancelled, "channel/recv: cancelled"}; break;
          case xi::Status::kClosed: d.result = closed_error(channel); break;
        }
        if (auto in = inbox.lock()) in->post(std::move(d));
      });
  if (auto it = ops_.find(n); it != ops_.end()) it->second.handle = std::move(handle);
  arm_timer();
}

void ChannelService::close_channel(const Json& params, Answer answer) {
  auto id = params.find("channel");
  std::optional<xi::ChannelId> channel;
  if (id != params.end() && id->is_number_unsigned()) {
    channel = id->get<xi::ChannelId>();
  } else if (auto name = params.find("name"); name != params.end() && name->is_string()) {
    channel = registry_.find(name->get<std::string>());
  } else {
    return answer(params_error("channel/close", "params.name: expected a channel name, or params.channel"));
  }
  if (channel) {
    registry_.close(*channel);
    notifying_.erase(*channel);
  }
  answer(Json(nullptr));
}

void ChannelService::hold(std::uint64_t worker, const Json& params) {
  if (closed_ || !params.is_object()) return;
  const xi::OwnerId owner = owner_of(worker, params);
  if (flag(params, "release")) {
    registry_.release_owner(owner);
    const std::string holder = params.value("holder", std::string("worker"));
    holders_.erase({worker, holder});
    return;
  }
  auto channel = params.find("channel");
  auto side = params.find("side");
  auto delta = params.find("delta");
  if (channel == params.end() || !channel->is_number_unsigned() || side == params.end() || !side->is_string() ||
      delta == params.end() || !delta->is_number_integer()) {
    log::warn("channel/hold from a worker without channel, side and delta: " + params.dump());
    return;
  }
  registry_.hold(channel->get<xi::ChannelId>(), *side == "send" ? xi::Side::kSend : xi::Side::kRecv, owner,
                 static_cast<int>(delta->get<std::int64_t>()));
}

bool ChannelService::cancel(std::uint64_t worker, const std::string& key) {
  auto it = by_key_.find({worker, key});
  if (it == by_key_.end()) return false;
  auto op = ops_.find(it->second);
  if (op != ops_.end()) registry_.cancel(op->second.handle, xi::Status::kStopped);
  return true;
}

void ChannelService::forget_worker(std::uint64_t worker) {
  std::vector<xi::Registry::Handle> handles;
  for (auto& [id, op] : ops_) {
    if (op.worker == worker) handles.push_back(op.handle);
  }
  for (auto& h : handles) registry_.cancel(h, xi::Status::kStopped);
  for (auto it = holders_.begin(); it != holders_.end();) {
    if (it->first.first != worker) {
      ++it;
      continue;
    }
    registry_.release_owner(it->second);
    it = holders_.erase(it);
  }
}

// ---------------------------------------------------------------- the loop

std::uint64_t ChannelService::add(std::uint64_t worker, const Json& params, const std::string& key, Answer answer) {
  Op op;
  op.answer = std::move(answer);
  op.worker = worker;
  op.key = key;
  if (auto ms = timeout_ms(params)) op.deadline = uv_now(loop_) + static_cast<std::uint64_t>(*ms);
  const std::uint64_t n = next_op_++;
  if (!op.key.empty()) by_key_[{op.worker, op.key}] = n;
  ops_.emplace(n, std::move(op));
  return n;
}

void ChannelService::on_async() {
  std::vector<Done> done;
  {
    std::lock_guard lock(inbox_->mutex);
    done.swap(inbox_->done);
  }
  for (Done& d : done) {
    if (d.op == 0) {
      if (d.result) notify_(std::move(d.result).value());
      continue;
    }
    auto it = ops_.find(d.op);
    if (it == ops_.end()) continue;
    Op op = std::move(it->second);
    ops_.erase(it);
    if (!op.key.empty()) by_key_.erase({op.worker, op.key});
    op.answer(std::move(d.result));
  }
}

void ChannelService::arm_timer() {
  std::optional<std::uint64_t> next;
  for (const auto& [id, op] : ops_) {
    if (op.deadline && (!next || *op.deadline < *next)) next = op.deadline;
  }
  if (!next) {
    uv_timer_stop(timer_.get());
    return;
  }
  const std::uint64_t now = uv_now(loop_);
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { from(reinterpret_cast<uv_handle_t*>(t))->on_timer(); },
      *next > now ? *next - now : 0, 0);
}

void ChannelService::on_timer() {
  const std::uint64_t now = uv_now(loop_);
  std::vector<xi::Registry::Handle> due;
  for (auto& [id, op] : ops_) {
    if (op.deadline && *op.deadline <= now) {
      op.deadline.reset();
      due.push_back(op.handle);
    }
  }
  for (auto& h : due) registry_.cancel(h, xi::Status::kTimeout);
  arm_timer();
}

}  // namespace subcell

#include "sessions/children.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "python/child_host.h"
#include "python/runtime.h"
#include "sessions/output_sink.h"
#include "support/log.h"

namespace subcell {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kChildPool = 1;
// A child closes well within its parent's close grace (2 s by default).
constexpr auto kChildCloseGrace = std::chrono::milliseconds(500);
constexpr auto kCloseSlack = std::chrono::milliseconds(500);
constexpr int kStopped = 1;  // py::ChildHost: an error that means "interrupted"

// Writes to a parent's output from a thread that holds no GIL.
class PlainWaiter final : public py::Waiter {
 public:
  explicit PlainWaiter(std::stop_token stop) : stop_(std::move(stop)) {}
  void release_gil() override {}
  void reacquire_gil() override {}
  std::stop_token stop_token() override { return stop_; }

 private:
  std::stop_token stop_;
};

// One child session and what ties it to its parent.
struct Child {
  std::unique_ptr<Session> session;
  std::mutex drain_mutex;  // one drainer at a time keeps the output in order
  bool line_start[2] = {true, true};

  std::mutex mutex;
  std::condition_variable cv;
  py::SessionIo* parent_io = nullptr;  // null while pooled
  std::string id;
  bool ready = false;
  std::optional<std::string> start_error;
  bool closed = false;
  int runs = 0;
  std::stop_source stop;  // ends a write to the parent blocked on backpressure

  void drain();
  void write(Stream stream, std::string_view text);
};

// The listener of every child session: routes events to their Child.
class Router final : public SessionListener {
 public:
  static Router& instance() {
    static Router* router = new Router();  // outlives every session thread
    return *router;
  }
  void add(const std::shared_ptr<Child>& child) {
    std::lock_guard lock(mutex_);
    children_[child->session->serial] = child;
  }
  void remove(std::uint64_t serial) {
    std::lock_guard lock(mutex_);
    children_.erase(serial);
  }
  std::shared_ptr<Child> find(std::uint64_t serial) {
    std::lock_guard lock(mutex_);
    auto it = children_.find(serial);
    return it == children_.end() ? nullptr : it->second;
  }
  void on_session_events(Session& session, bool /*urgent*/) override {
    if (std::shared_ptr<Child> child = find(session.serial)) child->drain();
  }

 private:
  std::mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<Child>> children_;
};

std::shared_ptr<Child> start_child(bool warm) {
  auto child = std::make_shared<Child>();
  SessionOptions options;
  options.channel_bytes = 256u << 10;
  options.warm = warm;
  options.close_grace = kChildCloseGrace;
  child->session = std::make_unique<Session>(Router::instance(), options);
  Router::instance().add(child);
  // SessionReady may have been posted before the Router knew it.
  child->drain();
  return child;
}

void Child::write(Stream stream, std::string_view text) {
  py::SessionIo* io = nullptr;
  std::string label;
  {
    std::lock_guard lock(mutex);
    io = parent_io;
    label = "[" + id + "] ";
  }
  if (io == nullptr) {
    log::info("output of a pooled child interpreter: " + std::string(text.substr(0, 2000)));
    return;
  }
  bool& at_start = line_start[stream == Stream::kStdout ? 0 : 1];
  std::string out;
  out.reserve(text.size() + label.size() * 2);
  while (!text.empty()) {
    if (at_start) out += label;
    const std::size_t nl = text.find('\n');
    const std::size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    out.append(text.substr(0, n));
    at_start = nl != std::string_view::npos;
    text.remove_prefix(n);
  }
  PlainWaiter waiter(stop.get_token());
  if (io->write(stream, out, waiter) != py::IoStatus::kOk) {
    log::info("output of child interpreter " + label + "dropped: its parent's output is closed");
  }
}

void Child::drain() {
  std::lock_guard order(drain_mutex);
  std::vector<SessionEvent> events;
  if (!session) return;
  session->events().drain(events);
  for (SessionEvent& e : events) {
    if (auto* out = std::get_if<StreamOutput>(&e)) {
      write(out->stream, out->text);
    } else if (auto* shown = std::get_if<DisplayOutput>(&e)) {
      for (const MimeEntry& m : shown->data) {
        if (m.mime == "text/plain") write(Stream::kStdout, m.data + "\n");
      }
    } else if (auto* ready = std::get_if<SessionReady>(&e)) {
      std::lock_guard lock(mutex);
      this->ready = true;
      start_error = ready->error;
      cv.notify_all();
    } else if (auto* input = std::get_if<InputRequest>(&e)) {
      // input() in a child: nobody types into a child interpreter.
      session->answer_input(input->id, {py::InputReply::Status::kUnsupported,
                                        "input() is not available in a child interpreter (" + id +
                                            "): pass what it needs through a channel or run(channels=...)"});
    } else if (std::holds_alternative<SessionClosed>(e)) {
      std::lock_guard lock(mutex);
      closed = true;
      cv.notify_all();
    }
  }
}

// Waits on a child's condition for `pred`, giving up on `stop` or at `until`.
template <typename Pred>
bool wait_child(Child& c, std::stop_token stop, std::optional<Clock::time_point> until, Pred pred) {
  // Registered before the lock is taken: it may run at once.
  std::stop_callback wake(stop, [&] {
    std::lock_guard l(c.mutex);
    c.cv.notify_all();
  });
  std::unique_lock lock(c.mutex);
  auto done = [&] { return pred() || stop.stop_requested(); };
  if (until) {
    c.cv.wait_until(lock, *until, done);
  } else {
    c.cv.wait(lock, done);
  }
  return pred();
}

// Sessions that could not be ended (parked, abandoned): kept forever.
void keep_forever(std::unique_ptr<Session> session) { (void)session.release(); }

// Ends the child sessions given: all begin at once, then each is waited for.
void close_children(std::vector<std::shared_ptr<Child>> children) {
  for (auto& c : children) {
    c->stop.request_stop();
    if (c->session) c->session->begin_close();
  }
  const auto until = Clock::now() + kChildCloseGrace + kCloseSlack;
  for (auto& c : children) {
    if (!c->session) continue;
    const bool closed = wait_child(*c, {}, until, [&] { return c->closed; });
    const std::uint64_t serial = c->session->serial;
    Router::instance().remove(serial);  // no more draining: what it still says goes nowhere
    std::lock_guard drained(c->drain_mutex);
    if (!closed) {
      log::warn("child interpreter " + c->id + " did not close in time; abandoned");
      c->session->abandon();
      py::Runtime::mark_unclean();
      keep_forever(std::move(c->session));
    } else {
      c->session->join();
      if (c->session->parked()) {
        keep_forever(std::move(c->session));
      } else {
        c->session.reset();
      }
    }
  }
}

// The warm children: filled only once a session has asked for a child.
class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = new Pool();
    return *pool;
  }
  void close() {
    std::vector<std::shared_ptr<Child>> warm;
    {
      std::lock_guard lock(mutex_);
      warm.assign(warm_.begin(), warm_.end());
      warm_.clear();
      closed_ = true;
    }
    if (!warm.empty()) close_children(std::move(warm));
  }
  std::shared_ptr<Child> take() {
    std::shared_ptr<Child> child;
    {
      std::lock_guard lock(mutex_);
      while (!warm_.empty() && !child) {
        child = std::move(warm_.front());
        warm_.pop_front();
        std::lock_guard cl(child->mutex);
        if (child->closed || child->start_error) child = nullptr;
      }
    }
    if (!child) child = start_child(false);
    refill();
    return child;
  }

 private:
  void refill() {
    std::lock_guard lock(mutex_);
    while (!closed_ && warm_.size() < kChildPool) warm_.push_back(start_child(true));
  }
  std::mutex mutex_;
  std::deque<std::shared_ptr<Child>> warm_;
  bool closed_ = false;
};

// ---------------------------------------------------------------- runs

class Run final : public py::ChildRun {
 public:
  Run(std::shared_ptr<Child> child, JobId token) : child_(std::move(child)), token_(token) {}

  bool wait(std::stop_token stop, std::optional<Clock::time_point> deadline) override {
    std::stop_callback wake(stop, [&] {
      std::lock_guard l(mutex_);
      cv_.notify_all();
    });
    std::unique_lock lock(mutex_);
    auto over = [&] { return finished_ || stop.stop_requested(); };
    if (deadline) {
      cv_.wait_until(lock, *deadline, over);
    } else {
      cv_.wait(lock, over);
    }
    return finished_;
  }
  bool done() const override {
    std::lock_guard lock(mutex_);
    return finished_;
  }
  py::ChildResult take() override {
    std::lock_guard lock(mutex_);
    return std::move(result_);
  }
  void interrupt() override {
    if (child_->session) child_->session->interrupt(token_);
  }
  void finish(py::ChildResult result) {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      result_ = std::move(result);
      finished_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::shared_ptr<Child> child_;
  const JobId token_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool finished_ = false;
  py::ChildResult result_;
};

// Finishes a run with an error if its job is dropped unrun (the child
// closed first); the job holds the only references.
struct RunGuard {
  explicit RunGuard(std::shared_ptr<Run> r) : run(std::move(r)) {}
  RunGuard(const RunGuard&) = delete;
  RunGuard& operator=(const RunGuard&) = delete;
  std::shared_ptr<Run> run;
  ~RunGuard() {
    py::ChildResult r;
    ErrorInfo& e = r.error.emplace();
    e.type = "RuntimeError";
    e.message = "the child interpreter was closed before this code ran";
    e.traceback = "RuntimeError: " + e.message + "\n";
    run->finish(std::move(r));  // no-op when it ran
  }
};

// ---------------------------------------------------------------- the host

class Host;
std::mutex g_hosts_mutex;
std::map<std::uint64_t, Host*> g_hosts;  // by parent session serial

class Host final : public py::ChildHost {
 public:
  explicit Host(const py::ChildParent& parent) : io_(parent.io), label_(parent.label) {
    if (auto* sink = dynamic_cast<OutputSink*>(io_)) parent_ = &sink->session();
    if (parent_ != nullptr) {
      std::lock_guard lock(g_hosts_mutex);
      g_hosts[parent_->serial] = this;
    }
  }
  ~Host() override {
    if (parent_ != nullptr) {
      std::lock_guard lock(g_hosts_mutex);
      g_hosts.erase(parent_->serial);
    }
    close_all();
  }

  std::string parent_id() const override {
    if (!label_.empty()) return label_;
    return parent_ != nullptr && !parent_->id.empty() ? parent_->id : std::string("session");
  }

  Result<std::uint64_t> create(const std::string& prelude, std::stop_token stop) override {
    std::shared_ptr<Child> child = Pool::instance().take();
    std::uint64_t number = 0;
    {
      std::lock_guard lock(mutex_);
      number = next_++;
    }
    const std::string id = parent_id() + "/" + std::to_string(number);
    {
      std::lock_guard lock(child->mutex);
      child->parent_io = io_;
      child->id = id;
    }
    child->session->id = id;
    if (!wait_child(*child, stop, std::nullopt, [&] { return child->ready || child->closed; })) {
      close_children({child});
      return Error{kStopped, "interrupted while the child interpreter started"};
    }
    if (child->start_error || child->closed) {
      const std::string why = child->start_error.value_or("it closed");
      close_children({child});
      return Error{0, "cannot create a child interpreter: " + why};
    }
    const std::string parent = parent_id();
    child->session->submit(CallJob{[id, parent, number](py::PythonSession& py) {
      py::set_interpreter_label(py, id, parent, number);
    }});
    {
      std::lock_guard lock(mutex_);
      children_[number] = child;
    }
    if (!prelude.empty()) {
      auto run = this->run(number, prelude, {});
      if (!run) return run.error();
      if (!(*run)->wait(stop, std::nullopt)) {
        (*run)->interrupt();
        (void)close(number);
        return Error{kStopped, "interrupted while the child interpreter ran its prelude"};
      }
      py::ChildResult r = (*run)->take();
      if (r.error) {
        (void)close(number);
        return Error{0, "the prelude of child interpreter " + id + " failed:\n" + r.error->traceback};
      }
    }
    return number;
  }

  Result<std::shared_ptr<py::ChildRun>> run(std::uint64_t number, std::string code, py::SharedNames names) override {
    std::shared_ptr<Child> child = find(number);
    if (!child) return Error{0, "no child interpreter " + std::to_string(number) + " (closed?)"};
    const JobId token = Session::next_job_id();
    auto run = std::make_shared<Run>(child, token);
    auto guard = std::make_shared<RunGuard>(run);
    auto shared = std::make_shared<py::SharedNames>(std::move(names));
    const bool queued = child->session->submit(CallJob{[guard, shared, code = std::move(code), token](py::PythonSession& py) {
      guard->run->finish(py::run_in_child(py, code, std::move(*shared), token));
    }});
    if (!queued) return Error{0, "child interpreter " + child->id + " is closing"};
    std::lock_guard lock(child->mutex);
    ++child->runs;
    return std::shared_ptr<py::ChildRun>(run);
  }

  Status reset(std::uint64_t number, std::stop_token stop) override {
    std::shared_ptr<Child> child = find(number);
    if (!child) return Error{0, "no child interpreter " + std::to_string(number) + " (closed?)"};
    auto run = std::make_shared<Run>(child, 0);
    auto guard = std::make_shared<RunGuard>(run);
    if (!child->session->submit(CallJob{[guard](py::PythonSession& py) {
          py.reset();
          guard->run->finish({});
        }})) {
      return Error{0, "child interpreter " + child->id + " is closing"};
    }
    guard.reset();
    if (!run->wait(stop, std::nullopt)) return Error{kStopped, "interrupted while the child was reset"};
    return Ok{};
  }

  Status close(std::uint64_t number) override {
    std::shared_ptr<Child> child;
    {
      std::lock_guard lock(mutex_);
      auto it = children_.find(number);
      if (it == children_.end()) return Ok{};  // closed already
      child = std::move(it->second);
      children_.erase(it);
    }
    close_children({child});
    return Ok{};
  }

  std::vector<py::ChildInfo> list() const override {
    std::vector<py::ChildInfo> out;
    std::lock_guard lock(mutex_);
    for (const auto& [number, child] : children_) {
      py::ChildInfo info;
      info.number = number;
      info.id = child->id;
      info.busy = child->session && child->session->state() == SessionState::kBusy;
      std::lock_guard cl(child->mutex);
      info.runs = child->runs;
      out.push_back(std::move(info));
    }
    return out;
  }

  void close_all() override {
    std::vector<std::shared_ptr<Child>> all;
    {
      std::lock_guard lock(mutex_);
      for (auto& [number, child] : children_) all.push_back(std::move(child));
      children_.clear();
    }
    if (!all.empty()) close_children(std::move(all));
  }

  // For session/list: the children, then theirs.
  void summarize(std::vector<ChildSummary>& out) const {
    std::vector<std::shared_ptr<Child>> children;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [number, child] : children_) children.push_back(child);
    }
    const std::string parent = parent_id();
    for (const auto& child : children) {
      if (!child->session) continue;
      ChildSummary s;
      s.id = child->id;
      s.parent = parent;
      s.state = child->session->state();
      {
        std::lock_guard cl(child->mutex);
        s.runs = child->runs;
      }
      s.queued = child->session->queued_cells();
      out.push_back(std::move(s));
      if (auto it = g_hosts.find(child->session->serial); it != g_hosts.end()) it->second->summarize(out);
    }
  }

 private:
  std::shared_ptr<Child> find(std::uint64_t number) const {
    std::lock_guard lock(mutex_);
    auto it = children_.find(number);
    return it == children_.end() ? nullptr : it->second;
  }

  py::SessionIo* io_;
  std::string label_;
  Session* parent_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<Child>> children_;
  std::uint64_t next_ = 1;
};

std::unique_ptr<py::ChildHost> make_host(const py::ChildParent& parent) { return std::make_unique<Host>(parent); }

}  // namespace

void install_child_hosts() { py::set_child_host_factory(&make_host); }

void close_child_pool() { Pool::instance().close(); }

std::vector<ChildSummary> children_of(std::uint64_t session_serial) {
  std::vector<ChildSummary> out;
  std::lock_guard lock(g_hosts_mutex);
  if (auto it = g_hosts.find(session_serial); it != g_hosts.end()) it->second->summarize(out);
  return out;
}

}  // namespace subcell

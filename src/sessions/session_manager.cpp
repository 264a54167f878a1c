#include "sessions/session_manager.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "python/runtime.h"
#include "sessions/children.h"
#include "support/log.h"
#include "support/memory.h"

namespace subcell {
namespace {

// What one more own-GIL interpreter costs, with margin: its thread's stack
// (8 MiB of address space) and CPython's arenas and first imports.
constexpr memory::Need kInterpreterNeed{48u << 20, 96u << 20};

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

SessionManager::SessionManager(SessionListener& listener, SessionOptions options)
    : listener_(listener), options_(std::move(options)) {
  install_child_hosts();
}

SessionManager::~SessionManager() {
  discard_pool();
  close_all();
  close_child_pool();
  // Wait for the threads to end their interpreters. One that cannot (a
  // cell stuck in C) is leaked: the process is about to leave with _exit.
  const auto deadline = std::chrono::steady_clock::now() + options_.close_grace + std::chrono::seconds(1);
  for (auto& s : closing_) {
    while (!s->finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (s->finished() && !s->parked()) {
      s->join();
    } else {
      (void)s.release();
    }
  }
  for (auto& s : parked_) (void)s.release();
  for (auto& s : abandoned_) (void)s.release();  // their threads may still run
}

void SessionManager::configure_pool(std::size_t size, std::string prelude, bool guard) {
  if (prelude != pool_prelude_ || guard != options_.guard) discard_pool();
  options_.guard = guard;
  pool_target_ = size;
  pool_prelude_ = std::move(prelude);
  pool_failures_ = 0;
  while (pool_.size() > pool_target_) {
    close_began_[pool_.back()->serial] = std::chrono::steady_clock::now();
    closing_.push_back(std::move(pool_.back()));
    pool_.pop_back();
    closing_.back()->begin_close();
  }
  fill_pool();
}

void SessionManager::refill_pool() { fill_pool(); }

void SessionManager::fill_pool() {
  // Interpreters that fail to start are dropped; stop refilling after a
  // few in a row rather than spin.
  std::erase_if(pool_, [&](std::unique_ptr<Session>& s) {
    if (!s->finished()) return false;
    ++pool_failures_;
    closing_.push_back(std::move(s));
    return true;
  });
  if (pool_failures_ >= 3) return;
  const bool main = options_.kind == py::InterpreterKind::kMain;
  while (pool_.size() < pool_target_ && !(main && (main_taken_ || !pool_.empty()))) {
    if (auto why = memory::shortfall(kInterpreterNeed)) {
      log::warn("the warm pool is not refilled: " + *why);
      return;
    }
    SessionOptions o = options_;
    o.prelude = pool_prelude_;
    o.warm = true;
    pool_.push_back(std::make_unique<Session>(listener_, std::move(o)));
  }
}

void SessionManager::discard_pool() {
  for (auto& s : pool_) {
    close_began_[s->serial] = std::chrono::steady_clock::now();
    s->begin_close();
    closing_.push_back(std::move(s));
  }
  pool_.clear();
}

Result<SessionManager::Opened> SessionManager::open(const OpenOptions& options) {
  std::string id;
  if (options.id) {
    id = *options.id;
    if (id.empty() || id.size() > 128) return Error{kBadId, "a session id must be 1 to 128 characters"};
    if (open_.count(id) != 0) return Error{kIdInUse, "a session with id '" + id + "' is already open"};
  } else {
    do {
      id = "s" + std::to_string(next_auto_id_++);
    } while (open_.count(id) != 0);
  }
  if (options.cwd && !is_directory(*options.cwd)) {
    return Error{kBadCwd, "cwd '" + *options.cwd + "' is not a directory"};
  }

  std::unique_ptr<Session> session;
  bool pooled = false;
  const bool main = options_.kind == py::InterpreterKind::kMain;
  const bool guard = options.guard.value_or(options_.guard);
  // The oldest pooled interpreter is the one closest to ready.
  if (guard == options_.guard && !pool_.empty() && pool_.front()->state() != SessionState::kClosed) {
    session = std::move(pool_.front());
    pool_.erase(pool_.begin());
    pooled = true;
  } else if (main && main_taken_) {
    return Error{kNoRoom, "this worker process already hosts its session"};
  } else if (auto why = memory::shortfall(kInterpreterNeed); why && !main) {
    return Error{kNoRoom, "not enough memory for another interpreter: " + *why};
  } else {
    SessionOptions o = options_;
    o.guard = guard;
    session = std::make_unique<Session>(listener_, std::move(o));
  }
  if (main) main_taken_ = true;
  session->id = id;
  session->name = options.name.value_or("");
  session->set_cell_time_limit(options.cell_time_limit);
  if (options.cwd || !options.env.empty() || options.execution_count || options.environment) {
    session->submit(ConfigureJob{options.cwd, options.env, options.environment, options.execution_count});
  }
  Session* raw = session.get();
  open_.emplace(id, std::move(session));
  return Opened{raw, pooled};
}

Session* SessionManager::find(const std::string& id) const {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : it->second.get();
}

Session* SessionManager::by_serial(std::uint64_t serial) const {
  for (const auto& [id, s] : open_) {
    if (s->serial == serial) return s.get();
  }
  for (const auto* list : {&pool_, &closing_, &abandoned_}) {
    for (const auto& s : *list) {
      if (s->serial == serial) return s.get();
    }
  }
  return nullptr;
}

std::vector<SessionSummary> SessionManager::list() const {
  std::vector<SessionSummary> out;
  auto add = [&](const Session& s) {
    out.push_back({s.id, s.name, s.state(), s.cells_run(), s.queued_cells(), s.kind(), {}, s.python});
  };
  for (const auto& [id, s] : open_) {
    add(*s);
    for (ChildSummary& c : children_of(s->serial)) {
      out.push_back({c.id, "", c.state, c.runs, c.queued, py::InterpreterKind::kSubinterpreter, c.parent, s->python});
    }
  }
  for (const auto& s : closing_) {
    if (!s->id.empty()) add(*s);  // pool interpreters being discarded have no id
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<JobId> SessionManager::close(Session& session) {
  auto it = open_.find(session.id);
  if (it == open_.end() || it->second.get() != &session) return {};
  closing_.push_back(std::move(it->second));
  open_.erase(it);
  close_began_[session.serial] = std::chrono::steady_clock::now();
  return session.begin_close();
}

std::vector<Session*> SessionManager::abandon_overdue(std::chrono::steady_clock::duration after) {
  std::vector<Session*> out;
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(closing_, [&](std::unique_ptr<Session>& s) {
    auto began = close_began_.find(s->serial);
    if (s->finished() || began == close_began_.end() || now - began->second < after) return false;
    log::warn("session '" + s->id + "' did not close within its grace; abandoned (its interpreter is never touched again)");
    close_began_.erase(began);
    s->abandon();
    py::Runtime::mark_unclean();
    out.push_back(s.get());
    abandoned_.push_back(std::move(s));
    return true;
  });
  return out;
}

std::vector<JobId> SessionManager::close_all() {
  std::vector<JobId> cancelled;
  while (!open_.empty()) {
    auto ids = close(*open_.begin()->second);
    cancelled.insert(cancelled.end(), ids.begin(), ids.end());
  }
  discard_pool();
  return cancelled;
}

void SessionManager::reap(Session& session) {
  close_began_.erase(session.serial);
  for (auto* list : {&closing_, &abandoned_}) {
    auto it = std::find_if(list->begin(), list->end(), [&](const auto& s) { return s.get() == &session; });
    if (it == list->end()) continue;
    std::unique_ptr<Session> owned = std::move(*it);
    list->erase(it);
    owned->join();
    if (owned->parked()) parked_.push_back(std::move(owned));
    return;
  }
}

}  // namespace subcell

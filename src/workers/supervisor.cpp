#include "workers/supervisor.h"

#include <signal.h>

#include <algorithm>

#include "support/log.h"

namespace subcell {
namespace {

// Workers that die while starting are not restarted forever.
constexpr int kMaxStartFailures = 3;

}  // namespace

WorkerSupervisor::WorkerSupervisor(uv_loop_t* loop, WorkerListener& listener) : loop_(loop), listener_(listener) {
  uv_timer_init(loop_, reaper_.get());
  reaper_.mark_initialized();
  reaper_.get()->data = this;
}

WorkerSupervisor::~WorkerSupervisor() {
  // Whatever still runs is killed (Worker's destructor).
  workers_.clear();
  graveyard_.clear();
}

void WorkerSupervisor::configure(SupervisorOptions options) {
  const bool process_init_changed = options.process_init != options_.process_init;
  options_ = std::move(options);
  start_failures_ = 0;
  if (process_init_changed) {
    // Warm workers were started with the old options: replace them.
    for (Worker* w : pool_) w->stop(1000);
    pool_.clear();
  }
  while (pool_.size() > options_.process_pool_size) {
    pool_.back()->stop(1000);
    pool_.pop_back();
  }
  refill_pool();
}

Result<Worker*> WorkerSupervisor::start(WorkerKind kind, const std::string& binary, const std::string& python) {
  WorkerOptions o;
  o.binary = binary.empty() ? options_.binary : binary;
  o.kind = kind;
  if (!python.empty()) o.args = {"--python", python};
  o.capabilities = options_.client_capabilities;
  auto worker = Worker::spawn(loop_, o, kind == WorkerKind::kProcess ? options_.process_init : options_.interpreters_init,
                              listener_);
  if (!worker) {
    ++start_failures_;
    return worker.error();
  }
  Worker* raw = worker->get();
  workers_.push_back(std::move(*worker));
  books_[raw->serial] = Book{};
  return raw;
}

void WorkerSupervisor::refill_pool() {
  while (pool_.size() < options_.process_pool_size && start_failures_ < kMaxStartFailures) {
    auto w = start(WorkerKind::kProcess);
    if (!w) {
      log::error(w.error().message);
      return;
    }
    pool_.push_back(*w);
  }
}

Result<Worker*> WorkerSupervisor::take_process_worker(bool& warm) {
  while (!pool_.empty()) {
    Worker* w = pool_.front();
    pool_.pop_front();
    if (w->gone()) continue;
    warm = w->ready();
    return w;
  }
  warm = false;
  return start(WorkerKind::kProcess);
}

Result<Worker*> WorkerSupervisor::start_process_worker(const std::string& binary, const std::string& python) {
  return start(WorkerKind::kProcess, binary, python);
}

Result<Worker*> WorkerSupervisor::interpreter_host() {
  if (host_ != nullptr && !host_->gone()) return host_;
  auto w = start(WorkerKind::kInterpreters);
  if (!w) return w;
  host_ = *w;
  return host_;
}

void WorkerSupervisor::session_added(Worker& worker) {
  Book& book = books_[worker.serial];
  if (book.sessions++ == 0 && book.baseline_bytes == 0) book.baseline_bytes = worker.resident_bytes();
}

bool WorkerSupervisor::due_for_recycling(Worker& worker, const Book& book) const {
  if (options_.recycle_after_sessions > 0 && book.closed >= options_.recycle_after_sessions) return true;
  if (options_.recycle_after_mb > 0 && book.baseline_bytes > 0) {
    const std::size_t now = worker.resident_bytes();
    if (now > book.baseline_bytes && now - book.baseline_bytes >= options_.recycle_after_mb * 1024 * 1024) return true;
  }
  return false;
}

void WorkerSupervisor::session_removed(Worker& worker) {
  auto it = books_.find(worker.serial);
  if (it == books_.end()) return;
  Book& book = it->second;
  book.sessions = std::max(0, book.sessions - 1);
  ++book.closed;
  if (worker.kind() == WorkerKind::kProcess) {
    worker.stop(2000);  // a process worker hosts one session in its life
    return;
  }
  if (!book.retiring && due_for_recycling(worker, book)) retire(worker);
  if (book.retiring && book.sessions == 0) worker.stop(2000);
}

void WorkerSupervisor::retire(Worker& worker) {
  Book& book = books_[worker.serial];
  book.retiring = true;
  ++retired_hosts_;
  log::info("worker " + std::to_string(worker.pid()) + " retired after " + std::to_string(book.closed) +
            " sessions (" + std::to_string(worker.resident_bytes() >> 20) + " MB resident)");
  if (host_ == &worker) host_ = nullptr;
}

void WorkerSupervisor::forget(Worker& worker) {
  if (host_ == &worker) host_ = nullptr;
  pool_.erase(std::remove(pool_.begin(), pool_.end(), &worker), pool_.end());
  books_.erase(worker.serial);
  auto it = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) { return w.get() == &worker; });
  if (it == workers_.end()) return;
  graveyard_.push_back(std::move(*it));
  workers_.erase(it);
  uv_timer_start(
      reaper_.get(), [](uv_timer_t* t) { static_cast<WorkerSupervisor*>(t->data)->graveyard_.clear(); }, 0, 0);
}

void WorkerSupervisor::stop_all(std::uint64_t grace_ms) {
  pool_.clear();
  host_ = nullptr;
  start_failures_ = kMaxStartFailures;  // no refills while leaving
  for (auto& w : workers_) w->stop(grace_ms);
}

std::vector<Worker*> WorkerSupervisor::workers() const {
  std::vector<Worker*> out;
  for (const auto& w : workers_) out.push_back(w.get());
  return out;
}

std::size_t WorkerSupervisor::resident_bytes() const {
  std::size_t total = 0;
  for (const auto& w : workers_) total += w->resident_bytes();
  return total;
}

}  // namespace subcell

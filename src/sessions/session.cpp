#include "sessions/session.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "support/log.h"
#include "support/main_thread.h"
#include "support/spin.h"

namespace subcell {

JobId Session::next_job_id() {
  static std::atomic<JobId> next{1};
  return next.fetch_add(1);
}

namespace {
std::atomic<std::uint64_t> g_next_serial{1};
}

Session::Session(SessionListener& listener, SessionOptions options)
    : serial(g_next_serial.fetch_add(1)),
      options_(std::move(options)),
      channel_(options_.channel_bytes),
      sink_(*this, channel_, listener) {
  if (options_.cell_time_limit) cell_time_limit_ms_.store(options_.cell_time_limit->count());
  if (options_.kind == py::InterpreterKind::kSubinterpreter) {
    thread_ = std::thread([this] { main(); });
    return;
  }
  // The main interpreter lives on the main thread. The promise outlives
  // this object if need be: the posted function owns it.
  auto done = std::make_shared<std::promise<void>>();
  main_thread_done_ = done->get_future();
  if (!MainThread::post([this, done] {
        main();
        done->set_value();
      })) {
    done->set_value();
  }
}

void Session::set_cell_time_limit(std::optional<std::chrono::milliseconds> limit) {
  cell_time_limit_ms_.store(limit ? std::max<std::int64_t>(1, limit->count()) : 0);
}

Session::~Session() {
  begin_close();
  join();
}

void Session::join() {
  if (thread_.joinable()) thread_.join();
  if (main_thread_done_.valid()) main_thread_done_.wait();
}

bool Session::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
    queue_.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_one();
  return true;
}

int Session::queued_cells() const {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (const Job& j : queue_) n += std::holds_alternative<RunJob>(j) ? 1 : 0;
  return n;
}

std::deque<Job> Session::take_queued() {
  std::deque<Job> jobs;
  std::lock_guard lock(mutex_);
  jobs.swap(queue_);
  queued_.store(0, std::memory_order_relaxed);
  return jobs;
}

std::vector<JobId> Session::cancel_queued(std::optional<JobId> job) {
  std::vector<JobId> removed;
  std::lock_guard lock(mutex_);
  std::erase_if(queue_, [&](const Job& j) {
    const auto* run = std::get_if<RunJob>(&j);
    if (run == nullptr || (job && run->id != *job)) return false;
    removed.push_back(run->id);
    return true;
  });
  queued_.store(static_cast<int>(queue_.size()), std::memory_order_relaxed);
  return removed;
}

void Session::spin_for_job() {
  // Cells often arrive back to back (run all, or a client's next request
  // right after a result). Waiting on the condition variable costs a futex
  // wake, about 20 us on a VM; while jobs keep coming that fast, a short
  // spin first catches them.
  if (!job_spin_.worth_spinning()) return;
  spin_until(
      [&] { return queued_.load(std::memory_order_acquire) > 0 || closing_requested_.load(std::memory_order_relaxed); },
      job_spin_.limit());
}

bool Session::interrupt(JobId job) { return interrupts_.request(job); }

void Session::end_from_python(py::SessionEnd end) {
  if (ended_.exchange(true)) return;
  std::vector<JobId> cancelled = begin_close();
  sink_.post(SessionEnded{end, std::move(cancelled)});
}

bool Session::inspect(InspectorJob job) {
  {
    std::lock_guard lock(inspector_mutex_);
    if (python_ == nullptr || inspector_stopping_) return false;
    inspector_queue_.push_back(std::move(job));
    if (!inspector_.joinable()) inspector_ = std::thread([this] { inspector_main(); });
  }
  inspector_wake_.notify_one();
  return true;
}

void Session::inspector_main() {
  std::unique_lock lock(inspector_mutex_);
  for (;;) {
    inspector_wake_.wait(lock, [&] { return inspector_stopping_ || !inspector_queue_.empty(); });
    if (inspector_queue_.empty()) break;  // stopping
    InspectorJob job = std::move(inspector_queue_.front());
    inspector_queue_.pop_front();
    py::PythonSession& py = *python_;
    lock.unlock();
    if (auto* v = std::get_if<VariablesJob>(&job)) {
      sink_.post(JobDone{v->id, py.variables(v->offset, v->limit)});
    } else if (auto* i = std::get_if<InspectJob>(&job)) {
      sink_.post(JobDone{i->id, py.inspect(i->code, i->cursor)});
    }
    lock.lock();
  }
  python_->release_inspector();
}

void Session::stop_inspector() {
  std::vector<JobId> dropped;
  {
    std::lock_guard lock(inspector_mutex_);
    inspector_stopping_ = true;
    for (const InspectorJob& j : inspector_queue_) std::visit([&](const auto& job) { dropped.push_back(job.id); }, j);
    inspector_queue_.clear();
  }
  inspector_wake_.notify_one();
  if (inspector_.joinable()) inspector_.join();
  for (JobId id : dropped) sink_.post(JobDone{id, JobFailed{"the session is closing"}});
  std::lock_guard lock(inspector_mutex_);
  python_ = nullptr;
}

void Session::abandon() {
  abandoned_.store(true);
  sink_.set_closing();
}

std::vector<JobId> Session::begin_close() {
  std::vector<JobId> cancelled;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return cancelled;
    closing_ = true;
    closing_requested_.store(true);
    for (const Job& j : queue_) {
      std::visit(
          [&](const auto& job) {
            if constexpr (requires { job.id; }) cancelled.push_back(job.id);
          },
          j);
    }
    queue_.clear();
  }
  interrupts_.request(0);
  wake_.notify_one();
  return cancelled;
}

void Session::main() {
#ifdef __linux__
  if (options_.kind == py::InterpreterKind::kSubinterpreter && ::unshare(CLONE_FS) != 0) {
    log::warn(std::string("unshare(CLONE_FS) failed, the session shares the process's working directory: ") +
              std::strerror(errno));
  }
#endif
  auto python = py::PythonSession::create(sink_, interrupts_, options_.kind, options_.guard);
  if (!python) {
    log::error(python.error().message);
    sink_.post(SessionReady{python.error().message});
    fail_queued("the session could not start: " + python.error().message);
    state_.store(SessionState::kClosed);
    sink_.post(SessionClosed{});
    channel_.close();
    return;
  }
  py::PythonSession& py = **python;
  if (!options_.prelude.empty()) {
    if (auto error = py.prelude(options_.prelude)) log::warn("session prelude failed: " + error->traceback);
  }
  if (options_.warm) py.warm_up();
  state_.store(SessionState::kIdle);
  {
    std::lock_guard lock(inspector_mutex_);
    python_ = &py;
  }
  sink_.post(SessionReady{});

  for (;;) {
    Job job;
    job_spin_.started();
    spin_for_job();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return closing_ || (!held_ && !queue_.empty()); });
      job_spin_.ended();
      if (queue_.empty() || held_) break;  // closing, and nothing left to run here
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
      state_.store(SessionState::kBusy);
    }
    run_job(py, job);
    std::lock_guard lock(mutex_);
    if (!closing_) state_.store(SessionState::kIdle);
  }

  state_.store(SessionState::kClosing);
  stop_inspector();  // its thread state must go before the interpreter does
  sink_.set_closing();
  CloseOutcome closed = py.close(options_.close_grace);
  parked_.store(!closed.ended);
  if (closed.ended) {
    python->reset();
  } else {
    (void)python->release();  // parked: its threads still run, never free it
  }
  sink_.post(SessionClosed{closed});
  channel_.close();
  state_.store(SessionState::kClosed);
}

void Session::run_job(py::PythonSession& py, Job& job) {
  if (auto* run = std::get_if<RunJob>(&job)) {
    if (run->check_placement) {
      if (std::optional<NeedsProcess> needs = py.placement(run->code)) {
        if (needs->movable) {
          // Not run here: the owner moves it, and the queue, to a process.
          {
            std::lock_guard lock(mutex_);
            held_ = true;
          }
          RunOutcome moved;
          moved.execution_count = py.execution_count();
          moved.needs_process = std::move(needs);
          sink_.post(JobDone{run->id, std::move(moved)});
          return;
        }
        CellRef cell{run->id, py.execution_count() + 1, run->tag};
        sink_.set_cell(cell);
        sink_.post(CellStarted{cell}, OutputSink::Wake::kSoon);
        cells_run_.fetch_add(1);
        sink_.cell_finished();
        sink_.post(JobDone{run->id, py.refuse(*needs)});
        return;
      }
    }
    CellRef cell{run->id, py.execution_count() + 1, run->tag};
    if (!run->tag.empty()) tags_[cell.execution_count] = run->tag;
    sink_.set_cell(cell);
    // Not urgent: a quick cell's result carries it out in the same write.
    sink_.post(CellStarted{cell}, OutputSink::Wake::kSoon);
    const std::int64_t limit_ms = cell_time_limit_ms_.load();
    RunOutcome outcome = py.run(run->code, run->id,
                                limit_ms > 0 ? std::optional(std::chrono::milliseconds(limit_ms)) : std::nullopt);
    sink_.cell_finished();
    if (outcome.error) fill_cell_tags(*outcome.error);
    if (!outcome.defines_code) tags_.erase(cell.execution_count);
    cells_run_.fetch_add(1);
    const bool failed = outcome.error.has_value();
    if (ended_.load()) {
      // The cell ended its session: answered like a process session's crash.
      sink_.post(JobDone{run->id, JobFailed{"the session ended while this cell ran (os._exit or os.abort)", true}});
      return;
    }
    sink_.post(JobDone{run->id, std::move(outcome)});
    if (failed && run->stop_on_error) {
      std::vector<JobId> dropped = cancel_queued();
      if (!dropped.empty()) sink_.post(JobsCancelled{std::move(dropped), "an earlier cell of the session failed"});
    }
  } else if (auto* reset = std::get_if<ResetJob>(&job)) {
    sink_.post(JobDone{reset->id, py.reset(reset->id)});
  } else if (auto* complete = std::get_if<CompleteJob>(&job)) {
    sink_.post(JobDone{complete->id, py.complete(complete->code, complete->cursor)});
  } else if (auto* call = std::get_if<CallJob>(&job)) {
    call->fn(py);
  } else if (auto* configure = std::get_if<ConfigureJob>(&job)) {
    if (configure->cwd) {
      if (Status s = py.set_cwd(*configure->cwd); !s) log::warn(s.error().message);
    }
    if (configure->environment) {
      const Environment& e = *configure->environment;
      if (Status s = py.use_environment(e.prefix, e.executable, e.system_site_packages); !s) log::warn(s.error().message);
    }
    if (!configure->env.empty()) py.update_environment(configure->env);
    if (configure->execution_count) py.set_execution_count(*configure->execution_count);
  }
}

void Session::fill_cell_tags(ErrorInfo& error) const {
  auto tag_of = [&](int count) -> CellTag {
    auto it = tags_.find(count);
    return it == tags_.end() ? CellTag{} : it->second;
  };
  auto fill_frames = [&](std::vector<TraceFrame>& frames) {
    for (TraceFrame& f : frames) f.cell = tag_of(f.execution_count);
  };
  std::function<void(std::vector<ErrorLink>&)> fill_links = [&](std::vector<ErrorLink>& links) {
    for (ErrorLink& link : links) {
      fill_frames(link.frames);
      fill_links(link.members);
    }
  };
  fill_frames(error.frames);
  fill_links(error.members);
  fill_links(error.chain);
  if (error.location) error.location->cell = tag_of(error.location->execution_count);
}

void Session::fail_queued(const std::string& message) {
  std::deque<Job> jobs;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    closing_requested_.store(true);
    jobs.swap(queue_);
  }
  for (const Job& j : jobs) {
    std::visit(
        [&](const auto& job) {
          if constexpr (requires { job.id; }) sink_.post(JobDone{job.id, JobFailed{message}});
        },
        j);
  }
}

}  // namespace subcell

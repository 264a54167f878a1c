#include "python/interrupt.h"

#include "python/compat.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>


namespace subcell::py {
namespace {

constexpr int kWakeSignal = SIGUSR2;
constexpr auto kPokeInterval = std::chrono::milliseconds(100);

void ignore_signal(int) {}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// A terminal's Ctrl+C reaches the whole foreground process group: the
// child processes a process worker's cell started (subprocess.run, say)
// get SIGINT too, so they stop and the cell's wait for them ends. Only a
// worker that leads its own process group does this; the server never.
void interrupt_child_processes() {
  const pid_t self = ::getpid();
  if (::getpgrp() != self) return;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == self) continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE* stat = std::fopen(path, "r");
    if (stat == nullptr) continue;
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    char buffer[512];
    const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, stat);
    std::fclose(stat);
    buffer[n] = '\0';
    const char* after_comm = std::strrchr(buffer, ')');
    long ppid = 0, pgrp = 0;
    char state = 0;
    if (after_comm != nullptr && std::sscanf(after_comm + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 &&
        pgrp == self) {
      ::kill(static_cast<pid_t>(pid), SIGINT);
    }
  }
  ::closedir(proc);
}

}  // namespace

void install_wakeup_signal() {
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked wait returns EINTR and runs pending calls
  sigaction(kWakeSignal, &sa, nullptr);
}

// ---------------------------------------------------------------- Poker

Poker& Poker::instance() {
  static Poker poker;
  return poker;
}

void Poker::watch(InterruptTarget* target) {
  std::lock_guard lock(mutex_);
  if (std::find(targets_.begin(), targets_.end(), target) == targets_.end()) targets_.push_back(target);
  if (!thread_.joinable()) thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  wake_.notify_all();
}

void Poker::deadline(InterruptTarget* target, std::uint64_t token, std::chrono::steady_clock::time_point when) {
  std::lock_guard lock(mutex_);
  deadlines_.push_back({target, token, when});
  if (!thread_.joinable()) thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  wake_.notify_all();
}

void Poker::forget(InterruptTarget* target) {
  std::lock_guard lock(mutex_);
  targets_.erase(std::remove(targets_.begin(), targets_.end(), target), targets_.end());
  std::erase_if(deadlines_, [&](const Deadline& d) { return d.target == target; });
}

void Poker::fire_due_deadlines() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Deadline> due;
  std::erase_if(deadlines_, [&](const Deadline& d) {
    // A deadline whose cell has finished is dropped as well.
    if (d.target->running_.load() != d.token) return true;
    if (d.when > now) return false;
    due.push_back(d);
    return true;
  });
  for (const Deadline& d : due) {
    if (d.target->deadline_passed(d.token) &&
        std::find(targets_.begin(), targets_.end(), d.target) == targets_.end()) {
      targets_.push_back(d.target);
    }
  }
}

void Poker::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (targets_.empty() && deadlines_.empty()) {
      wake_.wait(lock, stop, [&] { return !targets_.empty() || !deadlines_.empty(); });
      continue;
    }
    auto until = std::chrono::steady_clock::now() + kPokeInterval;
    for (const Deadline& d : deadlines_) until = std::min(until, d.when);
    wake_.wait_until(lock, stop, until, [] { return false; });
    fire_due_deadlines();
    // Delivered or finished targets drop out; the rest are poked again.
    std::erase_if(targets_, [](InterruptTarget* t) {
      t->poke_undelivered();
      return t->requested_.load() == 0 || t->requested_.load() != t->running_.load();
    });
  }
}

// ---------------------------------------------------------------- target

InterruptTarget::~InterruptTarget() { Poker::instance().forget(this); }

void InterruptTarget::attach(PyInterpreterState* interp, Delivery delivery) {
  interp_ = interp;
  delivery_ = delivery;
  session_thread_ = static_cast<unsigned long>(pthread_self());
  cell_tid_ = current_tid();
}

void InterruptTarget::cell_started(std::uint64_t token) {
  // A stale asynchronous exception aimed at this thread must not hit the
  // new cell (CPython 3.13 keeps one across runs), nor a SIGINT that
  // arrived just after the previous cell ended.
  PyThreadState_SetAsyncExc(PyThread_get_thread_ident(), nullptr);
  if (delivery_ == Delivery::kSigint && PyErr_CheckSignals() < 0) PyErr_Clear();
  std::lock_guard lock(mutex_);
  cell_stop_ = std::stop_source();
  requested_.store(0);
  timed_out_.store(false);
  running_.store(token);
}

void InterruptTarget::interrupt_at(std::uint64_t token, std::chrono::steady_clock::time_point when) {
  Poker::instance().deadline(this, token, when);
}

bool InterruptTarget::deadline_passed(std::uint64_t token) {
  // Poker thread, its mutex held: request() must not take it.
  if (running_.load() != token) return false;
  timed_out_.store(true);
  {
    std::lock_guard lock(mutex_);
    if (running_.load() != token) return false;
    requested_.store(token);
    cell_stop_.request_stop();
  }
  deliver();
  return delivery_ == Delivery::kPendingCall;  // to be poked until delivered
}

void InterruptTarget::cell_finished() {
  std::lock_guard lock(mutex_);
  running_.store(0);
  requested_.store(0);
  cell_stop_ = std::stop_source(std::nostopstate);
}

bool InterruptTarget::request(std::uint64_t token) {
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t running = running_.load();
    if (running == 0 || (token != 0 && token != running)) return false;
    requested_.store(running);
    cell_stop_.request_stop();  // wakes time.sleep and a blocked print
  }
  deliver();
  if (delivery_ == Delivery::kPendingCall) Poker::instance().watch(this);
  return true;
}

void InterruptTarget::deliver() {
  if (delivery_ == Delivery::kSigint) {
    ::syscall(SYS_tgkill, ::getpid(), cell_tid_, SIGINT);
    interrupt_child_processes();
    return;
  }
  schedule();
  poke(cell_tid_);
}

bool InterruptTarget::on_cell_thread() const {
  return static_cast<unsigned long>(pthread_self()) == session_thread_;
}

std::stop_token InterruptTarget::stop_token_for_current_thread() const {
  if (!on_cell_thread()) return session_stop_.get_token();
  std::lock_guard lock(mutex_);
  return cell_stop_.get_token();
}

bool InterruptTarget::consume() {
  std::uint64_t want = requested_.load();
  return want != 0 && want == running_.load() && requested_.compare_exchange_strong(want, 0);
}

void InterruptTarget::stop_other_threads() {
  session_stop_.request_stop();
  schedule();
}

bool InterruptTarget::sleep(double seconds, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  const auto duration = std::chrono::duration<double>(seconds);
  cv.wait_for(lock, stop, std::chrono::duration_cast<std::chrono::nanoseconds>(duration), [] { return false; });
  return !stop.stop_requested();
}

void InterruptTarget::schedule() {
  if (interp_ == nullptr || scheduled_.exchange(true)) return;
  if (add_pending_call(interp_, &InterruptTarget::on_pending_call, this) != 0) {
    scheduled_.store(false);  // the queue is full; the Poker tries again
  }
}

void InterruptTarget::poke(pid_t tid) const {
  if (tid > 0) ::syscall(SYS_tgkill, ::getpid(), tid, kWakeSignal);
}

void InterruptTarget::poke_undelivered() {
  const std::uint64_t want = requested_.load();
  if (want == 0 || want != running_.load()) return;
  schedule();
  poke(cell_tid_);
}

int InterruptTarget::on_pending_call(void* arg) {
  auto* self = static_cast<InterruptTarget*>(arg);
  self->scheduled_.store(false);
  const bool cell_thread = self->on_cell_thread();
  if (self->stopping()) {
    if (cell_thread) return 0;
    // Closing: every other thread ends; pass the call on to the next one.
    self->schedule();
    PyErr_SetNone(PyExc_SystemExit);
    return -1;
  }
  const std::uint64_t want = self->requested_.load();
  if (want == 0 || want != self->running_.load()) return 0;  // that cell is over
  if (!cell_thread) {
    // A helper thread of the cell got here first: leave it alone and let
    // the cell's own thread take the call.
    self->schedule();
    return 0;
  }
  if (!self->consume()) return 0;
  PyErr_SetNone(PyExc_KeyboardInterrupt);
  return -1;
}

}  // namespace subcell::py

// InterruptTarget: stops the running cell of one interpreter.
//
// Signals never reach a subinterpreter, so an interrupt is a pending call
// scheduled into the session's interpreter (_PyEval_AddPendingCall). It
// runs on whichever thread of that interpreter next checks the eval
// breaker; on the cell's thread it raises KeyboardInterrupt, on any other
// thread it schedules itself again, so only the cell is interrupted and
// helper threads merely pass it on. Waits that pending calls cannot reach
// are covered too: the session's time.sleep and output backpressure wait on
// the cell's stop token, and lock waits are woken by a signal (a no-op
// handler, no SA_RESTART) that the Poker repeats every 100 ms until the
// interrupt is delivered. A long C call still finishes first.
//
// A main-interpreter session (a process-isolated worker) is interrupted the
// way a terminal does it instead: SIGINT to its thread, which CPython turns
// into KeyboardInterrupt even inside a blocking system call.
//
// A per-cell time limit is a deadline the Poker thread watches: when it
// passes, the cell is interrupted as by a request, and timed_out() says so.
//
// One object per interpreter; it must outlive the interpreter (pending
// calls hold a pointer to it).
#pragma once

#include <Python.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace subcell::py {

class InterruptTarget;

// One process-wide thread that re-sends wake-up signals to cells with an
// undelivered interrupt, and fires cell deadlines. Started on first use.
class Poker {
 public:
  static Poker& instance();
  void watch(InterruptTarget* target);
  void deadline(InterruptTarget* target, std::uint64_t token, std::chrono::steady_clock::time_point when);
  void forget(InterruptTarget* target);

 private:
  struct Deadline {
    InterruptTarget* target;
    std::uint64_t token;
    std::chrono::steady_clock::time_point when;
  };
  Poker() = default;
  void run(std::stop_token stop);
  void fire_due_deadlines();  // mutex_ held

  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::vector<InterruptTarget*> targets_;
  std::vector<Deadline> deadlines_;
  std::jthread thread_;
};

// Installs the no-op wake-up signal handler. Call once, at start-up.
void install_wakeup_signal();

class InterruptTarget {
 public:
  enum class Delivery {
    kPendingCall,  // a subinterpreter: pending call + wake-up signal
    kSigint,       // the main interpreter: SIGINT, as a terminal's Ctrl+C
  };

  InterruptTarget() = default;
  ~InterruptTarget();
  InterruptTarget(const InterruptTarget&) = delete;
  InterruptTarget& operator=(const InterruptTarget&) = delete;

  // Session thread, GIL held.
  void attach(PyInterpreterState* interp, Delivery delivery);  // once, after the interpreter exists
  void cell_started(std::uint64_t token);
  void cell_finished();
  // The cell `token` (running, on the session thread) is interrupted at
  // `when` if still running then.
  void interrupt_at(std::uint64_t token, std::chrono::steady_clock::time_point when);
  // Whether the last cell was interrupted by its deadline.
  bool timed_out() const { return timed_out_.load(); }

  // Any thread, no GIL needed. Interrupts cell `token` (0: whichever cell
  // is running). Returns whether that cell was running.
  bool request(std::uint64_t token = 0);

  // Any thread of the interpreter, GIL held.
  bool on_cell_thread() const;
  // The token a wait on this thread should stop for: the cell's for the
  // cell thread, the session's (closing) for every other thread.
  std::stop_token stop_token_for_current_thread() const;
  // The cell thread is about to raise KeyboardInterrupt for the pending
  // request; true if there was one (so it is raised once, not twice).
  bool consume();

  // Closing: make every thread but the session's own stop (SystemExit).
  void stop_other_threads();
  bool stopping() const { return session_stop_.stop_requested(); }

  // Sleeps `seconds` on the calling thread (GIL released by the caller).
  // Returns false when woken early by an interrupt (cell thread) or by
  // closing (other threads).
  bool sleep(double seconds, std::stop_token stop);

  std::uint64_t running() const { return running_.load(); }

 private:
  friend class Poker;
  static int on_pending_call(void* self);
  void schedule();
  void poke(pid_t tid) const;
  void poke_undelivered();  // Poker thread
  void deliver();
  // Poker thread: interrupts `token` if still running; true when the
  // interrupt must be poked until delivered.
  bool deadline_passed(std::uint64_t token);

  PyInterpreterState* interp_ = nullptr;
  Delivery delivery_ = Delivery::kPendingCall;
  unsigned long session_thread_ = 0;  // pthread id of the session thread
  pid_t cell_tid_ = 0;                // kernel tid of the cell thread
  std::atomic<std::uint64_t> running_{0};
  std::atomic<std::uint64_t> requested_{0};
  std::atomic<bool> scheduled_{false};
  std::atomic<bool> timed_out_{false};
  mutable std::mutex mutex_;  // guards cell_stop_
  std::stop_source cell_stop_{std::nostopstate};
  std::stop_source session_stop_;
};

}  // namespace subcell::py

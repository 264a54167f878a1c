// MainThread: the process's main thread as an executor.
//
// A process-isolated worker (`subcell worker --process`) parks its main
// thread in run() and its one session's thread body is posted there:
// CPython delivers signals (SIGINT -> KeyboardInterrupt in a blocking call)
// and runs Python signal handlers only on the thread that initialised it.
// post() and stop() are safe from any thread; run() belongs to main().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace subcell {

class MainThread {
 public:
  // Runs posted functions in order until stop(). Call from main().
  static void run() {
    State& s = state();
    std::unique_lock lock(s.mutex);
    for (;;) {
      s.wake.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
      if (s.queue.empty()) break;
      std::function<void()> fn = std::move(s.queue.front());
      s.queue.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  // Queues `fn` for run() (which may not have started yet); false after
  // stop() (nothing queued).
  static bool post(std::function<void()> fn) {
    State& s = state();
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return false;
      s.queue.push_back(std::move(fn));
    }
    s.wake.notify_one();
    return true;
  }

  // run() returns once the functions already posted have run.
  static void stop() {
    State& s = state();
    {
      std::lock_guard lock(s.mutex);
      s.stopping = true;
    }
    s.wake.notify_one();
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> queue;
    bool stopping = false;
  };
  static State& state() {
    static State s;
    return s;
  }
};

}  // namespace subcell

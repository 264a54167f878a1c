// Busy-waiting for a moment before blocking: on a VM a thread wake-up
// (futex, eventfd) costs about 20 us, more than most cells take to run.
//
// Spinning only pays when the spinner does not take the CPU the awaited
// thread needs, and when the awaited thing is likely to come soon. So:
// never with a single usable CPU (a container, taskset), and only where the
// last wait was short (SpinPolicy), so a session a human drives at their
// own pace never spins.
#pragma once

#include <sched.h>

#include <chrono>

namespace subcell {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Whether the process may run on more than one CPU (checked once).
inline bool several_cpus() {
  static const bool several = [] {
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
  }();
  return several;
}

// Spins until `ready()` or `limit` has passed; returns ready().
template <typename Ready>
bool spin_until(Ready ready, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= until) return ready();
    for (int i = 0; i < 16; ++i) cpu_relax();
  }
  return true;
}

// Decides whether to spin for the next wait from how long the last one
// took: spin while waits stay shorter than the spin limit.
class SpinPolicy {
 public:
  explicit SpinPolicy(std::chrono::microseconds limit) : limit_(limit) {}

  std::chrono::microseconds limit() const { return limit_; }
  bool worth_spinning() const { return last_was_short_ && several_cpus(); }

  // Call when a wait starts and when it ends.
  void started() { start_ = std::chrono::steady_clock::now(); }
  void ended() { last_was_short_ = std::chrono::steady_clock::now() - start_ < limit_; }

 private:
  const std::chrono::microseconds limit_;
  std::chrono::steady_clock::time_point start_{};
  bool last_was_short_ = false;
};

}  // namespace subcell

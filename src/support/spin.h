// Busy-waiting for a moment before blocking: on a VM a thread wake-up
// (futex, eventfd) costs about 20 us, more than most cells take to run.
#pragma once

#include <chrono>

namespace subcell {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
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

}  // namespace subcell

// Memory headroom checks, done before creating an interpreter: CPython ends
// the whole process with a fatal error when Py_NewInterpreterFromConfig
// runs out of memory, so a session that would not fit is refused instead
// (session/open answers SessionStartFailed with the reason) and every
// existing session keeps running.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace subcell::memory {

struct Need {
  std::size_t resident;  // bytes of real memory the new thing will use
  std::size_t address;   // bytes of address space it maps (thread stacks count)
};

// Why the process cannot afford `need` more, or nothing: the machine's
// available memory (MemAvailable), its cgroup's memory.max, and its own
// RLIMIT_AS and RLIMIT_DATA against what it uses now.
std::optional<std::string> shortfall(const Need& need);

}  // namespace subcell::memory

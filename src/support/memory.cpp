#include "support/memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace subcell::memory {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// "Key:  123 kB" from a /proc file, in bytes; nothing if absent.
std::optional<std::size_t> proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      std::istringstream value(line.substr(key.size() + 1));
      std::size_t kb = 0;
      if (value >> kb) return kb * 1024;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    return static_cast<std::size_t>(std::stoull(text));
  } catch (...) {
    return std::nullopt;
  }
}

// The process's cgroup (v2) directory, e.g. /sys/fs/cgroup/user.slice/...
std::string cgroup_dir() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  }
  return {};
}

std::string mib(std::size_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

std::optional<std::string> shortfall(const Need& need) {
  if (auto available = proc_field("/proc/meminfo", "MemAvailable"); available && *available < need.resident) {
    return "the machine has " + mib(*available) + " of memory available; a session needs about " + mib(need.resident);
  }
  if (const std::string dir = cgroup_dir(); !dir.empty()) {
    auto max = read_number(dir + "/memory.max");
    auto current = read_number(dir + "/memory.current");
    if (max && current && *current + need.resident > *max) {
      return "the server's cgroup uses " + mib(*current) + " of its " + mib(*max) + " limit; a session needs about " +
             mib(need.resident);
    }
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    if (auto size = proc_field("/proc/self/status", "VmSize"); size && *size + need.address > limit.rlim_cur) {
      return "the server's address space limit (RLIMIT_AS, " + mib(limit.rlim_cur) + ") leaves " +
             mib(limit.rlim_cur > *size ? limit.rlim_cur - *size : 0) + "; a session maps about " + mib(need.address);
    }
  }
  if (::getrlimit(RLIMIT_DATA, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    if (auto data = proc_field("/proc/self/status", "VmData"); data && *data + need.address > limit.rlim_cur) {
      return "the server's data limit (RLIMIT_DATA, " + mib(limit.rlim_cur) + ") leaves " +
             mib(limit.rlim_cur > *data ? limit.rlim_cur - *data : 0) + "; a session needs about " + mib(need.address);
    }
  }
  return std::nullopt;
}

}  // namespace subcell::memory

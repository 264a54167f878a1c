#include "support/protected_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>

namespace subcell::protected_fds {
namespace {

constexpr int kMaxTracked = 1 << 16;
std::array<std::atomic<bool>, kMaxTracked> g_protected{};

bool in_range(int fd) { return fd >= 0 && fd < kMaxTracked; }

}  // namespace

void add(int fd) {
  if (in_range(fd)) g_protected[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
}

void remove(int fd) {
  if (in_range(fd)) g_protected[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
}

bool contains(int fd) { return in_range(fd) && g_protected[static_cast<std::size_t>(fd)].load(std::memory_order_acquire); }

std::vector<int> all() {
  std::vector<int> out;
  for (int fd = 0; fd < kMaxTracked; ++fd) {
    if (contains(fd)) out.push_back(fd);
  }
  return out;
}

void add_all_open(int from) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own = ::dirfd(dir);
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (*end == '\0' && end != entry->d_name && fd >= from && fd != own) add(static_cast<int>(fd));
  }
  ::closedir(dir);
}

int floor() {
  struct rlimit limit {};
  int soft = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    soft = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
  }
  // 256 under the usual limit of 1024; never more than half the limit.
  return std::max(16, std::min(256, soft / 2));
}

FdFloor::FdFloor() {
  const int target = floor();
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    if (fd >= target) {
      ::close(fd);
      break;
    }
    placeholders_.push_back(fd);
  }
}

FdFloor::~FdFloor() {
  for (int fd : placeholders_) ::close(fd);
}

}  // namespace subcell::protected_fds

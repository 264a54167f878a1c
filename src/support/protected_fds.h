// The file descriptors the server owns: the protocol's pipes, libuv's own
// (epoll, wake-up and signal descriptors), the sockets and pipes of worker
// processes. The session guard (python/guard.py) refuses to let a cell
// close them, duplicate over them, read or write them, so that a notebook
// cannot corrupt the protocol or wedge the loop by accident.
//
// They are also kept out of reach: opened close-on-exec (no child process
// inherits them) and at high numbers (see FdFloor), where a cell closing
// "every descriptor from 3 to 50" does not find them. Thread-safe; lookups
// take no lock.
#pragma once

#include <vector>

namespace subcell::protected_fds {

void add(int fd);
void remove(int fd);
bool contains(int fd);
std::vector<int> all();
// Adds every descriptor open in the process from `from` up: a snapshot
// taken while only the server has opened any (before sessions exist).
void add_all_open(int from = 3);

// The lowest number the server's own descriptors get: high enough that
// cells counting up from 3 do not meet them, low enough for RLIMIT_NOFILE.
int floor();

// Holds every descriptor below floor() (on /dev/null) for its lifetime, so
// that descriptors libuv and the server open meanwhile land above it.
class FdFloor {
 public:
  FdFloor();
  ~FdFloor();
  FdFloor(const FdFloor&) = delete;
  FdFloor& operator=(const FdFloor&) = delete;

 private:
  std::vector<int> placeholders_;
};

}  // namespace subcell::protected_fds

#include "cli/ctrl_c.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace subcell {
namespace {

int pipe_fds[2] = {-1, -1};
struct sigaction previous {};

void on_sigint(int) {
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], &byte, 1);
  errno = saved;
}

}  // namespace

CtrlC::CtrlC() {
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous);
}

CtrlC::~CtrlC() {
  if (pipe_fds[0] < 0) return;
  ::sigaction(SIGINT, &previous, nullptr);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

int CtrlC::fd() const { return pipe_fds[0]; }

int CtrlC::take() {
  int count = 0;
  char bytes[64];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], bytes, sizeof bytes)) > 0) count += static_cast<int>(n);
  return count;
}

}  // namespace subcell

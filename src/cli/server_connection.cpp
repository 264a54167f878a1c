#include "cli/server_connection.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

extern char** environ;

namespace subcell {
namespace {

// Server messages can carry big images; the limit only guards against a
// broken stream.
constexpr std::size_t kMaxBody = std::size_t{1} << 30;

std::string frame(const Json& message) {
  std::string body = message.dump(-1, ' ', false, Json::error_handler_t::replace);
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

Result<std::unique_ptr<ServerConnection>> ServerConnection::start(const std::string& binary,
                                                                  const std::vector<std::string>& args) {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return Error{errno, std::string("pipe: ") + std::strerror(errno)};
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(to_child[0]);
    ::close(to_child[1]);
    return Error{e, std::string("pipe: ") + std::strerror(e)};
  }
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&files, from_child[1], STDOUT_FILENO);
  // Its own process group: the terminal's Ctrl+C is the client's to
  // forward. Default SIGINT and SIGPIPE handling, an empty signal mask:
  // what the server's workers and the cells' children expect to inherit.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, binary.c_str(), &files, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (spawned != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return Error{spawned, "cannot start " + binary + ": " + std::strerror(spawned)};
  }
  return std::unique_ptr<ServerConnection>(new ServerConnection(pid, to_child[1], from_child[0]));
}

ServerConnection::ServerConnection(pid_t pid, int to_server, int from_server)
    : pid_(pid), to_server_(to_server), from_server_(from_server), decoder_(kMaxBody) {}

ServerConnection::~ServerConnection() {
  if (pid_ > 0) finish(2000);
}

std::int64_t ServerConnection::request(std::string_view method, const Json& params) {
  const std::int64_t id = next_id_++;
  send(Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  return id;
}

void ServerConnection::notify(std::string_view method, const Json& params) {
  send(Json{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
}

void ServerConnection::respond(const Json& id, const Json& result) {
  send(Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

void ServerConnection::respond_error(const Json& id, int code, std::string_view message) {
  send(Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

void ServerConnection::send(const Json& message) {
  // A server that is gone shows up as kClosed in wait().
  if (to_server_ >= 0 && !write_all(to_server_, frame(message))) {
    ::close(to_server_);
    to_server_ = -1;
  }
}

ServerConnection::Wait ServerConnection::wait(Json& message, std::span<pollfd> watch) {
  std::vector<pollfd> fds;
  for (;;) {
    while (auto f = decoder_.next()) {
      if (f->kind != Frame::Kind::kBody) continue;  // the server writes well-formed frames
      message = Json::parse(f->body, nullptr, false);
      if (!message.is_discarded()) return Wait::kMessage;
    }
    if (closed_) return Wait::kClosed;
    fds.assign(watch.begin(), watch.end());
    fds.push_back(pollfd{from_server_, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;  // Ctrl+C: its pipe is readable now
      closed_ = true;
      continue;
    }
    bool watched = false;
    for (std::size_t i = 0; i < watch.size(); ++i) {
      watch[i].revents = fds[i].revents;
      watched = watched || fds[i].revents != 0;
    }
    if (watched) return Wait::kWatched;
    char buffer[65536];
    const ssize_t n = ::read(from_server_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      continue;
    }
    decoder_.append(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

int ServerConnection::finish(int timeout_ms) {
  if (pid_ <= 0) return 0;
  if (to_server_ >= 0) ::close(to_server_);
  to_server_ = -1;
  // Keep reading, so that a server still writing can reach its exit, and
  // wake when it has exited (its pidfd becomes readable).
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid_, SIGKILL);
      done = ::waitpid(pid_, &status, 0);
      break;
    }
    pollfd fds[2] = {{closed_ ? -1 : from_server_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const long slice = pidfd >= 0 ? left.count() : std::min<long>(left.count(), 20);
    if (::poll(fds, 2, static_cast<int>(slice)) > 0 && fds[0].revents != 0) {
      char buffer[65536];
      if (::read(from_server_, buffer, sizeof buffer) <= 0) closed_ = true;
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  ::close(from_server_);
  from_server_ = -1;
  pid_ = 0;
  return done > 0 ? exit_status(status) : 1;
}

}  // namespace subcell

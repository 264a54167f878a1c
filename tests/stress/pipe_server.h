// The real `subcell serve` on pipes, for the stress programs (plain
// executables that print and exit non-zero, no Catch2): framed requests
// out, responses in; notifications are skipped. Single-threaded.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace subcell::stress {

using Json = nlohmann::json;

class PipeServer {
 public:
  // `binary serve ARGS...`; every wait for a response gives up after `reply_timeout_ms`.
  PipeServer(const std::string& binary, std::vector<std::string> args, int reply_timeout_ms)
      : reply_timeout_ms_(reply_timeout_ms) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    args.insert(args.begin(), {binary, "serve"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    if (rc != 0) throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
  }
  ~PipeServer() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  PipeServer(const PipeServer&) = delete;
  PipeServer& operator=(const PipeServer&) = delete;

  pid_t pid() const { return pid_; }

  // Sends a request; its id.
  int send(const std::string& method, const Json& params) {
    const int id = next_id_++;
    const std::string body = Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
    const std::string frame = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    for (std::size_t done = 0; done < frame.size();) {
      const ssize_t n = ::write(to_, frame.data() + done, frame.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(std::string("write to the server: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    return id;
  }

  // The next response, whichever request it answers (one already read
  // while waiting for another comes first).
  Json next_response() {
    if (!kept_.empty()) {
      Json r = std::move(kept_.begin()->second);
      kept_.erase(kept_.begin());
      return r;
    }
    return read_response();
  }

  // The response to request `id`; others read meanwhile are kept.
  Json response(int id) {
    if (auto it = kept_.find(id); it != kept_.end()) {
      Json r = std::move(it->second);
      kept_.erase(it);
      return r;
    }
    for (;;) {
      Json r = read_response();
      const int got = r["id"].get<int>();
      if (got == id) return r;
      kept_[got] = std::move(r);
    }
  }

  // The result of `method`, or an exception naming the error.
  Json result(const std::string& method, const Json& params) {
    Json r = response(send(method, params));
    if (!r.contains("result")) throw std::runtime_error(method + ": " + r.dump());
    return r["result"];
  }

  // shutdown + exit; the exit status, or -1 if it did not exit in 30 s.
  int stop() {
    result("shutdown", nullptr);
    send("exit", nullptr);
    ::close(to_);
    to_ = -1;
    for (int i = 0; i < 3000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(10000);
    }
    return -1;
  }

 private:
  Json read_response() {
    for (;;) {
      if (auto m = pop_frame()) {
        if (m->contains("id") && !m->contains("method") && (*m)["id"].is_number_integer()) return *m;
        continue;
      }
      pollfd fd{from_, POLLIN, 0};
      if (::poll(&fd, 1, reply_timeout_ms_) <= 0) {
        throw std::runtime_error("the server answered nothing for " + std::to_string(reply_timeout_ms_ / 1000) + " s");
      }
      char chunk[65536];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("the server closed its output");
      inbox_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::optional<Json> pop_frame() {
    const auto end = inbox_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    const auto colon = inbox_.find(':');
    if (colon == std::string::npos || colon > end) throw std::runtime_error("a frame without Content-Length");
    const std::size_t length = std::stoul(inbox_.substr(colon + 1, end - colon - 1));
    if (inbox_.size() < end + 4 + length) return std::nullopt;
    Json m = Json::parse(inbox_.substr(end + 4, length));
    inbox_.erase(0, end + 4 + length);
    return m;
  }

  const int reply_timeout_ms_;
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  int next_id_ = 1;
  std::string inbox_;
  std::map<int, Json> kept_;
};

}  // namespace subcell::stress

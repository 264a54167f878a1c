#include "server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "schema_checker.h"

extern char** environ;

namespace subcell::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string key_of(const Json& id) { return id.dump(); }

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FAIL("writing to the server failed: " << std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

std::string text_of(const Json& bundle) {
  if (!bundle.is_object() || !bundle.contains("text/plain")) return "<no text/plain>";
  return bundle["text/plain"].get<std::string>();
}

Json run_cell(ServerProcess& server, const std::string& session, const std::string& code,
              std::chrono::milliseconds timeout) {
  Json r = server.call("cell/run", {{"session", session}, {"code", code}}, timeout);
  INFO(code << " -> " << r.dump().substr(0, 2000));
  REQUIRE(r.contains("result"));
  return r["result"];
}

std::string value_of(ServerProcess& server, const std::string& session, const std::string& code,
                     std::chrono::milliseconds timeout) {
  Json r = run_cell(server, session, code, timeout);
  INFO(code << " -> " << r.dump().substr(0, 2000));
  REQUIRE(r["error"].is_null());
  return r["value"].is_null() ? "None" : text_of(r["value"]);
}

Json error_of(ServerProcess& server, const std::string& session, const std::string& code,
              std::chrono::milliseconds timeout) {
  Json r = run_cell(server, session, code, timeout);
  INFO(code << " -> " << r.dump().substr(0, 2000));
  REQUIRE(r["error"].is_object());
  return r["error"];
}

ServerProcess::ServerProcess(std::vector<std::string> args, bool initialize) : schema_(SchemaChecker::shared()) {
  int in[2], out[2], err[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<std::string> argv_storage{SUBCELL_BINARY, "serve"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  // The suite's cell tests run once per isolation mode ([modes] in ctest).
  if (const char* mode = std::getenv("SUBCELL_E2E_ISOLATION");
      mode != nullptr && std::find(args.begin(), args.end(), "--isolation") == args.end()) {
    argv_storage.insert(argv_storage.end(), {"--isolation", mode});
  }
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, SUBCELL_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  to_server_ = in[1];
  from_server_ = out[0];
  server_stderr_ = err[0];
  fcntl(from_server_, F_SETFL, O_NONBLOCK);
  fcntl(server_stderr_, F_SETFL, O_NONBLOCK);
  if (initialize) {
    Json r = call("initialize", {{"processId", static_cast<int>(getpid())}, {"clientInfo", {{"name", "e2e"}}}});
    REQUIRE(r.contains("result"));
    send_notification("initialized");
  }
}

ServerProcess::~ServerProcess() {
  // Every message of every test must have matched the schema.
  CHECK_SCHEMA_VALID(*this);
  if (to_server_ >= 0) ::close(to_server_);
  if (running()) {
    // Give it a moment to notice the closed input, then insist.
    if (wait_exit(5s) == -1) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (from_server_ >= 0) ::close(from_server_);
  if (server_stderr_ >= 0) ::close(server_stderr_);
}

void ServerProcess::send_message(const Json& message) {
  if (message.contains("method")) {
    const std::string method = message["method"];
    const bool is_request = message.contains("id");
    auto envelope = schema_->check(is_request ? "message.request" : "message.notification", message);
    schema_errors_.insert(schema_errors_.end(), envelope.begin(), envelope.end());
    const std::string def = definition_name(method) + ".params";
    if (schema_->has(def) && message.contains("params")) {
      auto errors = schema_->check(def, message["params"]);
      // Tests send wrong params on purpose; only record the well-formed ones.
      (void)errors;
    }
    if (is_request) methods_by_id_[key_of(message["id"])] = method;
  }
  const std::string body = message.dump();
  send_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

void ServerProcess::send_raw(const std::string& bytes) { write_all(to_server_, bytes); }

Json ServerProcess::send_request(const std::string& method, Json params) {
  Json id = next_id_++;
  send_message({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  return id;
}

void ServerProcess::send_notification(const std::string& method, Json params) {
  send_message({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

bool ServerProcess::read_some(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{from_server_, POLLIN, 0}, {server_stderr_, POLLIN, 0}};
  const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (n <= 0) return false;
  char buf[65536];
  bool got = false;
  if (fds[1].revents & (POLLIN | POLLHUP)) {
    ssize_t r = ::read(server_stderr_, buf, sizeof buf);
    if (r > 0) stderr_.append(buf, static_cast<std::size_t>(r));
  }
  if (fds[0].revents & (POLLIN | POLLHUP)) {
    ssize_t r = ::read(from_server_, buf, sizeof buf);
    if (r > 0) {
      inbox_.append(buf, static_cast<std::size_t>(r));
      got = true;
    } else if (r == 0) {
      return false;  // the server closed its output
    }
  }
  return got || (fds[1].revents & POLLIN);
}

std::optional<Json> ServerProcess::pop_frame() {
  const std::size_t end = inbox_.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  const std::string header = inbox_.substr(0, end);
  REQUIRE(header.rfind("Content-Length: ", 0) == 0);
  const std::size_t length = std::stoul(header.substr(16));
  if (inbox_.size() < end + 4 + length) return std::nullopt;
  const std::string body = inbox_.substr(end + 4, length);
  inbox_.erase(0, end + 4 + length);
  Json message = Json::parse(body, nullptr, false);
  REQUIRE_FALSE(message.is_discarded());
  validate_incoming(message);
  received_.push_back(message);
  return message;
}

void ServerProcess::validate_incoming(const Json& message) {
  std::vector<std::string> errors;
  if (message.contains("method")) {
    // A request from the server (cell/input) or a notification.
    errors = schema_->check(message.contains("id") ? "message.request" : "message.notification", message);
    auto more = schema_->check(definition_name(message["method"]) + ".params", message["params"]);
    errors.insert(errors.end(), more.begin(), more.end());
  } else {
    errors = schema_->check("message.response", message);
    if (message.contains("result")) {
      auto it = methods_by_id_.find(key_of(message["id"]));
      if (it != methods_by_id_.end()) {
        auto more = schema_->check(definition_name(it->second) + ".result", message["result"]);
        errors.insert(errors.end(), more.begin(), more.end());
      }
    }
  }
  schema_errors_.insert(schema_errors_.end(), errors.begin(), errors.end());
}

std::optional<Json> ServerProcess::read_frame(Clock::time_point deadline) {
  for (;;) {
    if (auto m = pop_frame()) return m;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (!read_some(left) && !running()) {
      read_some(0ms);  // whatever it wrote before exiting
      return pop_frame();
    }
  }
}

std::optional<Json> ServerProcess::next_message(std::chrono::milliseconds timeout) {
  if (!unread_.empty()) {
    Json m = std::move(unread_.front());
    unread_.pop_front();
    return m;
  }
  return read_frame(Clock::now() + timeout);
}

// The first message, already read or new, that `match` accepts; the others
// stay unread, in order.
template <typename Match>
std::optional<Json> ServerProcess::take(Match match, std::chrono::milliseconds timeout) {
  for (auto it = unread_.begin(); it != unread_.end(); ++it) {
    if (match(*it)) {
      Json m = std::move(*it);
      unread_.erase(it);
      return m;
    }
  }
  const auto deadline = Clock::now() + timeout;
  while (auto m = read_frame(deadline)) {
    if (match(*m)) return m;
    unread_.push_back(std::move(*m));
  }
  return std::nullopt;
}

std::optional<Json> ServerProcess::next_response(std::chrono::milliseconds timeout) {
  return take([](const Json& j) { return !j.contains("method"); }, timeout);
}

std::optional<Json> ServerProcess::try_response(const Json& id, std::chrono::milliseconds timeout) {
  return take([&](const Json& j) { return !j.contains("method") && j["id"] == id; }, timeout);
}

Json ServerProcess::wait_response(const Json& id, std::chrono::milliseconds timeout) {
  auto m = try_response(id, timeout);
  if (!m) FAIL("no response to request " << id.dump() << "; server stderr:\n" << stderr_text());
  return *m;
}

Json ServerProcess::call(const std::string& method, Json params, std::chrono::milliseconds timeout) {
  return wait_response(send_request(method, std::move(params)), timeout);
}

Json ServerProcess::result(const std::string& method, Json params, std::chrono::milliseconds timeout) {
  Json r = call(method, std::move(params), timeout);
  INFO(method << " answered " << r.dump());
  REQUIRE(r.contains("result"));
  return r["result"];
}

std::optional<Json> ServerProcess::wait_notification(const std::string& method, std::chrono::milliseconds timeout) {
  return take([&](const Json& j) { return j.value("method", "") == method; }, timeout);
}

std::vector<Json> ServerProcess::notifications(const std::string& method) const {
  std::vector<Json> out;
  for (const Json& m : received_) {
    if (m.value("method", "") == method) out.push_back(m);
  }
  return out;
}

void ServerProcess::close_stdin() {
  if (to_server_ >= 0) ::close(to_server_);
  to_server_ = -1;
}

bool ServerProcess::running() {
  if (exit_status_ != -1) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return -1;
    read_some(10ms);  // keep draining its output so it can finish writing
    while (pop_frame()) {
    }
  }
  return exit_status_;
}

std::string ServerProcess::stderr_text() {
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(server_stderr_, buf, sizeof buf);
    if (r <= 0) break;
    stderr_.append(buf, static_cast<std::size_t>(r));
  }
  return stderr_;
}

std::string ServerProcess::open_session(Json params) {
  Json r = result("session/open", std::move(params));
  return r["session"].get<std::string>();
}

}  // namespace subcell::testing

// ServerProcess: the real `subcell serve` binary on real pipes, driven the
// way an editor drives it. Every message that crosses the pipes (in both
// directions) is validated against protocol/subcell.schema.json; tests
// check schema_errors() is empty.
//
// The framing reader here is independent of the server's own decoder, so
// a decoder bug cannot hide on both sides.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace subcell::testing {

using Json = nlohmann::json;
using namespace std::chrono_literals;

class SchemaChecker;

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args = {}, bool initialize = true);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends a request; returns its id.
  Json send_request(const std::string& method, Json params = Json::object());
  void send_notification(const std::string& method, Json params = Json::object());
  void send_message(const Json& message);  // framed, validated
  void send_raw(const std::string& bytes);  // exactly these bytes

  // The response to `id`, waiting up to `timeout`; notifications that
  // arrive meanwhile are kept (notifications()).
  Json wait_response(const Json& id, std::chrono::milliseconds timeout = 20s);
  // send_request + wait_response.
  Json call(const std::string& method, Json params = Json::object(), std::chrono::milliseconds timeout = 20s);
  // The result of a successful call (fails the test otherwise).
  Json result(const std::string& method, Json params = Json::object(), std::chrono::milliseconds timeout = 20s);

  // The response to `id`, or nothing after `timeout` (the server may be gone).
  std::optional<Json> try_response(const Json& id, std::chrono::milliseconds timeout = 20s);
  // The next response (whatever its id), skipping notifications.
  std::optional<Json> next_response(std::chrono::milliseconds timeout = 20s);
  // The next message of any kind, in arrival order.
  std::optional<Json> next_message(std::chrono::milliseconds timeout = 20s);
  // Waits until a notification matching `method` (and `pred`) arrives.
  std::optional<Json> wait_notification(const std::string& method, std::chrono::milliseconds timeout = 20s);

  // All messages received so far, in order (responses and notifications).
  const std::vector<Json>& received() const { return received_; }
  std::vector<Json> notifications(const std::string& method) const;

  void close_stdin();
  // Waits for the process to exit; its exit status, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = 20s);
  bool running();
  pid_t pid() const { return pid_; }
  std::string stderr_text();

  const std::vector<std::string>& schema_errors() const { return schema_errors_; }
  // Opens a session and returns its id.
  std::string open_session(Json params = Json::object());

 private:
  bool read_some(std::chrono::milliseconds timeout);
  std::optional<Json> pop_frame();
  std::optional<Json> read_frame(std::chrono::steady_clock::time_point deadline);
  template <typename Match>
  std::optional<Json> take(Match match, std::chrono::milliseconds timeout);
  void validate_incoming(const Json& message);

  pid_t pid_ = -1;
  int to_server_ = -1;
  int from_server_ = -1;
  int server_stderr_ = -1;
  std::string inbox_;
  std::string stderr_;
  std::deque<Json> unread_;
  std::vector<Json> received_;
  std::map<std::string, std::string> methods_by_id_;  // request id -> method
  std::vector<std::string> schema_errors_;
  int next_id_ = 1;
  int exit_status_ = -1;
  std::shared_ptr<SchemaChecker> schema_;
};

// The text/plain of a MIME bundle.
std::string text_of(const Json& bundle);

std::string join_lines(const std::vector<std::string>& lines);

// cell/run of `code` in `session`: its result (the test fails without one).
Json run_cell(ServerProcess& server, const std::string& session, const std::string& code,
              std::chrono::milliseconds timeout = 30s);

// The text/plain of the cell's value ("None" when it has none); the cell must not fail.
std::string value_of(ServerProcess& server, const std::string& session, const std::string& code,
                     std::chrono::milliseconds timeout = 30s);

// The error object of a cell that must fail.
Json error_of(ServerProcess& server, const std::string& session, const std::string& code,
              std::chrono::milliseconds timeout = 30s);

// Every message so far matched protocol/subcell.schema.json.
#define CHECK_SCHEMA_VALID(server)                                        \
  do {                                                                    \
    INFO(::subcell::testing::join_lines((server).schema_errors()));       \
    CHECK((server).schema_errors().empty());                              \
  } while (0)

}  // namespace subcell::testing

// Channels under load: N sessions of the real binary pass M messages around
// a ring of named channels (session i receives on "ring-i" and sends on
// "ring-(i+1)"; session 0 injects from a thread and collects them back).
// Every session checks that it saw exactly 0..M-1, in order: nothing lost,
// duplicated or reordered. Some sessions can be process sessions, whose
// channel operations go through the server's registry over their worker's
// connection. Prints the throughput; asserts no timings.
//
//   channel_ring SUBCELL_BINARY [SESSIONS] [MESSAGES] [PROCESS_SESSIONS]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// `subcell serve` on pipes; only responses matter here.
class Server {
 public:
  explicit Server(const std::string& binary) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<std::string> args{binary, "serve", "--process-pool-size", "0"};
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
  ~Server() {
    ::close(to_);
    ::close(from_);
    if (waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  int send(const std::string& method, const Json& params) {
    const int id = next_id_++;
    const std::string body = Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
    const std::string frame = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    for (std::size_t done = 0; done < frame.size();) {
      const ssize_t n = ::write(to_, frame.data() + done, frame.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("write to the server failed");
      done += static_cast<std::size_t>(n);
    }
    return id;
  }

  Json response(int id, int timeout_ms = 600000) {
    for (;;) {
      if (auto it = responses_.find(id); it != responses_.end()) {
        Json r = std::move(it->second);
        responses_.erase(it);
        return r;
      }
      if (auto m = pop_frame()) {
        if (m->contains("id") && !m->contains("method") && (*m)["id"].is_number_integer()) {
          const int got = (*m)["id"].get<int>();
          responses_[got] = std::move(*m);
        }
        continue;
      }
      pollfd fd{from_, POLLIN, 0};
      if (::poll(&fd, 1, timeout_ms) <= 0) throw std::runtime_error("the server answered nothing in time");
      char chunk[65536];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("the server closed its output");
      inbox_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  Json result(const std::string& method, const Json& params) {
    Json r = response(send(method, params));
    if (!r.contains("result")) throw std::runtime_error(method + " failed: " + r.dump());
    return r["result"];
  }

 private:
  std::optional<Json> pop_frame() {
    const std::size_t end = inbox_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    const std::size_t length = std::stoul(inbox_.substr(16, end - 16));
    if (inbox_.size() < end + 4 + length) return std::nullopt;
    Json m = Json::parse(inbox_.substr(end + 4, length));
    inbox_.erase(0, end + 4 + length);
    return m;
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  int next_id_ = 1;
  std::string inbox_;
  std::map<int, Json> responses_;
};

std::string node_code(int i, int nodes, int messages) {
  const std::string head = "import subcell\nrin, _a = subcell.channel('ring-" + std::to_string(i) +
                           "')\n_b, sout = subcell.channel('ring-" + std::to_string((i + 1) % nodes) + "')\n" +
                           "M = " + std::to_string(messages) + "\n";
  if (i == 0) {
    return head +
           "import threading\n"
           "def inject():\n"
           "    for n in range(M):\n"
           "        sout.send((n, 'payload'))\n"
           "t = threading.Thread(target=inject)\n"
           "t.start()\n"
           "ok = True\n"
           "for expect in range(M):\n"
           "    n, p = rin.recv(timeout=120)\n"
           "    ok = ok and n == expect and p == 'payload'\n"
           "t.join()\n"
           "(M, ok)";
  }
  return head +
         "ok = True\n"
         "for expect in range(M):\n"
         "    n, p = rin.recv(timeout=120)\n"
         "    ok = ok and n == expect\n"
         "    sout.send((n, p), timeout=120)\n"
         "(M, ok)";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: channel_ring SUBCELL_BINARY [SESSIONS] [MESSAGES] [PROCESS_SESSIONS]\n");
    return 2;
  }
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 8;
  const int messages = argc > 3 ? std::atoi(argv[3]) : 10000;
  const int process_nodes = argc > 4 ? std::atoi(argv[4]) : 0;
  try {
    Server server(argv[1]);
    server.result("initialize", Json{{"initializationOptions", {{"poolSize", 0}}}});
    for (int i = 0; i < nodes; ++i) {
      // The last PROCESS_SESSIONS nodes are process sessions.
      const bool process = i >= nodes - process_nodes;
      server.result("session/open",
                    Json{{"session", "node" + std::to_string(i)}, {"isolation", process ? "process" : "interpreter"}});
    }
    const auto t0 = Clock::now();
    std::vector<int> ids;
    for (int i = 0; i < nodes; ++i) {
      ids.push_back(server.send("cell/run", Json{{"session", "node" + std::to_string(i)},
                                                 {"code", node_code(i, nodes, messages)}}));
    }
    int failures = 0;
    for (int i = 0; i < nodes; ++i) {
      Json r = server.response(ids[i]);
      const Json& result = r["result"];
      const std::string expected = "(" + std::to_string(messages) + ", True)";
      const std::string got = result.contains("value") && result["value"].is_object()
                                  ? result["value"]["text/plain"].get<std::string>()
                                  : r.dump().substr(0, 800);
      if (got != expected) {
        ++failures;
        std::fprintf(stderr, "node %d: expected %s, got %s\n", i, expected.c_str(), got.c_str());
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double hops = static_cast<double>(nodes) * messages;
    std::printf("channel ring: %d sessions (%d in worker processes) x %d messages: %.0f hops in %.2f s, "
                "%.0f hops/s, %.1f us per hop; %s\n",
                nodes, process_nodes, messages, hops, seconds, hops / seconds, seconds / hops * 1e6,
                failures == 0 ? "every session saw 0..M-1 exactly once, in order" : "FAILED");
    server.result("shutdown", nullptr);
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "channel_ring: %s\n", e.what());
    return 1;
  }
}

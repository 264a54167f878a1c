// Channels under load: N sessions of the real binary pass M messages around
// a ring of named channels (session i receives on "ring-i" and sends on
// "ring-(i+1)"; session 0 injects from a thread and collects them back).
// Every session checks that it saw exactly 0..M-1, in order: nothing lost,
// duplicated or reordered. Some sessions can be process sessions, whose
// channel operations go through the server's registry over their worker's
// connection. Prints the throughput; asserts no timings.
//
//   channel_ring SUBCELL_BINARY [SESSIONS] [MESSAGES] [PROCESS_SESSIONS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pipe_server.h"

namespace {

using subcell::stress::Json;
using subcell::stress::PipeServer;
using Clock = std::chrono::steady_clock;

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
    PipeServer server(argv[1], {"--process-pool-size", "0"}, 600000);
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

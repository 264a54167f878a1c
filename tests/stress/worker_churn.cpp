// Interpreter sessions in recycled workers keep memory bounded: drives the
// real binary, `subcell serve --interpreter-host workers`, through 5,000
// session/open -> cell/run -> session/close cycles and fails if the total
// RSS of the server and all its worker processes ever exceeds its value at
// the start + 800 MB (so also at the end). Prints the curve; asserts no
// timings.
//
// Why the bound proves the point: CPython keeps what every ended own-GIL
// interpreter held, ~1.7-2.7 MB each (gh-110411). Without recycling, the
// process hosting the sessions grows by 5,000 x 1.7-2.7 MB = 8.5-13 GB over
// this run and crosses the bound within ~450 cycles. With a worker replaced
// every 200 closed sessions, at most ~200 x 2.7 MB = 540 MB of leak plus a
// fresh worker (~50 MB) is alive at once (~400 MB measured), and the total
// drops back after each replacement. --recycle-after-mb 0 leaves the session
// count as the only trigger, so the test fails if counting breaks rather
// than being rescued by the other trigger.
//
// Two cycles are kept in flight at once (each a chain of requests, the next
// sent when the previous is answered), so that both CPUs work.
//
//   worker_churn SUBCELL_BINARY [CYCLES] [RECYCLE_AFTER]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipe_server.h"

namespace {

using subcell::stress::Json;
using subcell::stress::PipeServer;
using Clock = std::chrono::steady_clock;

constexpr long kBoundMb = 800;        // above the start
constexpr int kInFlight = 2;          // cycles in progress at once
constexpr int kSamples = 100;         // points of the printed curve
constexpr int kReplyTimeoutMs = 60000;

// Total RSS of a process and its children (the server's workers), in MB.
double tree_rss_mb(pid_t pid) {
  std::vector<pid_t> pids{pid};
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task/";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream children(task.path() / "children");
    for (pid_t child; children >> child;) pids.push_back(child);
  }
  long kb = 0;
  for (pid_t p : pids) {
    std::ifstream statm("/proc/" + std::to_string(p) + "/statm");
    long size = 0, resident = 0;
    if (statm >> size >> resident) kb += resident * (sysconf(_SC_PAGESIZE) / 1024);
  }
  return kb / 1024.0;
}

// One cycle: session/open, then cell/run 1+1, then session/close, each sent
// when the previous one is answered.
struct Cycle {
  std::string session;
  int step = 0;  // 0 open, 1 run, 2 close
};

class Churn {
 public:
  Churn(PipeServer& server, int cycles) : server_(server), cycles_(cycles) {}

  // Runs every cycle, kInFlight at a time; `each` is called when one ends,
  // with the number ended so far.
  template <typename Each>
  void run(Each each) {
    for (int i = 0; i < kInFlight; ++i) start_next();
    for (int ended = 0; ended < cycles_;) {
      Json r = server_.next_response();
      auto it = pending_.find(r["id"].get<int>());
      if (it == pending_.end()) throw std::runtime_error("an unexpected response: " + r.dump());
      Cycle c = std::move(it->second);
      pending_.erase(it);
      check(c, r);
      if (++c.step < 3) {
        send_step(std::move(c));
        continue;
      }
      each(++ended);
      start_next();
    }
  }
  const std::set<pid_t>& hosts() const { return hosts_; }

 private:
  void start_next() {
    if (started_ < cycles_) send_step(Cycle{"w" + std::to_string(started_++)});
  }
  void send_step(Cycle c) {
    static const char* kMethods[] = {"session/open", "cell/run", "session/close"};
    Json params{{"session", c.session}};
    if (c.step == 1) params["code"] = "1+1";
    const int id = server_.send(kMethods[c.step], params);
    pending_.emplace(id, std::move(c));
  }
  // What each answer must say: the session lives in a worker, the cell
  // ran, the interpreter ended.
  void check(const Cycle& c, const Json& r) {
    if (!r.contains("result")) throw std::runtime_error(c.session + ": " + r.dump());
    const Json& res = r["result"];
    if (c.step == 0) {
      const pid_t host = res.at("pid").get<pid_t>();
      if (host == server_.pid()) throw std::runtime_error(c.session + " was opened in the server process");
      hosts_.insert(host);
    } else if (c.step == 1 && (!res["error"].is_null() || res["value"]["text/plain"] != "2")) {
      throw std::runtime_error(c.session + ": 1+1 gave " + res.dump());
    } else if (c.step == 2 && res["interpreter"] != "ended") {
      throw std::runtime_error(c.session + " closed with " + res.dump());
    }
  }

  PipeServer& server_;
  int cycles_;
  int started_ = 0;
  std::map<int, Cycle> pending_;  // by request id
  std::set<pid_t> hosts_;         // the worker processes sessions ran in
};

// The printed curve: total RSS every few cycles (often enough to show each
// worker's rise and fall), ten points a line. Each point is checked against
// the bound, so that a broken recycling fails after a few hundred cycles
// instead of taking gigabytes first.
class BoundedCurve {
 public:
  explicit BoundedCurve(pid_t server) : server_(server) { start_ = peak_ = sample(0); }
  ~BoundedCurve() { flush(); }
  void point(int cycle) {
    const double mb = sample(cycle);
    peak_ = std::max(peak_, mb);
    if (mb > start_ + kBoundMb) {
      flush();
      throw std::runtime_error("total RSS exceeds the start + " + std::to_string(kBoundMb) +
                               " MB: recycling does not bound it");
    }
  }
  double start() const { return start_; }
  double peak() const { return peak_; }
  void flush() {
    if (!line_.empty()) std::printf("%s\n", line_.c_str());
    std::fflush(stdout);
    line_.clear();
    on_line_ = 0;
  }

 private:
  double sample(int cycle) {
    const double mb = tree_rss_mb(server_);
    char text[32];
    if (line_.empty()) {
      std::snprintf(text, sizeof text, "  cycle %5d:", cycle);
      line_ = text;
    }
    std::snprintf(text, sizeof text, " %5.0f", mb);
    line_ += text;
    if (++on_line_ == 10) flush();
    return mb;
  }

  pid_t server_;
  double start_ = 0, peak_ = 0;
  std::string line_;
  int on_line_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fprintf(stderr, "usage: worker_churn SUBCELL_BINARY [CYCLES] [RECYCLE_AFTER]\n");
    return 2;
  }
  const int cycles = argc > 2 ? std::stoi(argv[2]) : 5000;
  const int recycle = argc > 3 ? std::stoi(argv[3]) : 200;
  const auto t0 = Clock::now();
  try {
    // No warm process worker (--process-pool-size 0): the start is the
    // server alone, and every worker that appears hosts these sessions.
    PipeServer server(argv[1], {"--interpreter-host", "workers", "--recycle-after-sessions", std::to_string(recycle),
                                "--recycle-after-mb", "0", "--process-pool-size", "0"},
                      kReplyTimeoutMs);
    server.result("initialize", Json{{"processId", static_cast<int>(getpid())}});
    const int every = std::max(1, cycles / kSamples);
    std::printf("%d open -> 1+1 -> close cycles, interpreter sessions in workers recycled after %d sessions;\n"
                "total RSS of the server and its workers every %d cycles, MB (bound: the start + %ld):\n",
                cycles, recycle, every, kBoundMb);
    BoundedCurve curve(server.pid());
    Churn churn(server, cycles);
    churn.run([&](int ended) {
      if (ended % every == 0 || ended == cycles) curve.point(ended);
    });
    curve.flush();
    const int status = server.stop();
    const std::size_t hosts = churn.hosts().size();
    std::printf("peak %.1f MB (the start + %.1f); sessions ran in %zu worker processes; %.1f s\n", curve.peak(),
                curve.peak() - curve.start(), hosts, std::chrono::duration<double>(Clock::now() - t0).count());
    // Each worker hosts `recycle` sessions, plus the few opened on it while
    // it was being retired.
    if (hosts < static_cast<std::size_t>(cycles / (recycle + kInFlight))) {
      std::printf("FAILED: %zu workers for %d sessions: they are not recycled every %d\n", hosts, cycles, recycle);
      return 1;
    }
    if (status != 0) {
      std::printf("FAILED: the server exited with status %d after shutdown\n", status);
      return 1;
    }
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    return 1;
  }
  std::printf("passed\n");
  return 0;
}

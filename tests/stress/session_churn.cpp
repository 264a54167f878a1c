// Measures memory over session churn and over many cells, through the same
// SessionManager as the server. Prints figures; asserts nothing about them.
//
//   session_churn [CYCLES] [CELLS]
//
// CPython never returns what an own-GIL interpreter's end leaks (about
// 1.7 MB per interpreter here, gh-110411/gh-113055); cells run in one
// session must not grow memory at all (subcell's own code leaks nothing).
#include <cstdio>
#include <fstream>
#include <string>

#include "python/runtime.h"
#include "sessions/session_manager.h"

namespace {

using namespace subcell;

class NoListener final : public SessionListener {
 public:
  void on_session_events(Session&, bool) override {}
};

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

bool run(Session& s, const std::string& code) {
  const JobId id = Session::next_job_id();
  s.submit(RunJob{id, code, {}});
  while (auto e = s.events().receive()) {
    if (auto* done = std::get_if<JobDone>(&*e); done && done->job == id) {
      auto* outcome = std::get_if<RunOutcome>(&done->outcome);
      return outcome != nullptr && !outcome->error;
    }
  }
  return false;
}

void close(SessionManager& m, Session& s) {
  m.close(s);
  while (s.events().receive()) {
  }
  m.reap(s);
}

}  // namespace

int main(int argc, char** argv) {
  const int cycles = argc > 1 ? std::stoi(argv[1]) : 100;
  const int cells = argc > 2 ? std::stoi(argv[2]) : 20000;
  auto runtime = py::Runtime::start();
  if (!runtime) return 2;
  NoListener listener;
  int failures = 0;
  {
    SessionManager manager(listener, SessionOptions{});
    // Warm up: the first interpreter pays for one-time allocations.
    for (int i = 0; i < 3; ++i) {
      Session& s = *manager.open({})->session;
      failures += !run(s, "import json, re, collections\nx = json.dumps([1])");
      close(manager, s);
    }
    const long before = rss_kib();
    for (int i = 0; i < cycles; ++i) {
      Session& s = *manager.open({})->session;
      failures += !run(s, "import json, re, collections\nx = json.dumps([1])");
      close(manager, s);
    }
    const long after = rss_kib();
    std::printf("session churn: %d open/run/close cycles grew RSS by %.1f MB, %.0f KiB per cycle (CPython's own-GIL "
                "interpreter end leak)\n",
                cycles, (after - before) / 1024.0, static_cast<double>(after - before) / cycles);

    Session& s = *manager.open({})->session;
    failures += !run(s, "def f(x):\n    return [x] * 10\n");
    for (int i = 0; i < 1000; ++i) failures += !run(s, "y = f(1)\nprint(len(y))\ny");  // warm up
    const long cells_before = rss_kib();
    for (int i = 0; i < cells; ++i) failures += !run(s, "y = f(1)\nprint(len(y))\ny");
    const long cells_after = rss_kib();
    std::printf("one session: %d cells (each printing and returning a value) grew RSS by %ld KiB (%.3f KiB per cell)\n",
                cells, cells_after - cells_before, static_cast<double>(cells_after - cells_before) / cells);
    close(manager, s);
  }
  std::printf("%d passed, %d failed\n", cycles + cells, failures);
  std::fflush(stdout);
  if (!(*runtime)->finalize()) _exit(failures == 0 ? 0 : 1);
  return failures == 0 ? 0 : 1;
}

#include "cli/run_file.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/cell_parser.h"
#include "python/runtime.h"
#include "sessions/session_manager.h"

namespace subcell {
namespace {

// The printer reads the session's channel itself; nothing to wake.
class NoListener final : public SessionListener {
 public:
  void on_session_events(Session&, bool) override {}
};

struct Style {
  bool on;
  std::string operator()(const char* code, const std::string& text) const {
    return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
};

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Rewrites `File "<cell N>", line L` so that the traceback points into the
// file: `File "tour.py", line 14`.
std::string map_traceback(const std::string& text, const std::map<int, int>& first_line_of_count,
                          const std::string& file) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) {
    const std::size_t at = line.find("File \"<cell ");
    if (at != std::string::npos) {
      const std::size_t close = line.find(">\", line ", at);
      if (close != std::string::npos) {
        const int count = std::atoi(line.c_str() + at + 12);
        const int cell_line = std::atoi(line.c_str() + close + 9);
        auto first = first_line_of_count.find(count);
        if (first != first_line_of_count.end()) {
          std::size_t rest = close + 9;
          while (rest < line.size() && std::isdigit(static_cast<unsigned char>(line[rest]))) ++rest;
          line = line.substr(0, at) + "File \"" + file + "\", line " + std::to_string(first->second + cell_line - 1) +
                 line.substr(rest);
        }
      }
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string plain_text(const MimeBundle& bundle) {
  for (const MimeEntry& e : bundle) {
    if (e.mime == "text/plain") return e.data;
  }
  return {};
}

// Ctrl+C interrupts the running cell; a second one within a second quits.
class InterruptOnSigint {
 public:
  explicit InterruptOnSigint(std::atomic<Session*>& session) : session_(session) {
    thread_ = std::thread([this] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGUSR1);
      auto last = std::chrono::steady_clock::time_point{};
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::seconds(1)) _exit(130);
        last = now;
        if (Session* s = session_.load()) s->interrupt(0);
      }
    });
  }
  ~InterruptOnSigint() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  std::atomic<Session*>& session_;
  std::thread thread_;
};

}  // namespace

int run_file(const RunFileOptions& options) {
  std::ifstream in(options.path, std::ios::binary);
  if (!in) {
    std::cerr << "subcell: cannot read " << options.path << "\n";
    return 2;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::vector<SourceCell> cells = parse_cells(buffer.str());
  const std::string file = basename_of(options.path);
  const Style style{options.color};

  // Every thread started from here on inherits a blocked SIGINT; one
  // thread waits for it and interrupts the cell.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  auto runtime = py::Runtime::start();
  if (!runtime) {
    std::cerr << "subcell: " << runtime.error().message << "\n";
    return 2;
  }
  int failures = 0;
  {
    NoListener listener;
    SessionOptions session_options;
    SessionManager manager(listener, session_options);
    std::atomic<Session*> current{nullptr};
    InterruptOnSigint sigint(current);

    auto opened = manager.open(OpenOptions{std::nullopt, std::nullopt, file});
    if (!opened) {
      std::cerr << "subcell: " << opened.error().message << "\n";
      return 2;
    }
    Session& session = *opened->session;
    current.store(&session);
    std::map<int, int> first_line_of_count;

    // Reads events until `job` is done; prints output on the way.
    auto wait_for = [&](JobId job) -> std::optional<JobDone> {
      while (auto event = session.events().receive()) {
        if (auto* out = std::get_if<StreamOutput>(&*event)) {
          std::ostream& os = out->stream == Stream::kStdout ? std::cout : std::cerr;
          os << out->text << std::flush;
        } else if (auto* shown = std::get_if<DisplayOutput>(&*event)) {
          std::cout << plain_text(shown->data) << "\n" << std::flush;
        } else if (auto* ready = std::get_if<SessionReady>(&*event)) {
          if (ready->error) std::cerr << "subcell: " << *ready->error << "\n";
        } else if (auto* done = std::get_if<JobDone>(&*event)) {
          if (done->job == job) return std::move(*done);
        }
      }
      return std::nullopt;
    };

    int index = 0;
    for (const SourceCell& cell : cells) {
      if (cell.markdown || (!cell.reset && !has_code(cell.code))) continue;
      ++index;
      const std::string where = file + ":" + std::to_string(cell.marker_line > 0 ? cell.marker_line : cell.first_line);
      std::cout << style("2", "── cell " + std::to_string(index) + (cell.title.empty() ? "" : ": " + cell.title) +
                                  " (" + where + ") ──")
                << "\n" << std::flush;
      if (cell.reset) {
        const JobId id = Session::next_job_id();
        session.submit(ResetJob{id});
        if (auto done = wait_for(id)) {
          const auto& reset = std::get<ResetOutcome>(done->outcome);
          std::cout << style("2", "(session reset: " + std::to_string(reset.removed_names) + " names removed in " +
                                      std::to_string(reset.duration_ms) + " ms)")
                    << "\n";
        }
      }
      if (cell.code.empty()) continue;
      const JobId id = Session::next_job_id();
      session.submit(RunJob{id, cell.code, std::to_string(index)});
      auto done = wait_for(id);
      if (!done) break;
      if (auto* failed = std::get_if<JobFailed>(&done->outcome)) {
        std::cerr << "subcell: " << failed->message << "\n";
        return 2;
      }
      const auto& outcome = std::get<RunOutcome>(done->outcome);
      first_line_of_count[outcome.execution_count] = cell.first_line;
      if (outcome.value) {
        std::cout << style("32", "Out[" + std::to_string(outcome.execution_count) + "]: ") << plain_text(*outcome.value)
                  << "\n";
      } else if (outcome.error) {
        ++failures;
        std::cout << std::flush;
        std::cerr << style("31", map_traceback(outcome.error->traceback, first_line_of_count, file)) << std::flush;
        if (!options.allow_errors) break;
      }
    }
    std::cout << std::flush;
    current.store(nullptr);
    manager.close(session);
    while (session.events().receive()) {
    }
    manager.reap(session);
  }
  if (!(*runtime)->finalize()) {
    std::cout.flush();
    std::cerr.flush();
    _exit(failures > 0 && !options.allow_errors ? 1 : 0);
  }
  return failures > 0 && !options.allow_errors ? 1 : 0;
}

}  // namespace subcell

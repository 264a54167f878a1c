// Imports every importable stdlib module in several parallel sessions, one
// child process per module so that a crash is attributed to its module.
//
//   import_every_module                   run the whole matrix; exit 1 on any crash or hang
//   import_every_module --child MODULE    one child: N sessions import MODULE at once, twice
//   import_every_module --list            the module names
//
// The child drives sessions through the same SessionManager as the server,
// with the same module policy (python/module_policy.cpp), so this measures
// exactly what a user gets. CPython 3.12.1 and 3.13.0 crash the whole
// process on concurrent first imports of some extension modules
// (shared/SUBINTERPRETERS.md); this test keeps the next release honest.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "python/runtime.h"
#include "sessions/session_manager.h"

extern char** environ;

namespace {

using namespace subcell;
using Clock = std::chrono::steady_clock;

// Modules not worth a child: they open a browser or a GUI, or print a poem.
const char* kSkipped[] = {"antigravity", "this", "idlelib", "turtledemo", "turtle", "tkinter", "__hello__",
                          "__phello__"};

// Submodules that load C accelerators of their own, on top of
// sys.stdlib_module_names (which lists top-level names only).
const char* kExtraSubmodules[] = {
    "asyncio.subprocess", "concurrent.futures", "ctypes.util", "curses.ascii", "curses.panel", "dbm.gnu",
    "dbm.ndbm", "dbm.sqlite3", "email.message", "email.mime.text", "email.policy", "http.client",
    "http.cookiejar", "http.server", "importlib.metadata", "json.decoder", "logging.handlers",
    "multiprocessing.managers", "multiprocessing.shared_memory", "sqlite3.dbapi2", "unittest.mock",
    "urllib.request", "wsgiref.simple_server", "xml.etree.ElementTree", "xml.parsers.expat",
    "xml.sax.expatreader", "xmlrpc.client", "xmlrpc.server"};

class NoListener final : public SessionListener {
 public:
  void on_session_events(Session&, bool) override {}
};

std::optional<RunOutcome> wait_run(Session& s, JobId job) {
  while (auto e = s.events().receive()) {
    if (auto* done = std::get_if<JobDone>(&*e)) {
      if (done->job == job) {
        if (auto* run = std::get_if<RunOutcome>(&done->outcome)) return *run;
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

// --list: prints the names, one a line. Runs in its own process (the
// matrix never initialises Python itself), leaving like the server does.
int list_modules() {
  auto runtime = py::Runtime::start();
  if (!runtime) return 2;
  NoListener listener;
  std::vector<std::string> names;
  {
    SessionManager manager(listener, SessionOptions{});
    auto opened = manager.open({});
    if (!opened) return 2;
    Session& s = *opened->session;
    const JobId id = Session::next_job_id();
    s.submit(RunJob{id, "import sys\n'\\n'.join(sorted(sys.stdlib_module_names))", {}});
    auto r = wait_run(s, id);
    if (r && r->value) {
      std::string text;
      for (auto& m : *r->value) {
        if (m.mime == "text/plain") text = m.data;
      }
      // text is a repr of a str: strip quotes, split on the escaped newlines.
      text = text.substr(1, text.size() - 2);
      std::size_t pos = 0;
      while (pos < text.size()) {
        std::size_t next = text.find("\\n", pos);
        if (next == std::string::npos) next = text.size();
        names.push_back(text.substr(pos, next - pos));
        pos = next + 2;
      }
    }
    manager.close(s);
    while (s.events().receive()) {
    }
    manager.reap(s);
  }
  for (const char* extra : kExtraSubmodules) names.push_back(extra);
  std::erase_if(names, [](const std::string& n) {
    for (const char* skip : kSkipped) {
      if (n == skip) return true;
    }
    return false;
  });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const auto& n : names) std::cout << n << "\n";
  std::cout << std::flush;
  if (!(*runtime)->finalize()) _exit(0);
  return 0;
}

// One child: `sessions` sessions import `module` at the same moment, then
// close; `rounds` times. Prints one line: ok | import-error: ... | error: ...
int child(const std::string& module, int sessions, int rounds) {
  auto runtime = py::Runtime::start();
  if (!runtime) {
    std::cout << "error: " << runtime.error().message << "\n";
    return 3;
  }
  NoListener listener;
  std::string verdict = "ok";
  {
    SessionManager manager(listener, SessionOptions{});
    for (int round = 0; round < rounds; ++round) {
      std::vector<Session*> open;
      for (int i = 0; i < sessions; ++i) {
        auto opened = manager.open({});
        if (!opened) {
          std::cout << "error: " << opened.error().message << "\n";
          return 3;
        }
        open.push_back(opened->session);
      }
      std::vector<JobId> jobs;
      for (Session* s : open) {
        jobs.push_back(Session::next_job_id());
        s->submit(RunJob{jobs.back(), "import " + module, {}});
      }
      for (std::size_t i = 0; i < open.size(); ++i) {
        auto r = wait_run(*open[i], jobs[i]);
        if (!r) {
          verdict = "error: no result";
        } else if (r->error && verdict == "ok") {
          const std::string kind = r->error->type == "ImportError" || r->error->type == "ModuleNotFoundError"
                                       ? "import-error: "
                                       : "exception: ";
          verdict = kind + r->error->type + ": " + r->error->message.substr(0, 160);
        }
      }
      for (Session* s : open) {
        manager.close(*s);
        while (s->events().receive()) {
        }
        manager.reap(*s);
      }
    }
  }
  std::cout << verdict << "\n" << std::flush;
  // Leave the way the server leaves.
  if (!(*runtime)->finalize()) _exit(0);
  return 0;
}

struct ChildResult {
  std::string module;
  std::string verdict;  // child's line, or "CRASH: <signal>" / "HANG"
  std::string stderr_tail;
  double seconds = 0;
};

struct Running {
  pid_t pid;
  int out;
  int err;
  std::string module;
  std::string output, errors;
  Clock::time_point started;
};

Running spawn_child(const std::string& self, const std::string& module, int sessions, int rounds) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) std::abort();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<std::string> args{self, "--child", module, "--sessions", std::to_string(sessions), "--rounds",
                                std::to_string(rounds)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  return Running{pid, out[0], err[0], module, {}, {}, Clock::now()};
}

void read_available(int fd, std::string& into) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) into.append(buf, static_cast<std::size_t>(n));
}

std::vector<std::string> module_names(const std::string& self) {
  std::vector<std::string> names;
  FILE* p = popen((self + " --list").c_str(), "r");
  if (p == nullptr) return names;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string n(line);
    while (!n.empty() && (n.back() == '\n' || n.back() == '\r')) n.pop_back();
    if (!n.empty()) names.push_back(n);
  }
  pclose(p);
  return names;
}

int matrix(const std::string& self, int sessions, int rounds, int jobs, int timeout_s) {
  const std::vector<std::string> names = module_names(self);
  if (names.empty()) {
    std::cerr << "could not list the stdlib modules\n";
    return 2;
  }
  std::cout << "importing " << names.size() << " modules, each in " << sessions << " parallel sessions x " << rounds
            << " rounds, one child process per module\n" << std::flush;
  std::vector<ChildResult> results;
  std::vector<Running> running;
  std::size_t next = 0;
  while (next < names.size() || !running.empty()) {
    while (next < names.size() && static_cast<int>(running.size()) < jobs) {
      running.push_back(spawn_child(self, names[next++], sessions, rounds));
    }
    std::vector<pollfd> fds;
    for (auto& r : running) {
      fds.push_back({r.out, POLLIN, 0});
      fds.push_back({r.err, POLLIN, 0});
    }
    poll(fds.data(), fds.size(), 50);
    for (auto it = running.begin(); it != running.end();) {
      read_available(it->out, it->output);
      read_available(it->err, it->errors);
      int status = 0;
      const bool timed_out = Clock::now() - it->started > std::chrono::seconds(timeout_s);
      if (timed_out) kill(it->pid, SIGKILL);
      if (waitpid(it->pid, &status, timed_out ? 0 : WNOHANG) == it->pid) {
        read_available(it->out, it->output);
        read_available(it->err, it->errors);
        ChildResult res{it->module, {}, {}, std::chrono::duration<double>(Clock::now() - it->started).count()};
        std::string line = it->output.substr(0, it->output.find('\n'));
        if (timed_out) {
          res.verdict = "HANG";
        } else if (WIFSIGNALED(status)) {
          res.verdict = std::string("CRASH: ") + strsignal(WTERMSIG(status));
        } else if (WEXITSTATUS(status) != 0 || line.empty()) {
          res.verdict = "CRASH: exit status " + std::to_string(WEXITSTATUS(status));
        } else {
          res.verdict = line;
        }
        std::string tail = it->errors.size() > 300 ? it->errors.substr(it->errors.size() - 300) : it->errors;
        res.stderr_tail = tail;
        close(it->out);
        close(it->err);
        results.push_back(std::move(res));
        it = running.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::sort(results.begin(), results.end(), [](auto& a, auto& b) { return a.module < b.module; });
  std::map<std::string, int> counts;
  int failures = 0;
  std::cout << "\nmodules that did not simply import:\n";
  for (const auto& r : results) {
    const std::string kind = r.verdict.substr(0, r.verdict.find(':'));
    counts[kind]++;
    if (r.verdict != "ok") std::cout << "  " << r.module << ": " << r.verdict << "\n";
    if (kind == "CRASH" || kind == "HANG" || kind == "error") {
      ++failures;
      std::cout << "    stderr: " << r.stderr_tail << "\n";
    }
  }
  std::cout << "\nsummary:";
  for (auto& [kind, n] : counts) std::cout << " " << kind << "=" << n;
  std::cout << "\n" << (results.size() - failures) << " passed, " << failures << " failed\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int sessions = 4, rounds = 2, jobs = 2, timeout_s = 60;
  std::string child_module;
  bool list = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (args[i] == "--child") child_module = value();
    else if (args[i] == "--sessions") sessions = std::stoi(value());
    else if (args[i] == "--rounds") rounds = std::stoi(value());
    else if (args[i] == "--jobs") jobs = std::stoi(value());
    else if (args[i] == "--timeout") timeout_s = std::stoi(value());
    else if (args[i] == "--list") list = true;
  }
  if (!child_module.empty()) return child(child_module, sessions, rounds);
  if (list) return list_modules();
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 2;
  self[n] = '\0';
  return matrix(self, sessions, rounds, jobs, timeout_s);
}

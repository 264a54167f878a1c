// subcell: notebook cells in CPython subinterpreters, over JSON-RPC.
//
//   subcell [serve] [options]    the stdio JSON-RPC server (protocol/README.md)
//   subcell run FILE.py|.ipynb   run a `# %%` file or a notebook cell by cell
//   subcell --version | --help
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/run_file.h"
#include "python/runtime.h"
#include "server/server.h"
#include "support/log.h"
#include "support/main_thread.h"
#include "support/protected_fds.h"
#include "version.h"

namespace subcell {
namespace {

constexpr const char* kUsage = R"(usage: subcell [serve] [options]
       subcell run [options] FILE.py | NOTEBOOK.ipynb
       subcell --version | --help

serve (the default): a JSON-RPC 2.0 server on stdin/stdout with LSP framing
  (Content-Length headers). Every session is a CPython subinterpreter with its
  own GIL. The protocol is described in protocol/README.md.
    --pool-size N             interpreters kept warm for session/open (default 1)
    --prelude CODE            Python each warm interpreter runs first, e.g. "import json"
    --max-message-bytes N     largest accepted message (default 67108864)
    --output-channel-bytes N  output buffered per session before print() blocks
                              (default 1048576)
    --close-grace-ms N        how long closing waits for a session's threads (default 2000)
    --isolation MODE          where sessions run unless session/open says: interpreter
                              (default: an own-GIL subinterpreter in this process),
                              process (a worker process of its own), auto (an interpreter
                              that moves to a process when a cell imports a module that
                              needs one)
    --process-pool-size N     worker processes kept started for process sessions (default 1)
    --interpreter-host WHERE  server (default) or workers: interpreter sessions live in
                              worker processes that are recycled against CPython's
                              per-interpreter memory leak
    --recycle-after-sessions N  a worker hosting interpreter sessions is retired after
                              N closed sessions (default 500; 0: never)
    --recycle-after-mb N      ... or once it has grown by N MB (default 1024; 0: never)
    --memory-limit-mb N       data size limit of each process session's worker
    --cell-timeout SECONDS    every cell is interrupted after this long (a process
                              session that ignores it loses its worker)
    --python PATH             the Python sessions run unless session/open says: an
                              interpreter or an environment (venv, conda env); another
                              CPython version than the embedded one runs as process
                              sessions on a worker built for it (subcell-py3.N)
    --no-guard                interpreter sessions without the session guard (see
                              protocol/README.md: an accident barrier, not security)
    --log-level LEVEL         debug, info, warning (default), error, off; logs go to stderr

run FILE.py | NOTEBOOK.ipynb: runs the cells of a "# %%" file or of a notebook in
  one session of a `subcell serve` started for the run, and prints their output,
  values and errors (tracebacks point into the file). "# %% [markdown]" cells and
  a notebook's markdown and raw cells are skipped; "# %% [reset]" resets the
  session before its cell. input() reads from the terminal (or piped stdin).
  image/png displays are saved as NAME_figures/cell-N-K.png beside the file.
  Ctrl+C interrupts the running cell (twice: quit).
    --allow-errors            keep going after a cell fails, and exit 0
    --color=WHEN              colour the output: auto (default), always, never
    --output PATH, -o PATH    write the executed notebook (nbformat 4, with outputs) to PATH
    --inplace                 write the executed notebook back to NOTEBOOK.ipynb
    --timeout SECONDS         interrupt any cell that runs longer (its error says so)
    --param NAME=VALUE, -p    a parameter (repeatable): a Python literal if VALUE is one,
                              else a string; injected as a cell after the cell tagged
                              "parameters" (papermill's convention), or first
    --isolation MODE          interpreter, process or auto (see serve's --isolation)
    --python PATH             the Python the session runs: an interpreter or an environment
)";

bool parse_size(std::string_view text, std::size_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_seconds(std::string_view text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && out > 0 && out <= 1e7;
}

int usage_error(const std::string& message) {
  std::cerr << "subcell: " << message << "\n\n" << kUsage;
  return 2;
}

std::string version_line() {
  return std::string("subcell ") + kSubcellVersion + " (CPython " + py::built_with_version() + ", own GIL per session)";
}

std::string self_binary() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string("subcell");
}

int serve(ServerOptions options) {
  options.self_binary = self_binary();
  // The protocol gets private copies of stdin and stdout. fd 1 then points
  // at stderr and fd 0 at /dev/null, so nothing a cell or a C library
  // writes to fd 1 can corrupt a frame, and no child process can read the
  // protocol's input.
  const int protocol_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, protected_fds::floor());
  const int protocol_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, protected_fds::floor());
  if (protocol_in < 0 || protocol_out < 0) {
    std::perror("subcell: dup");
    return 2;
  }
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  signal(SIGPIPE, SIG_IGN);

  auto runtime = py::Runtime::start();
  if (!runtime) {
    log::error(runtime.error().message);
    return 2;
  }
  int code = 0;
  {
    Server server((*runtime)->info(), options);
    code = server.run(protocol_in, protocol_out);
  }
  if (!(*runtime)->finalize()) {
    // CPython cannot finalize safely here (a parked interpreter, or 3.12's
    // finalization bug): everything owed has been written, so just leave.
    std::fflush(nullptr);
    _exit(code);
  }
  return code;
}

// `subcell worker --fd N --process|--interpreters --parent-pid P`: started
// by the server (workers/worker.cpp), never by hand. It serves the subcell
// protocol on fd N for the sessions the server places in it.
int worker(const std::vector<std::string_view>& args) {
  int fd = -1;
  bool process = false;
  pid_t parent = 0;
  std::string python;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::size_t n = 0;
    if (args[i] == "--fd" && i + 1 < args.size() && parse_size(args[i + 1], n)) {
      fd = static_cast<int>(n);
      ++i;
    } else if (args[i] == "--parent-pid" && i + 1 < args.size() && parse_size(args[i + 1], n)) {
      parent = static_cast<pid_t>(n);
      ++i;
    } else if (args[i] == "--python" && i + 1 < args.size()) {
      python = args[++i];
    } else if (args[i] == "--process") {
      process = true;
    } else if (args[i] == "--interpreters") {
      process = false;
    } else {
      return usage_error("unknown argument for worker: " + std::string(args[i]));
    }
  }
  if (fd < 0) return usage_error("worker needs --fd");
  // It goes when the server goes, however the server went.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent > 0 && ::getppid() != parent) return 1;
  // The connection out of the cells' reach: a descriptor they do not
  // inherit, and fd 1 pointing at stderr, as in `serve`.
  const int in = fcntl(fd, F_DUPFD_CLOEXEC, protected_fds::floor());
  const int out = fcntl(fd, F_DUPFD_CLOEXEC, protected_fds::floor());
  ::close(fd);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  signal(SIGPIPE, SIG_IGN);

  py::RuntimeOptions runtime_options;
  runtime_options.main_interpreter_session = process;
  runtime_options.executable = python;
  // The server thread must not take the SIGINT meant for the cell: block
  // it before any thread starts, unblock it on the main thread only.
  sigset_t sigint, previous;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  if (process) pthread_sigmask(SIG_BLOCK, &sigint, &previous);
  auto runtime = py::Runtime::start(runtime_options);
  if (!runtime) {
    log::error(runtime.error().message);
    return 2;
  }
  ServerOptions options;
  options.role = process ? ServerRole::kProcessWorker : ServerRole::kInterpreterWorker;
  options.pool_size = 0;  // `initialize` says
  const py::RuntimeInfo info = (*runtime)->info();
  auto serve_connection = [&] {
    Server server(info, options);
    const int code = server.run(in, out);
    // Sessions may still be stuck in C: leave without finalizing or
    // waiting for them, everything owed has been written.
    std::fflush(nullptr);
    _exit(code);
  };
  if (!process) serve_connection();
  // The session runs on this, the main thread, where CPython delivers
  // signals; the protocol is served from another.
  std::thread server_thread(serve_connection);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  MainThread::run();
  server_thread.join();
  return 0;
}

int main_impl(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
    std::cout << version_line() << "\n";
    return 0;
  }
  auto is_help = [](std::string_view a) { return a == "--help" || a == "-h" || a == "help"; };
  // `subcell --help`, and `--help` among a command's options (`subcell run --help`).
  const bool command = !args.empty() && (args[0] == "run" || args[0] == "serve");
  if (!args.empty() &&
      (is_help(args[0]) || (command && std::any_of(args.begin() + 1, args.end(),
                                                   [](std::string_view a) { return a == "--help" || a == "-h"; })))) {
    std::cout << version_line() << "\n\n" << kUsage;
    return 0;
  }

  if (!args.empty() && args[0] == "worker") return worker(args);

  if (!args.empty() && args[0] == "run") {
    auto options = parse_run_options(args);
    if (!options) return usage_error(options.error().message);
    options->server_binary = self_binary();
    return run_file(*options);
  }

  ServerOptions options;
  std::size_t i = (!args.empty() && args[0] == "serve") ? 1 : 0;
  for (; i < args.size(); ++i) {
    std::string_view a = args[i];
    auto value = [&](std::string_view& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string_view v;
    std::size_t n = 0;
    if (a == "--pool-size") {
      if (!value(v) || !parse_size(v, n) || n > 64) return usage_error("--pool-size needs a number from 0 to 64");
      options.pool_size = n;
    } else if (a == "--prelude") {
      if (!value(v)) return usage_error("--prelude needs Python code");
      options.prelude = v;
    } else if (a == "--max-message-bytes") {
      if (!value(v) || !parse_size(v, n) || n == 0) return usage_error("--max-message-bytes needs a positive number");
      options.max_message_bytes = n;
    } else if (a == "--output-channel-bytes") {
      if (!value(v) || !parse_size(v, n) || n < 1024) return usage_error("--output-channel-bytes needs a number >= 1024");
      options.output_channel_bytes = n;
    } else if (a == "--close-grace-ms") {
      if (!value(v) || !parse_size(v, n)) return usage_error("--close-grace-ms needs a number");
      options.close_grace = std::chrono::milliseconds(n);
    } else if (a == "--isolation") {
      if (!value(v) || (v != "interpreter" && v != "process" && v != "auto")) {
        return usage_error("--isolation needs interpreter, process or auto");
      }
      options.isolation = v == "process" ? protocol::Isolation::kProcess
                          : v == "auto"  ? protocol::Isolation::kAuto
                                         : protocol::Isolation::kInterpreter;
    } else if (a == "--process-pool-size") {
      if (!value(v) || !parse_size(v, n) || n > 16) return usage_error("--process-pool-size needs a number from 0 to 16");
      options.process_pool_size = n;
    } else if (a == "--interpreter-host") {
      if (!value(v) || (v != "server" && v != "workers")) return usage_error("--interpreter-host needs server or workers");
      options.interpreters_in_workers = v == "workers";
    } else if (a == "--recycle-after-sessions") {
      if (!value(v) || !parse_size(v, n)) return usage_error("--recycle-after-sessions needs a number");
      options.recycle_after_sessions = n;
    } else if (a == "--recycle-after-mb") {
      if (!value(v) || !parse_size(v, n)) return usage_error("--recycle-after-mb needs a number");
      options.recycle_after_mb = n;
    } else if (a == "--memory-limit-mb") {
      if (!value(v) || !parse_size(v, n) || n < 16) return usage_error("--memory-limit-mb needs a number >= 16");
      options.limits.memory_mb = static_cast<std::int64_t>(n);
    } else if (a == "--cell-timeout") {
      double seconds = 0;
      if (!value(v) || !parse_seconds(v, seconds)) return usage_error("--cell-timeout needs a positive number of seconds");
      options.limits.cell_timeout_seconds = seconds;
    } else if (a == "--python") {
      if (!value(v) || v.empty()) return usage_error("--python needs an interpreter's path or an environment's directory");
      options.python = std::string(v);
    } else if (a == "--no-guard") {
      options.guard = false;
    } else if (a == "--log-level") {
      log::Level level;
      if (!value(v) || !log::parse_level(v, level)) return usage_error("--log-level needs debug, info, warning, error or off");
      log::set_level(level);
    } else {
      return usage_error("unknown argument: " + std::string(a));
    }
  }
  return serve(options);
}

}  // namespace
}  // namespace subcell

int main(int argc, char** argv) { return subcell::main_impl(argc, argv); }

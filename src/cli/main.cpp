// subcell: notebook cells in CPython subinterpreters, over JSON-RPC.
//
//   subcell [serve] [options]    the stdio JSON-RPC server (protocol/README.md)
//   subcell run FILE.py          run a `# %%` file cell by cell
//   subcell --version | --help
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_file.h"
#include "python/runtime.h"
#include "server/server.h"
#include "support/log.h"
#include "version.h"

namespace subcell {
namespace {

constexpr const char* kUsage = R"(usage: subcell [serve] [options]
       subcell run [--allow-errors] [--color=auto|always|never] FILE.py
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
    --log-level LEVEL         debug, info, warning (default), error, off; logs go to stderr

run FILE.py: runs the file's cells (split at "# %%" lines) in one session and
  prints their output, values and errors. "# %% [markdown]" cells are skipped;
  "# %% [reset]" resets the session before its cell. Ctrl+C interrupts the
  running cell (twice: quit).
    --allow-errors            keep going after a cell fails, and exit 0
    --color=WHEN              colour the output: auto (default), always, never
)";

bool parse_size(std::string_view text, std::size_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

int usage_error(const std::string& message) {
  std::cerr << "subcell: " << message << "\n\n" << kUsage;
  return 2;
}

std::string version_line() {
  return std::string("subcell ") + kSubcellVersion + " (CPython " + py::built_with_version() + ", own GIL per session)";
}

int serve(const ServerOptions& options) {
  // The protocol gets private copies of stdin and stdout. fd 1 then points
  // at stderr and fd 0 at /dev/null, so nothing a cell or a C library
  // writes to fd 1 can corrupt a frame, and no child process can read the
  // protocol's input.
  const int protocol_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  const int protocol_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
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

int main_impl(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
    std::cout << version_line() << "\n";
    return 0;
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::cout << version_line() << "\n\n" << kUsage;
    return 0;
  }

  if (!args.empty() && args[0] == "run") {
    RunFileOptions options;
    options.color = isatty(STDOUT_FILENO) != 0;
    for (std::size_t i = 1; i < args.size(); ++i) {
      std::string_view a = args[i];
      if (a == "--allow-errors") {
        options.allow_errors = true;
      } else if (a == "--color=always" || a == "--color") {
        options.color = true;
      } else if (a == "--color=never") {
        options.color = false;
      } else if (a == "--color=auto") {
      } else if (!a.empty() && a[0] == '-') {
        return usage_error("unknown option for run: " + std::string(a));
      } else if (options.path.empty()) {
        options.path = a;
      } else {
        return usage_error("run takes one file");
      }
    }
    if (options.path.empty()) return usage_error("run needs a file");
    return run_file(options);
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

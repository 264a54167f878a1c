// The hostile-cell table: each case in each isolation mode, beside a
// neighbour session that holds state. A row says what the user sees:
//   contained      the session goes on (with an error, or closed as asked)
//   session lost   only that session ended, reported by session/crashed
//   server lost    the server process died
// Process mode must have no "server lost" row; in interpreter mode only the
// cases that by nature need process isolation (protocol/README.md) may.
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "neighbour.h"
#include "server_process.h"

using namespace subcell::testing;

namespace {

enum class Then { kNothing, kInterrupt, kClose, kInterruptThenClose, kReset };

struct Case {
  const char* name;
  std::string code;
  Then then = Then::kNothing;
  Json limits = nullptr;           // session/open limits
  bool interpreter_only = false;   // skipped in process mode
  bool process_only = false;       // skipped in interpreter mode (why: `skip_reason`)
  const char* skip_reason = "";
  // Interpreter mode may lose the server here: only process isolation helps.
  bool needs_process = false;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"ctypes NULL read", "import ctypes\nctypes.string_at(0)", Then::kNothing, nullptr, false, false, "", true},
      {"faulthandler._sigsegv()", "import faulthandler\nfaulthandler._sigsegv()"},
      {"os.abort()", "import os\nos.abort()"},
      {"os._exit(3)", "import os\nos._exit(3)"},
      {"os.kill(os.getpid(), 9)", "import os\nos.kill(os.getpid(), 9)"},
      {"unbounded recursion, setrecursionlimit(10**6)",
       "import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return f(n + 1)\nf(0)"},
      {"recursion through C, setrecursionlimit(10**6)",
       "import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return eval('f(n + 1)', {'f': f, 'n': n})\nf(0)"},
      {"a 20 GB allocation under a memory cap of 512 MB", "x = bytearray(20 * 1024**3)", Then::kNothing,
       Json{{"memoryMB", 512}}, false, true, "no cap: interpreter sessions share the server's memory"},
      {"gradual allocation under a memory cap of 512 MB",
       "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))", Then::kNothing, Json{{"memoryMB", 512}},
       false, true, "no cap: interpreter sessions share the server's memory"},
      {"closing fds 0-50", "import os\nfor fd in range(51):\n    try:\n        os.close(fd)\n    except OSError:\n        pass"},
      {"os.dup2 over fd 1", "import os\nos.dup2(os.open('/dev/null', os.O_WRONLY), 1)"},
      {"sys.stdout = None", "import sys\nsys.stdout = None\nprint('lost')"},
      {"200 threads sleeping forever, then close",
       "import threading, time\nfor _ in range(200):\n    threading.Thread(target=time.sleep, args=(10**9,)).start()",
       Then::kClose},
      {"a thread in `while True: pass`, then close",
       "import threading\ndef spin():\n    while True: pass\nthreading.Thread(target=spin).start()", Then::kClose},
      {"catastrophic backtracking re + interrupt", "import re\nre.match(r'(x+x+)+y', 'x' * 40)",
       Then::kInterruptThenClose},
      {"time.sleep(1e9) + per-cell limit of 1 s", "import time\ntime.sleep(1e9)", Then::kNothing,
       Json{{"cellTimeoutSeconds", 1.0}}},
      // The hardening issue's cases.
      {"sum(range(10**13)) + interrupt, then close", "sum(range(10**13))", Then::kInterruptThenClose},
      {"a loop swallowing KeyboardInterrupt + interrupt, then close",
       "while True:\n    try:\n        while True: pass\n    except KeyboardInterrupt:\n        pass",
       Then::kInterruptThenClose},
      {"select() on a pipe + interrupt", "import select, os\nr, w = os.pipe()\nselect.select([r], [], [])",
       Then::kInterrupt},
      {"socket.recv + interrupt", "import socket\na, b = socket.socketpair()\na.recv(1)", Then::kInterrupt},
      {"subprocess.run(['sleep', '60']) + interrupt", "import subprocess\nsubprocess.run(['sleep', '60'])",
       Then::kInterrupt},
      {"_interpreters: exec in every other interpreter",
       "import _interpreters\nfor i in _interpreters.list_all():\n    _interpreters.exec(i[0] if isinstance(i, tuple) "
       "else i, 'kept = None')"},
      {"_interpreters.destroy of the others",
       "import _interpreters\nfor i in _interpreters.list_all():\n    _interpreters.destroy(i[0] if isinstance(i, "
       "tuple) else i)"},
      {"SIGTERM to its own process", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)"},
      {"SIGUSR1 to its own process", "import os, signal\nos.kill(os.getpid(), signal.SIGUSR1)"},
      {"signal.alarm(1), then sleep", "import signal, time\nsignal.alarm(1)\ntime.sleep(3)"},
      {"RLIMIT_NOFILE lowered to 16", "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))\n"
                                      "open('/dev/null').close()"},
      {"RLIMIT_CPU lowered to 1 s", "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 1))"},
      {"garbage written to the protocol's descriptor",
       "import os\nfd = max(int(f) for f in os.listdir('/proc/self/fd'))\n"
       "os.write(fd, b'Content-Length: 9\\r\\n\\r\\nnot json!')"},
      {"os.dup2 over the protocol's descriptor",
       "import os\nfd = max(int(f) for f in os.listdir('/proc/self/fd'))\nos.dup2(os.open('/dev/null', os.O_RDWR), fd)"},
      {"a __del__ that loops, during reset + interrupt",
       "class Stubborn:\n    def __del__(self):\n        while True: pass\nobj = Stubborn()", Then::kReset},
      {"an atexit function that loops, then close",
       "import atexit\n@atexit.register\ndef forever():\n    while True: pass", Then::kClose},
  };
  return all;
}

// A request that may go unanswered: the server may have died.
std::optional<Json> ask(ServerProcess& server, const std::string& method, Json params,
                        std::chrono::milliseconds timeout = 15s) {
  if (!server.running()) return std::nullopt;
  return server.try_response(server.send_request(method, std::move(params)), timeout);
}

struct Row {
  std::string outcome;  // contained / session lost / server lost / not run
  std::string detail;
};

// Runs one case against `server` (which may die); `session` is fresh.
Row run_case(ServerProcess& server, Neighbour& neighbour, const Case& c, const std::string& mode) {
  Json open{{"session", "hostile"}, {"isolation", mode}};
  if (!c.limits.is_null()) {
    Json limits = c.limits;
    if (mode == "interpreter") limits.erase("memoryMB");
    if (!limits.empty()) open["limits"] = limits;
  }
  const std::size_t crashes_before = server.notifications("session/crashed").size();
  Json opened = server.call("session/open", open, 20s);
  if (!opened.contains("result")) return {"not run", "could not open: " + opened.dump()};
  Json cell = server.send_request("cell/run", {{"session", "hostile"}, {"code", c.code}});
  std::optional<Json> answer, closed;
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(400)); };
  switch (c.then) {
    case Then::kNothing: answer = server.try_response(cell, 30s); break;
    case Then::kInterrupt:
      pause();
      ask(server, "cell/interrupt", {{"session", "hostile"}});
      answer = server.try_response(cell, 15s);
      break;
    case Then::kClose:
      answer = server.try_response(cell, 30s);
      closed = ask(server, "session/close", {{"session", "hostile"}});
      break;
    case Then::kInterruptThenClose:
      pause();
      ask(server, "cell/interrupt", {{"session", "hostile"}});
      closed = ask(server, "session/close", {{"session", "hostile"}});
      answer = server.try_response(cell, 15s);
      break;
    case Then::kReset: {
      answer = server.try_response(cell, 30s);
      if (!server.running()) break;
      Json reset = server.send_request("session/reset", {{"session", "hostile"}});
      pause();
      ask(server, "cell/interrupt", {{"session", "hostile"}});
      answer = server.try_response(reset, 15s);
      break;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (!server.running()) return {"server lost", "the server process died"};
  std::optional<Json> list = ask(server, "session/list", Json::object(), 10s);
  if (!list || !list->contains("result")) return {"server lost", "the server stopped answering"};
  // Whatever happened, the neighbour must not notice.
  neighbour.check_intact();
  const std::vector<Json> crashes = server.notifications("session/crashed");
  for (std::size_t i = crashes_before; i < crashes.size(); ++i) {
    const Json& n = crashes[i];
    if (n["params"]["session"] == "hostile") {
      return {"session lost", "session/crashed: " + n["params"]["message"].get<std::string>()};
    }
  }
  if (closed) {
    if (closed->contains("result")) return {"contained", "closed: " + (*closed)["result"]["interpreter"].get<std::string>()};
    return {"contained", "close answered " + closed->dump().substr(0, 80)};
  }
  Json probe = server.call("cell/run", {{"session", "hostile"}, {"code", "'alive'"}}, 20s);
  if (!probe.contains("result")) return {"session lost", "no longer answers: " + probe.dump().substr(0, 120)};
  std::string detail = "the session goes on";
  if (answer && answer->contains("result") && (*answer)["result"].contains("error") &&
      (*answer)["result"]["error"].is_object()) {
    const Json& e = (*answer)["result"]["error"];
    detail = e["type"].get<std::string>() + ": " + e["message"].get<std::string>().substr(0, 70);
  }
  server.call("session/close", {{"session", "hostile"}}, 15s);
  return {"contained", detail};
}

}  // namespace

// [nosan]: some cases segfault the server in interpreter mode by design,
// which a sanitizer build reports as a finding.
TEST_CASE("hostile cells: interpreter and process mode, a neighbour keeping its state throughout", "[nosan]") {
  std::map<std::string, std::map<std::string, Row>> table;
  for (const std::string mode : {"interpreter", "process"}) {
    std::unique_ptr<ServerProcess> server;
    std::unique_ptr<Neighbour> neighbour;
    for (const Case& c : cases()) {
      INFO(mode << ": " << c.name);
      if ((mode == "process" && c.interpreter_only) || (mode == "interpreter" && c.process_only)) {
        table[c.name][mode] = {"not run", c.skip_reason};
        continue;
      }
      if (!server) {
        server = std::make_unique<ServerProcess>(std::vector<std::string>{"--close-grace-ms", "500"});
        neighbour = std::make_unique<Neighbour>(*server);
      }
      Row row = run_case(*server, *neighbour, c, mode);
      table[c.name][mode] = row;
      if (row.outcome == "server lost") {
        if (mode == "process") FAIL("a process-mode case lost the server: " << c.name);
        CHECK(c.needs_process);  // only what by nature needs a process may take the server down
        neighbour.reset();
        server.reset();
      }
    }
  }
  std::printf("\n| case | interpreter | process |\n|---|---|---|\n");
  for (const Case& c : cases()) {
    auto cell = [&](const char* mode) {
      const Row& r = table[c.name][mode];
      return r.outcome + (r.detail.empty() ? "" : " (" + r.detail + ")");
    };
    std::printf("| %s | %s | %s |\n", c.name, cell("interpreter").c_str(), cell("process").c_str());
  }
  std::fflush(stdout);
}

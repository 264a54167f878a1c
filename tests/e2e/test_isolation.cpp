// Isolation modes: process sessions (a worker process each, its main
// interpreter), `auto` sessions that move to one, crash containment,
// per-session limits, and what interpreter sessions keep to themselves
// (working directory, environment).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "neighbour.h"
#include "server_process.h"

using namespace subcell::testing;

namespace {

std::string fixtures() { return SUBCELL_FIXTURES; }

}  // namespace

TEST_CASE("a process session runs in its own worker process, in its main interpreter") {
  ServerProcess server;
  Json opened = server.result("session/open", {{"session", "p"}, {"isolation", "process"}});
  CHECK(opened["isolation"] == "process");
  const int worker = opened["pid"].get<int>();
  CHECK(worker != server.pid());
  CHECK(value_of(server, "p", "import os\nos.getpid()") == std::to_string(worker));
  // The main interpreter: every extension loads, fork and signal handlers work.
  CHECK(value_of(server, "p", "import _testsinglephase, readline\n'loaded'") == "'loaded'");
  CHECK(value_of(server, "p", "import sys\nsys.path.insert(0, " + Json(fixtures()).dump() +
                                  ")\nimport subcell_singlephase\nsubcell_singlephase.answer") == "42");
  CHECK(value_of(server, "p", "import os\npid = os.fork()\nif pid == 0:\n    os._exit(7)\nos.waitpid(pid, 0)[1] >> 8") ==
        "7");
  CHECK(value_of(server, "p", "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: None) is not None") == "True");
  CHECK(value_of(server, "p", "import faulthandler\nfaulthandler.is_enabled()") == "True");
  Json list = server.result("session/list");
  REQUIRE(list["sessions"].size() == 1);
  CHECK(list["sessions"][0]["isolation"] == "process");
  CHECK(list["sessions"][0]["pid"] == worker);
  CHECK(server.result("session/close", {{"session", "p"}})["interpreter"] == "ended");
  CHECK_SCHEMA_VALID(server);
}

// [nosan]: under AddressSanitizer a worker's segfault is a sanitizer report
// and an exit, not the signal this test checks for.
TEST_CASE("a crash in a process session costs only that session, and its id can be opened again", "[nosan]") {
  ServerProcess server;
  Neighbour neighbour(server);
  const std::vector<std::pair<std::string, std::string>> crashes = {
      {"import ctypes\nctypes.string_at(0)", "SIGSEGV"},
      {"import faulthandler\nfaulthandler._sigsegv()", "SIGSEGV"},
      {"import os\nos.abort()", "SIGABRT"},
      {"import os\nos.kill(os.getpid(), 9)", "SIGKILL"},
      {"import os\nos._exit(3)", ""},
  };
  for (const auto& [code, signal] : crashes) {
    INFO(code);
    server.open_session({{"session", "doomed"}, {"isolation", "process"}});
    server.result("cell/run", {{"session", "doomed"}, {"code", "x = 1"}});
    // The crash waits for a gate the test opens once the second cell is
    // queued behind it, so that cell is one the crash must answer.
    const std::string gate = "/tmp/subcell-crash-gate-" + std::to_string(::getpid());
    ::unlink(gate.c_str());
    Json crashing = server.send_request("cell/run", {{"session", "doomed"}, {"cell", "boom"}, {"code",
        "import os, time\nwhile not os.path.exists(" + Json(gate).dump() + "):\n    time.sleep(0.005)\n" + code}});
    Json queued = server.send_request("cell/run", {{"session", "doomed"}, {"code", "x"}});
    for (int i = 0; i < 2000; ++i) {
      const Json listed = server.result("session/list");
      bool is_queued = false;
      for (const Json& s : listed["sessions"]) is_queued |= s["session"] == "doomed" && s["queuedCells"] == 1;
      if (is_queued) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::ofstream{gate};
    auto crashed = server.wait_notification("session/crashed", 20s);
    ::unlink(gate.c_str());
    REQUIRE(crashed);
    const Json& p = (*crashed)["params"];
    CHECK(p["session"] == "doomed");
    if (signal.empty()) {
      CHECK(p["cause"] == "exit");
      CHECK(p["exitCode"] == 3);
    } else {
      CHECK(p["cause"] == "signal");
      CHECK(p["signal"] == signal);
    }
    if (signal == "SIGSEGV") {
      // faulthandler's dump names the cell that crashed.
      CHECK(p["stderr"].get<std::string>().find("<cell 2>") != std::string::npos);
    }
    CHECK(server.wait_response(crashing)["error"]["code"] == -32013);
    CHECK(server.wait_response(queued)["error"]["code"] == -32013);
    // Gone from the list; the neighbour is untouched.
    const Json listed = server.result("session/list");
    for (const Json& s : listed["sessions"]) CHECK(s["session"] != "doomed");
    neighbour.check_intact();
  }
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("in a process session interrupt stops blocking calls too") {
  ServerProcess server;
  server.open_session({{"session", "p"}, {"isolation", "process"}});
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"os.read on a pipe", "import os\nr, w = os.pipe()\nos.read(r, 1)"},
      {"select", "import select, os\nr, w = os.pipe()\nselect.select([r], [], [])"},
      {"socket accept", "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\ns.accept()"},
      {"subprocess wait", "import subprocess\nsubprocess.run(['sleep', '60'])"},
  };
  for (const auto& [what, code] : cases) {
    INFO(what);
    Json id = server.send_request("cell/run", {{"session", "p"}, {"code", code}});
    REQUIRE(server.wait_notification("cell/started"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto start = std::chrono::steady_clock::now();
    server.result("cell/interrupt", {{"session", "p"}});
    Json r = server.wait_response(id, 10s);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(r.contains("result"));
    CHECK(r["result"]["error"]["type"] == "KeyboardInterrupt");
    std::printf("process session: interrupt of %s took %.1f ms\n", what, ms);
    CHECK(ms < 2000);
  }
}

TEST_CASE("closing a process session stuck in a C loop that ignores SIGINT kills its worker in bounded time") {
  ServerProcess server({"--close-grace-ms", "500"});
  Neighbour neighbour(server);
  server.open_session({{"session", "stuck"}, {"isolation", "process"}});
  server.send_request("cell/run", {{"session", "stuck"}, {"code", "sum(range(10**13))"}});
  wait_started(server, "stuck");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the C loop
  const auto start = std::chrono::steady_clock::now();
  Json closed = server.result("session/close", {{"session", "stuck"}}, 10s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(closed["interpreter"] == "killed");
  CHECK(seconds < 5);
  neighbour.check_intact();
  // The id is free again.
  server.open_session({{"session", "stuck"}, {"isolation", "process"}});
  CHECK(value_of(server, "stuck", "1 + 1") == "2");
}

// [nosan]: AddressSanitizer's shadow memory cannot be mapped under RLIMIT_DATA.
TEST_CASE("a memory limit turns allocations past it into MemoryError and the process session survives", "[nosan]") {
  ServerProcess server({"--memory-limit-mb", "400"});
  Neighbour neighbour(server);
  server.open_session({{"session", "p"}, {"isolation", "process"}});
  server.result("cell/run", {{"session", "p"}, {"code", "kept = 'still here'"}});
  CHECK(error_of(server, "p", "big = bytearray(20 * 1024**3)")["type"] == "MemoryError");
  CHECK(error_of(server, "p", "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 1024**2))")["type"] ==
        "MemoryError");
  CHECK(value_of(server, "p", "n = len(chunks)\ndel chunks\nkept") == "'still here'");
  CHECK(std::stoi(value_of(server, "p", "n")) < 45);
  neighbour.check_intact();
  // A memory limit makes no sense for a session that shares the server's memory.
  Json r = server.call("session/open", {{"isolation", "interpreter"}, {"limits", {{"memoryMB", 100}}}});
  CHECK(r["error"]["code"] == -32602);
}

TEST_CASE("a per-cell time limit interrupts the cell, in both modes") {
  ServerProcess server;
  for (const char* mode : {"interpreter", "process"}) {
    INFO(mode);
    const std::string s = server.open_session({{"isolation", mode}, {"limits", {{"cellTimeoutSeconds", 0.5}}}});
    const auto start = std::chrono::steady_clock::now();
    Json e = error_of(server, s, "import time\ntime.sleep(1e9)");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(e["type"] == "KeyboardInterrupt");
    CHECK(e["message"].get<std::string>().find("time limit of 0.5 s") != std::string::npos);
    CHECK(seconds < 5);
    CHECK(value_of(server, s, "'next cell runs'") == "'next cell runs'");
  }
}

TEST_CASE("a process session whose cell ignores its time limit loses its worker, reported as timeLimit") {
  ServerProcess server;
  Neighbour neighbour(server);
  server.open_session({{"session", "stubborn"}, {"isolation", "process"}, {"limits", {{"cellTimeoutSeconds", 0.5}}}});
  Json id = server.send_request("cell/run", {{"session", "stubborn"}, {"code",
      "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass"}});
  auto crashed = server.wait_notification("session/crashed", 20s);
  REQUIRE(crashed);
  CHECK((*crashed)["params"]["cause"] == "timeLimit");
  CHECK(server.wait_response(id)["error"]["code"] == -32013);
  neighbour.check_intact();
}

TEST_CASE("an auto session moves to a process before a cell that needs one, and tells the client") {
  ScratchDir cache;
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path());
  ServerProcess server;
  Json opened = server.result("session/open", {{"session", "nb"}, {"isolation", "auto"}});
  CHECK(opened["isolation"] == "interpreter");
  server.result("cell/run", {{"session", "nb"}, {"code", "print('no state yet')"}});
  Json moving = server.send_request("cell/run", {{"session", "nb"}, {"code", "import _testsinglephase, os\nos.getpid()"},
                                                 {"cell", "imports"}});
  Json after = server.send_request("cell/run", {{"session", "nb"}, {"code", "y = 21\ny * 2"}});
  auto changed = server.wait_notification("session/changed", 20s);
  REQUIRE(changed);
  const Json& p = (*changed)["params"];
  CHECK(p["session"] == "nb");
  CHECK(p["isolation"] == "process");
  CHECK(p["previous"] == "interpreter");
  CHECK(p["modules"] == Json::array({"_testsinglephase"}));
  CHECK(p["reason"].get<std::string>().find("_testsinglephase") != std::string::npos);
  Json r = server.wait_response(moving, 20s)["result"];
  CHECK(r["error"].is_null());
  CHECK(text_of(r["value"]) == std::to_string(p["pid"].get<int>()));
  CHECK(r["executionCount"] == 2);  // counting goes on where the interpreter left off
  Json next = server.wait_response(after, 20s)["result"];
  CHECK(text_of(next["value"]) == "42");
  CHECK(next["executionCount"] == 3);
  Json list = server.result("session/list");
  REQUIRE(list["sessions"].size() == 1);
  CHECK(list["sessions"][0]["isolation"] == "process");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("an auto session with state does not move: the error suggests a restart in a process") {
  ScratchDir cache;
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path());
  ServerProcess server;
  server.open_session({{"session", "nb"}, {"isolation", "auto"}});
  server.result("cell/run", {{"session", "nb"}, {"code", "x = 1"}});
  Json e = error_of(server, "nb", "import readline");
  CHECK(e["type"] == "ImportError");
  CHECK(e["message"].get<std::string>().find("already holds variables") != std::string::npos);
  CHECK(e["suggestion"]["action"] == "restartInProcess");
  CHECK(e["suggestion"]["modules"] == Json::array({"readline"}));
  CHECK(value_of(server, "nb", "x") == "1");  // nothing ran, nothing moved
  Json restarted = server.result("session/restart", {{"session", "nb"}, {"isolation", "process"}});
  CHECK(restarted["session"] == "nb");
  CHECK(restarted["isolation"] == "process");
  CHECK(value_of(server, "nb", "import readline\n'now it loads'") == "'now it loads'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a module that refuses subinterpreters is learned, kept in the cache and moves auto sessions from then on") {
  ScratchDir cache;
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path());
  const std::string path_cell = "import sys\nsys.path.insert(0, " + Json(fixtures()).dump() + ")";
  {
    ServerProcess server;
    server.open_session({{"session", "first"}, {"isolation", "auto"}});
    server.result("cell/run", {{"session", "first"}, {"code", path_cell}});
    // Not known yet: CPython's own ImportError, with the suggestion.
    Json e = error_of(server, "first", "import subcell_singlephase");
    CHECK(e["type"] == "ImportError");
    CHECK(e["message"].get<std::string>().find("does not support loading in subinterpreters") != std::string::npos);
    CHECK(e["suggestion"]["modules"] == Json::array({"subcell_singlephase"}));
    // Learned: the next auto session in the same server moves.
    server.open_session({{"session", "second"}, {"isolation", "auto"}});
    server.send_request("cell/run", {{"session", "second"}, {"code", path_cell + "\nimport subcell_singlephase"}});
    REQUIRE(server.wait_notification("session/changed", 20s));
  }
  // Kept in the user's cache for the next server too.
  std::ifstream file(cache.path() + "/subcell/process-modules-" + SUBCELL_PYTHON_MINOR + ".txt");
  std::stringstream content;
  content << file.rdbuf();
  CHECK(content.str().find("subcell_singlephase\n") != std::string::npos);
  ServerProcess later;
  later.open_session({{"session", "third"}, {"isolation", "auto"}});
  Json id = later.send_request("cell/run", {{"session", "third"}, {"code", path_cell + "\nimport subcell_singlephase\n"
                                                                               "subcell_singlephase.answer"}});
  REQUIRE(later.wait_notification("session/changed", 20s));
  CHECK(text_of(later.wait_response(id, 20s)["result"]["value"]) == "42");
}

TEST_CASE("interpreter sessions each keep their working directory and environment") {
  ScratchDir a, b;
  ServerProcess server;
  server.open_session({{"session", "a"}, {"cwd", a.path()}, {"env", {{"SUBCELL_TEST_WHO", "a"}}}});
  server.open_session({{"session", "b"}, {"cwd", b.path()}});
  // cwd is the real working directory, and stays first on sys.path.
  CHECK(value_of(server, "a", "import os, sys\n(os.getcwd(), sys.path[0])") ==
        "('" + a.path() + "', '" + a.path() + "')");
  // chdir in one session moves no other; threads and subprocesses follow their session.
  server.result("cell/run", {{"session", "a"}, {"code", "os.chdir('/')"}});
  CHECK(value_of(server, "b", "import os\nos.getcwd()") == "'" + b.path() + "'");
  CHECK(value_of(server, "a", "import threading\nseen = []\nt = threading.Thread(target=lambda: seen.append(os.getcwd()))\n"
                              "t.start(); t.join()\nseen[0]") == "'/'");
  CHECK(value_of(server, "b", "import subprocess\nsubprocess.run(['pwd'], capture_output=True, text=True).stdout.strip()") ==
        "'" + b.path() + "'");
  // Environment: set at open, changed in a cell, seen by the session's own children only.
  CHECK(value_of(server, "a", "os.environ['SUBCELL_TEST_WHO']") == "'a'");
  server.result("cell/run", {{"session", "a"}, {"code", "os.environ['SUBCELL_TEST_ONLY_A'] = '1'"}});
  CHECK(value_of(server, "a", "import subprocess\nsubprocess.run(['sh', '-c', 'echo $SUBCELL_TEST_WHO-$SUBCELL_TEST_ONLY_A'],"
                              " capture_output=True, text=True).stdout.strip()") == "'a-1'");
  CHECK(value_of(server, "a", "os.system('test \"$SUBCELL_TEST_ONLY_A\" = 1') >> 8") == "0");
  CHECK(value_of(server, "b", "repr(os.environ.get('SUBCELL_TEST_ONLY_A'))") == "'None'");
  CHECK(value_of(server, "b", "subprocess.run(['sh', '-c', 'echo x$SUBCELL_TEST_ONLY_A'], capture_output=True, "
                              "text=True).stdout.strip()") == "'x'");
  // Deleting works as in any Python (del, pop, KeyError for what is not there);
  // os.unsetenv acts on the session's environment, which os.environ is.
  CHECK(value_of(server, "a", "del os.environ['SUBCELL_TEST_ONLY_A']\n"
                              "os.environ['T1'] = os.environ['T2'] = '1'\n"
                              "os.environ.pop('T1'); os.unsetenv('T2')\n"
                              "try:\n    del os.environ['SUBCELL_TEST_ONLY_A']\nexcept KeyError as e:\n    missing = e\n"
                              "(sorted(k for k in ('SUBCELL_TEST_ONLY_A', 'T1', 'T2') if k in os.environ), missing)") ==
        "([], KeyError('SUBCELL_TEST_ONLY_A'))");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("with --interpreter-host workers, interpreter sessions live in a worker and still run in parallel") {
  ServerProcess server({"--interpreter-host", "workers"});
  Json a = server.result("session/open", {{"session", "a"}});
  Json b = server.result("session/open", {{"session", "b"}});
  CHECK(a["isolation"] == "interpreter");
  CHECK(a["pid"] != server.pid());
  CHECK(a["pid"] == b["pid"]);  // one worker hosts both
  CHECK(value_of(server, "a", "x = 1\nx") == "1");
  CHECK(value_of(server, "b", "'x' in globals()") == "False");
  CHECK(server.result("session/close", {{"session", "a"}})["interpreter"] == "ended");
  CHECK(value_of(server, "b", "2") == "2");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("shutdown and exit with sessions still open in workers end the server promptly") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{}, {"--interpreter-host", "workers"}}) {
    ServerProcess server(args);
    server.open_session({{"session", "p"}, {"isolation", args.empty() ? "process" : "interpreter"}});
    CHECK(value_of(server, "p", "1 + 1") == "2");
    CHECK(server.result("shutdown", Json::object(), 10s).is_null());
    server.send_notification("exit");
    CHECK(server.wait_exit(10s) == 0);
  }
}

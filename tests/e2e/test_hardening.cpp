// A stuck or hostile cell in an interpreter session must never wedge the
// server, and no session may reach into another: bounded close, shutdown
// and exit; interrupts that reach blocking calls; the session guard;
// os._exit ending only its session; refusing sessions that would not fit
// in memory. Each case has a neighbour session whose state must survive.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <thread>

#include "neighbour.h"
#include "server_process.h"

using namespace subcell::testing;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The cell's error, which must be a PermissionError from the guard naming `rule`.
void check_refused(ServerProcess& server, const std::string& session, const std::string& code, const std::string& rule,
                   const std::string& type = "PermissionError") {
  Json e = run_cell(server, session, code)["error"];
  INFO(code);
  REQUIRE(e.is_object());
  CHECK(e["type"] == type);
  CHECK(e["message"].get<std::string>().find("subcell guard: " + rule) != std::string::npos);
}

}  // namespace

TEST_CASE("a session whose cell will not stop is closed anyway, within its grace, and its id is free again") {
  ServerProcess server({"--close-grace-ms", "500"});
  Neighbour neighbour(server);
  const std::vector<std::pair<const char*, std::string>> stuck = {
      {"catastrophic regular expression", "import re\nre.match(r'(x+x+)+y', 'x' * 40)"},
      {"one long C call", "sum(range(10**13))"},
      {"a loop that swallows every KeyboardInterrupt",
       "while True:\n    try:\n        while True: pass\n    except KeyboardInterrupt:\n        pass"},
  };
  for (const auto& [what, code] : stuck) {
    INFO(what);
    server.open_session({{"session", "stuck"}});
    Json cell = server.send_request("cell/run", {{"session", "stuck"}, {"code", code}});
    wait_started(server, "stuck");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past its imports, into the C call
    CHECK(server.result("cell/interrupt", {{"session", "stuck"}})["interrupted"] == true);
    const auto start = Clock::now();
    Json closed = server.result("session/close", {{"session", "stuck"}}, 10s);
    CHECK(seconds_since(start) < 6.0);
    CHECK(closed["interpreter"] == "abandoned");
    Json answered = server.wait_response(cell, 5s);
    INFO(answered.dump());
    CHECK(answered["error"]["code"] == -32800);
    const Json listed = server.result("session/list");
    for (const Json& s : listed["sessions"]) CHECK(s["session"] != "stuck");
    neighbour.check_intact();
  }
  server.open_session({{"session", "stuck"}});
  CHECK(text_of(run_cell(server, "stuck", "'reused'")["value"]) == "'reused'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("shutdown answers in bounded time whatever the cells do, and exit ends the process cleanly") {
  ServerProcess server({"--close-grace-ms", "500"});
  server.open_session({{"session", "a"}});
  server.open_session({{"session", "b"}});
  server.send_request("cell/run", {{"session", "a"}, {"code", "sum(range(10**13))"}});
  server.send_request("cell/run", {{"session", "b"}, {"code", "import re\nre.match(r'(x+x+)+y', 'x' * 40)"}});
  REQUIRE(server.wait_notification("cell/started"));  // no other cell ran in this server
  REQUIRE(server.wait_notification("cell/started"));
  auto start = Clock::now();
  CHECK(server.result("shutdown", Json::object(), 10s).is_null());
  CHECK(seconds_since(start) < 6.0);
  start = Clock::now();
  server.send_notification("exit");
  CHECK(server.wait_exit(10s) == 0);  // an exit status, not a signal
  CHECK(seconds_since(start) < 6.0);
  CHECK(server.stderr_text().find("Segmentation") == std::string::npos);
}

TEST_CASE("finalizers and atexit functions run under the same deadlines") {
  ServerProcess server({"--close-grace-ms", "500"});
  Neighbour neighbour(server);
  // A __del__ that loops runs during reset: reset is interruptible.
  server.open_session({{"session", "f"}});
  run_cell(server, "f", "class Stubborn:\n    def __del__(self):\n        while True: pass\nobj = Stubborn()");
  Json reset = server.send_request("session/reset", {{"session", "f"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.result("cell/interrupt", {{"session", "f"}});
  CHECK(server.wait_response(reset, 10s).contains("result"));
  CHECK(text_of(run_cell(server, "f", "'after reset'")["value"]) == "'after reset'");
  // An atexit function that loops runs when the session closes: the close
  // deadline interrupts it and the interpreter still ends.
  run_cell(server, "f", "import atexit\n@atexit.register\ndef forever():\n    while True: pass");
  const auto start = Clock::now();
  Json closed = server.result("session/close", {{"session", "f"}}, 10s);
  CHECK(closed["interpreter"] == "ended");
  CHECK(seconds_since(start) < 6.0);
  neighbour.check_intact();
}

TEST_CASE("interrupts reach blocking calls in interpreter sessions (measured)") {
  ServerProcess server;
  server.open_session({{"session", "io"}, {"isolation", "interpreter"}});
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"select.select on a pipe", "import select, os\nr, w = os.pipe()\nselect.select([r], [], [])"},
      {"select.poll", "import select, os\nr, w = os.pipe()\np = select.poll()\np.register(r)\np.poll()"},
      {"selectors (epoll)", "import selectors, os\nr, w = os.pipe()\ns = selectors.DefaultSelector()\n"
                            "s.register(r, selectors.EVENT_READ)\ns.select()"},
      {"socket.accept", "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\ns.accept()"},
      {"socket.recv", "import socket\na, b = socket.socketpair()\na.recv(1)"},
      {"os.read on a pipe", "import os\nr, w = os.pipe()\nos.read(r, 1)"},
      {"os.waitpid", "import subprocess, os\np = subprocess.Popen(['sleep', '60'])\nos.waitpid(p.pid, 0)"},
      {"subprocess.run", "import subprocess\nsubprocess.run(['sleep', '60'])"},
      {"Popen.communicate", "import subprocess\np = subprocess.Popen(['sleep', '60'], stdout=subprocess.PIPE)\n"
                            "p.communicate()"},
  };
  for (const auto& [what, code] : cases) {
    INFO(what);
    Json id = server.send_request("cell/run", {{"session", "io"}, {"code", code}});
    REQUIRE(server.wait_notification("cell/started"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto start = Clock::now();
    server.result("cell/interrupt", {{"session", "io"}});
    Json r = server.wait_response(id, 10s);
    const double ms = seconds_since(start) * 1000;
    REQUIRE(r.contains("result"));
    CHECK(r["result"]["error"]["type"] == "KeyboardInterrupt");
    std::printf("interpreter session: interrupt of %-26s %6.1f ms\n", what, ms);
    CHECK(ms < 2000);
  }
  // An interrupted wait for a child sends it SIGINT, as a terminal would.
  Json id = server.send_request("cell/run", {{"session", "io"}, {"code",
      "import subprocess\np = subprocess.Popen(['sh', '-c', 'trap \"echo got SIGINT; exit 5\" INT; "
      "while true; do sleep 0.05; done'], stdout=subprocess.PIPE)\np.communicate()"}});
  REQUIRE(server.wait_notification("cell/started"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.result("cell/interrupt", {{"session", "io"}});
  CHECK(server.wait_response(id, 10s)["result"]["error"]["type"] == "KeyboardInterrupt");
  CHECK(text_of(run_cell(server, "io", "p.wait(5), p.stdout.read()")["value"]) == "(5, b'got SIGINT\\n')");
}

TEST_CASE("the session guard refuses what would break the server, naming the rule") {
  ServerProcess server;
  Neighbour neighbour(server);
  server.open_session({{"session", "g"}});
  check_refused(server, "g", "import _interpreters", "CPython's private interpreter modules", "ModuleNotFoundError");
  check_refused(server, "g", "import _xxsubinterpreters", "CPython's private interpreter modules", "ModuleNotFoundError");
  check_refused(server, "g", "import _interpqueues", "CPython's private interpreter modules", "ModuleNotFoundError");
  for (const char* sig : {"SIGTERM", "SIGINT", "SIGUSR1", "SIGKILL"}) {
    check_refused(server, "g", std::string("import os, signal\nos.kill(os.getpid(), signal.") + sig + ")",
                  "signals to the server's own process");
  }
  check_refused(server, "g", "import os, signal\nos.kill(0, signal.SIGTERM)", "signals to the server's own process");
  check_refused(server, "g", "import signal\nsignal.raise_signal(signal.SIGTERM)", "signals to the server's own process");
  check_refused(server, "g", "import signal\nsignal.alarm(1)", "process-wide timers");
  check_refused(server, "g", "import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.2)", "process-wide timers");
  check_refused(server, "g", "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 1))", "resource limits");
  check_refused(server, "g", "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))", "resource limits");
  // The server's descriptors: found in /proc/self/fd, but out of reach.
  run_cell(server, "g", "import os\nserver_fd = max(int(f) for f in os.listdir('/proc/self/fd'))");
  check_refused(server, "g", "os.close(server_fd)", "descriptor");
  check_refused(server, "g", "os.write(server_fd, b'Content-Length: 5\\r\\n\\r\\ngarbage')", "descriptor");
  check_refused(server, "g", "os.read(server_fd, 100)", "descriptor");
  check_refused(server, "g", "os.dup2(os.open('/dev/null', os.O_WRONLY), server_fd)", "descriptor");
  check_refused(server, "g", "os.dup2(os.open('/dev/null', os.O_WRONLY), 1)", "descriptor 1");
  check_refused(server, "g", "open('/proc/self/fd/%d' % server_fd, 'wb')", "descriptor");
  check_refused(server, "g", "import socket\nsocket.socket(fileno=server_fd)", "descriptor");
  check_refused(server, "g", "os.execv('/bin/true', ['true'])", "exec would replace the server process");
  // Closing "everything" closes what the session owns, and nothing of the server's.
  Json r = run_cell(server, "g", "mine = os.open('/dev/null', os.O_RDONLY)\nos.closerange(3, 65536)\n"
                                 "try:\n    os.fstat(mine)\nexcept OSError:\n    closed = True\nclosed");
  CHECK(text_of(r["value"]) == "True");
  run_cell(server, "g", "for fd in range(0, 1024):\n    try:\n        os.close(fd)\n    except OSError:\n        pass");
  neighbour.check_intact();
  CHECK(text_of(run_cell(server, "g", "'still serving'")["value"]) == "'still serving'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("the guard can be turned off per session and per server") {
  ServerProcess server;
  server.open_session({{"session", "off"}, {"guard", false}});
  CHECK(run_cell(server, "off", "import _interpreters\n'imported'")["value"]["text/plain"] == "'imported'");
  server.open_session({{"session", "on"}});
  check_refused(server, "on", "import _interpreters", "CPython's private interpreter modules", "ModuleNotFoundError");
  ServerProcess unguarded({"--no-guard"});
  unguarded.open_session({{"session", "s"}});
  CHECK(run_cell(unguarded, "s", "import _interpreters\n'imported'")["value"]["text/plain"] == "'imported'");
  Json init = unguarded.result("session/list");
  CHECK(init["sessions"].size() == 1);
}

TEST_CASE("os._exit and os.abort end the session, not the server, and say so like a crash") {
  ServerProcess server;
  Neighbour neighbour(server);
  const std::vector<std::tuple<const char*, std::string, std::string>> cases = {
      {"os._exit in the cell", "import os\nos._exit(3)", "exit"},
      {"os.abort in the cell", "import os\nos.abort()", "signal"},
      {"os._exit in a thread", "import os, threading, time\nthreading.Thread(target=os._exit, args=(4,)).start()\n"
                               "time.sleep(30)", "exit"},
  };
  for (const auto& [what, code, cause] : cases) {
    INFO(what);
    server.open_session({{"session", "e"}});
    Json cell = server.send_request("cell/run", {{"session", "e"}, {"code", code}});
    Json queued = server.send_request("cell/run", {{"session", "e"}, {"code", "1"}});
    auto crashed = server.wait_notification("session/crashed", 10s);
    REQUIRE(crashed);
    CHECK((*crashed)["params"]["session"] == "e");
    CHECK((*crashed)["params"]["cause"] == cause);
    if (cause == "signal") CHECK((*crashed)["params"]["signal"] == "SIGABRT");
    if (std::string(what) == "os._exit in the cell") CHECK((*crashed)["params"]["exitCode"] == 3);
    if (std::string(what) == "os._exit in a thread") CHECK((*crashed)["params"]["exitCode"] == 4);
    CHECK(server.wait_response(cell, 10s)["error"]["code"] == -32013);
    // Queued behind it: cancelled with the session, or unknown if it
    // arrived after the session was gone.
    const int queued_code = server.wait_response(queued, 10s)["error"]["code"];
    CHECK((queued_code == -32013 || queued_code == -32010));
    // The id is free again at once.
    for (int i = 0; i < 50 && server.call("session/open", {{"session", "e"}})["error"]["code"] == -32011; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    server.result("session/close", {{"session", "e"}});
    neighbour.check_intact();
  }
  // sys.exit in a thread ends that thread only, as in any Python.
  server.open_session({{"session", "t"}});
  Json r = run_cell(server, "t", "import sys, threading\nt = threading.Thread(target=sys.exit, args=(2,))\nt.start(); t.join()\n"
                            "'session alive'");
  CHECK(text_of(r["value"]) == "'session alive'");
  CHECK_SCHEMA_VALID(server);
}

// [nosan]: AddressSanitizer reserves terabytes of address space, which no RLIMIT_AS allows.
TEST_CASE("out of memory is an error at session/open, not an abort: existing sessions keep running", "[nosan]") {
  // The server gets 1 GiB of address space (RLIMIT_AS, inherited): every
  // closed own-GIL interpreter leaks ~2.7 MB in CPython, so open/close
  // cycles run into it, where CPython would end the process.
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_AS, &old) == 0);
  struct rlimit lowered = old;
  lowered.rlim_cur = 1024ull << 20;
  REQUIRE(::setrlimit(RLIMIT_AS, &lowered) == 0);
  ServerProcess server;
  ::setrlimit(RLIMIT_AS, &old);
  Neighbour neighbour(server);
  Json refused;
  int cycles = 0;
  for (; cycles < 2000; ++cycles) {
    Json r = server.call("session/open", {{"session", "churn"}}, 20s);
    if (r.contains("error")) {
      refused = r["error"];
      break;
    }
    server.result("cell/run", {{"session", "churn"}, {"code", "import json\n1"}});
    server.result("session/close", {{"session", "churn"}});
  }
  std::printf("the 1 GiB server refused a session after %d open/close cycles\n", cycles);
  REQUIRE(refused.is_object());
  CHECK(refused["code"] == -32012);
  CHECK(refused["message"].get<std::string>().find("memory") != std::string::npos);
  neighbour.check_intact();
  CHECK(server.running());
  CHECK_SCHEMA_VALID(server);
}

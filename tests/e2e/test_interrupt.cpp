// cell/interrupt and $/cancelRequest.
#include <catch2/catch.hpp>

#include "server_process.h"

using namespace subcell::testing;

namespace {

// Runs `code`, waits until it is running, interrupts it; returns the cell's result.
Json interrupt_running(ServerProcess& server, const std::string& session, const std::string& code) {
  Json id = server.send_request("cell/run", {{"session", session}, {"code", code}});
  REQUIRE(server.wait_notification("cell/started"));
  // Give the cell a moment to get into its loop or wait.
  server.result("cell/run", {{"session", "probe"}, {"code", "import time\ntime.sleep(0.2)"}});
  Json r = server.result("cell/interrupt", {{"session", session}});
  CHECK(r["interrupted"] == true);
  CHECK(r["cancelledCells"] == 0);
  return server.wait_response(id, 15s)["result"];
}

}  // namespace

TEST_CASE("interrupt stops running Python: loops, sleeps, lock waits, blocked prints", "[modes]") {
  ServerProcess server;
  server.open_session({{"session", "probe"}});
  const std::string s = server.open_session({{"session", "work"}});
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"busy loop", "n = 0\nwhile True:\n    n += 1"},
      {"time.sleep", "import time\ntime.sleep(600)"},
      {"Event.wait", "import threading\nthreading.Event().wait()"},
      {"Queue.get", "import queue\nqueue.Queue().get()"},
      {"Thread.join", "import threading, time\nt = threading.Thread(target=time.sleep, args=(3,))\nt.start()\nt.join()"},
      {"loop calling functions", "def f(x): return x + 1\ni = 0\nwhile True: i = f(i)"},
  };
  for (const auto& [what, code] : cases) {
    INFO(what);
    Json r = interrupt_running(server, s, code);
    REQUIRE(r["error"].is_object());
    CHECK(r["error"]["type"] == "KeyboardInterrupt");
    CHECK(r["error"]["location"]["file"].get<std::string>().rfind("<cell ", 0) == 0);
  }
  // The session is intact and keeps its state.
  CHECK(text_of(server.result("cell/run", {{"session", s}, {"code", "n > 0"}})["value"]) == "True");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("an interrupted cell can catch KeyboardInterrupt and finish normally", "[modes]") {
  ServerProcess server;
  server.open_session({{"session", "probe"}});
  const std::string s = server.open_session();
  Json r = interrupt_running(server, s,
                             "import time\ntry:\n    while True: time.sleep(0.01)\nexcept KeyboardInterrupt:\n    stopped = 'cleanly'\nstopped");
  CHECK(r["error"].is_null());
  CHECK(text_of(r["value"]) == "'cleanly'");
}

TEST_CASE("interrupt on an idle session is harmless and does not leak into the next cell", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/interrupt", {{"session", s}});
  CHECK(r["interrupted"] == false);
  CHECK(r["cancelledCells"] == 0);
  Json next = server.result("cell/run", {{"session", s}, {"code", "import time\nfor _ in range(20): time.sleep(0.005)\n'done'"}});
  CHECK(text_of(next["value"]) == "'done'");
}

TEST_CASE("interrupt with a cell id removes just that queued cell", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json running = server.send_request("cell/run", {{"session", s}, {"cell", "a"}, {"code", "import time\ntime.sleep(1)\n'a'"}});
  Json b = server.send_request("cell/run", {{"session", s}, {"cell", "b"}, {"code", "'b'"}});
  Json c = server.send_request("cell/run", {{"session", s}, {"cell", "c"}, {"code", "'c'"}});
  REQUIRE(server.wait_notification("cell/started"));
  Json r = server.result("cell/interrupt", {{"session", s}, {"cell", "b"}});
  CHECK(r["interrupted"] == false);
  CHECK(r["cancelledCells"] == 1);
  CHECK(server.wait_response(b)["error"]["code"] == -32800);
  CHECK(text_of(server.wait_response(running)["result"]["value"]) == "'a'");
  CHECK(text_of(server.wait_response(c)["result"]["value"]) == "'c'");
}

TEST_CASE("$/cancelRequest removes a queued cell and interrupts a running one", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json running = server.send_request("cell/run", {{"session", s}, {"code", "while True: pass"}});
  Json queued = server.send_request("cell/run", {{"session", s}, {"code", "'queued'"}});
  REQUIRE(server.wait_notification("cell/started"));
  server.send_notification("$/cancelRequest", {{"id", queued}});
  Json q = server.wait_response(queued);
  CHECK(q["error"]["code"] == -32800);
  server.send_notification("$/cancelRequest", {{"id", running}});
  Json r = server.wait_response(running, 15s);
  CHECK(r["result"]["error"]["type"] == "KeyboardInterrupt");
  // Cancelling something already answered, or unknown, does nothing.
  server.send_notification("$/cancelRequest", {{"id", running}});
  server.send_notification("$/cancelRequest", {{"id", 999999}});
  CHECK(text_of(server.result("cell/run", {{"session", s}, {"code", "'fine'"}})["value"]) == "'fine'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("interrupting one session leaves the others running", "[modes]") {
  ServerProcess server;
  const std::string a = server.open_session({{"session", "a"}});
  const std::string b = server.open_session({{"session", "b"}});
  Json ra = server.send_request("cell/run", {{"session", a}, {"code", "import time\ntime.sleep(60)"}});
  Json rb = server.send_request("cell/run", {{"session", b}, {"code", "import time\ntime.sleep(1)\n'b finished'"}});
  REQUIRE(server.wait_notification("cell/started"));
  REQUIRE(server.wait_notification("cell/started"));
  server.result("cell/interrupt", {{"session", a}});
  CHECK(server.wait_response(ra)["result"]["error"]["type"] == "KeyboardInterrupt");
  CHECK(text_of(server.wait_response(rb)["result"]["value"]) == "'b finished'");
}

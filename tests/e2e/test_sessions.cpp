// session/open, session/close, session/list, session/reset.
#include <catch2/catch.hpp>

#include "server_process.h"

using namespace subcell::testing;

TEST_CASE("session/open takes the client's id or makes one up") {
  ServerProcess server;
  Json r = server.result("session/open", {{"session", "notebook-1"}, {"name", "demo.py"}});
  CHECK(r["session"] == "notebook-1");
  const std::string auto_id = server.open_session();
  CHECK(!auto_id.empty());
  CHECK(auto_id != "notebook-1");
  Json list = server.result("session/list");
  REQUIRE(list["sessions"].size() == 2);
  bool named = false;
  for (const Json& s : list["sessions"]) named = named || (s["session"] == "notebook-1" && s["name"] == "demo.py");
  CHECK(named);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("the warm pool hands out a ready interpreter") {
  ServerProcess server({"--pool-size", "2"});
  Json first = server.result("session/open");
  CHECK(first["pooled"] == true);
  ServerProcess cold({"--pool-size", "0"});
  CHECK(cold.result("session/open")["pooled"] == false);
}

TEST_CASE("a pool prelude warms imports without touching __main__") {
  ServerProcess server({"--pool-size", "1", "--prelude", "import json, fractions"});
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s}, {"code", "import sys\n('fractions' in sys.modules, 'json' in globals())"}});
  CHECK(text_of(r["value"]) == "(True, False)");
}

TEST_CASE("opening an id twice is SessionExists; a bad cwd is InvalidParams") {
  ServerProcess server;
  server.open_session({{"session", "a"}});
  Json r = server.call("session/open", {{"session", "a"}});
  CHECK(r["error"]["code"] == -32011);
  r = server.call("session/open", {{"session", "b"}, {"cwd", "/no/such/dir"}});
  CHECK(r["error"]["code"] == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("/no/such/dir") != std::string::npos);
  r = server.call("session/open", {{"session", ""}});
  CHECK(r["error"]["code"] == -32602);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("cwd goes first on the session's sys.path") {
  ServerProcess server;
  const std::string s = server.open_session({{"cwd", "/tmp"}});
  Json r = server.result("cell/run", {{"session", s}, {"code", "import sys\nsys.path[0]"}});
  CHECK(text_of(r["value"]) == "'/tmp'");
}

TEST_CASE("session/list reports state, cells run and queued cells", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session({{"session", "busy"}});
  server.result("cell/run", {{"session", s}, {"code", "1"}});
  Json running = server.send_request("cell/run", {{"session", s}, {"code", "import time\ntime.sleep(30)"}});
  Json queued1 = server.send_request("cell/run", {{"session", s}, {"code", "2"}});
  Json queued2 = server.send_request("cell/run", {{"session", s}, {"code", "3"}});
  REQUIRE(server.wait_notification("cell/started"));  // the first cell
  REQUIRE(server.wait_notification("cell/started"));  // the sleeping one
  Json list = server.result("session/list");
  REQUIRE(list["sessions"].size() == 1);
  const Json& entry = list["sessions"][0];
  CHECK(entry["state"] == "busy");
  CHECK(entry["cellsRun"] == 1);
  CHECK(entry["queuedCells"] == 2);
  server.result("cell/interrupt", {{"session", s}});
  CHECK(server.wait_response(running)["result"]["error"]["type"] == "KeyboardInterrupt");
  CHECK(server.wait_response(queued1)["error"]["code"] == -32800);
  CHECK(server.wait_response(queued2)["error"]["code"] == -32800);
  list = server.result("session/list");
  CHECK(list["sessions"][0]["state"] == "idle");
  CHECK(list["sessions"][0]["queuedCells"] == 0);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("session/close ends the interpreter and the id is then unknown and reusable", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session({{"session", "x"}});
  server.result("cell/run", {{"session", s}, {"code", "value = 41"}});
  Json closed = server.result("session/close", {{"session", s}});
  CHECK(closed["interpreter"] == "ended");
  CHECK(closed["cancelledCells"] == 0);
  CHECK(closed["strayThreads"] == 0);
  CHECK(server.call("cell/run", {{"session", s}, {"code", "1"}})["error"]["code"] == -32010);
  CHECK(server.call("session/close", {{"session", s}})["error"]["code"] == -32010);
  // A new session with the same id starts empty.
  server.open_session({{"session", "x"}});
  Json r = server.result("cell/run", {{"session", "x"}, {"code", "'value' in globals()"}});
  CHECK(text_of(r["value"]) == "False");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("closing a busy session interrupts its cell and cancels the queue", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json running = server.send_request("cell/run", {{"session", s}, {"code", "while True:\n    pass"}});
  Json queued = server.send_request("cell/run", {{"session", s}, {"code", "'never'"}});
  REQUIRE(server.wait_notification("cell/started"));
  Json closed = server.result("session/close", {{"session", s}});
  CHECK(closed["interpreter"] == "ended");
  CHECK(closed["cancelledCells"] == 1);
  CHECK(server.wait_response(running)["result"]["error"]["type"] == "KeyboardInterrupt");
  CHECK(server.wait_response(queued)["error"]["code"] == -32800);
}

TEST_CASE("closing stops threads the cells left running") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s},
                             {"code",
                              "import threading, _thread, queue\n"
                              "def spin():\n"
                              "    while True: pass\n"
                              "threading.Thread(target=spin).start()\n"
                              "threading.Thread(target=queue.Queue().get, daemon=True).start()\n"
                              "_thread.start_new_thread(spin, ())\n"}});
  Json closed = server.result("session/close", {{"session", s}});
  CHECK(closed["interpreter"] == "ended");
  CHECK(closed["strayThreads"] == 3);
  // The server is fine and serves new sessions.
  const std::string t = server.open_session();
  CHECK(text_of(server.result("cell/run", {{"session", t}, {"code", "6*7"}})["value"]) == "42");
}

TEST_CASE("a thread that cannot be stopped parks the interpreter while the server goes on and still exits") {
  ServerProcess server({"--close-grace-ms", "300"});
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s},
                             {"code",
                              // posix.read, not os.read (which sessions make
                              // interruptible): it retries its system call
                              // forever, and SystemExit cannot land in C.
                              "import posix, os, threading\n"
                              "r, w = os.pipe()\n"
                              "def stuck():\n"
                              "    while True:\n"
                              "        try:\n"
                              "            posix.read(r, 1)\n"
                              "        except BaseException:\n"
                              "            pass\n"
                              "threading.Thread(target=stuck).start()\n"}});
  Json closed = server.result("session/close", {{"session", s}});
  CHECK(closed["interpreter"] == "parked");
  CHECK(closed["strayThreads"] == 1);
  const std::string t = server.open_session();
  CHECK(text_of(server.result("cell/run", {{"session", t}, {"code", "'alive'"}})["value"]) == "'alive'");
  CHECK(server.result("shutdown").is_null());
  server.send_notification("exit");
  CHECK(server.wait_exit() == 0);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("session/reset empties __main__ in place, keeps imports and counts on", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code", "import json\nitems = [json.dumps(i) for i in range(300)]\n" +
                                                          std::string("for i in range(300): globals()[f'v{i}'] = i")}});
  Json reset = server.result("session/reset", {{"session", s}});
  CHECK(reset["removedNames"].get<int>() >= 302);
  CHECK(reset["durationMs"].get<double>() >= 0);
  Json r = server.result("cell/run", {{"session", s}, {"code", "import sys\n('items' in globals(), 'v7' in globals(), 'json' in sys.modules, __name__)"}});
  CHECK(text_of(r["value"]) == "(False, False, True, '__main__')");
  CHECK(r["executionCount"] == 2);
  // A reset queued behind a cell happens after it.
  Json a = server.send_request("cell/run", {{"session", s}, {"code", "late = 1"}});
  Json b = server.send_request("session/reset", {{"session", s}});
  Json c = server.send_request("cell/run", {{"session", s}, {"code", "'late' in globals()"}});
  server.wait_response(a);
  CHECK(server.wait_response(b)["result"]["removedNames"].get<int>() >= 1);
  CHECK(text_of(server.wait_response(c)["result"]["value"]) == "False");
  CHECK_SCHEMA_VALID(server);
}

// cell/run results: values, errors, notifications, completion.
#include <catch2/catch.hpp>

#include "server_process.h"

using namespace subcell::testing;

TEST_CASE("a cell's value comes back as a MIME bundle with its execution count", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s}, {"code", "1+1"}, {"cell", "c1"}});
  CHECK(r["value"] == Json{{"text/plain", "2"}});
  CHECK(r["error"].is_null());
  CHECK(r["executionCount"] == 1);
  auto started = server.notifications("cell/started");
  REQUIRE(started.size() == 1);
  CHECK(started[0]["params"] == Json{{"session", s}, {"cell", "c1"}, {"executionCount", 1}});
  r = server.result("cell/run", {{"session", s}, {"code", "x = 5"}, {"cell", 7}});
  CHECK(r["value"].is_null());
  CHECK(r["error"].is_null());
  CHECK(r["executionCount"] == 2);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("an error is a result with type, message, traceback, frames and the cell ids", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"cell", "defs"}, {"code", "def f(x):\n    return 1 / x\n"}});
  Json r = server.result("cell/run", {{"session", s}, {"cell", "call"}, {"code", "y = 3\nf(0)"}});
  CHECK(r["value"].is_null());
  const Json& e = r["error"];
  CHECK(e["type"] == "ZeroDivisionError");
  CHECK(e["message"] == "division by zero");
  const std::string tb = e["traceback"];
  CHECK(tb.find("File \"<cell 2>\", line 2, in <module>") != std::string::npos);
  CHECK(tb.find("    return 1 / x") != std::string::npos);
  REQUIRE(e["frames"].size() == 2);
  CHECK(e["frames"][0] == Json{{"file", "<cell 2>"}, {"line", 2}, {"function", "<module>"}, {"source", "f(0)"},
                               {"executionCount", 2}, {"cell", "call"}});
  CHECK(e["frames"][1]["cell"] == "defs");
  CHECK(e["location"] == Json{{"file", "<cell 1>"}, {"line", 2}, {"executionCount", 1}, {"cell", "defs"}});
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a SyntaxError reports line and column in the cell", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s}, {"cell", 3}, {"code", "a = 1\nprint(a))\n"}});
  const Json& e = r["error"];
  CHECK(e["type"] == "SyntaxError");
  CHECK(e["message"] == "unmatched ')'");
  CHECK(e["location"]["line"] == 2);
  CHECK(e["location"]["column"] == 9);
  CHECK(e["location"]["cell"] == 3);
  CHECK(e["frames"].empty());
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("exit() and sys.exit() are errors in the cell, not the end of the server", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  CHECK(server.result("cell/run", {{"session", s}, {"code", "exit()"}})["error"]["type"] == "SystemExit");
  CHECK(server.result("cell/run", {{"session", s}, {"code", "import sys; sys.exit('bye')"}})["error"]["message"] == "bye");
  CHECK(text_of(server.result("cell/run", {{"session", s}, {"code", "'still here'"}})["value"]) == "'still here'");
}

TEST_CASE("rich values and display() carry every MIME form", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s},
                                      {"cell", "rich"},
                                      {"code",
                                       "class T:\n"
                                       "    def __repr__(self): return 'T'\n"
                                       "    def _repr_html_(self): return '<table/>'\n"
                                       "    def _repr_json_(self): return {'rows': [1, 2]}\n"
                                       "display(T(), 'plain')\n"
                                       "T()"}});
  CHECK(r["value"] == Json{{"text/plain", "T"}, {"text/html", "<table/>"}, {"application/json", {{"rows", {1, 2}}}}});
  auto shown = server.notifications("cell/display");
  REQUIRE(shown.size() == 2);
  CHECK(shown[0]["params"]["cell"] == "rich");
  CHECK(shown[0]["params"]["data"]["text/html"] == "<table/>");
  CHECK(shown[1]["params"]["data"] == Json{{"text/plain", "'plain'"}});
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("cells of one session run one at a time, in order", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  std::vector<Json> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(server.send_request("cell/run", {{"session", s}, {"code", "order = globals().get('order', []) + [" + std::to_string(i) + "]\nlen(order)"}}));
  }
  for (int i = 0; i < 20; ++i) {
    Json r = server.wait_response(ids[i]);
    CHECK(text_of(r["result"]["value"]) == std::to_string(i + 1));
    CHECK(r["result"]["executionCount"] == i + 1);
  }
}

TEST_CASE("stopOnError cancels the cells queued behind a failing cell", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json a = server.send_request("cell/run", {{"session", s}, {"code", "import time\ntime.sleep(0.3)\n1/0"}, {"stopOnError", true}});
  Json b = server.send_request("cell/run", {{"session", s}, {"code", "ran_b = True"}});
  Json c = server.send_request("cell/run", {{"session", s}, {"code", "ran_c = True"}});
  CHECK(server.wait_response(a)["result"]["error"]["type"] == "ZeroDivisionError");
  Json rb = server.wait_response(b);
  CHECK(rb["error"]["code"] == -32800);
  CHECK(rb["error"]["message"].get<std::string>().find("an earlier cell of the session failed") != std::string::npos);
  CHECK(server.wait_response(c)["error"]["code"] == -32800);
  // Without the flag a failure cancels nothing, and the queue drained above
  // leaves the session usable.
  Json d = server.send_request("cell/run", {{"session", s}, {"code", "1/0"}});
  Json e = server.send_request("cell/run", {{"session", s}, {"code", "'e ran'"}});
  CHECK(server.wait_response(d)["result"]["error"]["type"] == "ZeroDivisionError");
  CHECK(text_of(server.wait_response(e)["result"]["value"]) == "'e ran'");
  CHECK(text_of(server.result("cell/run", {{"session", s}, {"code", "'ran_b' in globals() or 'ran_c' in globals()"}})["value"]) == "False");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("writes that bypass sys.stdout cannot corrupt the protocol", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s},
                                      {"code",
                                       "import os, subprocess\n"
                                       "os.write(1, b'Content-Length: 5\\r\\n\\r\\nhello')\n"
                                       "os.system('echo from a shell')\n"
                                       "try:\n"
                                       "    import ctypes  # refused in subinterpreters on 3.12\n"
                                       "    ctypes.CDLL(None).printf(b'from printf\\n')\n"
                                       "except ImportError:\n"
                                       "    pass\n"
                                       "subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout"}});
  CHECK(r["error"].is_null());
  CHECK(text_of(r["value"]) == "'child\\n'");
  CHECK(text_of(server.result("cell/run", {{"session", s}, {"code", "'intact'"}})["value"]) == "'intact'");
  CHECK(server.stderr_text().find("hello") != std::string::npos);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("cell/complete completes names and attributes from the session", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code", "import json\nmy_value = 1"}});
  Json r = server.result("cell/complete", {{"session", s}, {"code", "x = json.lo"}});
  CHECK(r["matches"] == Json{"json.load", "json.loads"});
  CHECK(r["cursorStart"] == 4);
  CHECK(r["cursorEnd"] == 11);
  r = server.result("cell/complete", {{"session", s}, {"code", "my_v + 1"}, {"cursor", 4}});
  CHECK(r["matches"] == Json{"my_value"});
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("extension modules that refuse subinterpreters are a clear ImportError") {
  ServerProcess server;
  const std::string s = server.open_session();
  for (const char* module : {"readline", "curses"}) {
    Json r = server.result("cell/run", {{"session", s}, {"code", std::string("import ") + module}});
    INFO(module << ": " << r.dump());
    REQUIRE(r["error"].is_object());
    CHECK(r["error"]["type"] == "ImportError");
    CHECK(r["error"]["message"].get<std::string>().find("subinterpreter") != std::string::npos);
  }
}

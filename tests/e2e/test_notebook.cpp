// What Jupyter users rely on: input() and pdb through cell/input, displays
// that update, late output, complete error chains, and reading the live
// namespace while a cell runs. The [modes] ones run in both isolation modes.
#include <catch2/catch.hpp>
#include <deque>
#include <thread>

#include "neighbour.h"
#include "server_process.h"

using namespace subcell::testing;

namespace {

using Clock = std::chrono::steady_clock;

// Runs a cell, answering its cell/input requests from `answers` in order;
// returns the cell's result and keeps the requests it saw.
struct Conversation {
  ServerProcess& server;
  std::vector<Json> requests;

  Json run(const std::string& session, const std::string& code, std::deque<std::string> answers) {
    Json id = server.send_request("cell/run", {{"session", session}, {"code", code}});
    for (;;) {
      auto m = server.next_message(30s);
      REQUIRE(m);
      if (m->value("method", "") == "cell/input" && m->contains("id")) {
        requests.push_back((*m)["params"]);
        INFO("unexpected input request " << m->dump());
        REQUIRE(!answers.empty());
        server.send_message({{"jsonrpc", "2.0"}, {"id", (*m)["id"]}, {"result", {{"text", answers.front()}}}});
        answers.pop_front();
        continue;
      }
      if (!m->contains("method") && (*m)["id"] == id) {
        REQUIRE(m->contains("result"));
        return (*m)["result"];
      }
    }
  }
};

std::string stdout_of(const ServerProcess& server, int execution_count) {
  std::string text;
  for (const Json& n : server.notifications("cell/output")) {
    if (n["params"]["executionCount"] == execution_count && n["params"]["stream"] == "stdout") {
      text += n["params"]["text"].get<std::string>();
    }
  }
  return text;
}

Json with_input() { return {{"capabilities", {{"input", true}}}}; }

}  // namespace

TEST_CASE("input() and getpass ask the client with cell/input and get what it answers", "[modes]") {
  ServerProcess server({}, /*initialize=*/false);
  server.result("initialize", with_input());
  const std::string s = server.open_session();
  Conversation talk{server};
  Json r = talk.run(s, "name = input('Your name: ')\nimport getpass\npw = getpass.getpass()\n(name, len(pw))",
                    {"Ada", "hunter2"});
  CHECK(text_of(r["value"]) == "('Ada', 7)");
  REQUIRE(talk.requests.size() == 2);
  CHECK(talk.requests[0]["prompt"] == "Your name: ");
  CHECK(talk.requests[0]["password"] == false);
  CHECK(talk.requests[0]["session"] == s);
  CHECK(talk.requests[1]["password"] == true);
  // The transcript keeps the exchange; never the password.
  CHECK(stdout_of(server, 1) == "Your name: Ada\nPassword: \n");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("breakpoint() is an interactive pdb through cell/input: p x, n, c", "[modes]") {
  ServerProcess server({}, /*initialize=*/false);
  server.result("initialize", with_input());
  const std::string s = server.open_session();
  Conversation talk{server};
  Json r = talk.run(s, "x = 41\nbreakpoint()\ny = x + 1\ny", {"p x", "n", "p y", "c"});
  CHECK(text_of(r["value"]) == "42");
  REQUIRE(talk.requests.size() == 4);
  for (const Json& q : talk.requests) CHECK(q["prompt"] == "(Pdb) ");
  const std::string out = stdout_of(server, 1);
  CHECK(out.find("(Pdb) p x\n41\n") != std::string::npos);
  CHECK(out.find("(Pdb) n\n> <cell 1>(3)<module>()") != std::string::npos);
  CHECK(out.find("NameError: name 'y' is not defined") != std::string::npos);
}

TEST_CASE("an input() waiting for the client is interruptible, and the client's prompt is withdrawn", "[modes]") {
  ServerProcess server({}, /*initialize=*/false);
  server.result("initialize", with_input());
  const std::string s = server.open_session();
  Json cell = server.send_request("cell/run", {{"session", s}, {"code", "input('never answered: ')"}});
  auto request = server.wait_notification("cell/input", 20s);  // a request: it has a method
  REQUIRE(request);
  server.result("cell/interrupt", {{"session", s}});
  CHECK(server.wait_response(cell)["result"]["error"]["type"] == "KeyboardInterrupt");
  auto withdrawn = server.wait_notification("$/cancelRequest", 10s);
  REQUIRE(withdrawn);
  CHECK((*withdrawn)["params"]["id"] == (*request)["id"]);
  // A dismissed prompt (an error answer) interrupts the cell too.
  cell = server.send_request("cell/run", {{"session", s}, {"code", "input('dismissed: ')"}});
  request = server.wait_notification("cell/input", 20s);
  REQUIRE(request);
  server.send_message({{"jsonrpc", "2.0"}, {"id", (*request)["id"]}, {"error", {{"code", -32800}, {"message", "no"}}}});
  CHECK(server.wait_response(cell)["result"]["error"]["type"] == "KeyboardInterrupt");
}

TEST_CASE("a client without the input capability gets the old behaviour: EOFError saying why") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json e = server.result("cell/run", {{"session", s}, {"code", "input('x')"}})["error"];
  CHECK(e["type"] == "EOFError");
  CHECK(e["message"].get<std::string>().find("capabilities.input") != std::string::npos);
  CHECK(server.notifications("cell/input").empty());
}

TEST_CASE("displays that update: display_id, update_display, clear_output(wait)", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code",
      "h = display('0%', display_id=True)\nfor p in (50, 100):\n    h.update(f'{p}%')\n"
      "for i in range(3):\n    clear_output(wait=True)\n    print(f'step {i}')"}});
  const auto displays = server.notifications("cell/display");
  REQUIRE(displays.size() == 3);
  const Json id = displays[0]["params"]["displayId"];
  REQUIRE(id.is_string());
  CHECK(displays[0]["params"].value("update", false) == false);
  CHECK(text_of(displays[2]["params"]["data"]) == "'100%'");
  for (std::size_t i = 1; i < displays.size(); ++i) {
    CHECK(displays[i]["params"]["displayId"] == id);
    CHECK(displays[i]["params"]["update"] == true);
  }
  const auto clears = server.notifications("cell/clear");
  REQUIRE(clears.size() == 3);
  for (const Json& c : clears) CHECK(c["params"]["wait"] == true);
  // In order: each clear comes before the line that replaces the last.
  std::vector<std::string> order;
  for (const Json& m : server.received()) {
    const std::string method = m.value("method", "");
    if (method == "cell/clear") order.push_back("clear");
    if (method == "cell/output") order.push_back(m["params"]["text"]);
  }
  CHECK(order == std::vector<std::string>{"clear", "step 0\n", "clear", "step 1\n", "clear", "step 2\n"});
  // update_display by id from a later cell replaces the first cell's display.
  server.result("cell/run", {{"session", s}, {"code", "update_display('done', display_id=h.display_id)"}});
  const Json last = server.notifications("cell/display").back()["params"];
  CHECK(last["displayId"] == id);
  CHECK(text_of(last["data"]) == "'done'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("output a thread writes after its cell finished is flagged late, under the cell that started it", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"cell", "starter"}, {"code",
      "import threading, time\ngo = threading.Event()\ndef later():\n    go.wait()\n    print('from the thread')\n"
      "threading.Thread(target=later).start()"}});
  server.result("cell/run", {{"session", s}, {"cell", "next"}, {"code", "go.set()\ntime.sleep(0.3)"}});
  server.result("cell/run", {{"session", s}, {"cell", "after"}, {"code", "1"}});
  bool seen = false;
  for (const Json& n : server.notifications("cell/output")) {
    if (n["params"]["text"] != "from the thread\n") continue;
    seen = true;
    CHECK(n["params"]["cell"] == "starter");
    CHECK(n["params"]["executionCount"] == 1);
    CHECK(n["params"]["late"] == true);
  }
  CHECK(seen);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("errors carry every link of their chain, their notes and ExceptionGroup members") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json e = server.result("cell/run", {{"session", s}, {"cell", "c"}, {"code",
      "def low():\n    raise KeyError('k')\ndef mid():\n    try:\n        low()\n    except KeyError as e:\n"
      "        raise ValueError('bad') from e\ntry:\n    mid()\nexcept ValueError:\n    err = RuntimeError('outer')\n"
      "    err.add_note('a note')\n    raise err"}})["error"];
  CHECK(e["type"] == "RuntimeError");
  CHECK(e["notes"] == Json::array({"a note"}));
  REQUIRE(e["chain"].size() == 2);
  CHECK(e["chain"][0]["type"] == "KeyError");
  CHECK(e["chain"][0]["relation"] == "cause");
  CHECK(e["chain"][0]["frames"].back()["function"] == "low");
  CHECK(e["chain"][0]["frames"].back()["cell"] == "c");
  CHECK(e["chain"][1]["type"] == "ValueError");
  CHECK(e["chain"][1]["relation"] == "context");
  CHECK(e["location"]["line"] == 13);
  Json g = server.result("cell/run", {{"session", s}, {"code",
      "raise ExceptionGroup('many', [ValueError('a'), ExceptionGroup('inner', [KeyError('c')])])"}})["error"];
  CHECK(g["type"] == "ExceptionGroup");
  REQUIRE(g["exceptions"].size() == 2);
  CHECK(g["exceptions"][0]["type"] == "ValueError");
  CHECK(g["exceptions"][1]["exceptions"][0]["type"] == "KeyError");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("session/variables and cell/inspect answer while a cell of the same session runs", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code",
      "import json\nxs = list(range(1000))\nclass Slow:\n    def __repr__(self):\n        while True: pass\n"
      "slow = Slow()\n_hidden = 1"}});
  Json cell = server.send_request("cell/run", {{"session", s}, {"code",
      "import time\nfor i in range(40):\n    if i == 0: print('looping', flush=True)\n    time.sleep(0.05)\n"
      "'cell done'"}});
  // Once it prints, the running cell's `i` exists.
  auto looping = server.wait_notification("cell/output", 20s);
  REQUIRE(looping);
  CHECK((*looping)["params"]["text"] == "looping\n");
  auto start = Clock::now();
  Json vars = server.result("session/variables", {{"session", s}});
  const double vars_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  start = Clock::now();
  Json inspected = server.result("cell/inspect", {{"session", s}, {"code", "json.dumps(xs"}, {"cursor", 7}});
  const double inspect_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  // Both answered before the running cell finished.
  Json done = server.wait_response(cell, 20s);
  CHECK(text_of(done["result"]["value"]) == "'cell done'");
  std::printf("while a cell runs: session/variables %.1f ms, cell/inspect %.1f ms\n", vars_ms, inspect_ms);
  std::map<std::string, Json> by_name;
  for (const Json& v : vars["variables"]) by_name[v["name"]] = v;
  CHECK(by_name.count("_hidden") == 0);
  CHECK(by_name.count("json") == 0);  // modules are not variables
  CHECK(by_name["xs"]["length"] == 1000);
  CHECK(by_name["xs"]["type"] == "list");
  CHECK(by_name["slow"]["repr"] == "<repr took too long>");
  CHECK(by_name.count("i") == 1);  // the running cell's own variable, as it is now
  CHECK(vars["total"] == vars["variables"].size());
  CHECK(inspected["found"] == true);
  CHECK(inspected["name"] == "json.dumps");
  CHECK(inspected["signature"].get<std::string>().find("obj") != std::string::npos);
  CHECK(inspected["docstring"].get<std::string>().find("Serialize") != std::string::npos);
  CHECK(server.result("cell/inspect", {{"session", s}, {"code", "undefined_name"}})["found"] == false);
  // Paging.
  Json page = server.result("session/variables", {{"session", s}, {"offset", 1}, {"limit", 1}});
  CHECK(page["variables"].size() == 1);
  CHECK(page["offset"] == 1);
  CHECK_SCHEMA_VALID(server);
}

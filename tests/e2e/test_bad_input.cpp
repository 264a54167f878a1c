// Malformed frames, invalid JSON, wrong params, unknown sessions and hostile
// cell code: each gets the right error, and an open session keeps serving
// with its state intact.
#include <catch2/catch.hpp>

#include "server_process.h"

using namespace subcell::testing;

namespace {

std::string frame(const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body; }

// A session holding state that every check below expects to survive.
struct Survivor {
  ServerProcess& server;
  std::string session;
  explicit Survivor(ServerProcess& s) : server(s) {
    session = server.open_session({{"session", "survivor"}});
    server.result("cell/run", {{"session", session}, {"code", "kept = [1, 2, 3]"}});
  }
  void check_intact() {
    Json r = server.result("cell/run", {{"session", session}, {"code", "kept.append(len(kept) + 1)\nkept[:3]"}});
    CHECK(text_of(r["value"]) == "[1, 2, 3]");
  }
};

Json next_error(ServerProcess& server) {
  auto m = server.next_response(10s);
  REQUIRE(m);
  INFO(m->dump());
  REQUIRE(m->contains("error"));
  return *m;
}

}  // namespace

TEST_CASE("garbage bytes get a ParseError with id null; the next request is served") {
  ServerProcess server;
  Survivor survivor(server);
  server.send_raw("\x01\x02 garbage that is not a header\r\n\r\n");
  Json e = next_error(server);
  CHECK(e["error"]["code"] == -32700);
  CHECK(e["id"].is_null());
  survivor.check_intact();
  // Garbage glued to the front of a real frame costs only the garbage.
  server.send_raw("junk" + frame(R"({"jsonrpc":"2.0","id":"after-junk","method":"session/list"})"));
  e = next_error(server);
  CHECK(e["error"]["code"] == -32700);
  CHECK(server.wait_response("after-junk").contains("result"));
  survivor.check_intact();
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a header without Content-Length, or with a bad one, is a ParseError") {
  ServerProcess server;
  Survivor survivor(server);
  server.send_raw("Content-Type: application/json\r\n\r\n");
  CHECK(next_error(server)["error"]["code"] == -32700);
  server.send_raw("Content-Length: twelve\r\n\r\n");
  CHECK(next_error(server)["error"]["code"] == -32700);
  survivor.check_intact();
}

TEST_CASE("invalid JSON is a ParseError that still names the request when it can") {
  ServerProcess server;
  Survivor survivor(server);
  server.send_raw(frame(R"({"jsonrpc":"2.0","id":77,"method":"cell/run","params":{"code": oops}})"));
  Json e = next_error(server);
  CHECK(e["error"]["code"] == -32700);
  CHECK(e["id"] == 77);
  server.send_raw(frame("not json at all"));
  e = next_error(server);
  CHECK(e["error"]["code"] == -32700);
  CHECK(e["id"].is_null());
  survivor.check_intact();
}

TEST_CASE("a frame shorter than its Content-Length does not swallow the next request") {
  ServerProcess server;
  Survivor survivor(server);
  const std::string body = R"({"jsonrpc":"2.0","id":"short","method":"session/list"})";
  // Declares 10 bytes more than it has: it runs into the next frame.
  server.send_raw("Content-Length: " + std::to_string(body.size() + 10) + "\r\n\r\n" + body +
                  frame(R"({"jsonrpc":"2.0","id":"next","method":"session/list"})"));
  Json e = next_error(server);
  CHECK(e["error"]["code"] == -32700);
  CHECK(e["id"] == "short");
  CHECK(server.wait_response("next").contains("result"));
  survivor.check_intact();
}

TEST_CASE("a message over the size limit is skipped and answered with its id") {
  ServerProcess server({"--max-message-bytes", "1000"});
  Survivor survivor(server);
  const std::string big = R"({"jsonrpc":"2.0","id":"big","method":"cell/run","params":{"session":"survivor","code":")" +
                          std::string(5000, '#') + "\"}}";
  server.send_raw(frame(big));
  Json e = server.wait_response("big");
  CHECK(e["error"]["code"] == -32600);
  CHECK(e["error"]["message"].get<std::string>().find("exceeds the limit") != std::string::npos);
  server.send_raw("Content-Length: 99999999999999999999\r\n\r\n");
  CHECK(next_error(server)["error"]["code"] == -32700);
  survivor.check_intact();
}

TEST_CASE("a Content-Length of 2^63-1 or 2^63 is refused at once and the next messages are served") {
  ServerProcess server;
  Survivor survivor(server);
  for (const char* declared : {"9223372036854775807", "9223372036854775808"}) {
    INFO(declared);
    const std::string id = std::string("huge-") + declared;
    server.send_raw(std::string("Content-Length: ") + declared + "\r\n\r\n" + R"({"jsonrpc":"2.0","id":")" + id +
                    R"(","method":"cell/run","params":{"session":"survivor","code":"1")");
    Json e = server.wait_response(id, 5s);
    CHECK(e["error"]["code"] == -32600);
    CHECK(e["error"]["message"].get<std::string>().find("exceeds the limit") != std::string::npos);
    // Whatever follows is read as the client's next messages, not as body.
    CHECK(server.call("session/list", Json::object(), 5s).contains("result"));
  }
  survivor.check_intact();
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("well-formed JSON that is not a request is an InvalidRequest") {
  ServerProcess server;
  Survivor survivor(server);
  server.send_raw(frame(R"([{"jsonrpc":"2.0","id":1,"method":"session/list"}])"));
  CHECK(next_error(server)["error"]["code"] == -32600);
  server.send_raw(frame(R"({"jsonrpc":"2.0","id":"v1","method":"session/list","params":"text"})"));
  Json e = next_error(server);
  CHECK(e["error"]["code"] == -32600);
  CHECK(e["id"] == "v1");
  server.send_raw(frame(R"({"id":"no-version","method":"session/list"})"));
  CHECK(next_error(server)["error"]["code"] == -32600);
  server.send_raw(frame(R"({"jsonrpc":"2.0","id":true,"method":"session/list"})"));
  CHECK(next_error(server)["error"]["code"] == -32600);
  survivor.check_intact();
}

TEST_CASE("unknown methods get MethodNotFound") {
  ServerProcess server;
  Survivor survivor(server);
  Json r = server.call("cell/execute", {{"session", "survivor"}});
  CHECK(r["error"]["code"] == -32601);
  CHECK(r["error"]["message"] == "unknown method: cell/execute");
  survivor.check_intact();
}

TEST_CASE("wrong param types get InvalidParams naming the field, for every method") {
  ServerProcess server;
  Survivor survivor(server);
  const std::vector<std::tuple<std::string, Json, std::string>> cases = {
      {"cell/run", {{"session", "survivor"}, {"code", 5}}, "cell/run: params.code: expected a string"},
      {"cell/run", {{"session", "survivor"}}, "cell/run: params.code: missing (a string is required)"},
      {"cell/run", {{"session", 1}, {"code", "1"}}, "cell/run: params.session: expected a string"},
      {"cell/run", {{"session", "survivor"}, {"code", "1"}, {"cell", {1}}}, "cell/run: params.cell: expected a string, an integer or null"},
      {"session/open", {{"cwd", false}}, "session/open: params.cwd: expected a string"},
      {"session/close", Json::object(), "session/close: params.session: missing (a string is required)"},
      {"session/reset", {{"session", nullptr}}, "session/reset: params.session: expected a string"},
      {"cell/interrupt", {{"session", "survivor"}, {"cell", 1.5}}, "cell/interrupt: params.cell: expected a string, an integer or null"},
      {"cell/complete", {{"session", "survivor"}, {"code", "x"}, {"cursor", -1}}, "cell/complete: params.cursor: must not be negative"},
  };
  for (const auto& [method, params, message] : cases) {
    Json r = server.call(method, params);
    INFO(method << " " << params.dump() << " -> " << r.dump());
    CHECK(r["error"]["code"] == -32602);
    CHECK(r["error"]["message"] == message);
  }
  survivor.check_intact();
}

TEST_CASE("unknown sessions get UnknownSession") {
  ServerProcess server;
  Survivor survivor(server);
  for (const char* method : {"cell/run", "session/close", "session/reset", "cell/interrupt", "cell/complete"}) {
    Json r = server.call(method, {{"session", "nope"}, {"code", "1"}});
    INFO(method);
    CHECK(r["error"]["code"] == -32010);
    CHECK(r["error"]["message"] == "no open session 'nope'");
  }
  survivor.check_intact();
}

TEST_CASE("hostile cell code hurts only its own session") {
  ServerProcess server;
  Survivor survivor(server);
  const std::string victim = server.open_session({{"session", "victim"}});
  const std::vector<std::string> hostile = {
      "import sys\nsys._current_frames()",                    // crashes CPython unguarded
      "import sys\nsys.stdout = None\nprint('lost')",        // output goes nowhere, session lives
      "import sys\nsys.stdout = sys.__stdout__\nprint('x')",
      "import builtins\nbuiltins.compile = None\nbuiltins.repr = None\nbuiltins.exec = None",
      "def r(): return r()\nr()",                            // RecursionError
      "import _subcell\n_subcell.write_stdout(5)",
      "import _subcell\n_subcell.emit_display({'text/plain': 1})",
      "import sys\nsys.modules.clear()",
      "import gc\n[f for f in gc.get_objects() if callable(f)][:0]",
      "raise BaseException('the base of all')",
      "import os\nos.close(1)",
      "x = bytearray(2**62)",                                 // MemoryError
      "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)",
  };
  for (const std::string& code : hostile) {
    Json r = server.call("cell/run", {{"session", victim}, {"code", code}}, 30s);
    INFO(code << " -> " << r.dump().substr(0, 500));
    CHECK(r.contains("result"));
    survivor.check_intact();
  }
  // The victim still answers, even after its builtins were vandalised.
  Json r = server.call("cell/run", {{"session", victim}, {"code", "6 * 7"}});
  CHECK(r.contains("result"));
  CHECK_SCHEMA_VALID(server);
}

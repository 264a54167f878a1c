// Channels against the real binary: the client's channel/* methods and
// channel/message, sessions in the server process and in worker processes
// talking through the server's registry, and EOF when a peer goes. Every
// message is checked against the schema.
#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "server_process.h"

using namespace subcell::testing;

TEST_CASE("channel/open, send, recv and close from the client, with a session at the other end") {
  ServerProcess server;
  const std::string s = server.open_session({{"session", "nb"}});
  Json opened = server.result("channel/open", {{"name", "results"}});
  CHECK(opened["name"] == "results");
  CHECK(opened["channel"].is_number_integer());

  // The session sends; the client receives text, bytes and typed values.
  Json cell = server.send_request("cell/run", {{"session", s}, {"code",
      "import subcell\nr, s = subcell.channel('results')\ns.send('hello client')\ns.send(b'\\x00\\x01\\xff')\n"
      "s.send((1, 2.5, None, True, 2**80, b'x'))\nr.recv(timeout=30)"}});
  CHECK(server.result("channel/recv", {{"name", "results"}, {"timeoutMs", 30000}})["data"] == "hello client");
  CHECK(server.result("channel/recv", {{"name", "results"}, {"timeoutMs", 30000}})["base64"] == "AAH/");
  Json typed = server.result("channel/recv", {{"name", "results"}, {"timeoutMs", 30000}});
  CHECK(typed["value"] == Json::parse(R"([1, 2.5, null, true, {"int": "0x100000000000000000000"}, {"bytes": "eA=="}])"));
  // The client sends; the session receives what it sent.
  CHECK(server.result("channel/send", {{"name", "results"}, {"data", "from the client"}, {"timeoutMs", 30000}})["sent"] ==
        true);
  Json done = server.wait_response(cell, 30s);
  CHECK(text_of(done["result"]["value"]) == "'from the client'");
  CHECK(server.result("channel/send", {{"name", "results"}, {"value", Json::parse(R"([1, {"bytes": "AAE="}])")},
                                       {"nowait", true}})["sent"] == false);  // nobody waiting
  // Nothing sent: a recv times out.
  CHECK(server.result("channel/recv", {{"name", "results"}, {"timeoutMs", 50}})["timedOut"] == true);
  CHECK(server.result("channel/recv", {{"name", "results"}, {"nowait", true}})["empty"] == true);
  // Closed: ChannelClosed for the client, EOFError for the session.
  CHECK(server.result("channel/close", {{"name", "results"}}).is_null());
  Json closed = server.call("channel/recv", {{"channel", opened["channel"]}, {"timeoutMs", 1000}});
  REQUIRE(closed.contains("error"));
  CHECK(closed["error"]["code"] == -32014);
  CHECK(value_of(server, s, "try:\n    r.recv()\nexcept EOFError:\n    x = 'EOFError'\nx", 60s) == "'EOFError'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel/open with notify: what no session receives comes as channel/message") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("channel/open", {{"name", "events"}, {"notify", true}});
  run_cell(server, s, "import subcell\nr, s = subcell.channel('events')\nfor i in range(3): s.send(('progress', i))\ns.send('done')",
           60s);
  std::vector<Json> got;
  while (got.size() < 4) {
    auto n = server.wait_notification("channel/message", 10s);
    REQUIRE(n);
    got.push_back((*n)["params"]);
  }
  CHECK(got[0]["name"] == "events");
  CHECK(got[0]["value"] == Json::parse(R"(["progress", 0])"));
  CHECK(got[2]["value"] == Json::parse(R"(["progress", 2])"));
  CHECK(got[3]["data"] == "done");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("$/cancelRequest ends a client's waiting channel/recv") {
  ServerProcess server;
  server.result("channel/open", {{"name", "never"}});
  Json id = server.send_request("channel/recv", {{"name", "never"}});
  std::this_thread::sleep_for(100ms);
  server.send_notification("$/cancelRequest", {{"id", id}});
  Json r = server.wait_response(id, 10s);
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32800);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("bad channel params are InvalidParams naming the field") {
  ServerProcess server;
  Json r = server.call("channel/send", {{"name", "x"}, {"data", "a"}, {"base64", "AA=="}});
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32602);
  Json bad = server.call("channel/send", {{"name", "x"}, {"base64", "not base64!"}});
  REQUIRE(bad.contains("error"));
  CHECK(bad["error"]["code"] == -32602);
  Json noname = server.call("channel/recv", Json::object());
  REQUIRE(noname.contains("error"));
  CHECK(noname["error"]["code"] == -32602);
}

TEST_CASE("channels between a session in the server and one in a worker process, both ways", "[process]") {
  ServerProcess server;
  const std::string local = server.open_session({{"session", "local"}});
  const std::string remote = server.open_session({{"session", "remote"}, {"isolation", "process"}});
  const std::string remote_pid = value_of(server, remote, "import os, subcell\nr, s = subcell.channel('bridge')\nos.getpid()", 60s);
  const std::string local_pid = value_of(server, local, "import os, subcell\nr, s = subcell.channel('bridge')\nos.getpid()", 60s);
  CHECK(remote_pid != local_pid);
  // remote -> local: values, an int of any size, bytes, an end.
  Json from_remote = server.send_request("cell/run", {{"session", remote}, {"code",
      "pr, ps = subcell.create_channel()\ns.send((os.getpid(), 2**100, b'bytes', ps))\npr.recv(timeout=30)"}});
  CHECK(value_of(server, local, "pid, big, b, end = r.recv(timeout=30)\nend.send(('reply', pid))\n(big, b, type(end).__name__)", 60s) ==
        "(1267650600228229401496703205376, b'bytes', 'SendChannel')");
  Json answered = server.wait_response(from_remote, 30s);
  CHECK(text_of(answered["result"]["value"]) == "('reply', " + remote_pid + ")");
  // A buffer crosses the process boundary as a copy (a read-only memoryview).
  Json buffered = server.send_request("cell/run", {{"session", remote}, {"code",
      "v = r.recv(timeout=30)\n(type(v).__name__, v.readonly, bytes(v))"}});
  value_of(server, local, "s.send_buffer(bytearray(b'lent'), timeout=30)\n1", 60s);
  CHECK(text_of(server.wait_response(buffered, 30s)["result"]["value"]) == "('memoryview', True, b'lent')");
  // An interrupt reaches a worker's blocked recv.
  Json blocked = server.send_request("cell/run", {{"session", remote}, {"code", "r.recv()"}});
  std::this_thread::sleep_for(300ms);
  server.result("cell/interrupt", {{"session", remote}});
  Json interrupted = server.wait_response(blocked, 30s);
  CHECK(interrupted["result"]["error"]["type"] == "KeyboardInterrupt");
  // Timeouts too.
  CHECK(value_of(server, remote, "try:\n    r.recv(timeout=0.1)\nexcept TimeoutError:\n    x = 'timeout'\nx", 60s) == "'timeout'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a wait on a session that crashes, or is closed, ends with EOFError", "[process]") {
  ServerProcess server;
  const std::string waiter = server.open_session({{"session", "waiter"}});
  const std::string doomed = server.open_session({{"session", "doomed"}, {"isolation", "process"}});
  value_of(server, doomed, "import subcell\nr, s = subcell.channel('lifeline')\n1", 60s);
  Json waiting = server.send_request("cell/run", {{"session", waiter}, {"code",
      "import subcell\nr, s = subcell.channel('lifeline')\ntry:\n    r.recv()\nexcept EOFError:\n    x = 'EOFError'\nx"}});
  std::this_thread::sleep_for(300ms);
  server.send_request("cell/run", {{"session", doomed}, {"code", "import os\nos._exit(3)"}});
  REQUIRE(server.wait_notification("session/crashed", 30s));
  CHECK(text_of(server.wait_response(waiting, 30s)["result"]["value"]) == "'EOFError'");

  // A peer in the server process, closed.
  const std::string peer = server.open_session({{"session", "peer"}});
  value_of(server, peer, "import subcell\nr, s = subcell.channel('lifeline2')\n1", 60s);
  Json waiting2 = server.send_request("cell/run", {{"session", waiter}, {"code",
      "r2, s2 = subcell.channel('lifeline2')\ntry:\n    s2.send('x')\nexcept EOFError:\n    y = 'EOFError'\ny"}});
  std::this_thread::sleep_for(300ms);
  server.result("session/close", {{"session", peer}});
  CHECK(text_of(server.wait_response(waiting2, 30s)["result"]["value"]) == "'EOFError'");
  CHECK_SCHEMA_VALID(server);
}

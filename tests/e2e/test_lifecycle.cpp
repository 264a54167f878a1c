// initialize / initialized / shutdown / exit, against the real binary.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "server_process.h"

using namespace subcell::testing;

TEST_CASE("initialize reports the server, the embedded Python and own-GIL sessions") {
  ServerProcess server({}, /*initialize=*/false);
  Json r = server.result("initialize", {{"processId", nullptr}, {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
  CHECK(r["serverInfo"]["name"] == "subcell");
  CHECK(r["python"]["version"].get<std::string>().rfind("3.1", 0) == 0);
  CHECK(r["python"]["ownGil"] == true);
  CHECK(r["capabilities"]["interrupt"]["bytecode"] == true);
  CHECK(r["capabilities"]["interrupt"]["blockingCalls"] == false);
  CHECK(r["limits"]["maxMessageBytes"].get<long>() > 0);
  // The Pythons sessions can run: the embedded one and one per worker built beside the binary.
  std::set<std::string> expected{SUBCELL_PYTHON_MINOR};
  const auto dir = std::filesystem::path(SUBCELL_BINARY).parent_path();
  for (int minor = 11; minor <= 20; ++minor) {
    if (std::filesystem::exists(dir / ("subcell-py3." + std::to_string(minor)))) {
      expected.insert("3." + std::to_string(minor));
    }
  }
  const auto pythons = r["capabilities"]["pythons"].get<std::vector<std::string>>();
  CHECK(std::set<std::string>(pythons.begin(), pythons.end()) == expected);
  CHECK(pythons.size() == expected.size());
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("requests before initialize get ServerNotInitialized, and initialize still works after") {
  ServerProcess server({}, false);
  Json r = server.call("session/list");
  REQUIRE(r.contains("error"));
  CHECK(r["error"]["code"] == -32002);
  server.send_notification("initialized");  // dropped, not answered
  r = server.call("initialize");
  CHECK(r.contains("result"));
  r = server.call("initialize");
  CHECK(r["error"]["code"] == -32600);
  CHECK(server.result("session/list")["sessions"].empty());
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("shutdown closes sessions and afterwards only exit is accepted with exit code 0") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code", "x = 1"}});
  CHECK(server.result("shutdown").is_null());
  Json r = server.call("session/list");
  CHECK(r["error"]["code"] == -32600);
  server.send_notification("exit");
  CHECK(server.wait_exit() == 0);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("exit without shutdown exits with status 1") {
  ServerProcess server;
  server.open_session();
  server.send_notification("exit");
  CHECK(server.wait_exit() == 1);
}

TEST_CASE("end of input ends the server, even with a cell still running") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.send_request("cell/run", {{"session", s}, {"code", "while True:\n    pass"}});
  REQUIRE(server.wait_notification("cell/started"));
  server.close_stdin();
  const int status = server.wait_exit(15s);
  CHECK((status == 0 || status == 1));
}

TEST_CASE("shutdown answers once a session stuck in a cell has been interrupted") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json id = server.send_request("cell/run", {{"session", s}, {"code", "import time\ntime.sleep(60)"}});
  REQUIRE(server.wait_notification("cell/started"));
  Json shutdown = server.send_request("shutdown");
  Json cell = server.wait_response(id);
  CHECK(cell["result"]["error"]["type"] == "KeyboardInterrupt");
  CHECK(server.wait_response(shutdown)["result"].is_null());
  server.send_notification("exit");
  CHECK(server.wait_exit() == 0);
}

TEST_CASE("shutdown and exit with \"params\": null (Eglot's jsonrpc.el) end the server with status 0") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code", "x = 1"}});
  server.send_message({{"jsonrpc", "2.0"}, {"id", "shutdown-1"}, {"method", "shutdown"}, {"params", nullptr}});
  Json r = server.wait_response("shutdown-1");
  CHECK(r.contains("result"));
  CHECK(r["result"].is_null());
  server.send_message({{"jsonrpc", "2.0"}, {"method", "exit"}, {"params", nullptr}});
  CHECK(server.wait_exit() == 0);
  CHECK_SCHEMA_VALID(server);
}

// cell/output: streaming, ordering, coalescing, backpressure.
#include <catch2/catch.hpp>

#include <thread>

#include "server_process.h"

using namespace subcell::testing;

namespace {

std::string joined_output(const std::vector<Json>& messages, const std::string& stream) {
  std::string text;
  for (const Json& m : messages) {
    if (m.value("method", "") == "cell/output" && m["params"]["stream"] == stream) text += m["params"]["text"].get<std::string>();
  }
  return text;
}

}  // namespace

TEST_CASE("output streams while the cell is still running", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json id = server.send_request("cell/run", {{"session", s}, {"cell", "slow"}, {"code", "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second')"}});
  auto first = server.wait_notification("cell/output");
  REQUIRE(first);
  CHECK(first->at("params")["text"] == "first\n");
  CHECK(first->at("params")["cell"] == "slow");
  // The result has not arrived yet: the cell is still sleeping.
  bool result_seen = false;
  for (const Json& m : server.received()) result_seen = result_seen || (m.contains("id") && m["id"] == id);
  CHECK_FALSE(result_seen);
  server.wait_response(id);
  CHECK(joined_output(server.received(), "stdout") == "first\nsecond\n");
}

TEST_CASE("all of a cell's output arrives before its result, in order per stream", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json id = server.send_request("cell/run", {{"session", s}, {"code",
      "import sys\n"
      "for i in range(2000):\n"
      "    print('out', i)\n"
      "    if i % 100 == 0: print('err', i, file=sys.stderr)\n"}});
  Json r = server.wait_response(id);
  std::size_t result_index = 0;
  for (std::size_t i = 0; i < server.received().size(); ++i) {
    if (server.received()[i].contains("id") && server.received()[i]["id"] == id) result_index = i;
  }
  for (std::size_t i = result_index + 1; i < server.received().size(); ++i) {
    CHECK(server.received()[i].value("method", "") != "cell/output");
  }
  std::string expected_out, expected_err;
  for (int i = 0; i < 2000; ++i) {
    expected_out += "out " + std::to_string(i) + "\n";
    if (i % 100 == 0) expected_err += "err " + std::to_string(i) + "\n";
  }
  CHECK(joined_output(server.received(), "stdout") == expected_out);
  CHECK(joined_output(server.received(), "stderr") == expected_err);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a flood of prints is coalesced into few messages and nothing is lost", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  Json r = server.result("cell/run", {{"session", s}, {"code", "for i in range(200000):\n    print(i)"}}, 60s);
  CHECK(r["error"].is_null());
  const auto outputs = server.notifications("cell/output");
  std::string text;
  for (const Json& m : outputs) text += m["params"]["text"].get<std::string>();
  std::string expected;
  for (int i = 0; i < 200000; ++i) expected += std::to_string(i) + "\n";
  CHECK(text == expected);
  INFO(outputs.size() << " cell/output messages for 200000 prints");
  CHECK(outputs.size() < 2000);
}

TEST_CASE("a huge single line and odd text arrive intact", "[modes]") {
  ServerProcess server;
  const std::string s = server.open_session();
  server.result("cell/run", {{"session", s}, {"code", "print('x' * 1000000)\nprint('caf\\u00e9 \\u20ac \\U0001F600')\nprint('\\udc80 lone surrogate')"}}, 60s);
  std::string text = joined_output(server.received(), "stdout");
  CHECK(text.size() > 1000000);
  CHECK(text.substr(0, 1000001) == std::string(1000000, 'x') + "\n");
  CHECK(text.find("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n") != std::string::npos);
  CHECK(text.find("\\udc80 lone surrogate") != std::string::npos);
}

TEST_CASE("a slow reader slows the cell down instead of losing output", "[modes]") {
  // A small channel, and a client that does not read for a while. The
  // cell writes 7 MB: more than the pipe and the server's write queue
  // (4 MiB) hold, so it can only finish after the client reads again.
  ServerProcess server({"--output-channel-bytes", "4096"});
  const std::string s = server.open_session();
  Json id = server.send_request("cell/run", {{"session", s}, {"code",
      "import time\nstart = time.monotonic()\nfor i in range(600000):\n    print('line %06d' % i)\ntime.monotonic() - start"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Json r = server.wait_response(id, 120s);
  REQUIRE(r["result"]["error"].is_null());
  // The cell was held back while nobody read...
  const double cell_seconds = std::stod(text_of(r["result"]["value"]));
  CHECK(cell_seconds > 1.0);
  // ...and every line arrived, in order.
  std::string text = joined_output(server.received(), "stdout");
  std::string expected;
  char line[32];
  for (int i = 0; i < 600000; ++i) {
    std::snprintf(line, sizeof line, "line %06d\n", i);
    expected += line;
  }
  CHECK(text == expected);
}

TEST_CASE("one session's output never lands in another's", "[modes]") {
  ServerProcess server;
  const std::string a = server.open_session({{"session", "a"}});
  const std::string b = server.open_session({{"session", "b"}});
  Json ra = server.send_request("cell/run", {{"session", a}, {"code", "for i in range(20000): print('A')"}});
  Json rb = server.send_request("cell/run", {{"session", b}, {"code", "for i in range(20000): print('B')"}});
  server.wait_response(ra, 60s);
  server.wait_response(rb, 60s);
  std::string from_a, from_b;
  for (const Json& m : server.notifications("cell/output")) {
    (m["params"]["session"] == "a" ? from_a : from_b) += m["params"]["text"].get<std::string>();
  }
  std::string expect_a, expect_b;
  for (int i = 0; i < 20000; ++i) {
    expect_a += "A\n";
    expect_b += "B\n";
  }
  CHECK(from_a == expect_a);
  CHECK(from_b == expect_b);
}

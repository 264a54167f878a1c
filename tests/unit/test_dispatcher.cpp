#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "rpc/dispatcher.h"
#include "rpc/error_code.h"
#include "rpc/params.h"

using namespace subcell;
using namespace subcell::rpc;

namespace {

// Records what the dispatcher sends, like clangd's OutgoingRecorder.
struct Recorder : Outgoing {
  std::vector<Json> sent;
  void send(const Json& message) override { sent.push_back(message); }
  const Json& last() const { return sent.back(); }
};

struct Fixture {
  Recorder out;
  Dispatcher dispatcher{out};
  std::vector<Reply> parked;  // replies a handler keeps for later
  int notified = 0;

  Fixture() {
    dispatcher.on_request("initialize", [](const Json&, Reply r) { r(Json{{"ok", true}}); });
    dispatcher.on_request("shutdown", [](const Json&, Reply r) { r(Json(nullptr)); });
    dispatcher.on_request("echo", [](const Json& p, Reply r) {
      ParamReader reader(p, "echo");
      std::string text;
      if (!reader.required("text", text)) return r(reader.error());
      r(Json{{"text", text}});
    });
    dispatcher.on_request("later", [this](const Json&, Reply r) { parked.push_back(std::move(r)); });
    dispatcher.on_request("forgetful", [](const Json&, Reply) {});
    dispatcher.on_request("throws", [](const Json& p, Reply) { (void)p.at("missing"); });
    dispatcher.on_notification("ping", [this](const Json&) { ++notified; });
    dispatcher.on_notification("exit", [this](const Json&) { notified += 100; });
  }
  void initialize() { dispatcher.dispatch(R"({"jsonrpc":"2.0","id":0,"method":"initialize"})"); }
};

int error_code(const Json& m) { return m.at("error").at("code").get<int>(); }

}  // namespace

TEST_CASE("requests before initialize get ServerNotInitialized; notifications are dropped") {
  Fixture f;
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"x"}})");
  REQUIRE(f.out.sent.size() == 1);
  CHECK(error_code(f.out.last()) == kServerNotInitialized);
  CHECK(f.out.last()["id"] == 1);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","method":"ping"})");
  CHECK(f.notified == 0);
  CHECK(f.out.sent.size() == 1);
}

TEST_CASE("after initialize a request is routed and answered with its id") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":"abc","method":"echo","params":{"text":"hi"}})");
  CHECK(f.out.last() == Json{{"jsonrpc", "2.0"}, {"id", "abc"}, {"result", {{"text", "hi"}}}});
}

TEST_CASE("a second initialize is refused") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":2,"method":"initialize"})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
}

TEST_CASE("unknown methods get MethodNotFound naming the method") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":3,"method":"no/such"})");
  CHECK(error_code(f.out.last()) == kMethodNotFound);
  CHECK(f.out.last()["error"]["message"] == "unknown method: no/such");
}

TEST_CASE("wrong params get InvalidParams naming the field, and the handler's own words") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":4,"method":"echo","params":{"text":5}})");
  CHECK(error_code(f.out.last()) == kInvalidParams);
  CHECK(f.out.last()["error"]["message"] == "echo: params.text: expected a string");
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":5,"method":"echo","params":{}})");
  CHECK(f.out.last()["error"]["message"] == "echo: params.text: missing (a string is required)");
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":6,"method":"echo","params":[1,2]})");
  CHECK(f.out.last()["error"]["message"] == "echo: params must be an object");
}

TEST_CASE("a reply can come later, exactly once") {
  Fixture f;
  f.initialize();
  const std::size_t before = f.out.sent.size();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":7,"method":"later"})");
  CHECK(f.out.sent.size() == before);
  REQUIRE(f.parked.size() == 1);
  f.parked[0](Json(42));
  CHECK(f.out.last()["result"] == 42);
  f.parked[0](Json(43));  // a second reply is dropped
  CHECK(f.out.sent.size() == before + 1);
}

TEST_CASE("a handler that never replies still gets an InternalError answer") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":8,"method":"forgetful"})");
  CHECK(error_code(f.out.last()) == kInternalError);
  CHECK(f.out.last()["id"] == 8);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":9,"method":"throws"})");
  CHECK(error_code(f.out.last()) == kInternalError);
  CHECK(f.out.last()["id"] == 9);
}

TEST_CASE("after shutdown requests are refused and only exit is acted on") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":10,"method":"shutdown"})");
  CHECK(f.out.last()["result"].is_null());
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":11,"method":"echo","params":{"text":"x"}})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","method":"ping"})");
  CHECK(f.notified == 0);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","method":"exit"})");
  CHECK(f.notified == 100);
}

TEST_CASE("invalid JSON, batches and non-requests are answered with the right codes") {
  Fixture f;
  f.initialize();
  f.dispatcher.dispatch("{nope");
  CHECK(error_code(f.out.last()) == kParseError);
  CHECK(f.out.last()["id"].is_null());
  f.dispatcher.dispatch(R"([{"jsonrpc":"2.0","id":1,"method":"echo"}])");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
  f.dispatcher.dispatch(R"({"jsonrpc":"1.0","id":12,"method":"echo"})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
  CHECK(f.out.last()["id"] == 12);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":{"x":1},"method":"echo"})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
  CHECK(f.out.last()["id"].is_null());
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":13,"method":7})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
  f.dispatcher.dispatch(R"("just a string")");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
}

TEST_CASE("the id of a broken or cut-off request can still be read") {
  CHECK(sniff_request_id(R"({"jsonrpc":"2.0","id":17,"method":"cell/run","params":{"code":"x)") == 17);
  CHECK(sniff_request_id(R"({"id":"req-9","params":{"id":3}})") == "req-9");
  CHECK(sniff_request_id(R"({"params":{"id":3},"id":5,)") == 5);
  CHECK(sniff_request_id(R"({"params":{"id":3}})").is_null());
  CHECK(sniff_request_id(R"({"id":{"nested":1}})").is_null());
  CHECK(sniff_request_id("garbage").is_null());
}

TEST_CASE("\"params\": null reads as no params, as Eglot's jsonrpc.el sends for shutdown and exit") {
  Fixture f;
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":null})");
  CHECK(f.out.last()["result"]["ok"] == true);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":null})");
  CHECK(f.out.last()["error"]["message"] == "echo: params.text: missing (a string is required)");
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":3,"method":"shutdown","params":null})");
  CHECK(f.out.last()["id"] == 3);
  CHECK(f.out.last()["result"].is_null());
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","method":"exit","params":null})");
  CHECK(f.notified == 100);
  f.dispatcher.dispatch(R"({"jsonrpc":"2.0","id":4,"method":"echo","params":"text"})");
  CHECK(error_code(f.out.last()) == kInvalidRequest);
}

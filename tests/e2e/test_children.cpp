// Child interpreters (subcell.interpreters) against the real binary: listed
// in session/list under their parent, their output in the parent cell's
// output labelled, closed with the parent; the same inside a process
// session's worker. Every message is checked against the schema.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "server_process.h"

using namespace subcell::testing;

namespace {

std::vector<std::string> children(ServerProcess& server) {
  std::vector<std::string> out;
  const Json list = server.result("session/list");
  for (const Json& s : list["sessions"]) {
    if (s.contains("parent")) out.push_back(s["session"].get<std::string>() + "<" + s["parent"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("child interpreters are listed under their parent and closed with it", "[modes]") {
  ServerProcess server;
  const std::string nb = server.open_session({{"session", "nb"}});
  const std::string other = server.open_session({{"session", "other"}});
  value_of(server, nb, "from subcell import interpreters\nkids = [interpreters.create() for _ in range(2)]\n1", 60s);
  CHECK(children(server) == std::vector<std::string>{"nb/1<nb", "nb/2<nb"});
  CHECK(value_of(server, nb, "kids[0].run('6 * 7')", 60s) == "(42, None)");
  Json list = server.result("session/list");
  for (const Json& s : list["sessions"]) {
    if (s.contains("parent")) CHECK(s["isolation"] == "interpreter");
  }
  server.result("session/close", {{"session", nb}});
  CHECK(children(server).empty());
  CHECK(value_of(server, other, "1", 60s) == "1");  // the neighbour goes on
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a child's output reaches the client as the parent cell's output, labelled", "[modes]") {
  ServerProcess server;
  const std::string nb = server.open_session({{"session", "nb"}});
  Json r = server.result("cell/run", {{"session", nb}, {"cell", "c1"}, {"code",
      "from subcell import interpreters\nc = interpreters.create()\nc.run('print(\"from the child\")')\n"
      "print('from the parent')"}});
  CHECK(r["error"].is_null());
  std::string out;
  for (const Json& n : server.notifications("cell/output")) {
    if (n["params"]["cell"] == "c1") out += n["params"]["text"].get<std::string>();
  }
  CHECK(out.find("[nb/1] from the child\n") != std::string::npos);
  CHECK(out.find("from the parent\n") != std::string::npos);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("an error in a child comes back as (None, err); raise_() raises it in the parent", "[modes]") {
  ServerProcess server;
  const std::string nb = server.open_session({{"session", "nb"}});
  CHECK(value_of(server, nb, "from subcell import interpreters\nc = interpreters.create()\nres, err = c.run('1/0')\n"
                             "(res, err.type, '<cell 1>' in err.traceback)", 60s) == "(None, 'ZeroDivisionError', True)");
  Json raised = server.result("cell/run", {{"session", nb}, {"code", "err.raise_()"}});
  REQUIRE(raised["error"].is_object());
  CHECK(raised["error"]["type"] == "ZeroDivisionError");
  CHECK(raised["error"]["message"].get<std::string>().find("Traceback in child interpreter nb/1") != std::string::npos);
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("children of a process session are subinterpreters in its worker", "[process]") {
  ServerProcess server;
  const std::string p = server.open_session({{"session", "proc"}, {"isolation", "process"}});
  const std::string pid = value_of(server, p, "import os\nos.getpid()", 60s);
  CHECK(value_of(server, p, "from subcell import interpreters\nimport subcell\nc = interpreters.create()\n"
                            "r, s = subcell.create_channel()\nf = c.run_async('import os\\nout.send(os.getpid())', "
                            "channels={'out': s})\n(r.recv(timeout=30), f.result(timeout=30))", 60s) ==
        "(" + pid + ", (None, None))");
  CHECK(children(server) == std::vector<std::string>{"proc/1<proc"});
  server.result("session/close", {{"session", p}});
  CHECK(children(server).empty());
  CHECK_SCHEMA_VALID(server);
}

// Python environments per session: a venv of the embedded CPython in an
// interpreter session, Debian's own CPython 3.11 (with numpy, pandas and
// matplotlib from Debian's packages) in a process session on a worker
// built for it, and figures as PNG images.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "neighbour.h"
#include "server_process.h"

using namespace subcell::testing;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Width and height from a PNG's IHDR chunk.
std::pair<int, int> png_size(const std::string& base64) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  int bits = 0, value = 0;
  for (char c : base64.substr(0, 64)) {
    const auto at = alphabet.find(c);
    if (at == std::string::npos) break;
    value = (value << 6) | static_cast<int>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((value >> bits) & 0xFF));
    }
  }
  REQUIRE(bytes.size() >= 24);
  REQUIRE(bytes.substr(1, 3) == "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  return {be32(16), be32(20)};
}

const char* kDebianPython = "/usr/bin/python3";

}  // namespace

TEST_CASE("a venv of the embedded CPython: its own prefix and packages in one interpreter session, not its neighbour's") {
  ScratchDir dir;
  const std::string venv = dir.path() + "/venv";
  const std::string make_venv = std::string(SUBCELL_EMBEDDED_PYTHON) + " -m venv --without-pip " + venv;
  REQUIRE(std::system(make_venv.c_str()) == 0);
  const std::string site = venv + "/lib/python" + SUBCELL_PYTHON_MINOR + "/site-packages";
  // A package copied into its site-packages, and one found through a .pth
  // path entry (an editable install's way).
  ::mkdir((site + "/venvonly").c_str(), 0755);
  write_file(site + "/venvonly/__init__.py", "WHERE = 'in the venv'\n");
  ::mkdir((dir.path() + "/editable").c_str(), 0755);
  write_file(dir.path() + "/editable/editable_pkg.py", "WHERE = 'editable'\n");
  write_file(site + "/editable.pth", dir.path() + "/editable\n");

  ServerProcess server;
  Neighbour neighbour(server);
  Json opened = server.result("session/open", {{"session", "env"}, {"python", venv}});
  CHECK(opened["isolation"] == "interpreter");
  CHECK(opened["python"]["prefix"] == venv);
  CHECK(opened["python"]["executable"].get<std::string>().rfind(venv + "/bin/python", 0) == 0);
  CHECK(value_of(server, "env", "import sys\nsys.prefix", 60s) == "'" + venv + "'");
  CHECK(value_of(server, "env", "import venvonly, editable_pkg\n(venvonly.WHERE, editable_pkg.WHERE)", 60s) ==
        "('in the venv', 'editable')");
  // The neighbour keeps the base installation's.
  CHECK(server.result("cell/run", {{"session", "neighbour"}, {"code", "import venvonly"}})["error"]["type"] ==
        "ModuleNotFoundError");
  CHECK(value_of(server, "neighbour", "import sys\nsys.prefix != " + Json(venv).dump(), 60s) == "True");
  neighbour.check_intact();
  // session/list shows which Python each session runs.
  const Json listed = server.result("session/list");
  for (const Json& s : listed["sessions"]) {
    if (s["session"] == "env") CHECK(s["python"]["prefix"] == venv);
    if (s["session"] == "neighbour") CHECK(s["python"]["prefix"] != venv);
  }
  // In a process session the venv is the worker's own.
  server.open_session({{"session", "penv"}, {"python", venv}, {"isolation", "process"}});
  CHECK(value_of(server, "penv", "import sys, venvonly\n(sys.prefix, venvonly.WHERE)", 60s) ==
        "('" + venv + "', 'in the venv')");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("a Python that is not one is refused with a clear error") {
  ServerProcess server;
  Json r = server.call("session/open", {{"python", "/no/such/python"}});
  CHECK(r["error"]["code"] == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("/no/such/python") != std::string::npos);
  r = server.call("session/open", {{"python", "/bin/true"}});
  CHECK(r["error"]["code"] == -32602);
}

// [nosan]: needs the worker built for CPython 3.11, which the sanitizer build leaves out.
TEST_CASE("Debian's CPython 3.11 with numpy, pandas and matplotlib, in a process session beside an interpreter session",
          "[nosan]") {
  ServerProcess server;
  Neighbour neighbour(server);
  // Another CPython version: a process session whatever was asked.
  Json opened = server.result("session/open", {{"session", "sci"}, {"python", kDebianPython}, {"isolation", "auto"}}, 60s);
  CHECK(opened["isolation"] == "process");
  CHECK(opened["python"]["version"].get<std::string>().rfind("3.11.", 0) == 0);
  CHECK(value_of(server, "sci", "import sys\nsys.version_info[:2]", 60s) == "(3, 11)");
  // numpy arithmetic
  CHECK(value_of(server, "sci", "import numpy as np\na = np.arange(6).reshape(2, 3)\nint((a @ a.T).sum())", 60s) == "83");
  // a DataFrame's HTML arrives
  Json r = server.result("cell/run", {{"session", "sci"}, {"code",
      "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [3.5, 4.5]})\ndf"}}, 60s);
  REQUIRE(r["error"].is_null());
  CHECK(r["value"]["text/html"].get<std::string>().find("<table") != std::string::npos);
  // a matplotlib figure arrives as a PNG of the figure's size, at the end of the cell
  const auto displays_before = server.notifications("cell/display").size();
  r = server.result("cell/run", {{"session", "sci"}, {"code",
      "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3), dpi=100)\nax.plot([1, 2, 3], [1, 4, 9])\n"
      "'plotted'"}}, 60s);
  CHECK(text_of(r["value"]) == "'plotted'");
  auto displays = server.notifications("cell/display");
  REQUIRE(displays.size() == displays_before + 1);
  const Json figure = displays.back()["params"]["data"];
  CHECK(figure["text/plain"].get<std::string>().find("Figure") != std::string::npos);
  CHECK(png_size(figure["image/png"].get<std::string>()) == std::pair<int, int>{400, 300});
  // plt.show() shows it at once; display(fig) too.
  r = server.result("cell/run", {{"session", "sci"}, {"code",
      "fig = plt.figure(figsize=(2, 2), dpi=50)\nplt.plot([0, 1])\nplt.show()\nfig2 = plt.figure(figsize=(3, 1), dpi=100)\n"
      "display(fig2)\nplt.close(fig2)"}}, 60s);
  displays = server.notifications("cell/display");
  REQUIRE(displays.size() == displays_before + 3);
  CHECK(png_size(displays[displays_before + 1]["params"]["data"]["image/png"]) == std::pair<int, int>{100, 100});
  CHECK(png_size(displays[displays_before + 2]["params"]["data"]["image/png"]) == std::pair<int, int>{300, 100});
  // interrupt of a long numpy loop
  Json loop = server.send_request("cell/run", {{"session", "sci"}, {"code",
      "total = 0.0\nwhile True:\n    total += np.random.rand(200, 200).sum()"}});
  wait_started(server, "sci");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.result("cell/interrupt", {{"session", "sci"}});
  CHECK(server.wait_response(loop, 20s)["result"]["error"]["type"] == "KeyboardInterrupt");
  // reset
  CHECK(server.result("session/reset", {{"session", "sci"}})["removedNames"].get<int>() > 0);
  CHECK(server.result("cell/run", {{"session", "sci"}, {"code", "df"}})["error"]["type"] == "NameError");
  // a crash costs that session only
  server.send_request("cell/run", {{"session", "sci"}, {"code", "import ctypes\nctypes.string_at(0)"}});
  auto crashed = server.wait_notification("session/crashed", 30s);
  REQUIRE(crashed);
  CHECK((*crashed)["params"]["signal"] == "SIGSEGV");
  neighbour.check_intact();
  CHECK_SCHEMA_VALID(server);
}

// CPython's own test suites run in two sessions side by side, against the
// counts of a plain `python3` run of the same suite: what each mode keeps
// per session, shown by suites that notice when it is not. test_json names
// its temporary files by pid (one pid for every interpreter session, so the
// sessions get a working directory each); test_datetime sets TZ and calls
// tzset(), which POSIX applies to the whole process, so it is compared in
// process mode only (in interpreter mode the local-time tests of two
// sessions see each other's timezone: protocol/README.md, "What is shared").
//
// Tagged [.stdlib]: hidden from the main run, registered by ctest on its
// own with a longer timeout (tests/CMakeLists.txt).
#include <stdio.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>

#include "server_process.h"

using namespace subcell::testing;
namespace fs = std::filesystem;

namespace {

// A directory of its own, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "subcell-stdlib-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Statements running a stdlib test module quietly; `counts` is then the
// repr of (run, failures, errors, skipped).
std::string suite_code(const std::string& module) {
  return "import importlib, io, unittest\n"
         "suite = unittest.defaultTestLoader.loadTestsFromModule(importlib.import_module('" +
         module +
         "'))\n"
         "r = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)\n"
         "counts = repr((r.testsRun, len(r.failures), len(r.errors), len(r.skipped)))\n";
}

// The counts of a plain run of the Python subcell embeds, in a directory of its own.
std::string plain_counts(const std::string& module) {
  TempDir dir;
  const fs::path script = dir.path / "suite.py";
  std::ofstream(script) << suite_code(module) << "print(counts)\n";
  const std::string command = "cd '" + dir.path.string() + "' && '" + SUBCELL_EMBEDDED_PYTHON + "' suite.py 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[256];
  while (::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Runs `module` in sessions a and b of `isolation` at the same time (each
// in a working directory of its own) beside a plain run; every count must
// be the plain run's.
void side_by_side(const std::string& module, const std::string& isolation) {
  auto plain = std::async(std::launch::async, plain_counts, module);
  ServerProcess server;
  TempDir dir_a, dir_b;
  server.open_session({{"session", "a"}, {"isolation", isolation}, {"cwd", dir_a.path.string()}});
  server.open_session({{"session", "b"}, {"isolation", isolation}, {"cwd", dir_b.path.string()}});
  const std::string code = suite_code(module) + "counts";
  Json ra = server.send_request("cell/run", {{"session", "a"}, {"code", code}});
  Json rb = server.send_request("cell/run", {{"session", "b"}, {"code", code}});
  Json a = server.wait_response(ra, 500s);
  Json b = server.wait_response(rb, 500s);
  const std::string expected = plain.get();
  INFO(module << " in " << isolation << " sessions; plain python3: " << expected);
  INFO("a: " << a.dump().substr(0, 2000));
  INFO("b: " << b.dump().substr(0, 2000));
  REQUIRE(expected.rfind("(", 0) == 0);  // the plain run counted
  CHECK(text_of(a["result"]["value"]) == "'" + expected + "'");
  CHECK(text_of(b["result"]["value"]) == "'" + expected + "'");
}

}  // namespace

TEST_CASE("CPython's test_json in two interpreter sessions side by side counts as a plain python3 run", "[.stdlib][nosan]") {
  side_by_side("test.test_json", "interpreter");
}

TEST_CASE("CPython's test_json in two process sessions side by side counts as a plain python3 run", "[.stdlib][nosan]") {
  side_by_side("test.test_json", "process");
}

TEST_CASE("CPython's test_datetime in two process sessions side by side counts as a plain python3 run", "[.stdlib][nosan]") {
  side_by_side("test.test_datetime", "process");
}

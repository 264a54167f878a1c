// run(), reset() and error formatting against the real CPython, in real
// own-GIL subinterpreters.
#include <catch2/catch.hpp>

#include <thread>

#include "fake_io.h"
#include "python/python_session.h"

using namespace subcell;
using subcell::testing::mime;
using subcell::testing::RecordingIo;

namespace {

// A session on the calling thread, closed at scope end.
struct Sandbox {
  RecordingIo io;
  py::InterruptTarget interrupts;
  std::unique_ptr<py::PythonSession> py;
  std::uint64_t next_token = 1;

  Sandbox() {
    auto created = py::PythonSession::create(io, interrupts);
    REQUIRE(created.ok());
    py = std::move(*created);
  }
  ~Sandbox() {
    if (py) py->close(std::chrono::milliseconds(1000));
  }
  RunOutcome run(const std::string& code) { return py->run(code, next_token++); }
};

}  // namespace

TEST_CASE("the last expression is the cell's value") {
  Sandbox s;
  RunOutcome r = s.run("x = 20\nx + 22");
  REQUIRE(r.value);
  CHECK_FALSE(r.error);
  CHECK(mime(*r.value, "text/plain") == "42");
  CHECK(r.execution_count == 1);
  CHECK(r.duration_ms >= 0);
}

TEST_CASE("statements, None and empty cells have no value") {
  Sandbox s;
  CHECK_FALSE(s.run("y = 1").value);
  CHECK_FALSE(s.run("None").value);
  CHECK_FALSE(s.run("").value);
  CHECK_FALSE(s.run("# only a comment\n").value);
  RunOutcome r = s.run("print('x')");
  CHECK_FALSE(r.value);
  CHECK(s.io.out() == "x\n");
}

TEST_CASE("state persists between cells and `_` holds the last value") {
  Sandbox s;
  s.run("data = [1, 2, 3]");
  s.run("sum(data)");
  RunOutcome r = s.run("_ * 10");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "60");
}

TEST_CASE("an exception becomes the error tuple, formatted inside the interpreter") {
  Sandbox s;
  s.run("def average(values):\n    return sum(values) / len(values)\n");
  RunOutcome r = s.run("print('before')\naverage([])\n");
  CHECK_FALSE(r.value);
  REQUIRE(r.error);
  const ErrorInfo& e = *r.error;
  CHECK(e.type == "ZeroDivisionError");
  CHECK(e.message == "division by zero");
  // Frames of subcell's runner are not shown; the cell's own lines are,
  // including the line of the earlier cell that defined the function.
  CHECK(e.traceback.find("<subcell>") == std::string::npos);
  CHECK(e.traceback.find("File \"<cell 2>\", line 2, in <module>") != std::string::npos);
  CHECK(e.traceback.find("File \"<cell 1>\", line 2, in average") != std::string::npos);
  CHECK(e.traceback.find("return sum(values) / len(values)") != std::string::npos);
  REQUIRE(e.frames.size() == 2);
  CHECK(e.frames[0].file == "<cell 2>");
  CHECK(e.frames[0].line == 2);
  CHECK(e.frames[0].execution_count == 2);
  CHECK(e.frames[0].source == "average([])");
  CHECK(e.frames[1].function == "average");
  CHECK(e.frames[1].execution_count == 1);
  REQUIRE(e.location);
  CHECK(e.location->file == "<cell 1>");
  CHECK(e.location->line == 2);
  CHECK(s.io.out() == "before\n");
}

TEST_CASE("exception types carry their qualified name") {
  Sandbox s;
  RunOutcome r = s.run("import json\njson.loads('{')");
  REQUIRE(r.error);
  CHECK(r.error->type == "json.decoder.JSONDecodeError");
  r = s.run("class Oops(Exception):\n    pass\nraise Oops('custom')");
  REQUIRE(r.error);
  CHECK(r.error->type == "__main__.Oops");
  CHECK(r.error->message == "custom");
}

TEST_CASE("a SyntaxError points at its line and column in the cell") {
  Sandbox s;
  RunOutcome r = s.run("x = 1\ny = (2 +\nz = 3\n");
  REQUIRE(r.error);
  CHECK(r.error->type == "SyntaxError");
  REQUIRE(r.error->location);
  CHECK(r.error->location->file == "<cell 1>");
  CHECK(r.error->location->line == 2);
  REQUIRE(r.error->location->column);
  CHECK(*r.error->location->column == 5);
  CHECK(r.error->frames.empty());
  CHECK(r.error->traceback.find("<subcell>") == std::string::npos);
}

TEST_CASE("SystemExit and KeyboardInterrupt are results, and the session goes on") {
  Sandbox s;
  RunOutcome r = s.run("import sys\nsys.exit(3)");
  REQUIRE(r.error);
  CHECK(r.error->type == "SystemExit");
  CHECK(r.error->message == "3");
  r = s.run("exit()");
  REQUIRE(r.error);
  CHECK(r.error->type == "SystemExit");
  r = s.run("raise KeyboardInterrupt");
  REQUIRE(r.error);
  CHECK(r.error->type == "KeyboardInterrupt");
  r = s.run("'still alive'");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "'still alive'");
}

TEST_CASE("an exception whose str() fails is still reported") {
  Sandbox s;
  RunOutcome r = s.run("class Bad(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\nraise Bad()");
  REQUIRE(r.error);
  CHECK(r.error->type == "__main__.Bad");
  CHECK_FALSE(r.error->traceback.empty());
}

TEST_CASE("a value whose repr fails is an error, not a crash") {
  Sandbox s;
  RunOutcome r = s.run("class R:\n    def __repr__(self):\n        raise ValueError('repr broke')\nR()");
  CHECK_FALSE(r.value);
  REQUIRE(r.error);
  CHECK(r.error->type == "ValueError");
  CHECK(r.error->message == "repr broke");
}

TEST_CASE("rich reprs become extra MIME entries") {
  Sandbox s;
  RunOutcome r = s.run(
      "class Rich:\n"
      "    def __repr__(self): return 'Rich()'\n"
      "    def _repr_html_(self): return '<b>rich</b>'\n"
      "    def _repr_markdown_(self): return '**rich**'\n"
      "    def _repr_json_(self): return {'a': [1, 2]}\n"
      "    def _repr_png_(self): return b'\\x89PNG'\n"
      "    def _repr_latex_(self): raise RuntimeError('broken repr is skipped')\n"
      "Rich()");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "Rich()");
  CHECK(mime(*r.value, "text/html") == "<b>rich</b>");
  CHECK(mime(*r.value, "text/markdown") == "**rich**");
  CHECK(mime(*r.value, "application/json") == R"({"a": [1, 2]})");
  CHECK(mime(*r.value, "image/png") == "iVBORw==");
  CHECK(mime(*r.value, "text/latex") == "<absent>");
  bool json_flag = false;
  for (const MimeEntry& e : *r.value) json_flag = json_flag || (e.mime == "application/json" && e.is_json);
  CHECK(json_flag);
}

TEST_CASE("display() sends MIME bundles while the cell runs") {
  Sandbox s;
  RunOutcome r = s.run("class H:\n    def _repr_html_(self): return '<i>h</i>'\ndisplay(1, H())");
  CHECK_FALSE(r.error);
  auto shown = s.io.displays();
  REQUIRE(shown.size() == 2);
  CHECK(mime(shown[0], "text/plain") == "1");
  CHECK(mime(shown[1], "text/html") == "<i>h</i>");
}

TEST_CASE("stdout and stderr are captured separately, including from threads") {
  Sandbox s;
  s.run(
      "import sys, threading\n"
      "print('to out')\n"
      "print('to err', file=sys.stderr)\n"
      "t = threading.Thread(target=lambda: print('from a thread'))\n"
      "t.start(); t.join()\n"
      "sys.stdout.write('no newline')");
  CHECK(s.io.out() == "to out\nfrom a thread\nno newline");
  CHECK(s.io.err() == "to err\n");
}

TEST_CASE("reset empties __main__ in place and keeps imports warm") {
  Sandbox s;
  s.run("import json, sys\na = 1\nb = [1]\ndef f(): pass\n");
  ResetOutcome reset = s.py->reset();
  CHECK(reset.removed_names == 5);  // json, sys, a, b, f
  CHECK(reset.duration_ms < 1000);
  RunOutcome r = s.run("a");
  REQUIRE(r.error);
  CHECK(r.error->type == "NameError");
  r = s.run("import sys\n(sorted(k for k in globals() if k.startswith('__')), 'json' in sys.modules, callable(display))");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") ==
        "(['__annotations__', '__builtins__', '__doc__', '__loader__', '__name__', '__package__', '__spec__'], True, True)");
  r = s.run("__name__");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "'__main__'");
}

TEST_CASE("sessions are isolated from each other") {
  Sandbox a;
  Sandbox b;
  a.run("import sys\nsecret = 'a'\nsys.path.append('/only-in-a')");
  RunOutcome r = b.run("import sys\n('secret' in globals(), '/only-in-a' in sys.path)");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "(False, False)");
}

TEST_CASE("top-level await runs to completion") {
  Sandbox s;
  RunOutcome r = s.run("import asyncio\nasync def twice(x):\n    await asyncio.sleep(0)\n    return 2 * x\nawait twice(21)");
  CHECK_FALSE(r.error);
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "42");
}

TEST_CASE("sys._current_frames is limited to the session's own threads") {
  Sandbox a;
  Sandbox b;
  RunOutcome r = a.run("import sys, threading\nlen(sys._current_frames()) == 1 and threading.get_ident() in sys._current_frames()");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "True");
}

TEST_CASE("modules that refuse subinterpreters give a clear ImportError") {
  Sandbox s;
  RunOutcome r = s.run("import readline");
  REQUIRE(r.error);
  CHECK(r.error->type == "ImportError");
  CHECK(r.error->message.find("readline") != std::string::npos);
  CHECK(r.error->message.find("subinterpreter") != std::string::npos);
  r = s.run("import os\nos.fork()");
  REQUIRE(r.error);
  CHECK(r.error->type == "RuntimeError");
}

TEST_CASE("input() with nobody to answer it is an EOFError that says why") {
  Sandbox s;
  // RecordingIo answers every input request "unsupported", as the server
  // does for a client without capabilities.input.
  RunOutcome r = s.run("input('name? ')");
  REQUIRE(r.error);
  CHECK(r.error->type == "EOFError");
  CHECK(r.error->message == "no client in this test");
  r = s.run("import sys\nsys.stdin.readline()");
  REQUIRE(r.error);
  CHECK(r.error->type == "EOFError");
}

TEST_CASE("completion offers names and attributes from the namespace") {
  Sandbox s;
  s.run("import json\nvalue_one = 1\nvalue_two = 2");
  CompleteOutcome c = s.py->complete("value_", std::nullopt);
  CHECK(c.matches == std::vector<std::string>{"value_one", "value_two"});
  CHECK(c.cursor_start == 0);
  CHECK(c.cursor_end == 6);
  c = s.py->complete("x = json.du", std::nullopt);
  CHECK(c.matches == std::vector<std::string>{"json.dump", "json.dumps"});
  CHECK(c.cursor_start == 4);
  c = s.py->complete("pri", std::size_t{3});
  CHECK(std::find(c.matches.begin(), c.matches.end(), "print") != c.matches.end());
}

TEST_CASE("an interrupt stops a busy loop and a sleep, then the next cell runs") {
  Sandbox s;
  for (const char* code : {"while True:\n    pass", "import time\ntime.sleep(30)"}) {
    std::thread interrupter([&] {
      // Wait until the cell is running, then interrupt it.
      while (s.interrupts.running() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      CHECK(s.interrupts.request(0));
    });
    const auto start = std::chrono::steady_clock::now();
    RunOutcome r = s.run(code);
    interrupter.join();
    REQUIRE(r.error);
    CHECK(r.error->type == "KeyboardInterrupt");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  }
  RunOutcome r = s.run("'next'");
  REQUIRE(r.value);
  CHECK(mime(*r.value, "text/plain") == "'next'");
}

TEST_CASE("closing stops threads a cell left running") {
  RecordingIo io;
  py::InterruptTarget interrupts;
  auto created = py::PythonSession::create(io, interrupts);
  REQUIRE(created.ok());
  auto& py = *created;
  py->run(
      "import threading, _thread, time\n"
      "def spin():\n"
      "    while True:\n"
      "        pass\n"
      "threading.Thread(target=spin).start()\n"
      "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
      "_thread.start_new_thread(spin, ())\n",
      1);
  CloseOutcome closed = py->close(std::chrono::milliseconds(2000));
  CHECK(closed.ended);
  CHECK(closed.stray_threads == 3);
}

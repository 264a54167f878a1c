// Child interpreters (subcell.interpreters) of sessions of the real engine:
// run() and its (result, err) tuple, raise_(), run_async() in parallel,
// output labelled into the parent's, listed under the parent, closed with
// it, and interrupts reaching the child.
#include <catch2/catch.hpp>

#include <cstdio>

#include "sessions/children.h"
#include "xi_harness.h"

using namespace subcell;
using namespace std::chrono_literals;
using subcell::testing::text_of;
using subcell::testing::XiHarness;

TEST_CASE("children: run() gives (value, None), shareable values as they are and others as their repr") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nchild = interpreters.create()\n1");
  CHECK(h.value(p, "child.id") == "'nb/1'");
  CHECK(h.value(p, "child.run('x = 6\\nx * 7')") == "(42, None)");
  CHECK(h.value(p, "child.run('x + 1')") == "(7, None)");  // state persists between runs
  CHECK(h.value(p, "child.run('(1, \"a\", b\"b\", 2.5, None, True, 2**70)')") ==
        "((1, 'a', b'b', 2.5, None, True, 1180591620717411303424), None)");
  CHECK(h.value(p, "child.run('[1, 2]')") == "('[1, 2]', None)");  // not shareable: its repr
  CHECK(h.value(p, "child.run('y = 1')") == "(None, None)");
  CHECK(h.value(p, "child.run('import subcell; subcell.interpreters.get_current().id')") == "('nb/1', None)");
  CHECK(h.value(p, "[i.id for i in interpreters.list_all()]") == "['nb', 'nb/1']");
  CHECK(h.value(p, "interpreters.get_current().id") == "'nb'");
}

TEST_CASE("children: an error comes back as (None, RunError) with the child's traceback, and raise_() raises it here") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nchild = interpreters.create()\n"
             "child.run('def f(d):\\n    return d[\"missing\"]\\n')\n1");
  CHECK(h.value(p, "result, err = child.run('f({})')\n(result, err.type, err.message)") ==
        "(None, 'KeyError', \"'missing'\")");
  const std::string tb = h.value(p, "err.traceback");
  CHECK(tb.find("File \"<cell 2>\", line 1, in <module>") != std::string::npos);
  CHECK(tb.find("in f") != std::string::npos);
  CHECK(tb.find("return d[\"missing\"]") != std::string::npos);
  CHECK(h.value(p, "[f[2] for f in err.frames]") == "['<module>', 'f']");
  // raise_(): the same builtin type, here, with the child's traceback in its message.
  RunOutcome raised = h.run(p, "err.raise_()");
  REQUIRE(raised.error);
  CHECK(raised.error->type == "KeyError");
  CHECK(raised.error->message.find("Traceback in child interpreter nb/1") != std::string::npos);
  CHECK(raised.error->message.find("missing") != std::string::npos);
  // A type with no builtin of that name: ExecutionFailed.
  RunOutcome custom = h.run(p, "_, e2 = child.run('class Oops(Exception): pass\\nraise Oops(\"custom\")')\ne2.raise_()");
  REQUIRE(custom.error);
  CHECK(custom.error->type == "subcell.ExecutionFailed");
  CHECK(custom.error->message.find("Oops: custom") != std::string::npos);
  // SyntaxError too.
  CHECK(h.value(p, "child.run('1 +')[1].type") == "'SyntaxError'");
}

TEST_CASE("children: run_async() runs several children at once (speed-up printed)") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nimport time\nkids = [interpreters.create() for _ in range(2)]\n"
             "code = 'n = 0\\nfor i in range(4_000_000): n += i\\nn'\n[k.run('1') for k in kids]\n1");
  const std::string one = h.value(p, "t0 = time.perf_counter()\nkids[0].run(code)\nt_one = time.perf_counter() - t0\nt_one");
  const std::string both = h.value(
      p, "t0 = time.perf_counter()\nfs = [k.run_async(code) for k in kids]\nres = [f.result() for f in fs]\n"
         "t_two = time.perf_counter() - t0\n(res, all(f.done() for f in fs))");
  CHECK(both == "([(7999998000000, None), (7999998000000, None)], True)");
  const double speedup = std::stod(h.value(p, "2 * t_one / t_two"));
  std::printf("children: 2 CPU-bound runs in parallel vs one after the other: speed-up %.2fx (one run %s s)\n", speedup,
              one.c_str());
  CHECK(speedup > 0);
  // result(timeout) on a run still going.
  CHECK(h.value(p, "f = kids[0].run_async('import time\\ntime.sleep(1)\\n5')\ntry:\n    f.result(timeout=0.05)\n"
                   "    r = 'finished?'\nexcept TimeoutError:\n    r = 'timeout'\n(r, f.result(timeout=30))") ==
        "('timeout', (5, None))");
}

TEST_CASE("children: output goes to the parent's cell, labelled with the child") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nchild = interpreters.create()\nprint('parent')\n"
             "child.run('print(\"hello\")\\nprint(\"two\\\\nlines\", end=\"\")\\nimport sys\\nprint(\"err\", file=sys.stderr)')\n1");
  const std::string out = h.out(p);
  INFO(out);
  CHECK(out.find("parent\n") != std::string::npos);
  CHECK(out.find("[nb/1] hello\n") != std::string::npos);
  CHECK(out.find("[nb/1] two\n[nb/1] lines") != std::string::npos);
}

TEST_CASE("children: listed under their parent, closed with it, or on their own") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\na = interpreters.create()\nb = interpreters.create()\n1");
  auto children = [&] {
    std::vector<std::string> out;
    for (const SessionSummary& s : h.list()) {
      if (!s.parent.empty()) out.push_back(s.id + "<" + s.parent);
    }
    return out;
  };
  CHECK(children() == std::vector<std::string>{"nb/1<nb", "nb/2<nb"});
  // A grandchild.
  CHECK(h.value(p, "a.run('from subcell import interpreters\\ng = interpreters.create()\\ng.id')") == "('nb/1/1', None)");
  CHECK(children() == std::vector<std::string>{"nb/1<nb", "nb/1/1<nb/1", "nb/2<nb"});
  h.value(p, "b.close()\n1");
  CHECK(children() == std::vector<std::string>{"nb/1<nb", "nb/1/1<nb/1"});
  RunOutcome gone = h.run(p, "b.run('1')");
  REQUIRE(gone.error);
  CHECK(gone.error->type == "RuntimeError");
  // The parent closes: its children (and theirs) close with it.
  const std::uint64_t serial = p.serial;
  h.close(p);
  for (int i = 0; i < 500 && !children_of(serial).empty(); ++i) std::this_thread::sleep_for(10ms);
  CHECK(children_of(serial).empty());
  CHECK(children().empty());
}

TEST_CASE("children: an interrupt of the parent's wait interrupts the child's run; reset() empties the child") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nchild = interpreters.create()\nchild.run('keep = 1')\n1");
  JobId job = 0;
  auto waiting = h.start(p, "child.run('import time\\nwhile True: time.sleep(0.01)')", &job);
  std::this_thread::sleep_for(300ms);
  REQUIRE(p.interrupt(job));
  RunOutcome r = waiting.get();
  REQUIRE(r.error);
  CHECK(r.error->type == "KeyboardInterrupt");
  // The child stopped too, and is usable.
  CHECK(h.value(p, "child.run('keep')") == "(1, None)");
  h.value(p, "child.reset()\n1");
  CHECK(h.value(p, "child.run('keep')[1].type") == "'NameError'");
}

TEST_CASE("children: channels between a parent and its children; prelude; run(channels=...)") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "import subcell\nfrom subcell import interpreters\nchild = interpreters.create(prelude='import math')\n1");
  CHECK(h.value(p, "child.run('math.sqrt(16)')") == "(4.0, None)");
  CHECK(h.value(p, "r, s = subcell.create_channel()\n"
                   "f = child.run_async('for i in range(3): out.send(i * i)\\nout.send(None)', channels={'out': s})\n"
                   "got = []\nwhile (v := r.recv(timeout=30)) is not None: got.append(v)\n(got, f.result())") ==
        "([0, 1, 4], (None, None))");
  RunOutcome bad = h.run(p, "interpreters.create(prelude='1/0')");
  REQUIRE(bad.error);
  CHECK(bad.error->type == "RuntimeError");
  CHECK(bad.error->message.find("ZeroDivisionError") != std::string::npos);
}

TEST_CASE("children: input() in a child raises EOFError instead of waiting for nobody") {
  XiHarness h;
  Session& p = h.open("nb");
  h.value(p, "from subcell import interpreters\nchild = interpreters.create()\n1");
  CHECK(h.value(p, "r, err = child.run('input(\"name? \")')\n(r, err.type, 'channel' in err.message)") ==
        "(None, 'EOFError', True)");
}

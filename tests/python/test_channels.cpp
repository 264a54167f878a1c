// Channels between sessions of the real engine (own-GIL interpreters on
// their own threads, in-process): PEP 554's semantics, lent buffers,
// named channels, interrupts, deadlines, and EOF when the other side's
// session goes.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "xi_harness.h"

using namespace subcell;
using namespace std::chrono_literals;
using subcell::testing::text_of;
using subcell::testing::XiHarness;

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

TEST_CASE("channels: send waits until a receiver takes the object, and the receiver gets its own copy") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell, time\nr, s = subcell.channel('rendezvous')\n1");
  h.value(b, "import subcell, time\nr, s = subcell.channel('rendezvous')\n1");
  // a's send blocks until b, which first sleeps 0.3 s, receives.
  auto sent = h.start(a, "t0 = time.monotonic()\ns.send((1, 'two', b'three', 4.5, None, True, 2**100))\n"
                         "round(time.monotonic() - t0, 2)");
  RunOutcome got = h.run(b, "time.sleep(0.3)\nr.recv()");
  CHECK(text_of(got) == "(1, 'two', b'three', 4.5, None, True, 1267650600228229401496703205376)");
  const std::string waited = text_of(sent.get());
  INFO(waited);
  CHECK(std::stod(waited) >= 0.25);
  // recv waits for a sender.
  auto received = h.start(b, "r.recv(timeout=30)");
  h.value(a, "time.sleep(0.2)\ns.send('late')\n1");
  CHECK(text_of(received.get()) == "'late'");
}

TEST_CASE("channels: send_nowait only hands over to a waiting receiver; recv_nowait returns a default or raises") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell, time\nr, s = subcell.channel('nowait')\n1");
  h.value(b, "import subcell\nr, s = subcell.channel('nowait')\n1");
  CHECK(h.value(a, "s.send_nowait('nobody')") == "False");
  CHECK(h.value(a, "r.recv_nowait('empty')") == "'empty'");
  CHECK(h.value(a, "r.recv_nowait(default=None)") == "None");
  RunOutcome empty = h.run(a, "r.recv_nowait()");
  REQUIRE(empty.error);
  CHECK(empty.error->type == "subcell.ChannelEmpty");
  CHECK(h.value(a, "issubclass(subcell.ChannelEmpty, subcell.ChannelError)") == "True");
  // b waits in recv; a's send_nowait succeeds once b is waiting.
  auto waiting = h.start(b, "r.recv(timeout=30)");
  CHECK(h.value(a, "tries = 0\nwhile not s.send_nowait('taken'):\n    tries += 1\n    time.sleep(0.005)\ntries >= 0") ==
        "True");
  CHECK(text_of(waiting.get()) == "'taken'");
  // A sender waiting in send(): recv_nowait takes its object.
  auto sender = h.start(b, "s.send('offered', timeout=30)");
  CHECK(h.value(a, "v = None\nwhile v is None:\n    v = r.recv_nowait(None)\n    time.sleep(0.005)\nv") == "'offered'");
  CHECK(text_of(sender.get()) == "None");
}

TEST_CASE("channels: close() on either end gives EOFError on both sides, to waiters and later calls") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell, time\nr, s = subcell.channel('to-close')\n1");
  h.value(b, "import subcell\nr, s = subcell.channel('to-close')\n1");
  auto waiting = h.start(b, "try:\n    r.recv()\nexcept EOFError as e:\n    result = 'EOFError: ' + str(e)\nresult");
  h.value(a, "time.sleep(0.2)\ns.close()\n1");
  CHECK(text_of(waiting.get()).find("EOFError: channel") != std::string::npos);
  for (const char* call : {"s.send(1)", "r.recv()", "s.send_nowait(1)", "r.recv_nowait(None)"}) {
    RunOutcome on_a = h.run(a, call);
    RunOutcome on_b = h.run(b, call);
    INFO(call);
    REQUIRE(on_a.error);
    REQUIRE(on_b.error);
    CHECK(on_a.error->type == "EOFError");
    CHECK(on_b.error->type == "EOFError");
  }
  // The name is free again: a new channel.
  CHECK(h.value(a, "r2, s2 = subcell.channel('to-close')\nr2.id != r.id") == "True");
}

TEST_CASE("channels: objects a channel does not carry raise TypeError; buffers go with send_buffer") {
  XiHarness h;
  Session& a = h.open("a");
  h.value(a, "import subcell\nr, s = subcell.create_channel()\n1");
  for (const char* obj : {"[1, 2]", "{'a': 1}", "object()", "bytearray(b'x')", "memoryview(b'x')", "(1, [2])",
                          "1j", "{1}", "True.__class__"}) {
    RunOutcome r = h.run(a, std::string("s.send_nowait(") + obj + ")");
    INFO(obj);
    REQUIRE(r.error);
    CHECK(r.error->type == "TypeError");
  }
  RunOutcome r = h.run(a, "s.send_buffer(42)");
  REQUIRE(r.error);
  CHECK(r.error->type == "TypeError");
  // Subclasses of shareable types are not shareable (as in CPython).
  RunOutcome sub = h.run(a, "class S(str): pass\ns.send_nowait(S('x'))");
  REQUIRE(sub.error);
  CHECK(sub.error->type == "TypeError");
}

TEST_CASE("channels: a blocked recv is interrupted like time.sleep; timeouts raise TimeoutError") {
  XiHarness h;
  Session& a = h.open("a");
  h.value(a, "import subcell, time\nr, s = subcell.channel('interrupt-me')\n1");
  JobId job = 0;
  // Caught in the cell, to time the interrupt itself (not the formatting of
  // an uncaught error).
  auto caught = h.start(a, "try:\n    r.recv()\nexcept KeyboardInterrupt:\n    t = time.monotonic()\nt", &job);
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  REQUIRE(a.interrupt(job));
  const std::string raised_at = text_of(caught.get());
  const double ms = std::stod(raised_at) * 1000 - std::chrono::duration<double, std::milli>(t0.time_since_epoch()).count();
  std::printf("interrupt of a blocked recv: KeyboardInterrupt raised %.2f ms after the request\n", ms);
  auto blocked = h.start(a, "r.recv()", &job);
  std::this_thread::sleep_for(100ms);
  REQUIRE(a.interrupt(job));
  RunOutcome r = blocked.get();
  REQUIRE(r.error);
  CHECK(r.error->type == "KeyboardInterrupt");
  // The same for a blocked send.
  auto send_blocked = h.start(a, "s.send('x')", &job);
  std::this_thread::sleep_for(100ms);
  REQUIRE(a.interrupt(job));
  RunOutcome rs = send_blocked.get();
  REQUIRE(rs.error);
  CHECK(rs.error->type == "KeyboardInterrupt");
  // And the channel still works afterwards (the offer was withdrawn).
  CHECK(h.value(a, "r.recv_nowait('nothing left')") == "'nothing left'");
  RunOutcome t = h.run(a, "t0 = time.monotonic()\ntry:\n    r.recv(timeout=0.2)\nexcept TimeoutError:\n"
                          "    took = time.monotonic() - t0\ntook >= 0.2");
  CHECK(text_of(t) == "True");
  RunOutcome ts = h.run(a, "try:\n    s.send(1, timeout=0.1)\nexcept TimeoutError as e:\n    msg = str(e)\nmsg");
  CHECK(text_of(ts) == "'send() timed out'");
}

TEST_CASE("channels: a session closed or reset while another waits on it makes the wait raise EOFError") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell\nr, s = subcell.channel('peer')\n1");
  h.value(b, "import subcell\nr, s = subcell.channel('peer')\n1");
  auto waiting = h.start(a, "try:\n    r.recv()\nexcept EOFError:\n    got = 'EOFError'\ngot");
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  h.close(b);  // b held the only other end
  CHECK(text_of(waiting.get()) == "'EOFError'");
  std::printf("recv on a closed peer: EOFError %.1f ms after session/close\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());

  // Reset: the peer's ends go with its variables.
  Session& c = h.open("c");
  h.value(a, "r3, s3 = subcell.channel('peer-reset')\n1");
  h.value(c, "import subcell\nr3, s3 = subcell.channel('peer-reset')\n1");
  auto waiting2 = h.start(a, "try:\n    r3.recv()\nexcept EOFError:\n    got = 'EOFError'\ngot");
  std::this_thread::sleep_for(200ms);
  const JobId reset = Session::next_job_id();
  REQUIRE(c.submit(ResetJob{reset}));
  CHECK(text_of(waiting2.get()) == "'EOFError'");
}

TEST_CASE("channels: a buffer crosses without a copy; the sender cannot free or resize it while it is read") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell, array, weakref, gc, time\nr, s = subcell.channel('buffers')\n"
             "ack_r, ack_s = subcell.channel('buffers-ack')\n1");
  h.value(b, "import subcell\nr, s = subcell.channel('buffers')\nack_r, ack_s = subcell.channel('buffers-ack')\n1");
  auto received = h.start(b, "view = r.recv()\n(type(view).__name__, view.readonly, view.format, len(view), view[3])");
  h.value(a, "data = array.array('d', range(1000))\nalive = weakref.ref(data)\ns.send_buffer(data)\n1");
  CHECK(text_of(received.get()) == "('memoryview', True, 'd', 1000, 3.0)");
  // The same memory: a write on a's side shows in b's view.
  h.value(a, "data[3] = 42.5\n1");
  CHECK(h.value(b, "view[3]") == "42.5");
  // a cannot resize it, nor free it by dropping its names.
  RunOutcome resize = h.run(a, "data.append(1.0)");
  REQUIRE(resize.error);
  CHECK(resize.error->type == "BufferError");
  CHECK(h.value(a, "del data\ngc.collect()\nalive() is not None") == "True");
  CHECK(h.value(b, "sum(view[:4])") == "45.5");  // still valid
  // Once b releases the view, a's object goes (released in a's interpreter).
  h.value(b, "view.release()\ndel view\n1");
  CHECK(h.value(a, "for _ in range(100):\n    gc.collect()\n    if alive() is None: break\n    time.sleep(0.01)\n"
                   "alive() is None") == "True");
  // A writable view cannot be had from it.
  auto again = h.start(b, "v = r.recv()\ntry:\n    memoryview(v.obj).cast('B')\n    res = bytes(v[:3])\n"
                          "except Exception as e:\n    res = e.__class__.__name__\nres");
  h.value(a, "s.send_buffer(bytearray(b'abcdef'))\n1");
  CHECK(text_of(again.get()) == "b'abc'");
  RunOutcome writable = h.run(b, "v[0] = 1");
  REQUIRE(writable.error);
  CHECK(writable.error->type == "TypeError");  // cannot modify read-only memory
}

TEST_CASE("channels: a named channel is the same for every session; ends can be sent through channels") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  const std::string id_a = h.value(a, "import subcell\nr, s = subcell.channel('results')\nr.id");
  const std::string id_b = h.value(b, "import subcell\nr, s = subcell.channel('results')\nr.id");
  CHECK(id_a == id_b);
  // a makes a private channel and sends its send end to b through 'results'.
  auto answer = h.start(a, "pr, ps = subcell.create_channel()\ns.send(('reply here', ps))\npr.recv(timeout=30)");
  CHECK(h.value(b, "msg, end = r.recv(timeout=30)\nend.send(msg.upper())\n(msg, type(end).__name__)") ==
        "('reply here', 'SendChannel')");
  CHECK(text_of(answer.get()) == "'REPLY HERE'");
}

TEST_CASE("channels: large str and bytes arrive intact (borrowed, copied once by the receiver)") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell\nr, s = subcell.channel('big')\n1");
  h.value(b, "import subcell, hashlib\nr, s = subcell.channel('big')\n1");
  auto got = h.start(b, "x = r.recv(timeout=30)\ny = r.recv(timeout=30)\n"
                        "(len(x), hashlib.sha256(x).hexdigest()[:16], len(y), y[:3], y[-3:])");
  h.value(a, "import hashlib, os\nblob = os.urandom(5_000_000)\ns.send(blob)\ns.send('é' * 1_000_000)\n"
             "hashlib.sha256(blob).hexdigest()[:16]");
  const std::string expected = h.value(a, "hashlib.sha256(blob).hexdigest()[:16]");
  const std::string result = text_of(got.get());
  CHECK(result.find("5000000, " + expected) != std::string::npos);
  CHECK(result.find("1000000, 'ééé', 'ééé'") != std::string::npos);
}


TEST_CASE("channels: a sender closed while its buffer is still read is kept (parked), never freed under the reader") {
  XiHarness h;
  Session& a = h.open("a");
  Session& b = h.open("b");
  h.value(a, "import subcell\nr, s = subcell.channel('lent-then-closed')\n1");
  h.value(b, "import subcell\nr, s = subcell.channel('lent-then-closed')\n1");
  auto received = h.start(b, "view = r.recv(timeout=30)\nlen(view)");
  h.value(a, "s.send_buffer(bytearray(b'still here ' * 100000))\n1");
  CHECK(text_of(received.get()) == "1100000");
  h.close(a);  // its interpreter cannot end while b reads its memory
  for (int i = 0; i < 500 && !a.finished(); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(a.finished());
  CHECK(a.parked());
  // b's view is still the bytes a lent.
  CHECK(h.value(b, "bytes(view[:11]) + bytes(view[-11:])") == "b'still here still here '");
  h.value(b, "view.release()\ndel view\n1");
}

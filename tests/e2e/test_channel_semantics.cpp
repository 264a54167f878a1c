// The semantics of channels and child interpreters (protocol/README.md,
// "Channels" and "Python API"), checked through the real binary over real
// pipes: two or more sessions of one server exchange values through
// channels while their cells run concurrently (the blocking cell is sent
// first, then the other session's cell, then the first one's answer is
// awaited). tests/python/test_channels.cpp and test_children.cpp check the
// same in-process; here it is what a client of `subcell serve` sees. A few
// cases run again with one session in a worker process (channels cross to
// the server's registry). Every message is checked against the schema.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"

using namespace subcell::testing;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Opens a session in `isolation` (explicitly, whatever the server's default).
std::string open(ServerProcess& server, const std::string& id, const std::string& isolation = "interpreter") {
  Json r = server.result("session/open", {{"session", id}, {"isolation", isolation}}, 60s);
  REQUIRE(r["isolation"] == isolation);
  return r["session"].get<std::string>();
}

// What the cell printed (stdout and stderr, in order); the cell must not fail.
std::string output_of(ServerProcess& server, const std::string& session, const std::string& code,
                      const std::string& cell) {
  Json r = server.call("cell/run", {{"session", session}, {"code", code}, {"cell", cell}}, 30s);
  INFO(code << " -> " << r.dump());
  REQUIRE(r.contains("result"));
  REQUIRE(r["result"]["error"].is_null());
  std::string out;
  for (const Json& n : server.notifications("cell/output")) {
    if (n["params"]["cell"] == cell) out += n["params"]["text"].get<std::string>();
  }
  return out;
}

// Sends a cell and waits until it is running (its cell/started); returns the request id.
Json start(ServerProcess& server, const std::string& session, const std::string& code) {
  static int counter = 0;
  const std::string cell = "concurrent-" + std::to_string(++counter);
  Json id = server.send_request("cell/run", {{"session", session}, {"code", code}, {"cell", cell}});
  for (;;) {
    auto started = server.wait_notification("cell/started", 30s);
    INFO("waiting for cell/started of " << cell << " in " << session);
    REQUIRE(started);
    if ((*started)["params"]["cell"] == cell) return id;
  }
}

// The client has no answer to `id` after `wait` (the cell is still blocked).
void check_still_waiting(ServerProcess& server, const Json& id, std::chrono::milliseconds wait) {
  auto early = server.try_response(id, wait);
  INFO("answered too early: " << (early ? early->dump() : std::string()));
  REQUIRE_FALSE(early.has_value());
}

// The answer to a cell started with start(): its value's text; it must not fail.
std::string finish(ServerProcess& server, const Json& id) {
  Json r = server.wait_response(id, 30s);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  REQUIRE(r["result"]["error"].is_null());
  return r["result"]["value"].is_null() ? "None" : text_of(r["result"]["value"]);
}

// The error of a cell started with start(); it must fail.
Json finish_with_error(ServerProcess& server, const Json& id) {
  Json r = server.wait_response(id, 30s);
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  REQUIRE(r["result"]["error"].is_object());
  return r["result"]["error"];
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> children(ServerProcess& server) {
  std::vector<std::string> out;
  const Json list = server.result("session/list");
  for (const Json& s : list["sessions"]) {
    if (s.contains("parent")) out.push_back(s["session"].get<std::string>() + "<" + s["parent"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// 1. send() is a rendezvous: it returns only once the other session received.
void check_rendezvous(const std::string& isolation_b) {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b", isolation_b);
  value_of(server, a, "import subcell, time\nr, s = subcell.channel('rendezvous')\n1");
  value_of(server, b, "import subcell, time\nr, s = subcell.channel('rendezvous')\n1");

  // a sends; nobody receives yet: a's cell does not answer.
  Json sending = start(server, a, "s.send((1, 'two', b'three', 4.5, None, True, 2**100))\nsent_at = time.time()\nsent_at");
  check_still_waiting(server, sending, 700ms);
  // b receives: it gets the value, and only then does a's send return.
  CHECK(value_of(server, b, "recv_at = time.time()\nr.recv(timeout=30)") ==
        "(1, 'two', b'three', 4.5, None, True, 1267650600228229401496703205376)");
  const double sent_at = std::stod(finish(server, sending));
  const double recv_at = std::stod(value_of(server, b, "recv_at"));
  CHECK(sent_at >= recv_at);
  std::printf("rendezvous (b: %s): a's send returned %.1f ms after b entered recv (b entered it after >= 700 ms)\n",
              isolation_b.c_str(), (sent_at - recv_at) * 1000);

  // The other way: a waits in recv until b sends.
  Json receiving = start(server, a, "r.recv(timeout=30)");
  check_still_waiting(server, receiving, 500ms);
  CHECK(value_of(server, b, "s.send('late', timeout=30)") == "None");
  CHECK(finish(server, receiving) == "'late'");
  CHECK_SCHEMA_VALID(server);
}

// 3. close() on either end: EOFError for the waiter of the time, and for every later call on both sides.
void check_close(const std::string& isolation_b) {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b", isolation_b);
  const char* later_calls[] = {"s.send(1)", "s.send(1, timeout=1)", "s.send_nowait(1)", "r.recv()",
                               "r.recv(timeout=1)", "r.recv_nowait(None)", "s.send_buffer(bytearray(b'x'))"};
  auto check_later_calls = [&](const std::string& channel) {
    for (const char* call : later_calls) {
      for (const std::string& session : {a, b}) {
        INFO(channel << ": " << call << " in " << session);
        CHECK(error_of(server, session, call)["type"] == "EOFError");
      }
    }
  };
  const std::string eof_caught = "except EOFError as e:\n    got = 'EOFError: ' + str(e)\ngot";

  SECTION("the sender closes its end while the receiver waits in recv") {
    value_of(server, a, "import subcell\nr, s = subcell.channel('to-close')\nold_id = r.id\n1");
    value_of(server, b, "import subcell\nr, s = subcell.channel('to-close')\n1");
    Json waiting = start(server, b, "try:\n    r.recv()\n    got = 'received?'\n" + eof_caught);
    check_still_waiting(server, waiting, 300ms);
    value_of(server, a, "s.close()\n1");
    CHECK(finish(server, waiting).rfind("'EOFError", 0) == 0);
    check_later_calls("to-close");
    // The name starts a new channel, for both.
    CHECK(value_of(server, a, "r, s = subcell.channel('to-close')\nr.id != old_id") == "True");
    CHECK(value_of(server, b, "r, s = subcell.channel('to-close')\nr.id") == value_of(server, a, "r.id"));
  }
  SECTION("the receiver closes its end while the sender waits in send") {
    value_of(server, a, "import subcell\nr, s = subcell.channel('to-close-2')\n1");
    value_of(server, b, "import subcell\nr, s = subcell.channel('to-close-2')\n1");
    Json waiting = start(server, a, "try:\n    s.send('never taken')\n    got = 'sent?'\n" + eof_caught);
    check_still_waiting(server, waiting, 300ms);
    value_of(server, b, "r.close()\n1");
    CHECK(finish(server, waiting).rfind("'EOFError", 0) == 0);
    check_later_calls("to-close-2");
  }
  CHECK_SCHEMA_VALID(server);
}

// 8. A name is one channel for every session; channel ends travel through channels.
void check_named_channels(const std::string& isolation_b) {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b", isolation_b);
  const std::string id_a = value_of(server, a, "import subcell\nr, s = subcell.channel('results')\nr.id");
  const std::string id_b = value_of(server, b, "import subcell\nr, s = subcell.channel('results')\ns.id");
  CHECK(id_a == id_b);
  CHECK(value_of(server, a, "subcell.create_channel()[0].id != r.id") == "True");
  // What a sends on its 'results' arrives at b's 'results'.
  Json receiving = start(server, b, "r.recv(timeout=30)");
  CHECK(value_of(server, a, "s.send('through the name', timeout=30)") == "None");
  CHECK(finish(server, receiving) == "'through the name'");

  // a sends the send end of a private channel; b answers on it.
  Json answer = start(server, a, "pr, ps = subcell.create_channel()\ns.send(('reply here', ps), timeout=30)\npr.recv(timeout=30)");
  CHECK(value_of(server, b, "msg, end = r.recv(timeout=30)\nend.send(msg.upper(), timeout=30)\n(msg, type(end).__name__)") ==
        "('reply here', 'SendChannel')");
  CHECK(finish(server, answer) == "'REPLY HERE'");
  // b sends the receive end of a private channel, then feeds it.
  Json feeding = start(server, b, "fr, fs = subcell.create_channel()\ns.send(fr, timeout=30)\nfs.send(b'fed', timeout=30)\n'fed'");
  CHECK(value_of(server, a, "end = r.recv(timeout=30)\n(type(end).__name__, end.recv(timeout=30))") ==
        "('RecvChannel', b'fed')");
  CHECK(finish(server, feeding) == "'fed'");

  // A child of a opens the same name and reaches b.
  Json from_child = start(server, b, "r.recv(timeout=30)");
  CHECK(value_of(server, a, "from subcell import interpreters\nkid = interpreters.create()\n"
                            "kid.run(\"import subcell\\nr, s = subcell.channel('results')\\n"
                            "s.send(('from', subcell.interpreters.get_current().id), timeout=30)\")") == "(None, None)");
  CHECK(finish(server, from_child) == "('from', 'a/1')");
  CHECK_SCHEMA_VALID(server);
}

}  // namespace

TEST_CASE("channel semantics: send() waits in one session until another session receives (a rendezvous)") {
  check_rendezvous("interpreter");
}

TEST_CASE("channel semantics: a rendezvous between a session and a process session", "[process]") {
  check_rendezvous("process");
}

TEST_CASE("channel semantics: send_nowait() hands over only to a waiting receiver; recv_nowait() gives its default") {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b");
  value_of(server, a, "import subcell, time\nr, s = subcell.channel('nowait')\n1");
  value_of(server, b, "import subcell, time\nr, s = subcell.channel('nowait')\n1");
  // Nobody waits: False, and the object is not kept for later.
  CHECK(value_of(server, a, "s.send_nowait('nobody')") == "False");
  CHECK(value_of(server, b, "r.recv_nowait('empty')") == "'empty'");
  CHECK(value_of(server, a, "r.recv_nowait('empty')") == "'empty'");
  CHECK(value_of(server, a, "r.recv_nowait(default=None)") == "None");
  CHECK(error_of(server, a, "r.recv_nowait()")["type"] == "subcell.ChannelEmpty");

  // b waits in recv: send_nowait hands the object over and says True.
  Json waiting = start(server, b, "r.recv(timeout=30)");
  CHECK(value_of(server, a, "deadline = time.monotonic() + 20\n"
                            "while not (ok := s.send_nowait('taken')) and time.monotonic() < deadline:\n"
                            "    time.sleep(0.005)\nok") == "True");
  CHECK(finish(server, waiting) == "'taken'");
  CHECK(value_of(server, a, "s.send_nowait('nobody again')") == "False");

  // b waits in send: recv_nowait takes its object.
  Json offering = start(server, b, "s.send('offered', timeout=30)\n'handed over'");
  CHECK(value_of(server, a, "deadline = time.monotonic() + 20\n"
                            "while (v := r.recv_nowait(None)) is None and time.monotonic() < deadline:\n"
                            "    time.sleep(0.005)\nv") == "'offered'");
  CHECK(finish(server, offering) == "'handed over'");
  CHECK(value_of(server, a, "r.recv_nowait('empty again')") == "'empty again'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel semantics: close() on either end gives EOFError to the waiter and to later calls on both sides") {
  check_close("interpreter");
}

TEST_CASE("channel semantics: close() with one end in a process session", "[process]") {
  check_close("process");
}

TEST_CASE("channel semantics: only bytes str int float bool None and tuples of them cross; anything else is TypeError") {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b");
  value_of(server, a, "import subcell\nr, s = subcell.channel('types')\n1");
  value_of(server, b, "import subcell\nr, s = subcell.channel('types')\n1");
  // b receives whatever comes, 8 objects.
  Json receiving = start(server, b, "got = [r.recv(timeout=30) for _ in range(8)]\n[(type(v).__name__, v) for v in got]");
  // a tries what a channel does not carry (while b waits: a wrongly accepted object would reach b).
  CHECK(value_of(server, a, R"py(import enum
class S(str): pass
class E(enum.IntEnum):
    ONE = 1
bad = [('list', [1, 2]), ('dict', {'a': 1}), ('object', object()), ('set', {1}), ('complex', 1j),
       ('tuple holding a list', (1, [2])), ('bytearray', bytearray(b'x')), ('str subclass', S('x')),
       ('IntEnum', E.ONE), ('function', len)]
not_refused = []
for name, obj in bad:
    for how in ('send', 'send_nowait'):
        try:
            s.send(obj, timeout=5) if how == 'send' else s.send_nowait(obj)
            not_refused.append((name, how, 'accepted'))
        except TypeError:
            pass
        except Exception as e:
            not_refused.append((name, how, type(e).__name__))
for obj in (42, 'text', None):
    try:
        s.send_buffer(obj, timeout=5)
        not_refused.append((repr(obj), 'send_buffer', 'accepted'))
    except TypeError:
        pass
not_refused)py") == "[]");
  // Then what it carries.
  CHECK(value_of(server, a, "for v in (b'bytes', 'str \u00e9', -2**100, 1.5, True, None, (), "
                            "(1, ('nested', b'b'), None, False, 2.5)):\n    s.send(v, timeout=30)\n1") == "1");
  CHECK(finish(server, receiving) ==
        "[('bytes', b'bytes'), ('str', 'str \u00e9'), ('int', -1267650600228229401496703205376), ('float', 1.5), "
        "('bool', True), ('NoneType', None), ('tuple', ()), ('tuple', (1, ('nested', b'b'), None, False, 2.5))]");
  // The message says what was refused.
  const std::string message = error_of(server, a, "s.send_nowait([1, 2])")["message"].get<std::string>();
  INFO(message);
  CHECK(contains(message, "list"));
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel semantics: cell/interrupt ends a blocked recv or send with KeyboardInterrupt; timeouts raise TimeoutError") {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b");
  value_of(server, a, "import subcell, time\nr, s = subcell.channel('interrupt-me')\n1");
  value_of(server, b, "import subcell, time\nr, s = subcell.channel('interrupt-me')\n1");

  // Caught in the cell, to time the interrupt itself.
  Json caught = start(server, b, "try:\n    r.recv()\n    t = 'received?'\nexcept KeyboardInterrupt:\n    t = time.monotonic()\nt");
  check_still_waiting(server, caught, 200ms);
  const auto t0 = Clock::now();
  CHECK(server.result("cell/interrupt", {{"session", b}})["interrupted"] == true);
  const std::string raised_at = finish(server, caught);
  const double answered_ms = ms_since(t0);
  // steady_clock and time.monotonic() are both CLOCK_MONOTONIC.
  const double raised_ms =
      std::stod(raised_at) * 1000 - std::chrono::duration<double, std::milli>(t0.time_since_epoch()).count();
  std::printf("interrupt of a blocked recv through the binary: KeyboardInterrupt raised %.2f ms after the request, "
              "the cell answered after %.2f ms\n", raised_ms, answered_ms);
  CHECK(answered_ms < 5000);

  // Uncaught: the cell's error, pointing into the cell.
  Json blocked = start(server, b, "r.recv()");
  check_still_waiting(server, blocked, 100ms);
  server.result("cell/interrupt", {{"session", b}});
  Json e = finish_with_error(server, blocked);
  CHECK(e["type"] == "KeyboardInterrupt");
  CHECK(e["location"]["file"].get<std::string>().rfind("<cell ", 0) == 0);
  // A blocked send too; its object is withdrawn.
  Json sending = start(server, b, "s.send('withdrawn')");
  check_still_waiting(server, sending, 100ms);
  server.result("cell/interrupt", {{"session", b}});
  CHECK(finish_with_error(server, sending)["type"] == "KeyboardInterrupt");
  CHECK(value_of(server, a, "r.recv_nowait('nothing left')") == "'nothing left'");
  // The channel works on.
  Json later = start(server, b, "r.recv(timeout=30)");
  CHECK(value_of(server, a, "s.send('after', timeout=30)") == "None");
  CHECK(finish(server, later) == "'after'");

  // Timeouts.
  CHECK(value_of(server, b, "t0 = time.monotonic()\ntry:\n    r.recv(timeout=0.2)\n    res = 'received?'\n"
                            "except TimeoutError as e:\n    res = (type(e).__name__, time.monotonic() - t0 >= 0.2)\nres") ==
        "('TimeoutError', True)");
  CHECK(error_of(server, b, "r.recv(timeout=0.2)")["type"] == "TimeoutError");
  CHECK(value_of(server, b, "try:\n    s.send('late', timeout=0.1)\n    msg = 'sent?'\nexcept TimeoutError as e:\n"
                            "    msg = str(e)\nmsg") == "'send() timed out'");
  CHECK(value_of(server, a, "r.recv_nowait('not received')") == "'not received'");  // a timed-out send is not received
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel semantics: a peer session closed or reset while a session waits on the channel ends the wait with EOFError") {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b");
  const std::string c = open(server, "c");

  // session/close of b, the only other holder, while a waits in recv.
  value_of(server, a, "import subcell\nr, s = subcell.channel('peer')\n1");
  value_of(server, b, "import subcell\nr, s = subcell.channel('peer')\n1");
  Json waiting = start(server, a, "try:\n    r.recv()\n    got = 'received?'\nexcept EOFError:\n    got = 'EOFError'\ngot");
  check_still_waiting(server, waiting, 300ms);
  const auto t0 = Clock::now();
  CHECK(server.result("session/close", {{"session", b}})["interpreter"] == "ended");
  CHECK(finish(server, waiting) == "'EOFError'");
  std::printf("a wait on a closed peer: EOFError at the client %.1f ms after session/close was sent\n", ms_since(t0));
  for (const char* call : {"r.recv()", "s.send(1)", "s.send_nowait(1)", "r.recv_nowait(None)"}) {
    INFO(call);
    CHECK(error_of(server, a, call)["type"] == "EOFError");
  }

  // session/reset of c, while a waits in send: c's ends go with its variables.
  value_of(server, a, "r3, s3 = subcell.channel('peer-reset')\n1");
  value_of(server, c, "import subcell\nr3, s3 = subcell.channel('peer-reset')\n1");
  Json sending = start(server, a, "try:\n    s3.send('x')\n    got = 'sent?'\nexcept EOFError:\n    got = 'EOFError'\ngot");
  check_still_waiting(server, sending, 300ms);
  const auto t1 = Clock::now();
  CHECK(server.result("session/reset", {{"session", c}})["removedNames"].get<int>() >= 2);
  CHECK(finish(server, sending) == "'EOFError'");
  std::printf("a wait on a reset peer: EOFError at the client %.1f ms after session/reset was sent\n", ms_since(t1));
  // The same with a process session as the peer (its worker drops its ends).
  const std::string p = open(server, "p", "process");
  value_of(server, a, "r4, s4 = subcell.channel('peer-process')\n1");
  value_of(server, p, "import subcell\nr4, s4 = subcell.channel('peer-process')\n1");
  Json waiting4 = start(server, a, "try:\n    r4.recv()\n    got = 'received?'\nexcept EOFError:\n    got = 'EOFError'\ngot");
  check_still_waiting(server, waiting4, 300ms);
  server.result("session/reset", {{"session", p}});
  CHECK(finish(server, waiting4) == "'EOFError'");
  value_of(server, p, "import subcell\nr4, s4 = subcell.channel('peer-process')\n1");
  Json waiting5 = start(server, a, "try:\n    s4.send('x')\n    got = 'sent?'\nexcept EOFError:\n    got = 'EOFError'\ngot");
  check_still_waiting(server, waiting5, 300ms);
  CHECK(server.result("session/close", {{"session", p}})["interpreter"] == "ended");
  CHECK(finish(server, waiting5) == "'EOFError'");

  // The reset session opens the name again: it holds an end again, the channel carries again.
  Json receiving = start(server, c, "import subcell\nr3, s3 = subcell.channel('peer-reset')\nr3.recv(timeout=30)");
  CHECK(value_of(server, a, "s3.send('again', timeout=30)") == "None");
  CHECK(finish(server, receiving) == "'again'");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel semantics: send_buffer lends the sender's memory read-only; the sender cannot resize it until released") {
  ServerProcess server;
  const std::string a = open(server, "a");
  const std::string b = open(server, "b");
  value_of(server, a, "import subcell, array, weakref, gc, time\nr, s = subcell.channel('buffers')\n1");
  value_of(server, b, "import subcell\nr, s = subcell.channel('buffers')\n1");

  Json receiving = start(server, b, "view = r.recv(timeout=30)\n"
                                    "(type(view).__name__, view.readonly, view.format, view.nbytes, bytes(view))");
  CHECK(value_of(server, a, "data = bytearray(b'hello world')\ns.send_buffer(data, timeout=30)\n1") == "1");
  CHECK(finish(server, receiving) == "('memoryview', True, 'B', 11, b'hello world')");
  // The same memory: the sender's write in place shows in the receiver's view.
  value_of(server, a, "data[:5] = b'HELLO'\n1");
  CHECK(value_of(server, b, "bytes(view)") == "b'HELLO world'");
  // The receiver cannot write.
  CHECK(error_of(server, b, "view[0] = 0")["type"] == "TypeError");
  // The sender cannot resize while the view is held.
  for (const char* resize : {"data.append(33)", "data.extend(b'!!')", "del data[0]", "data += b'!'", "data.clear()"}) {
    INFO(resize);
    CHECK(error_of(server, a, resize)["type"] == "BufferError");
  }
  CHECK(value_of(server, a, "bytes(data)") == "b'HELLO world'");
  // Released: the sender can resize.
  value_of(server, b, "view.release()\n1");
  CHECK(value_of(server, a, "data.append(33)\nbytes(data)") == "b'HELLO world!'");

  // Format, item size and shape are kept; the lent object outlives the sender's names while it is read.
  Json receiving2 = start(server, b, "view = r.recv(timeout=30)\n(view.format, view.itemsize, view.shape, view[3])");
  value_of(server, a, "nums = array.array('d', range(1000))\nalive = weakref.ref(nums)\ns.send_buffer(nums, timeout=30)\n1");
  CHECK(finish(server, receiving2) == "('d', 8, (1000,), 3.0)");
  CHECK(value_of(server, a, "del nums\ngc.collect()\nalive() is not None") == "True");
  CHECK(value_of(server, b, "sum(view[:5])") == "10.0");
  value_of(server, b, "view.release()\ndel view\n1");
  CHECK(value_of(server, a, "for _ in range(500):\n    gc.collect()\n    if alive() is None: break\n    time.sleep(0.01)\n"
                            "alive() is None") == "True");

  // The sender's session closed while the receiver still reads what it lent: it is kept (parked), the view stays valid.
  Json receiving3 = start(server, b, "view = r.recv(timeout=30)\nlen(view)");
  value_of(server, a, "s.send_buffer(bytearray(b'still here ' * 100000), timeout=30)\n1");
  CHECK(finish(server, receiving3) == "1100000");
  const auto t0 = Clock::now();
  CHECK(server.result("session/close", {{"session", a}}, 30s)["interpreter"] == "parked");
  std::printf("a session closed while its lent buffer is read: 'parked' after %.0f ms\n", ms_since(t0));
  CHECK(value_of(server, b, "bytes(view[:11]) + bytes(view[-11:])") == "b'still here still here '");
  value_of(server, b, "view.release()\ndel view\n1");
  CHECK_SCHEMA_VALID(server);
}

TEST_CASE("channel semantics: a named channel is the same in every session; channel ends travel through channels") {
  check_named_channels("interpreter");
}

TEST_CASE("channel semantics: named channels and ends passed with a process session", "[process]") {
  check_named_channels("process");
}

TEST_CASE("channel semantics: child interpreters through the binary: run errors raise_ run_async reset and close") {
  ServerProcess server;
  const std::string nb = open(server, "nb");
  const std::string other = open(server, "other");
  CHECK(value_of(server, nb, "from subcell import interpreters\nimport time\nc = interpreters.create()\nc.id") == "'nb/1'");
  CHECK(value_of(server, nb, "c.run('1+1')") == "(2, None)");
  CHECK(value_of(server, nb, "c.run('[1, 2]')") == "('[1, 2]', None)");  // not shareable: its repr

  // An error: (None, RunError) with the child's traceback.
  CHECK(value_of(server, nb, "res, err = c.run('def f(x):\\n    return int(x)\\nf(\"nope\")')\n"
                             "(res, type(err).__name__, err.type, err.message, err.interpreter)") ==
        "(None, 'RunError', 'ValueError', \"invalid literal for int() with base 10: 'nope'\", 'nb/1')");
  const std::string tb = output_of(server, nb, "print(err.traceback)", "print-traceback");
  INFO(tb);
  CHECK(tb.rfind("Traceback (most recent call last):", 0) == 0);
  CHECK(contains(tb, "File \"<cell "));
  CHECK(contains(tb, ", in f\n"));
  CHECK(contains(tb, "return int(x)"));
  CHECK(contains(tb, "ValueError: invalid literal for int() with base 10: 'nope'"));
  CHECK(value_of(server, nb, "[fr[2] for fr in err.frames]") == "['<module>', 'f']");
  // raise_(): the same builtin type in the parent, the child's traceback in its message.
  Json raised = error_of(server, nb, "err.raise_()");
  CHECK(raised["type"] == "ValueError");
  const std::string message = raised["message"].get<std::string>();
  INFO(message);
  CHECK(message.rfind("invalid literal for int() with base 10: 'nope'", 0) == 0);
  CHECK(contains(message, "Traceback in child interpreter nb/1"));
  CHECK(contains(message, "return int(x)"));
  CHECK(contains(raised["traceback"].get<std::string>(), "Traceback in child interpreter nb/1"));
  // No builtin of that name: ExecutionFailed.
  Json custom = error_of(server, nb, "_, e2 = c.run('class Oops(Exception): pass\\nraise Oops(\"custom\")')\ne2.raise_()");
  CHECK(custom["type"] == "subcell.ExecutionFailed");
  CHECK(contains(custom["message"].get<std::string>(), "Oops: custom"));

  // run_async: two children run a CPU-bound loop at once.
  value_of(server, nb, "kids = [interpreters.create() for _ in range(2)]\n"
                       "code = 'n = 0\\nfor i in range(2_000_000): n += i\\nn'\n[k.run('1') for k in kids]\n1");
  CHECK(value_of(server, nb, "t0 = time.perf_counter()\nseq = [k.run(code) for k in kids]\n"
                             "t_seq = time.perf_counter() - t0\nseq") == "[(1999999000000, None), (1999999000000, None)]");
  CHECK(value_of(server, nb, "t0 = time.perf_counter()\nfs = [k.run_async(code) for k in kids]\n"
                             "par = [f.result(timeout=60) for f in fs]\nt_par = time.perf_counter() - t0\n"
                             "(par, all(f.done() for f in fs))") ==
        "([(1999999000000, None), (1999999000000, None)], True)");
  const double t_seq = std::stod(value_of(server, nb, "t_seq"));
  const double t_par = std::stod(value_of(server, nb, "t_par"));
  std::printf("children through the binary: 2 CPU-bound runs one after the other %.3f s, with run_async %.3f s: "
              "speed-up %.2fx\n", t_seq, t_par, t_seq / t_par);
  CHECK(t_par > 0);

  // reset(): the child's __main__ is emptied, its imports stay.
  CHECK(value_of(server, nb, "c.run('import json\\nkeep = 1')\nc.run('keep')") == "(1, None)");
  CHECK(value_of(server, nb, "c.reset()\n1") == "1");
  CHECK(value_of(server, nb, "(c.run('keep')[1].type, c.run('json')[1].type, "
                             "c.run('import sys\\n\"json\" in sys.modules'))") == "('NameError', 'NameError', (True, None))");

  // An interrupt of the parent waiting in run() interrupts the child's run.
  Json waiting = start(server, nb, "c.run('import time\\nwhile True: time.sleep(0.01)')");
  check_still_waiting(server, waiting, 300ms);
  server.result("cell/interrupt", {{"session", nb}});
  CHECK(finish_with_error(server, waiting)["type"] == "KeyboardInterrupt");
  const std::string stopped = value_of(server, nb, "t0 = time.monotonic()\nwhile c.is_running() and time.monotonic() - t0 < 5:\n"
                                                   "    time.sleep(0.001)\n(c.is_running(), (time.monotonic() - t0) * 1000)");
  INFO(stopped);
  CHECK(stopped.rfind("(False, ", 0) == 0);
  std::printf("children through the binary: the child's run stopped %.1f ms after the parent's KeyboardInterrupt\n",
              std::stod(stopped.substr(8)));
  CHECK(value_of(server, nb, "c.run('\"json\" in sys.modules')") == "(True, None)");  // usable again
  // result(timeout) on a run still going: TimeoutError, the run goes on.
  CHECK(value_of(server, nb, "f = c.run_async('import time\\ntime.sleep(0.5)\\n5')\ntry:\n    f.result(timeout=0.05)\n"
                             "    res = 'finished?'\nexcept TimeoutError:\n    res = 'timeout'\n(res, f.result(timeout=30), f.done())") ==
        "('timeout', (5, None), True)");

  // Closed with the parent, and with them the channel ends they held.
  CHECK(children(server) == std::vector<std::string>{"nb/1<nb", "nb/2<nb", "nb/3<nb"});
  CHECK(value_of(server, nb, "c.run(\"import subcell\\nr, s = subcell.channel('lifeline')\")") == "(None, None)");
  value_of(server, other, "import subcell\nr, s = subcell.channel('lifeline')\n1");
  Json lifeline = start(server, other, "try:\n    r.recv()\n    got = 'received?'\nexcept EOFError:\n    got = 'EOFError'\ngot");
  check_still_waiting(server, lifeline, 300ms);
  CHECK(server.result("session/close", {{"session", nb}})["interpreter"] == "ended");
  CHECK(finish(server, lifeline) == "'EOFError'");
  CHECK(children(server).empty());
  const Json list = server.result("session/list");
  REQUIRE(list["sessions"].size() == 1);
  CHECK(list["sessions"][0]["session"] == other);
  CHECK(value_of(server, other, "1 + 1") == "2");
  CHECK_SCHEMA_VALID(server);
}

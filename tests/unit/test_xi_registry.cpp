// The channel registry (src/xi): rendezvous, nowait, close, EOF when the
// other side has gone, deadlines, stop tokens, borrowed data, async waits,
// listeners, ends in flight and freeing. Plain threads, no Python.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "xi/registry.h"

using namespace subcell::xi;
using namespace std::chrono_literals;

namespace {

Wait forever() { return Wait{}; }
Wait for_ms(int ms) { return Wait{{}, std::chrono::steady_clock::now() + std::chrono::milliseconds(ms)}; }

// Waits (briefly, by polling: tests only) until `pred` holds.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 2000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

struct Fixture {
  Registry& r = Registry::instance();
  OwnerId a = r.new_owner("a");
  OwnerId b = r.new_owner("b");
  ~Fixture() {
    r.release_owner(a);
    r.release_owner(b);
  }
};

}  // namespace

TEST_CASE("xi: send waits until a receiver takes the value") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  f.r.hold(ch, Side::kRecv, f.b, +1);
  std::atomic<bool> sent{false};
  std::atomic<Status> status{Status::kEmpty};  // no Catch2 assertions off the main thread
  std::thread sender([&] {
    status = f.r.send(ch, f.a, Value::int64(42), forever());
    sent = true;
  });
  std::this_thread::sleep_for(30ms);
  CHECK_FALSE(sent.load());  // nobody has received yet
  Received got;
  REQUIRE(f.r.recv(ch, f.b, forever(), got) == Status::kOk);
  CHECK(got.value.kind == Value::Kind::kInt);
  CHECK(got.value.integer == 42);
  sender.join();
  CHECK(sent.load());
  CHECK(status.load() == Status::kOk);
}

TEST_CASE("xi: recv waits for a sender; values arrive in order") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  std::atomic<int> failed{0};
  std::thread sender([&] {
    for (int i = 0; i < 100; ++i) failed += f.r.send(ch, f.a, Value::int64(i), forever()) != Status::kOk;
  });
  for (int i = 0; i < 100; ++i) {
    Received got;
    REQUIRE(f.r.recv(ch, f.b, forever(), got) == Status::kOk);
    CHECK(got.value.integer == i);
  }
  sender.join();
  CHECK(failed == 0);
}

TEST_CASE("xi: send_nowait is taken only by a waiting receiver; recv_nowait") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  CHECK(f.r.send_nowait(ch, f.a, Value::str("lost")) == Status::kEmpty);
  Received none;
  CHECK(f.r.recv_nowait(ch, f.b, none) == Status::kEmpty);

  std::promise<std::string> got;
  std::thread receiver([&] {
    Received r;
    const Status s = f.r.recv(ch, f.b, forever(), r);
    got.set_value(s == Status::kOk ? std::string(r.value.data()) : std::string("failed"));
  });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  CHECK(f.r.send_nowait(ch, f.a, Value::str("taken")) == Status::kOk);
  CHECK(got.get_future().get() == "taken");
  receiver.join();

  std::thread sender([&] { f.r.send(ch, f.a, Value::boolean(true), forever()); });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  Received r;
  CHECK(f.r.recv_nowait(ch, f.b, r) == Status::kOk);
  CHECK(r.value.kind == Value::Kind::kBool);
  sender.join();
}

TEST_CASE("xi: close wakes waiting senders and receivers with kClosed, and later calls fail") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  std::promise<Status> recv_status, send_status;
  std::thread receiver([&] {
    Received r;
    recv_status.set_value(f.r.recv(ch, f.b, forever(), r));
  });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  f.r.close(ch);
  CHECK(recv_status.get_future().get() == Status::kClosed);
  receiver.join();
  CHECK(f.r.send(ch, f.a, Value::none(), forever()) == Status::kClosed);
  Received r;
  CHECK(f.r.recv(ch, f.a, forever(), r) == Status::kClosed);
  CHECK(f.r.send_nowait(ch, f.a, Value::none()) == Status::kClosed);

  ChannelId ch2 = *f.r.create(f.a);
  std::thread sender([&] { send_status.set_value(f.r.send(ch2, f.a, Value::int64(1), forever())); });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  f.r.close(ch2);
  CHECK(send_status.get_future().get() == Status::kClosed);
  sender.join();
}

TEST_CASE("xi: deadlines and stop tokens end waits; a timed-out offer is withdrawn") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  Received r;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(f.r.recv(ch, f.a, for_ms(50), r) == Status::kTimeout);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  CHECK(f.r.send(ch, f.a, Value::int64(7), for_ms(20)) == Status::kTimeout);
  CHECK(f.r.recv_nowait(ch, f.b, r) == Status::kEmpty);  // withdrawn, not left behind

  std::stop_source stop;
  std::promise<Status> status;
  std::thread waiter([&] {
    Received got;
    status.set_value(f.r.recv(ch, f.a, Wait{stop.get_token(), std::nullopt}, got));
  });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  stop.request_stop();
  CHECK(status.get_future().get() == Status::kStopped);
  waiter.join();
}

TEST_CASE("xi: a wait ends with kClosed when every other holder of the other end has gone") {
  Fixture f;
  ChannelId ch = *f.r.open("xi-test-fifo", f.a);  // a holds both ends
  REQUIRE(*f.r.open("xi-test-fifo", f.b) == ch);  // b too
  std::promise<Status> status;
  std::thread receiver([&] {
    Received r;
    status.set_value(f.r.recv(ch, f.a, forever(), r));
  });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  auto future = status.get_future();
  CHECK(future.wait_for(30ms) == std::future_status::timeout);  // b could still send
  f.r.release_owner(f.b);  // b's session closed
  CHECK(future.get() == Status::kClosed);
  receiver.join();

  // Before anybody else came, a named channel waits for its first sender.
  ChannelId fresh = *f.r.open("xi-test-fresh", f.a);
  Received r;
  CHECK(f.r.recv(fresh, f.a, for_ms(20), r) == Status::kTimeout);
}

TEST_CASE("xi: an end in flight keeps its side held; the receiver adopts it") {
  Fixture f;
  ChannelId data = *f.r.create(f.a);
  ChannelId carrier = *f.r.create(f.a);
  f.r.hold(carrier, Side::kRecv, f.b, +1);
  std::thread sender([&] { f.r.send(carrier, f.a, f.r.end_value(data, Side::kSend), forever()); });
  Received got;
  REQUIRE(f.r.recv(carrier, f.b, forever(), got) == Status::kOk);
  sender.join();
  REQUIRE(got.value.kind == Value::Kind::kEnd);
  CHECK(got.value.channel == data);
  f.r.adopt_end(got.value, f.b);
  got = Received{};  // the in-flight hold goes with the value
  // a gives up its send end; b still holds one, so a's recv waits.
  f.r.hold(data, Side::kSend, f.a, -1);
  std::promise<Status> status;
  std::thread receiver([&] {
    Received r;
    status.set_value(f.r.recv(data, f.a, forever(), r));
  });
  auto future = status.get_future();
  CHECK(future.wait_for(30ms) == std::future_status::timeout);
  f.r.hold(data, Side::kSend, f.b, -1);  // b drops it: nobody can send any more
  CHECK(future.get() == Status::kClosed);
  receiver.join();
}

TEST_CASE("xi: a sender of borrowed data waits until the receiver has consumed it") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  std::string payload(1 << 20, 'x');
  std::atomic<bool> returned{false};
  std::atomic<Status> status{Status::kEmpty};
  std::thread sender([&] {
    Value v;
    v.kind = Value::Kind::kBytes;
    v.view = payload;
    v.borrowed = true;
    status = f.r.send(ch, f.a, std::move(v), forever());
    returned = true;
  });
  Received got;
  REQUIRE(f.r.recv(ch, f.b, forever(), got) == Status::kOk);
  CHECK(got.value.data().data() == payload.data());  // not copied
  std::this_thread::sleep_for(30ms);
  CHECK_FALSE(returned.load());
  got.done();
  sender.join();
  CHECK(returned.load());
  CHECK(status.load() == Status::kOk);
}

TEST_CASE("xi: async operations complete through callbacks and can be cancelled") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  std::promise<std::int64_t> got;
  auto handle = f.r.recv_async(ch, f.b, false, [&](Status s, Value* v) {
    REQUIRE(s == Status::kOk);
    got.set_value(v->integer);
  });
  REQUIRE(handle);
  CHECK(f.r.send(ch, f.a, Value::int64(5), forever()) == Status::kOk);
  CHECK(got.get_future().get() == 5);

  std::promise<Status> cancelled;
  auto h2 = f.r.recv_async(ch, f.b, false, [&](Status s, Value*) { cancelled.set_value(s); });
  CHECK(f.r.cancel(h2));
  CHECK(cancelled.get_future().get() == Status::kStopped);
  CHECK_FALSE(f.r.cancel(h2));

  std::promise<Status> sent;
  auto h3 = f.r.send_async(ch, f.a, Value::str("async"), false, [&](Status s, Value*) { sent.set_value(s); });
  REQUIRE(h3);
  Received r;
  REQUIRE(f.r.recv(ch, f.b, forever(), r) == Status::kOk);
  CHECK(r.value.data() == "async");
  CHECK(sent.get_future().get() == Status::kOk);

  std::promise<Status> nowait;
  f.r.recv_async(ch, f.b, true, [&](Status s, Value*) { nowait.set_value(s); });
  CHECK(nowait.get_future().get() == Status::kEmpty);
}

TEST_CASE("xi: a listener gets what is sent while no receiver waits") {
  Fixture f;
  ChannelId ch = *f.r.create(f.a);
  std::vector<std::string> heard;
  std::thread early([&] { f.r.send(ch, f.a, Value::str("early"), forever()); });
  REQUIRE(eventually([&] { return f.r.stats().waiting > 0; }));
  f.r.set_listener(ch, [&](Value& v) { heard.emplace_back(v.data()); });
  early.join();
  CHECK(f.r.send(ch, f.a, Value::str("late"), forever()) == Status::kOk);
  CHECK(heard == std::vector<std::string>{"early", "late"});
  f.r.set_listener(ch, nullptr);
  CHECK(f.r.send_nowait(ch, f.a, Value::str("nobody")) == Status::kEmpty);
}

TEST_CASE("xi: named channels are shared; closing frees the name; unheld channels are freed") {
  Fixture f;
  const std::size_t before = f.r.stats().channels;
  ChannelId x = *f.r.open("xi-test-named", f.a);
  CHECK(*f.r.open("xi-test-named", f.b) == x);
  CHECK(f.r.find("xi-test-named") == x);
  f.r.close(x);
  CHECK_FALSE(f.r.find("xi-test-named"));
  ChannelId y = *f.r.open("xi-test-named", f.a);
  CHECK(y != x);
  f.r.release_owner(f.a);
  f.r.release_owner(f.b);
  CHECK(f.r.stats().channels == before);
  CHECK_FALSE(f.r.exists(x));
}

TEST_CASE("xi: 8 threads x 10,000 values around a ring: nothing lost or duplicated") {
  Registry& r = Registry::instance();
  constexpr int kNodes = 8, kMessages = 10000;
  std::vector<OwnerId> owners;
  std::vector<ChannelId> links;
  for (int i = 0; i < kNodes; ++i) owners.push_back(r.new_owner("node"));
  for (int i = 0; i < kNodes; ++i) links.push_back(*r.create(owners[i]));
  // Node i receives on links[i] and forwards to links[i+1]; node 0 injects.
  std::vector<std::set<std::int64_t>> seen(kNodes);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};  // no Catch2 assertions off the main thread
  for (int i = 1; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < kMessages; ++n) {
        Received got;
        if (r.recv(links[i], owners[i], forever(), got) != Status::kOk) {
          ++failed;
          return;
        }
        seen[i].insert(got.value.integer);
        if (r.send(links[(i + 1) % kNodes], owners[i], Value::int64(got.value.integer), forever()) != Status::kOk) {
          ++failed;
          return;
        }
      }
    });
  }
  std::thread injector([&] {
    for (int n = 0; n < kMessages; ++n) failed += r.send(links[1], owners[0], Value::int64(n), forever()) != Status::kOk;
  });
  for (int n = 0; n < kMessages; ++n) {
    Received got;
    REQUIRE(r.recv(links[0], owners[0], forever(), got) == Status::kOk);
    seen[0].insert(got.value.integer);
  }
  injector.join();
  for (auto& t : threads) t.join();
  CHECK(failed == 0);
  for (int i = 0; i < kNodes; ++i) CHECK(seen[i].size() == kMessages);
  for (OwnerId o : owners) r.release_owner(o);
}

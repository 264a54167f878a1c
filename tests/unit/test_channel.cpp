#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "channels/channel.h"

using namespace subcell;
using namespace std::chrono_literals;

namespace {

struct Text {
  std::string s;
};
struct TextTraits {
  static std::size_t cost(const Text& t) { return t.s.size(); }
  static bool merge(Text& tail, Text& incoming) {
    if (tail.s.size() + incoming.s.size() > 8) return false;
    tail.s += incoming.s;
    return true;
  }
};

}  // namespace

TEST_CASE("items come out in the order they were sent") {
  Channel<int> ch(100);
  for (int i = 0; i < 10; ++i) REQUIRE(ch.try_send(int{i}).status == SendStatus::kSent);
  std::vector<int> out;
  CHECK(ch.drain(out) == 10);
  CHECK(out == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("try_send reports a full channel and sends nothing") {
  Channel<int> ch(2);
  CHECK(ch.try_send(1).status == SendStatus::kSent);
  CHECK(ch.try_send(2).status == SendStatus::kSent);
  CHECK(ch.try_send(3).status == SendStatus::kFull);
  std::vector<int> out;
  ch.drain(out);
  CHECK(out == std::vector<int>{1, 2});
}

TEST_CASE("was_empty marks the send that needs to wake the consumer") {
  Channel<int> ch(10);
  CHECK(ch.try_send(1).was_empty);
  CHECK_FALSE(ch.try_send(2).was_empty);
  std::vector<int> out;
  ch.drain(out);
  CHECK(ch.try_send(3).was_empty);
}

TEST_CASE("a blocked sender resumes when the consumer drains") {
  Channel<int> ch(1);
  REQUIRE(ch.try_send(1).status == SendStatus::kSent);
  std::atomic<bool> sent{false};
  std::thread producer([&] {
    CHECK(ch.send(2).status == SendStatus::kSent);
    sent = true;
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(sent.load());  // still blocked: nothing was dropped or queued past the bound
  std::vector<int> out;
  ch.drain(out);
  producer.join();
  CHECK(sent.load());
  out.clear();
  ch.drain(out);
  CHECK(out == std::vector<int>{2});
}

TEST_CASE("closing wakes blocked senders and refuses new sends") {
  Channel<int> ch(1);
  REQUIRE(ch.try_send(1).status == SendStatus::kSent);
  std::thread producer([&] { CHECK(ch.send(2).status == SendStatus::kClosed); });
  std::this_thread::sleep_for(10ms);
  ch.close();
  producer.join();
  CHECK(ch.try_send(3).status == SendStatus::kClosed);
  // What was queued before closing is still delivered.
  std::vector<int> out;
  ch.drain(out);
  CHECK(out == std::vector<int>{1});
}

TEST_CASE("a stop token ends a blocked send without sending") {
  Channel<int> ch(1);
  REQUIRE(ch.try_send(1).status == SendStatus::kSent);
  std::stop_source stop;
  std::thread producer([&] { CHECK(ch.send(2, stop.get_token()).status == SendStatus::kStopped); });
  std::this_thread::sleep_for(10ms);
  stop.request_stop();
  producer.join();
  std::vector<int> out;
  ch.drain(out);
  CHECK(out == std::vector<int>{1});
}

TEST_CASE("receive waits for an item and returns nothing once closed and empty") {
  Channel<int> ch(4);
  std::thread producer([&] {
    std::this_thread::sleep_for(10ms);
    ch.try_send(7);
    ch.close();
  });
  auto first = ch.receive();
  REQUIRE(first);
  CHECK(*first == 7);
  CHECK_FALSE(ch.receive());
  producer.join();
}

TEST_CASE("traits merge consecutive items and costs stay exact") {
  Channel<Text, TextTraits> ch(100);
  ch.try_send(Text{"ab"});
  ch.try_send(Text{"cd"});
  ch.try_send(Text{"efghijk"});  // would exceed 8 bytes merged: a new item
  CHECK(ch.pending_cost() == 11);
  std::vector<Text> out;
  ch.drain(out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].s == "abcd");
  CHECK(out[1].s == "efghijk");
  CHECK(ch.pending_cost() == 0);
}

TEST_CASE("an item larger than the capacity still passes through an empty channel") {
  Channel<Text, TextTraits> ch(4);
  CHECK(ch.try_send(Text{"0123456789"}).status == SendStatus::kSent);
  CHECK(ch.try_send(Text{"x"}).status == SendStatus::kFull);
}

TEST_CASE("many producers, one consumer: nothing lost, per-producer order kept") {
  Channel<std::pair<int, int>> ch(16);
  constexpr int kProducers = 4, kEach = 2000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) REQUIRE(ch.send({p, i}).status == SendStatus::kSent);
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  while (received < kProducers * kEach) {
    auto item = ch.receive();
    REQUIRE(item);
    CHECK(item->second == next[item->first]);
    next[item->first] = item->second + 1;
    ++received;
  }
  for (auto& t : producers) t.join();
  CHECK(ch.empty());
}

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "transport/frame_decoder.h"

using subcell::Frame;
using subcell::FrameDecoder;

namespace {

std::string framed(const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body; }

std::vector<Frame> drain(FrameDecoder& d) {
  std::vector<Frame> out;
  while (auto f = d.next()) out.push_back(std::move(*f));
  return out;
}

}  // namespace

TEST_CASE("a frame split across many reads comes out whole") {
  FrameDecoder d;
  const std::string wire = framed(R"({"jsonrpc":"2.0","id":1,"method":"x"})");
  std::vector<Frame> frames;
  for (char c : wire) {
    d.append(std::string(1, c));
    for (Frame& f : drain(d)) frames.push_back(std::move(f));
  }
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::kBody);
  CHECK(frames[0].body == R"({"jsonrpc":"2.0","id":1,"method":"x"})");
}

TEST_CASE("several frames in one read come out in order") {
  FrameDecoder d;
  d.append(framed("one") + framed("two") + framed("three"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].body == "one");
  CHECK(frames[1].body == "two");
  CHECK(frames[2].body == "three");
}

TEST_CASE("header names are case-insensitive and other headers are ignored") {
  FrameDecoder d;
  d.append("content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:  2\r\n\r\n{}");
  auto frames = drain(d);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].body == "{}");
}

TEST_CASE("a multi-byte UTF-8 body is counted in bytes") {
  FrameDecoder d;
  const std::string body = "\"h\xc3\xa9llo \xe2\x82\xac\"";
  d.append(framed(body));
  auto frames = drain(d);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].body == body);
}

TEST_CASE("garbage before a frame is reported and the frame still decodes") {
  FrameDecoder d;
  d.append("this is not a header\r\n" + framed("{}"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::kGarbage);
  CHECK(frames[0].skipped == std::string("this is not a header\r\n").size());
  CHECK(frames[1].kind == Frame::Kind::kBody);
  CHECK(frames[1].body == "{}");
}

TEST_CASE("a header block without Content-Length is skipped as garbage") {
  FrameDecoder d;
  d.append("X-Thing: 1\r\n\r\n" + framed("ok"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::kGarbage);
  CHECK(frames[0].reason == "header has no Content-Length");
  CHECK(frames[1].body == "ok");
}

TEST_CASE("a Content-Length that is not a number is refused") {
  FrameDecoder d;
  d.append("Content-Length: -5\r\n\r\n" + framed("ok"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::kGarbage);
  CHECK(frames[0].reason == "Content-Length is not a non-negative integer");
  CHECK(frames[1].body == "ok");
}

TEST_CASE("binary garbage with no header at all is dropped in bounded chunks") {
  FrameDecoder d(1024, 64);
  std::string noise(1000, '\x01');
  d.append(noise);
  auto frames = drain(d);
  REQUIRE(!frames.empty());
  std::size_t skipped = 0;
  for (const Frame& f : frames) {
    CHECK(f.kind == Frame::Kind::kGarbage);
    skipped += f.skipped;
  }
  CHECK(skipped > 900);  // at most a header's worth is kept in case a frame starts there
  d.append(framed("after"));
  frames = drain(d);
  REQUIRE(!frames.empty());
  CHECK(frames.back().kind == Frame::Kind::kBody);
  CHECK(frames.back().body == "after");
}

TEST_CASE("an oversized body is refused at once and skipped without buffering it") {
  FrameDecoder d(/*max_body=*/100);
  const std::string body = R"({"jsonrpc":"2.0","id":42,"method":"cell/run","params":{"code":")" + std::string(500, 'x') + "\"}}";
  const std::string wire = framed(body) + framed("next");
  // The header and the body's first bytes arrive in one read (as clients
  // write whole frames): the refusal comes before the rest of the body.
  d.append(wire.substr(0, 80));
  auto refused = d.next();
  REQUIRE(refused);
  CHECK(refused->kind == Frame::Kind::kTooLarge);
  CHECK(refused->declared == body.size());
  CHECK(refused->body.rfind(R"({"jsonrpc":"2.0","id":42)", 0) == 0);
  CHECK(refused->body.size() < 80);
  // The rest, in small pieces: skipped as it streams past, then "next".
  std::vector<Frame> frames;
  for (std::size_t i = 80; i < wire.size(); i += 37) {
    d.append(wire.substr(i, 37));
    for (Frame& f : drain(d)) frames.push_back(std::move(f));
  }
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::kBody);
  CHECK(frames[0].body == "next");
}

TEST_CASE("an absurd Content-Length (2^63-1, 2^63, 2^64-1) is refused at once and the next message is read") {
  for (const char* declared : {"9223372036854775807", "9223372036854775808", "18446744073709551615"}) {
    INFO(declared);
    FrameDecoder d;
    d.append(std::string("Content-Length: ") + declared + "\r\n\r\n" + R"({"jsonrpc":"2.0","id":7)");
    auto refused = d.next();
    REQUIRE(refused);
    CHECK(refused->kind == Frame::Kind::kTooLarge);
    CHECK(refused->body == R"({"jsonrpc":"2.0","id":7)");
    CHECK_FALSE(d.next());
    // The client goes on with its next message, split across reads.
    const std::string next = framed(R"({"jsonrpc":"2.0","id":8,"method":"session/list"})");
    d.append(next.substr(0, 9));
    CHECK_FALSE(d.next());
    d.append(next.substr(9));
    auto frames = drain(d);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].kind == Frame::Kind::kBody);
    CHECK(frames[0].body == R"({"jsonrpc":"2.0","id":8,"method":"session/list"})");
  }
}

TEST_CASE("text that looks like a header inside a skipped JSON body does not cut it short") {
  FrameDecoder d(/*max_body=*/64);
  const std::string body = R"({"id":3,"params":{"code":"h = {'Content-Length: 12': 1}\n)" + std::string(200, 'y') + "\"}}";
  d.append(framed(body) + framed("after"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::kTooLarge);
  CHECK(frames[1].kind == Frame::Kind::kBody);
  CHECK(frames[1].body == "after");
}

TEST_CASE("a huge declared Content-Length does not overflow or allocate") {
  FrameDecoder d(1 << 20);
  d.append("Content-Length: 99999999999999999999999\r\n\r\n" + framed("ok"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::kGarbage);
  CHECK(frames[1].body == "ok");
}

TEST_CASE("input that ends inside a frame is reported as truncated") {
  FrameDecoder d;
  d.append("Content-Length: 10\r\n\r\n{\"a\":");
  CHECK(drain(d).empty());
  auto tail = d.finish();
  REQUIRE(tail);
  CHECK(tail->kind == Frame::Kind::kTruncated);
  CHECK(tail->declared == 10);
  CHECK(tail->skipped == 5);
}

TEST_CASE("a short Content-Length running into the next frame can be recovered") {
  const std::string next = framed(R"({"id":2})");
  // The body claims more bytes than it has and swallows the start of the
  // next frame: just "Cont", or the whole next header.
  for (std::size_t declared : {12u, 30u}) {
    FrameDecoder d;
    d.append("Content-Length: " + std::to_string(declared) + "\r\n\r\n{\"id\":1}" + next);
    auto bad = d.next();
    REQUIRE(bad);
    REQUIRE(bad->kind == Frame::Kind::kBody);
    CHECK(bad->body.rfind("{\"id\":1}Cont", 0) == 0);
    // Not JSON: the caller hands it back, and only the bad part is lost.
    CHECK(d.recover_from_bad_body(bad->body) == std::string("{\"id\":1}").size());
    auto recovered = d.next();
    REQUIRE(recovered);
    CHECK(recovered->kind == Frame::Kind::kBody);
    CHECK(recovered->body == R"({"id":2})");
  }
}

TEST_CASE("a bad body with no frame inside is simply lost") {
  FrameDecoder d;
  d.append(framed("{not json"));
  auto bad = d.next();
  REQUIRE(bad);
  CHECK(d.recover_from_bad_body(bad->body) == bad->body.size());
  CHECK_FALSE(d.next());
}

TEST_CASE("blank lines between frames are tolerated") {
  FrameDecoder d;
  d.append("\r\n\r\n" + framed("a") + "\r\n" + framed("b"));
  auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].body == "a");
  CHECK(frames[1].body == "b");
}

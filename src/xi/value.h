// xi::Value: what crosses between interpreters through a channel, as plain
// C++ data ("cross-interpreter data", CPython's term). No Python objects:
// the sending interpreter turns its object into a Value, the receiving one
// builds its own object from it.
//
// Large str and bytes payloads are *borrowed*: the Value points into the
// sender's object, which stays alive because a sender of borrowed data
// waits until the receiver has built its copy (exactly one copy crosses).
// Buffers (send_buffer) are shared, not copied: a SharedBuffer lease keeps
// the sender's export alive until the last receiver lets go of it. Channel
// ends travel as (channel, side) with a hold that keeps the channel's side
// counted as held while the end is in flight.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace subcell::xi {

using ChannelId = std::uint64_t;
using OwnerId = std::uint64_t;

enum class Side : std::uint8_t { kRecv = 0, kSend = 1 };
inline const char* side_name(Side s) { return s == Side::kRecv ? "recv" : "send"; }

// Memory that belongs to another interpreter (or to no interpreter), lent
// to receivers without a copy. The implementation decides how the memory
// is given back (python/: released in the owning interpreter).
class SharedBuffer {
 public:
  virtual ~SharedBuffer() = default;
  const void* data = nullptr;
  std::size_t size = 0;  // bytes
  std::string format = "B";
  std::size_t itemsize = 1;
  std::vector<ssize_t> shape;    // empty: one dimension of size / itemsize
  std::vector<ssize_t> strides;  // empty: C-contiguous
};

// A buffer that owns its bytes (received from another process, or built
// from a copy).
class OwnedBuffer final : public SharedBuffer {
 public:
  explicit OwnedBuffer(std::string bytes) : bytes_(std::move(bytes)) {
    data = bytes_.data();
    size = bytes_.size();
  }

 private:
  std::string bytes_;
};

// Keeps one side of a channel counted as held while a Value carrying an
// end of it is on its way; released when the Value is dropped (after the
// receiver took its own hold, or when the send was withdrawn).
class EndHold {
 public:
  virtual ~EndHold() = default;
};

struct Value {
  enum class Kind : std::uint8_t { kNone, kBool, kInt, kBigInt, kFloat, kStr, kBytes, kTuple, kBuffer, kEnd };

  Kind kind = Kind::kNone;
  bool flag = false;       // kBool
  std::int64_t integer = 0;  // kInt
  double real = 0;         // kFloat
  // kStr (UTF-8), kBytes, kBigInt (hex text "0x..", "-0x.."): owned in
  // `text`, or borrowed (`borrowed`: `view` points into the sender's object).
  std::string text;
  std::string_view view;
  bool borrowed = false;
  std::vector<Value> items;               // kTuple
  std::shared_ptr<SharedBuffer> buffer;   // kBuffer
  ChannelId channel = 0;                  // kEnd
  Side side = Side::kRecv;                // kEnd
  std::shared_ptr<EndHold> hold;          // kEnd, while in flight

  std::string_view data() const { return borrowed ? view : std::string_view(text); }

  static Value none() { return Value{}; }
  static Value boolean(bool b);
  static Value int64(std::int64_t i);
  static Value real_number(double d);
  static Value str(std::string utf8);
  static Value bytes(std::string b);
  static Value tuple(std::vector<Value> items);
  static Value end(ChannelId channel, Side side);
};

// Whether any part of `v` is borrowed from the sender.
bool has_borrowed(const Value& v);
// Copies borrowed parts into owned storage (the sender may then go on).
void make_owned(Value& v);
// Bytes of payload (str, bytes, buffers), for the borrow threshold.
std::size_t payload_bytes(const Value& v);
// A short description for errors and logs: "int", "tuple of 3", ...
std::string describe(const Value& v);

}  // namespace subcell::xi

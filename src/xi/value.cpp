#include "xi/value.h"

namespace subcell::xi {

Value Value::boolean(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.flag = b;
  return v;
}

Value Value::int64(std::int64_t i) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}

Value Value::real_number(double d) {
  Value v;
  v.kind = Kind::kFloat;
  v.real = d;
  return v;
}

Value Value::str(std::string utf8) {
  Value v;
  v.kind = Kind::kStr;
  v.text = std::move(utf8);
  return v;
}

Value Value::bytes(std::string b) {
  Value v;
  v.kind = Kind::kBytes;
  v.text = std::move(b);
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v;
  v.kind = Kind::kTuple;
  v.items = std::move(items);
  return v;
}

Value Value::end(ChannelId channel, Side side) {
  Value v;
  v.kind = Kind::kEnd;
  v.channel = channel;
  v.side = side;
  return v;
}

bool has_borrowed(const Value& v) {
  if (v.borrowed) return true;
  for (const Value& item : v.items) {
    if (has_borrowed(item)) return true;
  }
  return false;
}

void make_owned(Value& v) {
  if (v.borrowed) {
    v.text.assign(v.view.data(), v.view.size());
    v.view = {};
    v.borrowed = false;
  }
  for (Value& item : v.items) make_owned(item);
}

std::size_t payload_bytes(const Value& v) {
  std::size_t n = v.data().size();
  if (v.buffer) n += v.buffer->size;
  for (const Value& item : v.items) n += payload_bytes(item);
  return n;
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt:
    case Value::Kind::kBigInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kStr: return "str";
    case Value::Kind::kBytes: return "bytes";
    case Value::Kind::kTuple: return "tuple of " + std::to_string(v.items.size());
    case Value::Kind::kBuffer: return "buffer of " + std::to_string(v.buffer ? v.buffer->size : 0) + " bytes";
    case Value::Kind::kEnd: return std::string(side_name(v.side)) + " end of channel " + std::to_string(v.channel);
  }
  return "?";
}

}  // namespace subcell::xi

#include "protocol/channel_json.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <functional>

#include "rpc/error_code.h"

namespace subcell::protocol {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int kMaxDepth = 200;

Error bad(const std::string& what) { return Error{rpc::kInvalidParams, "channel value: " + what}; }

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
    return t;
  }();
  std::string out;
  out.reserve(in.size() / 4 * 3);
  unsigned acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (c == '\n' || c == '\r') continue;
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0 || pad > 0) return Error{rpc::kInvalidParams, "not valid base64"};
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (pad > 2) return Error{rpc::kInvalidParams, "not valid base64"};
  return out;
}

rpc::Json value_json(const xi::Value& v, const std::function<void(const xi::Value&)>& on_end) {
  using K = xi::Value::Kind;
  switch (v.kind) {
    case K::kNone: return nullptr;
    case K::kBool: return v.flag;
    case K::kInt: return v.integer;
    case K::kBigInt: return rpc::Json{{"int", v.text}};
    case K::kFloat:
      if (std::isnan(v.real)) return rpc::Json{{"float", "nan"}};
      if (std::isinf(v.real)) return rpc::Json{{"float", v.real > 0 ? "inf" : "-inf"}};
      return v.real;
    case K::kStr: return std::string(v.data());
    case K::kBytes: return rpc::Json{{"bytes", base64_encode(v.data())}};
    case K::kBuffer:
      return rpc::Json{{"buffer", base64_encode(v.buffer ? std::string_view(static_cast<const char*>(v.buffer->data),
                                                                          v.buffer->size)
                                                         : std::string_view())}};
    case K::kTuple: {
      rpc::Json items = rpc::Json::array();
      for (const xi::Value& item : v.items) items.push_back(value_json(item, on_end));
      return items;
    }
    case K::kEnd:
      if (on_end) on_end(v);
      return rpc::Json{{"channel", v.channel}, {"end", xi::side_name(v.side)}};
  }
  return nullptr;
}

namespace {

Result<xi::Value> decode(const rpc::Json& j, const std::function<xi::Value(xi::ChannelId, xi::Side)>& make_end,
                         int depth) {
  if (depth > kMaxDepth) return bad("nested too deep");
  if (j.is_null()) return xi::Value::none();
  if (j.is_boolean()) return xi::Value::boolean(j.get<bool>());
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      xi::Value v;
      v.kind = xi::Value::Kind::kBigInt;
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(j.get<std::uint64_t>()));
      v.text = hex;
      return v;
    }
    return xi::Value::int64(j.get<std::int64_t>());
  }
  if (j.is_number_float()) return xi::Value::real_number(j.get<double>());
  if (j.is_string()) return xi::Value::str(j.get<std::string>());
  if (j.is_array()) {
    std::vector<xi::Value> items;
    items.reserve(j.size());
    for (const rpc::Json& item : j) {
      auto v = decode(item, make_end, depth + 1);
      if (!v) return v;
      items.push_back(std::move(*v));
    }
    return xi::Value::tuple(std::move(items));
  }
  if (!j.is_object() || j.empty()) return bad("expected null, a boolean, a number, a string, an array or a tagged object");
  if (auto b = j.find("bytes"); b != j.end() && b->is_string()) {
    auto decoded = base64_decode(b->get<std::string>());
    if (!decoded) return decoded.error();
    return xi::Value::bytes(std::move(*decoded));
  }
  if (auto b = j.find("buffer"); b != j.end() && b->is_string()) {
    auto decoded = base64_decode(b->get<std::string>());
    if (!decoded) return decoded.error();
    xi::Value v;
    v.kind = xi::Value::Kind::kBuffer;
    v.buffer = std::make_shared<xi::OwnedBuffer>(std::move(*decoded));
    return v;
  }
  if (auto i = j.find("int"); i != j.end() && i->is_string()) {
    const std::string text = i->get<std::string>();
    const std::size_t start = text.rfind("0x", 0) == 0 ? 2 : text.rfind("-0x", 0) == 0 ? 3 : std::string::npos;
    if (start == std::string::npos || start == text.size() ||
        text.find_first_not_of("0123456789abcdefABCDEF", start) != std::string::npos) {
      return bad("\"int\" must be hexadecimal text such as \"0x1f\" or \"-0x1f\"");
    }
    xi::Value v;
    v.kind = xi::Value::Kind::kBigInt;
    v.text = text;
    return v;
  }
  if (auto f = j.find("float"); f != j.end() && f->is_string()) {
    const std::string s = f->get<std::string>();
    if (s == "nan") return xi::Value::real_number(NAN);
    if (s == "inf") return xi::Value::real_number(INFINITY);
    if (s == "-inf") return xi::Value::real_number(-INFINITY);
    return bad("\"float\" must be \"nan\", \"inf\" or \"-inf\"");
  }
  if (auto c = j.find("channel"); c != j.end() && c->is_number_unsigned()) {
    auto e = j.find("end");
    if (e == j.end() || !e->is_string() || (*e != "send" && *e != "recv")) return bad("a channel end needs \"end\": \"send\" or \"recv\"");
    return make_end(c->get<xi::ChannelId>(), *e == "send" ? xi::Side::kSend : xi::Side::kRecv);
  }
  return bad("unknown tagged object " + j.dump().substr(0, 80));
}

}  // namespace

Result<xi::Value> value_from_json(const rpc::Json& json,
                                  const std::function<xi::Value(xi::ChannelId, xi::Side)>& make_end) {
  return decode(json, make_end, 0);
}

rpc::Json message_json(const xi::Value& value, const std::function<void(const xi::Value&)>& on_end) {
  switch (value.kind) {
    case xi::Value::Kind::kStr: return rpc::Json{{"data", std::string(value.data())}};
    case xi::Value::Kind::kBytes: return rpc::Json{{"base64", base64_encode(value.data())}};
    case xi::Value::Kind::kBuffer:
      return rpc::Json{{"base64", base64_encode(std::string_view(static_cast<const char*>(value.buffer->data),
                                                                 value.buffer->size))}};
    default: return rpc::Json{{"value", value_json(value, on_end)}};
  }
}

Result<xi::Value> message_from_params(const rpc::Json& params,
                                      const std::function<xi::Value(xi::ChannelId, xi::Side)>& make_end) {
  const auto data = params.find("data");
  const auto b64 = params.find("base64");
  const auto value = params.find("value");
  const int given = (data != params.end()) + (b64 != params.end()) + (value != params.end());
  if (given != 1) return Error{rpc::kInvalidParams, "channel/send: give exactly one of params.data, params.base64, params.value"};
  if (data != params.end()) {
    if (!data->is_string()) return Error{rpc::kInvalidParams, "channel/send: params.data: expected a string"};
    return xi::Value::str(data->get<std::string>());
  }
  if (b64 != params.end()) {
    if (!b64->is_string()) return Error{rpc::kInvalidParams, "channel/send: params.base64: expected a string"};
    auto decoded = base64_decode(b64->get<std::string>());
    if (!decoded) return Error{rpc::kInvalidParams, "channel/send: params.base64: " + decoded.error().message};
    return xi::Value::bytes(std::move(*decoded));
  }
  return value_from_json(*value, make_end);
}

}  // namespace subcell::protocol

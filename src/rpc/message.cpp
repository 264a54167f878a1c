#include "rpc/message.h"

#include "rpc/error_code.h"

namespace subcell::rpc {

std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

namespace {

bool is_valid_id(const Json& id) { return id.is_string() || id.is_number_integer(); }

// SAX handler that records the value of the top-level "id" key and stops.
class IdSniffer : public nlohmann::json_sax<Json> {
 public:
  Json id;

  bool null() override { return scalar(nullptr); }
  bool boolean(bool) override { return scalar(nullptr); }
  bool number_integer(number_integer_t v) override { return scalar(v); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v); }
  bool number_float(number_float_t, const string_t&) override { return scalar(nullptr); }
  bool string(string_t& v) override { return scalar(v); }
  bool binary(binary_t&) override { return scalar(nullptr); }
  bool start_object(std::size_t) override { return enter(); }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool key(string_t& k) override {
    at_id_key_ = depth_ == 1 && k == "id";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool scalar(Json v) {
    if (at_id_key_ && depth_ == 1) {
      if (is_valid_id(v)) id = std::move(v);
      return false;  // found it: stop parsing
    }
    return true;
  }
  bool enter() {
    if (at_id_key_ && depth_ == 1) return false;  // an object/array id is not an id
    ++depth_;
    at_id_key_ = false;
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  bool at_id_key_ = false;
};

}  // namespace

Json sniff_request_id(std::string_view body_prefix) {
  IdSniffer sniffer;
  Json::sax_parse(body_prefix.begin(), body_prefix.end(), &sniffer, Json::input_format_t::json, false);
  return sniffer.id;
}

std::variant<Message, BadMessage> parse_message(std::string_view body) {
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return BadMessage{kParseError, "Parse error: the message body is not valid JSON", sniff_request_id(body)};
  }
  if (doc.is_array()) {
    return BadMessage{kInvalidRequest, "Invalid request: batches are not supported", nullptr};
  }
  if (!doc.is_object()) {
    return BadMessage{kInvalidRequest, "Invalid request: a message must be a JSON object", nullptr};
  }
  Json id = nullptr;
  bool has_id = false;
  if (auto it = doc.find("id"); it != doc.end()) {
    has_id = true;
    id = *it;
  }
  const bool id_ok = is_valid_id(id);
  auto version = doc.find("jsonrpc");
  if (version == doc.end() || *version != "2.0") {
    return BadMessage{kInvalidRequest, "Invalid request: \"jsonrpc\" must be \"2.0\"", id_ok ? id : Json()};
  }
  auto method = doc.find("method");
  if (method == doc.end()) {
    if (has_id && (doc.contains("result") || doc.contains("error"))) {
      Response response{id, nullptr, std::nullopt};
      if (auto e = doc.find("error"); e != doc.end() && e->is_object()) {
        const Json& code = (*e)["code"];
        const Json& message = (*e)["message"];
        response.error = Error{code.is_number_integer() ? code.get<int>() : kInternalError,
                               message.is_string() ? message.get<std::string>() : "error"};
      } else if (auto r = doc.find("result"); r != doc.end()) {
        response.result = std::move(*r);
      }
      return response;
    }
    return BadMessage{kInvalidRequest, "Invalid request: no \"method\"", id_ok ? id : Json()};
  }
  if (!method->is_string()) {
    return BadMessage{kInvalidRequest, "Invalid request: \"method\" must be a string", id_ok ? id : Json()};
  }
  if (has_id && !id_ok) {
    return BadMessage{kInvalidRequest, "Invalid request: \"id\" must be a string or an integer", nullptr};
  }
  Json params = nullptr;
  if (auto p = doc.find("params"); p != doc.end()) {
    // `"params": null` is what Emacs's jsonrpc.el (Eglot) sends for methods
    // without params; like clangd, read it as absent.
    if (!p->is_object() && !p->is_array() && !p->is_null()) {
      return BadMessage{kInvalidRequest, "Invalid request: \"params\" must be an object, an array or null",
                        has_id ? id : Json()};
    }
    params = std::move(*p);
  }
  if (has_id) return Request{std::move(id), method->get<std::string>(), std::move(params)};
  return Notification{method->get<std::string>(), std::move(params)};
}

Json make_result(const Json& id, Json result) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

Json make_error(const Json& id, int code, std::string_view message) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

Json make_notification(std::string_view method, Json params) {
  return Json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace subcell::rpc

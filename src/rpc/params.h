// ParamReader: typed access to a request's params with errors a user can
// act on ("cell/run: params.code: expected a string"), so handlers never
// see malformed input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rpc/error_code.h"
#include "rpc/json.h"
#include "support/result.h"

namespace subcell::rpc {

class ParamReader {
 public:
  // `prefix` names the object in messages: "params", or a nested path.
  ParamReader(const Json& params, std::string_view method, std::string_view prefix = "params");

  bool required(std::string_view key, std::string& out);
  bool required(std::string_view key, Json& out);  // any JSON value
  bool optional(std::string_view key, std::optional<std::string>& out);
  bool optional(std::string_view key, std::optional<std::int64_t>& out);
  bool optional(std::string_view key, std::optional<bool>& out);
  bool optional(std::string_view key, std::optional<double>& out);  // any JSON number
  bool optional(std::string_view key, std::optional<Json>& out);  // any JSON value, null included

  // Records a constraint violation found by the caller.
  void fail(std::string_view key, std::string_view problem);
  // Takes over the error of a reader of a nested object; false if it had one.
  bool absorb(const ParamReader& nested);

  bool ok() const { return !error_; }
  const Json& object() const { return *params_; }
  Error error() const { return Error{kInvalidParams, error_.value_or("")}; }

 private:
  const Json* find(std::string_view key);
  bool type_error(std::string_view key, const char* expected);

  const Json* params_;
  std::string method_;
  std::string prefix_;
  std::optional<std::string> error_;
};

}  // namespace subcell::rpc

#include "rpc/params.h"

namespace subcell::rpc {
namespace {
const Json kEmptyObject = Json::object();
}

ParamReader::ParamReader(const Json& params, std::string_view method, std::string_view prefix)
    : params_(params.is_null() ? &kEmptyObject : &params), method_(method), prefix_(prefix) {
  if (!params_->is_object()) error_ = method_ + ": " + prefix_ + " must be an object";
}

const Json* ParamReader::find(std::string_view key) {
  if (error_) return nullptr;
  auto it = params_->find(key);
  return it == params_->end() ? nullptr : &*it;
}

bool ParamReader::type_error(std::string_view key, const char* expected) {
  fail(key, std::string("expected ") + expected);
  return false;
}

void ParamReader::fail(std::string_view key, std::string_view problem) {
  if (!error_) error_ = method_ + ": " + prefix_ + "." + std::string(key) + ": " + std::string(problem);
}

bool ParamReader::absorb(const ParamReader& nested) {
  if (nested.error_ && !error_) error_ = nested.error_;
  return !nested.error_;
}

bool ParamReader::required(std::string_view key, std::string& out) {
  const Json* v = find(key);
  if (error_) return false;
  if (v == nullptr) {
    fail(key, "missing (a string is required)");
    return false;
  }
  if (!v->is_string()) return type_error(key, "a string");
  out = v->get<std::string>();
  return true;
}

bool ParamReader::required(std::string_view key, Json& out) {
  const Json* v = find(key);
  if (error_) return false;
  if (v == nullptr) {
    fail(key, "missing");
    return false;
  }
  out = *v;
  return true;
}

bool ParamReader::optional(std::string_view key, std::optional<std::string>& out) {
  const Json* v = find(key);
  if (v == nullptr || v->is_null()) return !error_;
  if (!v->is_string()) return type_error(key, "a string");
  out = v->get<std::string>();
  return true;
}

bool ParamReader::optional(std::string_view key, std::optional<std::int64_t>& out) {
  const Json* v = find(key);
  if (v == nullptr || v->is_null()) return !error_;
  if (!v->is_number_integer()) return type_error(key, "an integer");
  out = v->get<std::int64_t>();
  return true;
}

bool ParamReader::optional(std::string_view key, std::optional<bool>& out) {
  const Json* v = find(key);
  if (v == nullptr || v->is_null()) return !error_;
  if (!v->is_boolean()) return type_error(key, "a boolean");
  out = v->get<bool>();
  return true;
}

bool ParamReader::optional(std::string_view key, std::optional<double>& out) {
  const Json* v = find(key);
  if (v == nullptr || v->is_null()) return !error_;
  if (!v->is_number()) return type_error(key, "a number");
  out = v->get<double>();
  return true;
}

bool ParamReader::optional(std::string_view key, std::optional<Json>& out) {
  const Json* v = find(key);
  if (v == nullptr) return !error_;
  out = *v;
  return true;
}

}  // namespace subcell::rpc

// Result<T>: a value or an Error, for failures that cross a boundary as data
// (g++ 12 has no std::expected). Errors carry a stable code and a message a
// user can read; they are never thrown.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace subcell {

struct Error {
  int code = 0;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(state_); }
  Error take_error() && { return std::get<Error>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// For operations with nothing to return but success.
struct Ok {};
using Status = Result<Ok>;

}  // namespace subcell

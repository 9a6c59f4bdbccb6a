// Errors are values: a result or the message the user will read.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace hms::cli {

struct Failure {
  std::string message;
};

template <class T>
class Outcome {
 public:
  Outcome(T v) : value_(std::move(v)) {}                  // NOLINT: implicit by design
  Outcome(Failure f) : error_(std::move(f.message)) {}    // NOLINT
  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const std::string& error() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  std::string error_;
};

}  // namespace hms::cli

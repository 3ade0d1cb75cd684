// Result<T>: a value or the Status that explains why there is none.
//
//   Result<int> ParsePort(std::string_view s);
//   DRC_ASSIGN_OR_RETURN(int port, ParsePort(text));
//
// Accessing the value of an error Result aborts the process with the status message: it is a
// programming error, checked with ok() first or propagated with DRC_ASSIGN_OR_RETURN.
#pragma once

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "drc/common/status.h"

namespace drc {

namespace internal {
[[noreturn]] void DieOnBadResultAccess(const Status& status);
}  // namespace internal

template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is not allowed");

  // NOLINTNEXTLINE(google-explicit-constructor): implicit from a value, like arrow::Result.
  Result(T value) : value_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): implicit from an error Status.
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK Status");
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U, T> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status>>>
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(U&& value) : value_(T(std::forward<U>(value))) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  const T& ValueOrDie() const& {
    if (!ok()) internal::DieOnBadResultAccess(status_);
    return *value_;
  }
  T& ValueOrDie() & {
    if (!ok()) internal::DieOnBadResultAccess(status_);
    return *value_;
  }
  T ValueOrDie() && {
    if (!ok()) internal::DieOnBadResultAccess(status_);
    return std::move(*value_);
  }
  const T& operator*() const& { return ValueOrDie(); }
  T& operator*() & { return ValueOrDie(); }
  T operator*() && { return std::move(*this).ValueOrDie(); }
  const T* operator->() const { return &ValueOrDie(); }
  T* operator->() { return &ValueOrDie(); }

  T ValueOr(T fallback) && { return ok() ? std::move(*value_) : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;  // OK iff value_ holds a value.
};

}  // namespace drc

#define DRC_CONCAT_IMPL(a, b) a##b
#define DRC_CONCAT(a, b) DRC_CONCAT_IMPL(a, b)

#define DRC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).ValueOrDie()

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else assigns the value to `lhs`
// (which may be a declaration: `DRC_ASSIGN_OR_RETURN(auto x, F())`).
#define DRC_ASSIGN_OR_RETURN(lhs, rexpr) \
  DRC_ASSIGN_OR_RETURN_IMPL(DRC_CONCAT(_drc_result_, __COUNTER__), lhs, rexpr)

// Result<T>: a value or a non-OK Status (C++20 has no std::expected).
//
// Invariant: a Result holds either a T or a Status that is not OK; constructing one from an OK
// Status is a bug and becomes kInternal. value() on an error aborts (a bug in the caller, who
// must check ok() first); it never throws.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/status.h"

namespace stereospot {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  // OK when a value is held, else the error.
  const Status& status() const { return status_; }

  const T& value() const& {
    CheckOk();
    return *value_;
  }
  T& value() & {
    CheckOk();
    return *value_;
  }
  T&& value() && {
    CheckOk();
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void CheckOk() const {
    if (!value_.has_value()) {
      std::fprintf(stderr, "Result::value() on error: %s\n", status_.ToString().c_str());
      std::abort();
    }
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace stereospot

#define STEREOSPOT_CONCAT_INNER_(a, b) a##b
#define STEREOSPOT_CONCAT_(a, b) STEREOSPOT_CONCAT_INNER_(a, b)

// STEREOSPOT_ASSIGN_OR_RETURN(auto x, Foo()); returns Foo()'s Status when it failed.
#define STEREOSPOT_ASSIGN_OR_RETURN(lhs, expr) \
  STEREOSPOT_ASSIGN_OR_RETURN_IMPL_(STEREOSPOT_CONCAT_(stereospot_result_, __LINE__), lhs, expr)
#define STEREOSPOT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) return tmp.status();                     \
  lhs = std::move(tmp).value()

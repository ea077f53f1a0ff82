// Status: the error type that crosses every layer and every port.
//
// A Status is either OK or a code plus a human message. Codes are the project's domain, not a
// library's: each adapter maps its library's errors onto them in one function (SqliteError,
// AvError, ...), and callers decide retry versus failure from the code alone:
//   kUnavailable  transient; retrying the same call later may succeed (busy database, timeout).
//   kConflict     a conditional write lost (status changed, receipt stale, lease held).
//   everything else is permanent for the given input.
// OK carries no allocation. Statuses are cheap to copy and never throw.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace stereospot {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed or out of range
  kNotFound,         // the named job, object, message or key does not exist
  kAlreadyExists,    // a create-once write found the item already there
  kConflict,         // a conditional write's precondition did not hold
  kUnavailable,      // transient: busy, timed out, connection lost; safe to retry
  kPermanent,        // the input can never succeed (not a video, unsupported codec)
  kDataLoss,         // stored data is corrupt or truncated
  kCancelled,        // the work was cancelled or ownership was lost
  kIoError,          // the filesystem or network failed in a way not known to be transient
  kInternal,         // a bug: an invariant of ours did not hold
};

// Returns the stable lower-case name of a code ("not_found"), used in logs and API errors.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status Conflict(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Permanent(std::string msg) { return {StatusCode::kPermanent, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  // True when retrying the same operation later may succeed.
  bool IsRetryable() const { return code_ == StatusCode::kUnavailable; }

  // Returns the same code with "context: message", for adding where an error happened.
  Status WithContext(std::string_view context) const;

  // "OK" or "not_found: job 1234 does not exist".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace stereospot

// Returns the Status of an expression from the enclosing function when it is not OK. The
// temporary's name carries the line number so nested uses (lambdas) do not shadow each other.
#define STEREOSPOT_STATUS_CONCAT_INNER_(a, b) a##b
#define STEREOSPOT_STATUS_CONCAT_(a, b) STEREOSPOT_STATUS_CONCAT_INNER_(a, b)
#define STEREOSPOT_RETURN_IF_ERROR(expr) \
  STEREOSPOT_RETURN_IF_ERROR_IMPL_(STEREOSPOT_STATUS_CONCAT_(stereospot_status_, __LINE__), expr)
#define STEREOSPOT_RETURN_IF_ERROR_IMPL_(tmp, expr) \
  do {                                              \
    ::stereospot::Status tmp = (expr);              \
    if (!tmp.ok()) return tmp;                      \
  } while (false)

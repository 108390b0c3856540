// Errors as values on the request path.
//
// Status carries a code and a one-line message; StatusOr<T> carries either a value or a non-OK
// Status. Both are cheap to move and [[nodiscard]]. Library exceptions are caught at component
// boundaries and converted into a Status there.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mlfaas {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad user input (flag, file content, request field)
  kNotFound,            // named resource does not exist
  kAlreadyExists,       // resource with that name exists
  kFailedPrecondition,  // state forbids the operation (e.g. alias points at version)
  kDataLoss,            // corrupted or tampered data (bad digest, truncated zip)
  kResourceExhausted,   // limits reached (concurrency, payload size)
  kDeadlineExceeded,    // timeouts
  kUnavailable,         // transient: retry may succeed
  kUnimplemented,
  kInternal,  // bug or unexpected environment failure
};

// Stable, CamelCase name of a code ("InvalidArgument"), used in JSON error bodies and logs.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: function 'x' does not exist"
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}
inline Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
inline Status AlreadyExists(std::string msg) {
  return Status(StatusCode::kAlreadyExists, std::move(msg));
}
inline Status FailedPrecondition(std::string msg) {
  return Status(StatusCode::kFailedPrecondition, std::move(msg));
}
inline Status DataLoss(std::string msg) { return Status(StatusCode::kDataLoss, std::move(msg)); }
inline Status ResourceExhausted(std::string msg) {
  return Status(StatusCode::kResourceExhausted, std::move(msg));
}
inline Status DeadlineExceeded(std::string msg) {
  return Status(StatusCode::kDeadlineExceeded, std::move(msg));
}
inline Status Unavailable(std::string msg) {
  return Status(StatusCode::kUnavailable, std::move(msg));
}
inline Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "StatusOr needs a non-OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // Preconditions: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mlfaas

#define MLFAAS_CONCAT_INNER_(a, b) a##b
#define MLFAAS_CONCAT_(a, b) MLFAAS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define MLFAAS_RETURN_IF_ERROR(expr) \
  do {                               \
    ::mlfaas::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

// `MLFAAS_ASSIGN_OR_RETURN(auto x, F());` assigns the value or returns the error.
#define MLFAAS_ASSIGN_OR_RETURN(lhs, expr) \
  MLFAAS_ASSIGN_OR_RETURN_IMPL_(MLFAAS_CONCAT_(_statusor_, __LINE__), lhs, expr)
#define MLFAAS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

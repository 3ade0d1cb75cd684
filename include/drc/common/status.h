// Status: the one error currency of Deep RC (no exceptions cross a layer boundary).
//
// A Status is either OK (no allocation: a null pointer) or carries a code and a message.
// Build errors with the factories, e.g. `Status::InvalidArgument("ranks must be > 0, got ", n)`.
// Exceptions thrown by libraries (libtorch, yaml-cpp, gloo, std) are caught at one adapter per
// library and converted to a Status there. Thread-compatible: distinct objects may be used
// concurrently; a single object must not be mutated concurrently.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace drc {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // The caller's input is wrong (names the field and the problem).
  kNotFound = 2,
  kAlreadyExists = 3,
  kOutOfRange = 4,
  kIOError = 5,
  kTimeout = 6,  // A deadline passed (e.g. a peer never arrived at a collective).
  kAborted = 7,  // A peer failed or the communicator was aborted.
  kCancelled = 8,
  kResourceExhausted = 9,
  kFailedPrecondition = 10,
  kNotImplemented = 11,  // A feature that is not finished yet says so with this code.
  kInternal = 12,
  kUnavailable = 13,  // A backend or device that is not present on this machine/build.
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(StatusCode code, std::string message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }

#define DRC_STATUS_FACTORY(Name)                                             \
  template <typename... Args>                                                \
  static Status Name(Args&&... args) {                                       \
    return Status(StatusCode::k##Name, Concat(std::forward<Args>(args)...)); \
  }
  DRC_STATUS_FACTORY(InvalidArgument)
  DRC_STATUS_FACTORY(NotFound)
  DRC_STATUS_FACTORY(AlreadyExists)
  DRC_STATUS_FACTORY(OutOfRange)
  DRC_STATUS_FACTORY(IOError)
  DRC_STATUS_FACTORY(Timeout)
  DRC_STATUS_FACTORY(Aborted)
  DRC_STATUS_FACTORY(Cancelled)
  DRC_STATUS_FACTORY(ResourceExhausted)
  DRC_STATUS_FACTORY(FailedPrecondition)
  DRC_STATUS_FACTORY(NotImplemented)
  DRC_STATUS_FACTORY(Internal)
  DRC_STATUS_FACTORY(Unavailable)
#undef DRC_STATUS_FACTORY

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return ok() ? StatusCode::kOk : state_->code; }
  const std::string& message() const;

  // "Timeout: peer 3 did not arrive at allreduce within 5000 ms" (or "OK").
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

  template <typename... Args>
  static std::string Concat(Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return std::string();
    } else {
      std::ostringstream out;
      (out << ... << std::forward<Args>(args));
      return std::move(out).str();
    }
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

std::ostream& operator<<(std::ostream& out, const Status& status);

}  // namespace drc

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define DRC_RETURN_NOT_OK(expr)                \
  do {                                         \
    ::drc::Status _drc_status = (expr);        \
    if (!_drc_status.ok()) return _drc_status; \
  } while (false)

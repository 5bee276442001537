//===- Status.h - Errors as values for the runtime --------------*- C++ -*-===//
//
// Every runtime call that can fail on user input returns a Status (or a
// StatusOr<T>) carrying one line that names the file, key or tensor at fault;
// nothing aborts or throws on user input (IREE's rule; nlohmann::json, which
// throws, is used so that no exception leaves the runtime).
// Header-only: there is nothing to compile.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_STATUS_H
#define PONDER_RUNTIME_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ponder {

/// Success, or an error with a one-line message.
class [[nodiscard]] Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.text = std::move(message);
    return s;
  }
  bool isOk() const { return !failed; }
  explicit operator bool() const { return !failed; }
  /// The one-line message of an error ("" when ok).
  const std::string &message() const { return text; }

private:
  bool failed = false;
  std::string text;
};

/// A value of type T, or the error Status that explains why there is none.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value(std::move(value)) {}
  StatusOr(Status status) : status(std::move(status)) {
    assert(!this->status.isOk() && "StatusOr needs a value or an error");
    // Release builds: an ok Status without a value must still read as an
    // error, never as a value that is not there.
    if (this->status.isOk())
      this->status = Status::error("internal error: StatusOr without a value");
  }

  bool isOk() const { return value.has_value(); }
  explicit operator bool() const { return isOk(); }
  /// The error; ok() when there is a value.
  const Status &getStatus() const { return status; }

  T &operator*() {
    assert(isOk() && "dereferencing a StatusOr that holds an error");
    return *value;
  }
  const T &operator*() const {
    assert(isOk() && "dereferencing a StatusOr that holds an error");
    return *value;
  }
  T *operator->() { return &**this; }
  const T *operator->() const { return &**this; }

private:
  std::optional<T> value;
  Status status;
};

} // namespace ponder

#endif // PONDER_RUNTIME_STATUS_H

//===- Status.h - Errors as values for the runtime --------------*- C++ -*-===//
//
// Every runtime call that can fail on user input returns a Status (or a
// StatusOr<T>) carrying one line that names the file, key or tensor at fault;
// nothing aborts or throws on user input (IREE's rule; the project builds
// without exceptions).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_STATUS_H
#define PONDER_RUNTIME_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ponder {

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

template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value(std::move(value)) {}
  StatusOr(Status status) : status(std::move(status)) {
    assert(!this->status.isOk() && "StatusOr needs a value or an error");
  }
  bool isOk() const { return value.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status &getStatus() const { return status; }
  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }

private:
  std::optional<T> value;
  Status status;
};

} // namespace ponder

#endif // PONDER_RUNTIME_STATUS_H

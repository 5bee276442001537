//===- Json.h - A small strict JSON reader and writer -----------*- C++ -*-===//
//
// Enough JSON for safetensors headers and artifact descriptors, without
// exceptions or LLVM (the runtime links neither). Objects keep their key
// order; integers that fit int64 are kept exact.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_JSON_H
#define PONDER_RUNTIME_JSON_H

#include "runtime/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ponder::json {

class Value {
public:
  enum class Kind { Null, Bool, Integer, Number, String, Array, Object };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(std::vector<Value> items);
  static Value object(std::vector<Member> members);

  Kind kind() const { return type; }
  bool isInteger() const { return type == Kind::Integer; }
  bool isString() const { return type == Kind::String; }
  bool isArray() const { return type == Kind::Array; }
  bool isObject() const { return type == Kind::Object; }

  bool asBool() const { return b; }
  int64_t asInteger() const { return i; }
  double asNumber() const { return type == Kind::Integer ? double(i) : d; }
  const std::string &asString() const { return s; }
  const std::vector<Value> &items() const { return elements; }
  const std::vector<Member> &members() const { return fields; }
  /// The member called `key`, or null.
  const Value *find(std::string_view key) const;

private:
  Kind type = Kind::Null;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  std::vector<Value> elements;
  std::vector<Member> fields;
};

/// Parses one JSON value filling all of `text`. Errors name the byte offset.
StatusOr<Value> parse(std::string_view text);

/// Compact JSON text of `value`, members in their order.
std::string write(const Value &value);

} // namespace ponder::json

#endif // PONDER_RUNTIME_JSON_H

//===- Json.h - A small strict JSON reader and writer -----------*- C++ -*-===//
//
// Enough JSON (RFC 8259) for safetensors headers and artifact descriptors,
// without exceptions or LLVM (the runtime links neither). Strict: one value,
// no trailing text, no duplicate keys, no leading zeros, valid UTF-8 only,
// at most kMaxDepth nested arrays and objects (so hostile input cannot
// exhaust the stack). Objects keep their key order; integers that fit int64
// stay exact.
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

/// The deepest nesting of arrays and objects parse() accepts.
constexpr int kMaxDepth = 64;

class Value {
public:
  enum class Kind { Null, Bool, Integer, Number, String, Array, Object };
  using Member = std::pair<std::string, Value>;

  Value() = default; // null
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(std::vector<Value> items);
  static Value object(std::vector<Member> members);

  Kind kind() const { return type; }
  bool isNull() const { return type == Kind::Null; }
  bool isBool() const { return type == Kind::Bool; }
  bool isInteger() const { return type == Kind::Integer; }
  /// Any number: an integer or one with a fraction or exponent.
  bool isNumber() const {
    return type == Kind::Integer || type == Kind::Number;
  }
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

/// "null", "a boolean", "an integer", "a number", "a string", "an array",
/// "an object": for messages that say what was found.
std::string_view describe(Value::Kind kind);

/// Parses one JSON value filling all of `text` (whitespace around it is
/// fine). Errors read "JSON at byte N: expected ..., found ...".
StatusOr<Value> parse(std::string_view text);

/// Compact JSON text of `value`: members in their order, no spaces, only the
/// escapes JSON requires, numbers in their shortest round-trip form
/// (non-finite numbers, which JSON cannot express, as null). Strings must be
/// valid UTF-8 for the output to be valid JSON.
std::string write(const Value &value);

/// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF).
bool isValidUtf8(std::string_view text);

} // namespace ponder::json

#endif // PONDER_RUNTIME_JSON_H

//===- StrictJson.h - Strict JSON reading on nlohmann::json -----*- C++ -*-===//
//
// Safetensors headers and artifact descriptors are read with nlohmann::json
// (Debian's nlohmann-json3-dev), held to rules it does not enforce by
// itself: one value and no trailing text (no NUL or byte-order mark either),
// no duplicate keys (nlohmann keeps the last), integers exact in int64 (it
// turns larger ones into doubles), at most kMaxDepth nested arrays and
// objects. Objects keep their key order (ordered_json), so a file is read
// and written in the order it has.
//
// Errors are one line and no exception leaves these functions; a caller
// that checked a member with checkObject or checkArray may then read it with
// nlohmann's getters, which throw only on a type the check excludes.
//
// Internal to the runtime: not installed, so a trainer never needs nlohmann.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_STRICTJSON_H
#define PONDER_RUNTIME_STRICTJSON_H

#include "runtime/Status.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace ponder::json {

using Value = nlohmann::ordered_json;

/// The deepest nesting of arrays and objects parse() accepts.
constexpr int kMaxDepth = 64;

/// Parses one JSON value filling all of `text` (whitespace around it is
/// fine). Errors read "JSON at byte N: ...": "expected a value, found
/// 'x'", "duplicate key 'a'", "invalid UTF-8 in a string".
StatusOr<Value> parse(std::string_view text);

/// What a value holds, as checkObject and checkArray require it. An
/// integer is also a Number.
enum class Type { Boolean, Integer, Number, String, Array, Object };

/// "null", "a boolean", "an integer", "a number", "a string", "an array",
/// "an object": what a message says it found.
std::string_view describe(const Value &value);
/// The same for what a message says it expected.
std::string_view describe(Type type);

/// A member checkObject allows.
struct Field {
  std::string_view key;
  Type type;
  bool required = true;
};

/// The path of member `key` of the value at `path` ("" for the document):
/// "vocab.verbal", "entries[0].name".
std::string memberPath(const std::string &path, std::string_view key);

/// The path of element `index` of the array at `path`: "entries[0]".
std::string elementPath(const std::string &path, size_t index);

/// "key 'PATH': WHAT".
Status keyError(const std::string &path, const std::string &what);

/// Checks that the value at `path` is an object whose keys are all among
/// `fields`, each holding its type, with every required one present.
/// Errors: "key 'vocab.verbal': expected an integer, found a string",
/// "unknown key 'vocab.tink' (expected verbal or think)", "missing key
/// 'entries'".
Status checkObject(const Value &value, const std::string &path,
                   std::initializer_list<Field> fields);

/// Checks that the value at `path` is an array of `element`s: "key
/// 'parameters[2].shape[0]': expected an integer, found a number".
Status checkArray(const Value &value, const std::string &path, Type element);

} // namespace ponder::json

#endif // PONDER_RUNTIME_STRICTJSON_H

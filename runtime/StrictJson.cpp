//===- StrictJson.cpp - Strict JSON reading on nlohmann::json -------------===//

#include "runtime/StrictJson.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <istream>
#include <streambuf>
#include <utility>
#include <vector>

namespace ponder::json {

namespace {

std::string atByte(size_t at) { return "JSON at byte " + std::to_string(at); }

/// "JSON at byte N: expected WHAT, found 'x'" (or "byte 0xNN", or "the end
/// of the text").
std::string expectedFound(std::string_view text, size_t at,
                          std::string_view expected) {
  std::string found = "the end of the text";
  if (at < text.size()) {
    auto c = static_cast<unsigned char>(text[at]);
    char buffer[16];
    std::snprintf(buffer, sizeof(buffer),
                  c >= 0x20 && c < 0x7F ? "'%c'" : "byte 0x%02X", c);
    found = buffer;
  }
  return atByte(at) + ": expected " + std::string(expected) + ", found " +
         found;
}

/// The text as a stream, so that the builder knows how far nlohmann has
/// read when it refuses something.
class TextBuffer : public std::streambuf {
public:
  explicit TextBuffer(std::string_view text) {
    // The stream only reads: the cast never leads to a write.
    char *begin = const_cast<char *>(text.data());
    setg(begin, begin, begin + text.size());
  }
  size_t consumed() const { return size_t(gptr() - eback()); }
};

/// nlohmann's name of the token it expected, as our messages say it.
std::string_view expectedPhrase(std::string_view what) {
  static constexpr std::pair<std::string_view, std::string_view> kPhrases[] = {
      {"; expected '[', '{', or a literal", "a value"},
      {"; expected end of input", "the end of the text after the value"},
      {"; expected string literal", "a string key"},
      {"; expected ':'", "':' after a key"},
      {"; expected ']'", "',' or ']'"},
      {"; expected '}'", "',' or '}'"}};
  for (auto [suffix, phrase] : kPhrases)
    if (what.size() >= suffix.size() &&
        what.substr(what.size() - suffix.size()) == suffix)
      return phrase;
  return "a value";
}

/// One line from nlohmann's parse error: the lexer's complaint ("invalid
/// string: ..."), or what it expected and what stands there. The words are
/// nlohmann 3.11's; JsonTest pins what they become.
std::string translate(std::string_view text, size_t position,
                      const std::string &token, const Value::exception &e) {
  std::string what = e.what();
  // A number or string out of place is named at its first byte (nlohmann
  // has read it whole), anything else at the byte the parser stopped on.
  bool whole = e.id == 406 ||
               what.find("unexpected number literal") != std::string::npos ||
               what.find("unexpected string literal") != std::string::npos;
  size_t back = whole ? token.size() : 1;
  size_t at = std::min(position >= back ? position - back : 0, text.size());
  if (e.id == 406) // "[json.exception.out_of_range.406] number overflow..."
    return atByte(at) + ": " + what.substr(what.find("] ") + 2);
  size_t dash = what.find(" - "), lastRead = what.find("; last read: ");
  if (dash != std::string::npos && lastRead != std::string::npos) {
    std::string lexer = what.substr(dash + 3, lastRead - dash - 3);
    if (lexer == "invalid string: ill-formed UTF-8 byte")
      return atByte(at) + ": invalid UTF-8 in a string";
    if (lexer != "invalid literal")
      return atByte(at) + ": " + lexer;
  }
  return expectedFound(text, at, expectedPhrase(what));
}

/// Builds the document from nlohmann's SAX events, refusing what nlohmann
/// accepts and the runtime does not. Returning false stops the parser.
class StrictBuilder {
public:
  StrictBuilder(std::string_view text, const TextBuffer &buffer)
      : text(text), buffer(buffer) {}

  bool null() { return put(nullptr); }
  bool boolean(bool b) { return put(b); }
  bool number_integer(int64_t i) { return put(i); }
  bool number_unsigned(uint64_t u) {
    if (u > uint64_t(INT64_MAX))
      return tooLarge(std::to_string(u));
    return put(int64_t(u));
  }
  bool number_float(double d, const std::string &spelling) {
    // nlohmann reads an integer beyond 64 bits as a double.
    if (spelling.find_first_of(".eE") == std::string::npos)
      return tooLarge(spelling);
    return put(d);
  }
  bool string(std::string &s) { return put(std::move(s)); }
  bool binary(Value::binary_t &) { return fail("binary data"); }
  bool start_object(size_t) { return open(Value::object()); }
  bool start_array(size_t) { return open(Value::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string &k) {
    auto &members = stack.back()->get_ref<Value::object_t &>();
    auto [it, inserted] = members.emplace(k, nullptr);
    if (!inserted)
      return fail("duplicate key \"" + k + "\"");
    member = &it->second;
    return advance();
  }
  bool parse_error(size_t position, const std::string &token,
                   const Value::exception &e) {
    error = translate(text, position, token, e);
    return false;
  }

  Value root;
  std::string error;

private:
  bool tooLarge(const std::string &spelling) {
    return fail("integer " + spelling + " does not fit in 64 bits");
  }
  /// Where `value` goes: the root, the end of the open array, or the
  /// member whose key came last.
  Value *insert(Value value) {
    if (stack.empty())
      return &(root = std::move(value));
    if (Value &top = *stack.back(); top.is_array()) {
      top.push_back(std::move(value));
      return &top.back();
    }
    return &(*member = std::move(value));
  }
  bool put(Value value) {
    insert(std::move(value));
    return advance();
  }
  bool open(Value container) {
    if (stack.size() == size_t(kMaxDepth))
      return fail("more than " + std::to_string(kMaxDepth) +
                  " nested arrays or objects");
    stack.push_back(insert(std::move(container)));
    return advance();
  }
  bool close() {
    stack.pop_back();
    return advance();
  }
  bool advance() {
    end = buffer.consumed();
    return true;
  }
  /// An error at the token after the last one accepted.
  bool fail(const std::string &what) {
    size_t at = std::min(text.find_first_not_of(" \t\n\r,:", end), text.size());
    error = atByte(at) + ": " + what;
    return false;
  }

  std::string_view text;
  const TextBuffer &buffer;
  size_t end = 0;             // where the last accepted token ends
  std::vector<Value *> stack; // the open arrays and objects
  Value *member = nullptr;    // the value of the last key
};

/// Tests for each Type, in its order; Integer comes before Number so that
/// describe() calls an integer an integer.
constexpr struct {
  std::string_view name;
  bool (Value::*holds)() const noexcept;
} kTypes[] = {{"a boolean", &Value::is_boolean},
              {"an integer", &Value::is_number_integer},
              {"a number", &Value::is_number},
              {"a string", &Value::is_string},
              {"an array", &Value::is_array},
              {"an object", &Value::is_object}};

bool holds(const Value &value, Type type) {
  return (value.*kTypes[size_t(type)].holds)();
}

Status mismatch(const Value &value, const std::string &path, Type type) {
  std::string what = "expected " + std::string(describe(type)) + ", found " +
                     std::string(describe(value));
  return path.empty() ? Status::error(what) : keyError(path, what);
}

} // namespace

StatusOr<Value> parse(std::string_view text) {
  // nlohmann skips a byte-order mark and stops at a NUL byte; JSON has
  // neither.
  if (!text.empty() && static_cast<unsigned char>(text[0]) == 0xEF)
    return Status::error(expectedFound(text, 0, "a value"));
  TextBuffer buffer(text);
  std::istream stream(&buffer);
  StrictBuilder builder(text, buffer);
  try {
    if (!Value::sax_parse(stream, &builder))
      return Status::error(builder.error);
  } catch (const std::exception &e) { // std::bad_alloc
    return Status::error(std::string("JSON: ") + e.what());
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    return Status::error(
        expectedFound(text, nul, "the end of the text after the value"));
  return std::move(builder.root);
}

std::string_view describe(const Value &value) {
  if (value.is_null())
    return "null";
  for (const auto &type : kTypes)
    if ((value.*type.holds)())
      return type.name;
  return "binary data";
}

std::string_view describe(Type type) { return kTypes[size_t(type)].name; }

std::string memberPath(const std::string &path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string elementPath(const std::string &path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

Status keyError(const std::string &path, const std::string &what) {
  return Status::error("key '" + path + "': " + what);
}

Status checkObject(const Value &value, const std::string &path,
                   std::initializer_list<Field> fields) {
  if (!value.is_object())
    return mismatch(value, path, Type::Object);
  for (const auto &[key, member] : value.items()) {
    const Field *field =
        std::find_if(fields.begin(), fields.end(),
                     [&, &key = key](const Field &f) { return f.key == key; });
    if (field == fields.end()) {
      std::string known;
      for (const Field &f : fields)
        known += (known.empty() ? "" : ", ") + std::string(f.key);
      return Status::error("unknown key '" + memberPath(path, key) +
                           "' (expected one of: " + known + ")");
    }
    if (!holds(member, field->type))
      return mismatch(member, memberPath(path, key), field->type);
  }
  for (const Field &f : fields)
    if (f.required && !value.contains(std::string(f.key)))
      return Status::error("missing key '" + memberPath(path, f.key) + "'");
  return Status::ok();
}

Status checkArray(const Value &value, const std::string &path, Type element) {
  if (!value.is_array())
    return mismatch(value, path, Type::Array);
  for (size_t i = 0; i < value.size(); ++i)
    if (!holds(value[i], element))
      return mismatch(value[i], elementPath(path, i), element);
  return Status::ok();
}

} // namespace ponder::json

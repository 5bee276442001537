//===- Json.cpp - A small strict JSON reader and writer -------------------===//

#include "runtime/Json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ponder::json {

Value Value::boolean(bool v) {
  Value x;
  x.type = Kind::Bool;
  x.b = v;
  return x;
}
Value Value::integer(int64_t v) {
  Value x;
  x.type = Kind::Integer;
  x.i = v;
  return x;
}
Value Value::number(double v) {
  Value x;
  x.type = Kind::Number;
  x.d = v;
  return x;
}
Value Value::string(std::string v) {
  Value x;
  x.type = Kind::String;
  x.s = std::move(v);
  return x;
}
Value Value::array(std::vector<Value> v) {
  Value x;
  x.type = Kind::Array;
  x.elements = std::move(v);
  return x;
}
Value Value::object(std::vector<Member> v) {
  Value x;
  x.type = Kind::Object;
  x.fields = std::move(v);
  return x;
}

const Value *Value::find(std::string_view key) const {
  for (const Member &m : fields)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

namespace {

/// Length of the well-formed UTF-8 sequence that starts `s`, or 0 if there
/// is none (the Unicode standard's table 3-7: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
size_t utf8SequenceLength(std::string_view s) {
  auto byte = [&](size_t k) -> unsigned {
    return k < s.size() ? static_cast<unsigned char>(s[k]) : 0;
  };
  auto tail = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  unsigned c = byte(0);
  if (s.empty())
    return 0;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return tail(1) ? 2 : 0;
  if (c == 0xE0)
    return tail(1, 0xA0) && tail(2) ? 3 : 0;
  if (c == 0xED)
    return tail(1, 0x80, 0x9F) && tail(2) ? 3 : 0;
  if (c >= 0xE1 && c <= 0xEF)
    return tail(1) && tail(2) ? 3 : 0;
  if (c == 0xF0)
    return tail(1, 0x90) && tail(2) && tail(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3)
    return tail(1) && tail(2) && tail(3) ? 4 : 0;
  if (c == 0xF4)
    return tail(1, 0x80, 0x8F) && tail(2) && tail(3) ? 4 : 0;
  return 0;
}

void appendUtf8(std::string &s, uint32_t cp) {
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// Recursive descent; the depth limit bounds the recursion. Each parse
/// function returns false after recording the first error.
class Parser {
public:
  explicit Parser(std::string_view text) : text(text) {}

  StatusOr<Value> parseDocument() {
    Value v;
    if (!parseValue(v, 0))
      return error;
    skipSpace();
    if (at != text.size()) {
      expected("the end of the text after the value");
      return error;
    }
    return v;
  }

private:
  bool fail(const std::string &what) {
    error = Status::error("JSON at byte " + std::to_string(at) + ": " + what);
    return false;
  }
  /// "expected WHAT, found <what is at the cursor>".
  bool expected(const std::string &what) {
    std::string found = "the end of the text";
    if (at < text.size()) {
      unsigned char c = text[at];
      char buffer[16];
      if (c >= 0x20 && c < 0x7F)
        std::snprintf(buffer, sizeof(buffer), "'%c'", c);
      else
        std::snprintf(buffer, sizeof(buffer), "byte 0x%02X", c);
      found = buffer;
    }
    return fail("expected " + what + ", found " + found);
  }
  bool peek(char c) const { return at < text.size() && text[at] == c; }
  void skipSpace() {
    while (peek(' ') || peek('\t') || peek('\n') || peek('\r'))
      ++at;
  }
  bool literal(std::string_view word) {
    if (text.substr(at, word.size()) != word)
      return false;
    at += word.size();
    return true;
  }

  /// `depth` counts the arrays and objects around the value.
  bool parseValue(Value &out, int depth) {
    skipSpace();
    if ((peek('{') || peek('[')) && depth == kMaxDepth)
      return fail("more than " + std::to_string(kMaxDepth) +
                  " nested arrays or objects");
    if (peek('{'))
      return parseObject(out, depth + 1);
    if (peek('['))
      return parseArray(out, depth + 1);
    if (peek('"')) {
      std::string s;
      if (!parseString(s))
        return false;
      out = Value::string(std::move(s));
      return true;
    }
    if (peek('-') || (at < text.size() && isDigit(text[at])))
      return parseNumber(out);
    if (literal("true"))
      out = Value::boolean(true);
    else if (literal("false"))
      out = Value::boolean(false);
    else if (literal("null"))
      out = Value();
    else
      return expected("a value");
    return true;
  }

  bool parseNumber(Value &out) {
    size_t start = at;
    auto digits = [&] {
      if (at >= text.size() || !isDigit(text[at]))
        return false;
      while (at < text.size() && isDigit(text[at]))
        ++at;
      return true;
    };
    if (peek('-'))
      ++at;
    if (peek('0')) {
      ++at;
      if (at < text.size() && isDigit(text[at]))
        return fail("number with a leading zero");
    } else if (!digits()) {
      return expected("a digit");
    }
    bool isInteger = true;
    if (peek('.')) {
      ++at;
      isInteger = false;
      if (!digits())
        return expected("a digit after '.'");
    }
    if (peek('e') || peek('E')) {
      ++at;
      isInteger = false;
      if (peek('+') || peek('-'))
        ++at;
      if (!digits())
        return expected("a digit in the exponent");
    }
    const char *first = text.data() + start, *last = text.data() + at;
    std::string spelling(first, last);
    // from_chars, unlike strtod, ignores the C locale's decimal point.
    if (isInteger) {
      int64_t v = 0;
      if (std::from_chars(first, last, v).ec != std::errc()) {
        at = start;
        return fail("integer " + spelling + " does not fit in 64 bits");
      }
      out = Value::integer(v);
      return true;
    }
    double v = 0;
    if (std::from_chars(first, last, v).ec != std::errc()) {
      at = start;
      return fail("number " + spelling + " is out of the range of a double");
    }
    out = Value::number(v);
    return true;
  }

  bool hex4(uint32_t &cp) {
    cp = 0;
    for (int k = 0; k < 4; ++k, ++at) {
      char c = at < text.size() ? text[at] : '\0';
      cp <<= 4;
      if (isDigit(c))
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return expected("4 hex digits after \\u");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++at; // the opening quote
    while (true) {
      if (at >= text.size())
        return expected("'\"' to close the string");
      unsigned char c = text[at];
      if (c == '"') {
        ++at;
        return true;
      }
      if (c < 0x20)
        return expected("a character (control characters must be escaped)");
      if (c >= 0x80) {
        size_t n = utf8SequenceLength(text.substr(at));
        if (n == 0)
          return fail("invalid UTF-8 in a string");
        out.append(text.substr(at, n));
        at += n;
        continue;
      }
      ++at;
      if (c != '\\') {
        out += char(c);
        continue;
      }
      if (!parseEscape(out))
        return false;
    }
  }

  /// After a backslash: one of \" \\ \/ \b \f \n \r \t \uXXXX, where a
  /// UTF-16 surrogate pair \uD8xx\uDCxx makes one code point.
  bool parseEscape(std::string &out) {
    char e = at < text.size() ? text[at] : '\0';
    static constexpr std::string_view from = "\"\\/bfnrt",
                                      to = "\"\\/\b\f\n\r\t";
    if (size_t k = from.find(e); k != std::string_view::npos) {
      ++at;
      out += to[k];
      return true;
    }
    if (e != 'u')
      return expected(
          "an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
    size_t start = at - 1;
    ++at;
    uint32_t cp;
    if (!hex4(cp))
      return false;
    if (cp >= 0xDC00 && cp < 0xE000) {
      at = start;
      return fail("unpaired low surrogate in \\u escape");
    }
    if (cp >= 0xD800 && cp < 0xDC00) {
      uint32_t low = 0;
      if (text.substr(at, 2) != "\\u")
        return expected("a \\u low surrogate after a high surrogate");
      at += 2;
      if (!hex4(low))
        return false;
      if (low < 0xDC00 || low >= 0xE000) {
        at -= 6;
        return expected("a \\u low surrogate (DC00-DFFF)");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, cp);
    return true;
  }

  bool parseArray(Value &out, int depth) {
    ++at;
    std::vector<Value> items;
    skipSpace();
    if (peek(']')) {
      ++at;
      out = Value::array({});
      return true;
    }
    while (true) {
      Value v;
      if (!parseValue(v, depth))
        return false;
      items.push_back(std::move(v));
      skipSpace();
      if (peek(',')) {
        ++at;
        continue;
      }
      if (!peek(']'))
        return expected("',' or ']' in an array");
      ++at;
      out = Value::array(std::move(items));
      return true;
    }
  }

  bool parseObject(Value &out, int depth) {
    ++at;
    std::vector<Value::Member> members;
    skipSpace();
    if (peek('}')) {
      ++at;
      out = Value::object({});
      return true;
    }
    while (true) {
      skipSpace();
      if (!peek('"'))
        return expected("a string key in an object");
      size_t keyAt = at;
      std::string key;
      if (!parseString(key))
        return false;
      for (const Value::Member &m : members) {
        if (m.first == key) {
          at = keyAt;
          return fail("duplicate key \"" + key + "\"");
        }
      }
      skipSpace();
      if (!peek(':'))
        return expected("':' after a key");
      ++at;
      Value v;
      if (!parseValue(v, depth))
        return false;
      members.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (peek(',')) {
        ++at;
        continue;
      }
      if (!peek('}'))
        return expected("',' or '}' in an object");
      ++at;
      out = Value::object(std::move(members));
      return true;
    }
  }

  std::string_view text;
  size_t at = 0;
  Status error;
};

void writeString(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    static constexpr std::string_view from = "\"\\\b\f\n\r\t", to = "\"\\bfnrt";
    if (size_t k = from.find(char(c)); k != std::string_view::npos) {
      out += '\\';
      out += to[k];
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
      out += buffer;
    } else {
      out += char(c);
    }
  }
  out += '"';
}

void writeNumber(std::string &out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buffer[32];
  char *end = std::to_chars(buffer, buffer + sizeof(buffer), d).ptr;
  std::string_view text(buffer, end - buffer);
  out += text;
  // Keep the kind on a round trip: "35" would read back as an integer.
  if (text.find_first_of(".e") == std::string_view::npos)
    out += ".0";
}

void writeValue(std::string &out, const Value &v) {
  switch (v.kind()) {
  case Value::Kind::Null:
    out += "null";
    return;
  case Value::Kind::Bool:
    out += v.asBool() ? "true" : "false";
    return;
  case Value::Kind::Integer:
    out += std::to_string(v.asInteger());
    return;
  case Value::Kind::Number:
    writeNumber(out, v.asNumber());
    return;
  case Value::Kind::String:
    writeString(out, v.asString());
    return;
  case Value::Kind::Array:
    out += '[';
    for (size_t k = 0; k < v.items().size(); ++k) {
      if (k)
        out += ',';
      writeValue(out, v.items()[k]);
    }
    out += ']';
    return;
  case Value::Kind::Object:
    out += '{';
    for (size_t k = 0; k < v.members().size(); ++k) {
      if (k)
        out += ',';
      writeString(out, v.members()[k].first);
      out += ':';
      writeValue(out, v.members()[k].second);
    }
    out += '}';
    return;
  }
}

} // namespace

std::string_view describe(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return "a boolean";
  case Value::Kind::Integer:
    return "an integer";
  case Value::Kind::Number:
    return "a number";
  case Value::Kind::String:
    return "a string";
  case Value::Kind::Array:
    return "an array";
  case Value::Kind::Object:
    return "an object";
  }
  return "?";
}

StatusOr<Value> parse(std::string_view text) {
  return Parser(text).parseDocument();
}

std::string write(const Value &value) {
  std::string out;
  writeValue(out, value);
  return out;
}

bool isValidUtf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    size_t n = utf8SequenceLength(text.substr(at));
    if (n == 0)
      return false;
    at += n;
  }
  return true;
}

} // namespace ponder::json

//===- Json.cpp - A small strict JSON reader and writer -------------------===//

#include "runtime/Json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

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

constexpr int kMaxDepth = 64;

class Parser {
public:
  explicit Parser(std::string_view text) : text(text) {}

  StatusOr<Value> parseDocument() {
    Value v;
    if (!parseValue(v, 0))
      return Status::error(error);
    skipSpace();
    if (at != text.size())
      return fail("trailing characters after the JSON value");
    return v;
  }

private:
  Status fail(const std::string &what) {
    return Status::error("JSON at byte " + std::to_string(at) + ": " + what);
  }
  bool setError(const std::string &what) {
    error = "JSON at byte " + std::to_string(at) + ": " + what;
    return false;
  }
  void skipSpace() {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' ||
                                text[at] == '\n' || text[at] == '\r'))
      ++at;
  }
  bool literal(std::string_view word) {
    if (text.substr(at, word.size()) != word)
      return false;
    at += word.size();
    return true;
  }

  bool parseValue(Value &out, int depth) {
    if (depth > kMaxDepth)
      return setError("nesting deeper than 64");
    skipSpace();
    if (at >= text.size())
      return setError("expected a value, got the end of the text");
    char c = text[at];
    if (c == '{')
      return parseObject(out, depth);
    if (c == '[')
      return parseArray(out, depth);
    if (c == '"') {
      std::string s;
      if (!parseString(s))
        return false;
      out = Value::string(std::move(s));
      return true;
    }
    if (literal("true")) {
      out = Value::boolean(true);
      return true;
    }
    if (literal("false")) {
      out = Value::boolean(false);
      return true;
    }
    if (literal("null")) {
      out = Value();
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(out);
    return setError(std::string("unexpected character '") + c + "'");
  }

  bool parseNumber(Value &out) {
    size_t start = at;
    if (text[at] == '-')
      ++at;
    auto digits = [&] {
      size_t from = at;
      while (at < text.size() && text[at] >= '0' && text[at] <= '9')
        ++at;
      return at > from;
    };
    if (!digits())
      return setError("expected digits");
    bool isInteger = true;
    if (at < text.size() && text[at] == '.') {
      ++at;
      isInteger = false;
      if (!digits())
        return setError("expected digits after '.'");
    }
    if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
      ++at;
      isInteger = false;
      if (at < text.size() && (text[at] == '+' || text[at] == '-'))
        ++at;
      if (!digits())
        return setError("expected an exponent");
    }
    std::string number(text.substr(start, at - start));
    errno = 0;
    if (isInteger) {
      long long v = std::strtoll(number.c_str(), nullptr, 10);
      if (errno == ERANGE) {
        at = start;
        return setError("integer " + number + " does not fit in 64 bits");
      }
      out = Value::integer(v);
      return true;
    }
    out = Value::number(std::strtod(number.c_str(), nullptr));
    return true;
  }

  static void appendUtf8(std::string &s, uint32_t cp) {
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

  bool hex4(uint32_t &cp) {
    if (at + 4 > text.size())
      return setError("truncated \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[at++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return setError("bad hex digit in \\u escape");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++at; // opening quote
    while (true) {
      if (at >= text.size())
        return setError("unterminated string");
      char c = text[at++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return setError("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at >= text.size())
        return setError("unterminated escape");
      char e = text[at++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00) { // surrogate pair
          uint32_t low;
          if (text.substr(at, 2) != "\\u")
            return setError("unpaired surrogate in \\u escape");
          at += 2;
          if (!hex4(low))
            return false;
          if (low < 0xDC00 || low >= 0xE000)
            return setError("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        return setError(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  bool parseArray(Value &out, int depth) {
    ++at;
    std::vector<Value> items;
    skipSpace();
    if (at < text.size() && text[at] == ']') {
      ++at;
      out = Value::array({});
      return true;
    }
    while (true) {
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      items.push_back(std::move(v));
      skipSpace();
      if (at < text.size() && text[at] == ',') {
        ++at;
        continue;
      }
      if (at < text.size() && text[at] == ']') {
        ++at;
        out = Value::array(std::move(items));
        return true;
      }
      return setError("expected ',' or ']' in an array");
    }
  }

  bool parseObject(Value &out, int depth) {
    ++at;
    std::vector<Value::Member> members;
    skipSpace();
    if (at < text.size() && text[at] == '}') {
      ++at;
      out = Value::object({});
      return true;
    }
    while (true) {
      skipSpace();
      if (at >= text.size() || text[at] != '"')
        return setError("expected a string key in an object");
      std::string key;
      if (!parseString(key))
        return false;
      for (const auto &m : members)
        if (m.first == key)
          return setError("duplicate key \"" + key + "\"");
      skipSpace();
      if (at >= text.size() || text[at] != ':')
        return setError("expected ':' after a key");
      ++at;
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      members.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (at < text.size() && text[at] == ',') {
        ++at;
        continue;
      }
      if (at < text.size() && text[at] == '}') {
        ++at;
        out = Value::object(std::move(members));
        return true;
      }
      return setError("expected ',' or '}' in an object");
    }
  }

  std::string_view text;
  size_t at = 0;
  std::string error;
};

void writeString(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
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
  case Value::Kind::Number: {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", v.asNumber());
    out += buffer;
    return;
  }
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

StatusOr<Value> parse(std::string_view text) {
  return Parser(text).parseDocument();
}

std::string write(const Value &value) {
  std::string out;
  writeValue(out, value);
  return out;
}

} // namespace ponder::json

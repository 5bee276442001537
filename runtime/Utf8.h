//===- Utf8.h - UTF-8 validity ----------------------------------*- C++ -*-===//
//
// For text the runtime writes into JSON (tensor names, metadata) and reads
// as training data. nlohmann::json checks UTF-8 only by throwing, and only
// when it serializes.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_UTF8_H
#define PONDER_RUNTIME_UTF8_H

#include <string_view>

namespace ponder {

/// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF).
bool isValidUtf8(std::string_view text);

} // namespace ponder

#endif // PONDER_RUNTIME_UTF8_H

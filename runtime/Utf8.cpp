//===- Utf8.cpp - UTF-8 validity ------------------------------------------===//

#include "runtime/Utf8.h"

#include <cstddef>

namespace ponder {

bool isValidUtf8(std::string_view text) {
  auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  for (size_t at = 0; at < text.size();) {
    unsigned c = byte(at);
    if (c < 0x80) {
      ++at;
      continue;
    }
    // The Unicode standard's table 3-7: the lead byte gives the length and
    // the range of the second byte; later bytes are 80-BF.
    size_t length = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    unsigned low = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned high = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (c < 0xC2 || c > 0xF4 || text.size() - at < length ||
        byte(at + 1) < low || byte(at + 1) > high)
      return false;
    for (size_t k = 2; k < length; ++k)
      if (byte(at + k) < 0x80 || byte(at + k) > 0xBF)
        return false;
    at += length;
  }
  return true;
}

} // namespace ponder

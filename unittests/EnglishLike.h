//===- EnglishLike.h - A small deterministic English-like text --*- C++ -*-===//
//
// Text for the tokenizer and corpus tests: sentences from small word lists
// (a non-ASCII word, doubled spaces and tab-indented attributions among
// them), the same on every machine.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_UNITTESTS_ENGLISHLIKE_H
#define PONDER_UNITTESTS_ENGLISHLIKE_H

#include <cstdint>
#include <string>

namespace ponder {

inline std::string englishLike(int lines) {
  const char *subjects[] = {"The cat",     "A banker",    "My friend", "Nobody",
                            "The old man", "Every child", "She",       "We"};
  const char *verbs[] = {"likes", "sees",  "wants", "remembers",
                         "reads", "finds", "lends", "forgets"};
  const char *objects[] = {"the umbrella", "a book",    "the sun",
                           "the rain",     "a classic", "the caf\xc3\xa9",
                           "his kingdom",  "a horse"};
  std::string text;
  uint64_t state = 7;
  for (int i = 0; i < lines; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    text += subjects[(state >> 33) % 8];
    text += (state >> 40) % 5 == 0 ? "  " : " ";
    text += verbs[(state >> 44) % 8];
    text += " ";
    text += objects[(state >> 50) % 8];
    text += (state >> 56) % 3 == 0 ? ".\n\t-- Mark Twain\n" : ".\n";
  }
  return text;
}

} // namespace ponder

#endif // PONDER_UNITTESTS_ENGLISHLIKE_H

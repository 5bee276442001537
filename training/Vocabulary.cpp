//===- Vocabulary.cpp - Text <-> verbal token ids -------------------------===//

#include "training/Vocabulary.h"

#include "training/SentencePiece.h"

#include <algorithm>

namespace ponder {

namespace {
constexpr int32_t kByteBos = 256, kByteEos = 257;
} // namespace

Vocabulary Vocabulary::bytes() {
  Vocabulary v;
  v.isBytes = true;
  v.bos_ = kByteBos;
  v.eos_ = kByteEos;
  return v;
}

Vocabulary Vocabulary::symbols(std::vector<std::string> symbols) {
  Vocabulary v;
  v.table = std::move(symbols);
  auto find = [&](std::string_view s) {
    auto it = std::find(v.table.begin(), v.table.end(), s);
    return it == v.table.end() ? -1 : int32_t(it - v.table.begin());
  };
  v.bos_ = find("<bos>");
  v.eos_ = find("<eos>");
  return v;
}

StatusOr<Vocabulary> Vocabulary::sentencePiece(const std::string &path) {
  auto loaded = SentencePiece::load(path);
  if (!loaded)
    return loaded.getStatus();
  Vocabulary v;
  v.tokenizer = std::move(*loaded);
  v.tokenizerHash = v.tokenizer->hash();
  v.bos_ = v.tokenizer->bos();
  v.eos_ = v.tokenizer->eos();
  return v;
}

std::optional<Vocabulary> Vocabulary::task(std::string_view name) {
  // The id layouts documented in examples/models/*.toml.
  if (name == "parity")
    return symbols({"0", "1", "<bos>", "<eos>", "|", "<pad>"});
  if (name == "addition")
    return symbols({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=",
                    "<bos>", "<eos>", "<pad>", "|"});
  if (name == "reverse")
    return symbols({"a", "b", "c", "d", "e", "f", "g", "h", "<bos>", "<eos>",
                    "|", "<pad>"});
  if (name == "oracle-mix")
    return symbols({"0", "1", "<bos>", "<eos>", "<pad>"});
  if (name == "multiplication")
    return symbols({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "=",
                    "<bos>", "<eos>", "<pad>"});
  if (name == "permutations") {
    // Digits 0..3 (one-line notation), then the elements of S_N as letters
    // a..x (docs/tasks.md).
    std::vector<std::string> table = {"0", "1", "2", "3"};
    for (char c = 'a'; c <= 'x'; ++c)
      table.push_back(std::string(1, c));
    for (const char *s : {"=", "<bos>", "<eos>", "<pad>"})
      table.push_back(s);
    return symbols(std::move(table));
  }
  if (name == "permutations5") {
    // S_5 has 120 elements, too many for one letter each: digits 0..4, then
    // the elements as two letters aa, ab, .., az, ba, .., ep (element i is
    // 'a' + i / 26, 'a' + i % 26). No symbol is a single letter, so the
    // longest match reads letters in pairs (docs/tasks.md).
    std::vector<std::string> table = {"0", "1", "2", "3", "4"};
    for (int i = 0; i < 120; ++i)
      table.push_back({char('a' + i / 26), char('a' + i % 26)});
    for (const char *s : {"=", "<bos>", "<eos>", "<pad>"})
      table.push_back(s);
    return symbols(std::move(table));
  }
  return std::nullopt;
}

int64_t Vocabulary::size() const {
  if (tokenizer)
    return tokenizer->size();
  return isBytes ? kByteEos + 1 : static_cast<int64_t>(table.size());
}

int64_t Vocabulary::byteLength(int32_t id) const {
  if (id < 0 || id >= size() || id == bos_ || id == eos_)
    return 0;
  if (tokenizer)
    return tokenizer->byteLength(id);
  if (isBytes)
    return 1;
  return static_cast<int64_t>(table[size_t(id)].size());
}

std::string Vocabulary::describe() const {
  if (tokenizer)
    return "a tokenizer of " + std::to_string(size()) + " pieces";
  return isBytes ? "bytes" : "symbols";
}

bool Vocabulary::encode(std::string_view text, std::vector<int32_t> &ids,
                        std::string &error) const {
  if (tokenizer) {
    std::vector<int32_t> pieces = tokenizer->encode(text);
    ids.insert(ids.end(), pieces.begin(), pieces.end());
    return true;
  }
  if (isBytes) {
    for (unsigned char c : text)
      ids.push_back(c);
    return true;
  }
  size_t at = 0;
  while (at < text.size()) {
    int32_t best = -1;
    size_t bestLength = 0;
    for (size_t id = 0; id < table.size(); ++id) {
      const std::string &s = table[id];
      if (s.size() > bestLength && text.substr(at, s.size()) == s) {
        best = static_cast<int32_t>(id);
        bestLength = s.size();
      }
    }
    if (best < 0) {
      error = "byte " + std::to_string(at) + ": '" +
              std::string(text.substr(at, 1)) + "' is not in the vocabulary";
      return false;
    }
    ids.push_back(best);
    at += bestLength;
  }
  return true;
}

std::string Vocabulary::decode(const std::vector<int32_t> &ids,
                               int64_t verbalVocab, bool showThoughts) const {
  if (tokenizer)
    return decodePieces(ids, verbalVocab, showThoughts);
  std::string text;
  for (int32_t id : ids) {
    if (id >= verbalVocab) {
      if (showThoughts)
        text += "<t" + std::to_string(id - verbalVocab) + ">";
      continue;
    }
    if (isBytes) {
      if (id < 256)
        text += static_cast<char>(id);
      else if (id == kByteBos)
        text += "<bos>";
      else if (id == kByteEos)
        text += "<eos>";
      else
        text += "<v" + std::to_string(id) + ">";
      continue;
    }
    if (id >= 0 && static_cast<size_t>(id) < table.size())
      text += table[id];
    else
      text += "<v" + std::to_string(id) + ">";
  }
  return text;
}

// Runs of verbal ids decode together: a piece's leading space or a
// character split into byte pieces reads right only beside its neighbours.
std::string Vocabulary::decodePieces(const std::vector<int32_t> &ids,
                                     int64_t verbalVocab,
                                     bool showThoughts) const {
  std::string text;
  std::vector<int32_t> run;
  auto flush = [&] {
    text += tokenizer->decode(run);
    run.clear();
  };
  for (int32_t id : ids) {
    if (id >= 0 && id < std::min(verbalVocab, size())) {
      run.push_back(id);
      continue;
    }
    flush();
    if (id >= verbalVocab && showThoughts)
      text += "<t" + std::to_string(id - verbalVocab) + ">";
    else if (id < verbalVocab)
      text += "<v" + std::to_string(id) + ">";
  }
  flush();
  return text;
}

} // namespace ponder

//===- Tasks.cpp - Built-in training tasks --------------------------------===//

#include "training/Tasks.h"

#include "runtime/Hash.h"
#include "runtime/Utf8.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

namespace ponder {

Task::~Task() = default;

namespace {

/// The random stream of one example: splitmix64 from a hash of
/// (seed, split, index), so any example can be drawn without the others.
class Stream {
public:
  Stream(uint64_t seed, Split split, uint64_t index)
      : state(fnv1a(std::to_string(seed) +
                    (split == Split::Train ? ":train:" : ":heldout:") +
                    std::to_string(index))) {}
  uint64_t next() { return splitmix64(state); }
  /// Uniform in [0, n); the modulo bias is negligible for n far below 2^64.
  uint64_t below(uint64_t n) { return next() % n; }
  /// Uniform in [0, 1), 53 bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state;
};

/// Problems (prompts) whose mixed hash is 0 mod 10 are held out. FNV-1a's
/// low bits alone would track the parity of the symbols' low bits (every
/// step multiplies by an odd prime), so a parity task's held-out split
/// would hold one answer only; splitmix64 mixes every bit.
bool isHeldOut(const std::string &problem) {
  uint64_t state = fnv1a(problem);
  return splitmix64(state) % 10 == 0;
}

/// A vocabulary's id of `symbol`, or -1 when it is not one symbol.
int32_t idOf(const Vocabulary &v, const std::string &symbol) {
  std::vector<int32_t> ids;
  std::string error;
  if (!v.encode(symbol, ids, error) || ids.size() != 1)
    return -1;
  return ids[0];
}

/// Builds examples token by token.
struct Builder {
  Example e;
  void add(int32_t id, float weight, bool scored) {
    e.ids.push_back(id);
    e.targetWeight.push_back(weight);
    e.scored.push_back(scored ? 1 : 0);
  }
};

/// Whether k < base^length, without overflowing.
bool belowPower(uint64_t k, uint64_t base, int64_t length) {
  uint64_t limit = 1;
  for (int64_t i = 0; i < length; ++i) {
    if (limit > k / base) // limit * base > k, and it only grows
      return true;
    limit *= base;
  }
  return k < limit;
}

/// `value` in base `base` with exactly `width` digits, most significant
/// first, each digit d written as `zero + d`.
std::string digits(uint64_t value, uint64_t base, int64_t width, char zero) {
  std::string s(size_t(width), zero);
  for (int64_t i = width - 1; i >= 0; --i, value /= base)
    s[size_t(i)] = char(zero + value % base);
  return s;
}

/// A task whose examples are `<bos> prompt answer <eos>` over a symbol
/// vocabulary, drawn by rejection until the prompt falls in the split.
class SymbolTask : public Task {
public:
  SymbolTask(std::string name, std::string_view vocabName)
      : taskName(std::move(name)), vocab(*Vocabulary::task(vocabName)) {
    for (int c = 0; c < 256; ++c)
      ids[size_t(c)] = idOf(vocab, std::string(1, char(c)));
    // draw() never writes '<', so only longer symbols without it (S_5's
    // `aa`) need the vocabulary's longest match.
    for (int32_t id = 0; id < vocab.size(); ++id) {
      std::string symbol = vocab.decode({id}, vocab.size(), false);
      oneCharacter = oneCharacter && (symbol.size() == 1 || symbol[0] == '<');
    }
  }
  std::string name() const override { return taskName; }
  const Vocabulary &vocabulary() const override { return vocab; }

  Example example(Split split, uint64_t seed, uint64_t index) const override {
    Stream stream(seed, split, index);
    int64_t length = drawLength(stream, split);
    // Ends: create() checked that both splits hold a problem, drawLength()
    // chooses a length where the split holds one, and draw() gives every
    // problem of that length a positive probability.
    for (;;) {
      auto [prompt, answer] = draw(stream, length);
      if (isHeldOut(prompt) != (split == Split::HeldOut))
        continue;
      Builder b;
      b.add(vocab.bos(), 0, false);
      addSymbols(b, prompt, 0, false);
      addSymbols(b, answer, 1, true);
      b.add(vocab.eos(), 1, true);
      return b.e;
    }
  }

  /// An error when one split holds no problem at all (parity:2, reverse:1),
  /// where example() could never draw one.
  Status checkSplits(const std::string &spec) const {
    bool seen[2] = {false, false};
    uint64_t count = 0;
    // Stops after a few dozen prompts unless the problem space is tiny.
    for (; !(seen[0] && seen[1]); ++count) {
      std::optional<std::string> p = prompt(count);
      if (!p)
        break;
      seen[isHeldOut(*p)] = true;
    }
    if (seen[0] && seen[1])
      return Status::ok();
    return Status::error("task '" + spec + "': its " + std::to_string(count) +
                         " problems all fall in the " +
                         (seen[0]
                              ? "train split, none is left to hold out"
                              : "held-out split, none is left to train on") +
                         "; use longer ones");
  }

protected:
  /// Draws the length of an example once, before the problems drawn until
  /// one falls in `split`, for tasks whose lengths are uniform within each
  /// split (permutations:N:M-K); others return 0.
  virtual int64_t drawLength(Stream &s, Split split) const { return 0; }
  /// Draws a prompt (ending with its separator) and its answer, of
  /// `length` if the task drew one.
  virtual std::pair<std::string, std::string> draw(Stream &s,
                                                   int64_t length) const = 0;
  /// Prompt number k of an enumeration of every prompt draw() can make;
  /// nullopt past the last.
  virtual std::optional<std::string> prompt(uint64_t k) const = 0;

private:
  /// Adds the ids of `text`, which holds only the vocabulary's symbols: by
  /// the table when they are one character each (several times faster on
  /// long examples than the longest match).
  void addSymbols(Builder &b, const std::string &text, float weight,
                  bool scored) const {
    if (oneCharacter) {
      for (char c : text)
        b.add(ids[static_cast<unsigned char>(c)], weight, scored);
      return;
    }
    std::vector<int32_t> symbols;
    std::string error;
    vocab.encode(text, symbols, error);
    for (int32_t id : symbols)
      b.add(id, weight, scored);
  }

  std::string taskName;
  Vocabulary vocab;
  std::array<int32_t, 256> ids; // id of each one-character symbol
  bool oneCharacter = true;     // every symbol draw() writes is one character
};

// <bos> b1 .. bN | p <eos>, p the XOR of the bits; N uniform in
// [minBits, bits] (one value for parity:N).
class Parity : public SymbolTask {
public:
  Parity(std::string name, int64_t minBits, int64_t bits)
      : SymbolTask(std::move(name), "parity"), minBits(minBits), bits(bits) {}
  int64_t maxLength() const override { return bits + 4; }

private:
  std::pair<std::string, std::string> draw(Stream &s, int64_t) const override {
    int64_t length = minBits + int64_t(s.below(uint64_t(bits - minBits + 1)));
    std::string prompt;
    int parity = 0;
    for (int64_t i = 0; i < length; ++i) {
      int bit = int(s.below(2));
      parity ^= bit;
      prompt += char('0' + bit);
    }
    return {prompt + "|", std::string(1, char('0' + parity))};
  }
  std::optional<std::string> prompt(uint64_t k) const override {
    for (int64_t length = minBits; length <= bits; ++length) {
      if (belowPower(k, 2, length))
        return digits(k, 2, length, '0') + "|";
      k -= uint64_t(1) << length; // length < 64 here, as k >= 2^length
    }
    return std::nullopt;
  }
  int64_t minBits, bits;
};

// <bos> a OP b = c <eos>: a and b with D digits (leading zeros), c = a OP b
// with a fixed width, most significant digit first. Addition: `+`, D + 1
// digits; multiplication: `*`, 2D digits.
class Arithmetic : public SymbolTask {
public:
  enum class Op { Add, Multiply };
  Arithmetic(Op op, int64_t digitCount)
      : SymbolTask(std::string(vocabName(op)) + ":" +
                       std::to_string(digitCount),
                   vocabName(op)),
        op(op), digitCount(digitCount),
        answerDigits(op == Op::Add ? digitCount + 1 : 2 * digitCount) {
    for (int64_t i = 0; i < digitCount; ++i)
      limit *= 10;
  }
  int64_t maxLength() const override {
    return 2 * digitCount + answerDigits + 4;
  }

private:
  static const char *vocabName(Op op) {
    return op == Op::Add ? "addition" : "multiplication";
  }
  std::string problem(uint64_t a, uint64_t b) const {
    return digits(a, 10, digitCount, '0') + (op == Op::Add ? "+" : "*") +
           digits(b, 10, digitCount, '0') + "=";
  }
  std::pair<std::string, std::string> draw(Stream &s, int64_t) const override {
    uint64_t a = s.below(limit), b = s.below(limit);
    return {problem(a, b),
            digits(op == Op::Add ? a + b : a * b, 10, answerDigits, '0')};
  }
  std::optional<std::string> prompt(uint64_t k) const override {
    if (k / limit >= limit) // limit^2 <= 10^18 fits
      return std::nullopt;
    return problem(k / limit, k % limit);
  }
  Op op;
  int64_t digitCount, answerDigits;
  uint64_t limit = 1; // 10^D
};

// <bos> s | reverse(s) <eos>, s of N letters from a..h.
class Reverse : public SymbolTask {
public:
  explicit Reverse(int64_t length)
      : SymbolTask("reverse:" + std::to_string(length), "reverse"),
        length(length) {}
  int64_t maxLength() const override { return 2 * length + 3; }

private:
  std::pair<std::string, std::string> draw(Stream &s, int64_t) const override {
    std::string text;
    for (int64_t i = 0; i < length; ++i)
      text += char('a' + s.below(8));
    return {text + "|", std::string(text.rbegin(), text.rend())};
  }
  std::optional<std::string> prompt(uint64_t k) const override {
    if (!belowPower(k, 8, length))
      return std::nullopt;
    return digits(k, 8, length, 'a') + "|";
  }
  int64_t length;
};

// <bos> g1 .. gK = r <eos>: K elements of S_N, each one symbol (the N!
// permutations of 0..N-1 in lexicographic order of their one-line notation
// are a, b, .. for N <= 4 and aa, ab, .. for N = 5), and r their
// composition in one-line notation (N digits), g1 applied first:
// r[i] = gK(...g2(g1(i))). K is from minCount to count, uniform over the
// lengths where the split holds a problem (docs/tasks.md).
class Permutations : public SymbolTask {
public:
  Permutations(std::string name, int64_t n, int64_t minCount, int64_t count)
      : SymbolTask(std::move(name), n == 5 ? "permutations5" : "permutations"),
        n(n), minCount(minCount), count(count) {
    std::vector<int> p(static_cast<size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    do
      elements.push_back(p);
    while (std::next_permutation(p.begin(), p.end()));
    // Short lengths may hold problems of one split only (S_2 with 3
    // elements: 8, all train). Stops after a few dozen problems a length
    // unless the length is tiny.
    for (int64_t length = minCount; length <= count; ++length) {
      bool seen[2] = {false, false};
      for (uint64_t k = 0;
           !(seen[0] && seen[1]) && belowPower(k, elements.size(), length); ++k)
        seen[isHeldOut(problem(k, length))] = true;
      for (int split = 0; split < 2; ++split)
        if (seen[split])
          lengths[split].push_back(length);
    }
  }
  int64_t maxLength() const override { return count + n + 3; }

private:
  /// Element g's symbol: one letter, or two for S_5's 120 elements.
  std::string symbol(uint64_t g) const {
    if (n < 5)
      return std::string(1, char('a' + g));
    return {char('a' + g / 26), char('a' + g % 26)};
  }
  /// Prompt number k (< N!^length) of those of `length` elements.
  std::string problem(uint64_t k, int64_t length) const {
    std::string text;
    for (int64_t i = 0; i < length; ++i, k /= elements.size())
      text = symbol(k % elements.size()) + text;
    return text + "=";
  }
  int64_t drawLength(Stream &s, Split split) const override {
    // A single length draws nothing, so permutations:N:K keeps the examples
    // it had before length mixtures. Drawing the length before rejection
    // keeps it uniform: rejecting (length, problem) pairs would favour the
    // short lengths, where a larger share of the problems may be held out.
    if (minCount == count)
      return count;
    // Not empty: create() checked that the split holds a problem.
    const std::vector<int64_t> &valid = lengths[split == Split::HeldOut];
    return valid[size_t(s.below(valid.size()))];
  }
  std::pair<std::string, std::string> draw(Stream &s,
                                           int64_t length) const override {
    // image[i]: where the permutations drawn so far send i.
    std::vector<int> image(static_cast<size_t>(n));
    std::iota(image.begin(), image.end(), 0);
    std::string prompt;
    for (int64_t k = 0; k < length; ++k) {
      uint64_t g = s.below(elements.size());
      prompt += symbol(g);
      for (int &x : image)
        x = elements[g][size_t(x)];
    }
    std::string answer;
    for (int x : image)
      answer += char('0' + x);
    return {prompt + "=", answer};
  }
  std::optional<std::string> prompt(uint64_t k) const override {
    for (int64_t length = minCount; length <= count; ++length) {
      if (belowPower(k, elements.size(), length))
        return problem(k, length);
      uint64_t problems = 1; // N!^length <= k fits
      for (int64_t i = 0; i < length; ++i)
        problems *= elements.size();
      k -= problems;
    }
    return std::nullopt;
  }
  int64_t n, minCount, count;
  std::vector<std::vector<int>> elements; // one-line notation, lexicographic
  std::vector<int64_t> lengths[2]; // lengths with train / held-out problems
};

// <bos> then kBlocks blocks `f c x y`, then <eos>:
//   f: a fair coin, c: a coin with P(1) = kBias (the irreducible tokens);
//   x = f XOR c, y = f (a copy of the token 3 back) (computable).
// Held-out examples are fresh draws, not a disjoint set: conditioning on a
// hash would change the distribution that optimalLoss() describes.
class OracleMix : public Task {
public:
  static constexpr int kBlocks = 6;
  static constexpr double kBias = 0.75;

  OracleMix() : vocab(*Vocabulary::task("oracle-mix")) {}
  std::string name() const override { return "oracle-mix"; }
  const Vocabulary &vocabulary() const override { return vocab; }
  int64_t maxLength() const override { return 4 * kBlocks + 2; }

  Example example(Split split, uint64_t seed, uint64_t index) const override {
    Stream stream(seed, split, index);
    Builder b;
    b.add(vocab.bos(), 0, false);
    // Ids 0 and 1 are the symbols "0" and "1". Every token is a target;
    // only the computable ones are scored.
    for (int i = 0; i < kBlocks; ++i) {
      int f = int(stream.below(2));
      int c = stream.uniform() < kBias ? 1 : 0;
      b.add(f, 1, false);
      b.add(c, 1, false);
      b.add(f ^ c, 1, true);
      b.add(f, 1, true);
    }
    b.add(vocab.eos(), 1, true);
    return b.e;
  }

  /// The Bayes-optimal predictor puts all its verbal mass on the computable
  /// tokens and <eos>, and the generator's probabilities on the coins: it
  /// pays ln 2 + H(kBias) nats a block over 4 kBlocks + 1 targets.
  std::optional<double> optimalLoss() const override {
    double h = -(kBias * std::log(kBias) + (1 - kBias) * std::log(1 - kBias));
    return kBlocks * (std::log(2.0) + h) / (4 * kBlocks + 1);
  }

  /// Block i's coins sit at positions 4i + 1 (f) and 4i + 2 (c).
  std::vector<double> knownDistribution(const Example &example,
                                        int64_t position) const override {
    if (position < 1 || position > 4 * kBlocks || (position - 1) % 4 > 1)
      return {};
    std::vector<double> p(size_t(vocab.size()), 0.0);
    double one = (position - 1) % 4 == 0 ? 0.5 : kBias;
    p[0] = 1 - one;
    p[1] = one;
    return p;
  }

private:
  Vocabulary vocab;
};

// Byte-level language modelling: `<bos>` then a window of the file. Train
// windows start anywhere in the first 90%; held-out windows tile the last
// 10%, so an evaluation of all of them reads each held-out byte once.
class Text : public Task {
public:
  Text(std::string path, std::string bytes, int64_t window)
      : path(std::move(path)), bytes(std::move(bytes)), window(size_t(window)),
        vocab(Vocabulary::bytes()) {
    split = this->bytes.size() - this->bytes.size() / 10;
  }
  std::string name() const override { return "text:" + path; }
  const Vocabulary &vocabulary() const override { return vocab; }
  int64_t maxLength() const override { return int64_t(window) + 1; }

  Example example(Split which, uint64_t seed, uint64_t index) const override {
    size_t offset;
    if (which == Split::Train) {
      Stream stream(seed, which, index);
      offset = stream.below(split - window + 1);
    } else {
      offset = split + (index % ((bytes.size() - split) / window)) * window;
    }
    Builder b;
    b.add(vocab.bos(), 0, false);
    for (size_t i = 0; i < window; ++i)
      b.add(static_cast<unsigned char>(bytes[offset + i]), 1, true);
    return b.e;
  }

private:
  std::string path, bytes;
  size_t window;
  size_t split = 0; // the first held-out byte
  Vocabulary vocab;
};

/// The integer `text` (a part of `spec`), in [min, max]; `where` names the
/// part in the error.
StatusOr<int64_t> parseCount(const std::string &spec, const std::string &text,
                             int64_t min, int64_t max,
                             const std::string &where = "after ':'") {
  int64_t value = 0;
  bool ok = !text.empty();
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9' && value <= max;
    value = ok ? value * 10 + (c - '0') : value;
  }
  if (!ok || value < min || value > max)
    return Status::error("task '" + spec + "': expected an integer in [" +
                         std::to_string(min) + ", " + std::to_string(max) +
                         "] " + where + ", got '" + text + "'");
  return value;
}

constexpr int64_t kMaxLength = 1024;    // parity bits, reverse letters
constexpr int64_t kMaxDigits = 9;       // (10^D)^2 problems fit a uint64_t
constexpr int64_t kMaxFactorDigits = 4; // multiplication
constexpr int64_t kMinElements = 2, kMaxElements = 5; // permutations: S_N
constexpr int64_t kMaxPermutations = 64;              // permutations: K

StatusOr<std::unique_ptr<Task>>
createText(const std::string &spec, const std::string &path, int64_t maxSeq) {
  if (path.empty())
    return Status::error("task '" + spec + "': expected text:FILE");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec)
    return Status::error(path + ": no such text file");
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path, ec))
    return Status::error(path + ": cannot read the text file");
  std::string bytes{std::istreambuf_iterator<char>(in),
                    std::istreambuf_iterator<char>()};
  if (in.bad())
    return Status::error(path + ": cannot read the text file");
  if (bytes.empty())
    return Status::error(path + ": empty text file");
  // Line by line, to name the line: '\n' never occurs inside a multi-byte
  // UTF-8 sequence.
  int64_t line = 1;
  for (size_t at = 0; at < bytes.size(); ++line) {
    size_t end = std::min(bytes.find('\n', at), bytes.size());
    if (!isValidUtf8(std::string_view(bytes).substr(at, end - at)))
      return Status::error(path + ":" + std::to_string(line) +
                           ": not UTF-8 text");
    at = end + 1;
  }
  if (maxSeq < 2)
    return Status::error("task '" + spec +
                         "': needs max_seq >= 2 for <bos> and one byte, the "
                         "model has max_seq = " +
                         std::to_string(maxSeq));
  int64_t window = maxSeq - 1;
  if (int64_t(bytes.size()) / 10 < window)
    return Status::error(
        path + ": " + std::to_string(bytes.size()) +
        " bytes is too short; windows of " + std::to_string(window) +
        " bytes (max_seq - 1) need at least " + std::to_string(10 * window) +
        " so that the held-out last 10% holds one");
  return std::unique_ptr<Task>(
      std::make_unique<Text>(path, std::move(bytes), window));
}

StatusOr<std::unique_ptr<Task>> createTask(const std::string &spec,
                                           int64_t maxSeq) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  bool hasOption = colon != std::string::npos;
  std::string option = hasOption ? spec.substr(colon + 1) : "";

  if (kind == "text") {
    if (!hasOption)
      return Status::error("task '" + spec + "': expected text:FILE");
    return createText(spec, option, maxSeq);
  }
  if (kind == "oracle-mix") {
    if (hasOption)
      return Status::error("task '" + spec + "': oracle-mix takes no option");
    return std::unique_ptr<Task>(std::make_unique<OracleMix>());
  }

  std::unique_ptr<SymbolTask> task;
  if (kind == "parity" && option.find('-') != std::string::npos) {
    // parity:M-N: lengths from M to N bits, a curriculum (docs/tasks.md).
    size_t dash = option.find('-');
    StatusOr<int64_t> low =
        parseCount(spec, option.substr(0, dash), 1, kMaxLength);
    StatusOr<int64_t> high =
        parseCount(spec, option.substr(dash + 1), 1, kMaxLength);
    if (!low || !high || *low > *high)
      return Status::error("task '" + spec +
                           "': expected parity:M-N with 1 <= M <= N <= " +
                           std::to_string(kMaxLength));
    task = std::make_unique<Parity>(spec, *low, *high);
  } else if (kind == "parity" || kind == "addition" || kind == "reverse") {
    int64_t n = kind == "parity" ? 8 : kind == "addition" ? 2 : 6;
    if (hasOption) {
      StatusOr<int64_t> parsed = parseCount(
          spec, option, 1, kind == "addition" ? kMaxDigits : kMaxLength);
      if (!parsed)
        return parsed.getStatus();
      n = *parsed;
    }
    if (kind == "parity")
      task = std::make_unique<Parity>("parity:" + std::to_string(n), n, n);
    else if (kind == "addition")
      task = std::make_unique<Arithmetic>(Arithmetic::Op::Add, n);
    else
      task = std::make_unique<Reverse>(n);
  } else if (kind == "multiplication") {
    int64_t d = 2;
    if (hasOption) {
      StatusOr<int64_t> parsed = parseCount(spec, option, 1, kMaxFactorDigits);
      if (!parsed)
        return parsed.getStatus();
      d = *parsed;
    }
    task = std::make_unique<Arithmetic>(Arithmetic::Op::Multiply, d);
  } else if (kind == "permutations") {
    // permutations[:N[:K]]: K elements of S_N; permutations:N:M-K: M to K
    // of them, a length mixture like parity:M-N.
    int64_t n = 3, m = 6, k = 6;
    bool mixture = false;
    if (hasOption) {
      size_t second = option.find(':');
      StatusOr<int64_t> parsedN =
          parseCount(spec, option.substr(0, second), kMinElements, kMaxElements,
                     "for N (permutations:N:K)");
      if (!parsedN)
        return parsedN.getStatus();
      n = *parsedN;
      std::string counts =
          second == std::string::npos ? "" : option.substr(second + 1);
      size_t dash = counts.find('-');
      if (dash != std::string::npos) {
        StatusOr<int64_t> low =
            parseCount(spec, counts.substr(0, dash), 1, kMaxPermutations);
        StatusOr<int64_t> high =
            parseCount(spec, counts.substr(dash + 1), 1, kMaxPermutations);
        if (!low || !high || *low > *high)
          return Status::error(
              "task '" + spec +
              "': expected permutations:N:M-K with 1 <= M <= K <= " +
              std::to_string(kMaxPermutations));
        m = *low;
        k = *high;
        mixture = true;
      } else if (second != std::string::npos) {
        StatusOr<int64_t> parsedK = parseCount(
            spec, counts, 1, kMaxPermutations, "for K (permutations:N:K)");
        if (!parsedK)
          return parsedK.getStatus();
        m = k = *parsedK;
      }
    }
    std::string name = "permutations:" + std::to_string(n) + ":" +
                       (mixture ? std::to_string(m) + "-" : "") +
                       std::to_string(k);
    task = std::make_unique<Permutations>(name, n, m, k);
  } else {
    return Status::error("unknown task '" + spec +
                         "' (parity[:BITS], addition[:DIGITS], "
                         "multiplication[:DIGITS], reverse[:LENGTH], "
                         "permutations[:N[:K]], oracle-mix, text:FILE)");
  }
  if (Status st = task->checkSplits(spec); !st)
    return st;
  return std::unique_ptr<Task>(std::move(task));
}

} // namespace

StatusOr<std::unique_ptr<Task>>
Task::create(const std::string &spec, int64_t verbalVocab, int64_t maxSeq) {
  StatusOr<std::unique_ptr<Task>> task = createTask(spec, maxSeq);
  if (!task)
    return task;
  int64_t vocabSize = (*task)->vocabulary().size();
  if (vocabSize > verbalVocab)
    return Status::error("task '" + spec + "' needs " +
                         std::to_string(vocabSize) +
                         " verbal ids, the model has verbal_vocab = " +
                         std::to_string(verbalVocab));
  if ((*task)->maxLength() > maxSeq)
    return Status::error(
        "task '" + spec + "': examples need " +
        std::to_string((*task)->maxLength()) +
        " positions, the model has max_seq = " + std::to_string(maxSeq));
  return task;
}

std::optional<Vocabulary> Task::vocabularyOf(const std::string &spec) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  if (kind == "text")
    return Vocabulary::bytes();
  if (kind == "permutations" && colon != std::string::npos) {
    // S_5's 120 elements need their own vocabulary.
    std::string option = spec.substr(colon + 1);
    StatusOr<int64_t> n = parseCount(spec, option.substr(0, option.find(':')),
                                     kMinElements, kMaxElements);
    if (n && *n == 5)
      return Vocabulary::task("permutations5");
  }
  for (const char *task : {"parity", "addition", "multiplication", "reverse",
                           "permutations", "oracle-mix"})
    if (kind == task)
      return Vocabulary::task(kind);
  return std::nullopt;
}

TaskBatch makeTaskBatch(const Task &task,
                        const std::vector<Example> &examples) {
  int64_t b = int64_t(examples.size()), t = 1;
  for (const Example &e : examples)
    t = std::max<int64_t>(t, int64_t(e.ids.size()));
  TaskBatch batch{Tensor(DType::I32, {b, t}), Tensor(DType::I32, {b}),
                  Tensor(DType::F32, {b, t}), Tensor(DType::I32, {b, t})};
  // Padding influences nothing (MODEL.md §1); <pad> keeps dumps readable.
  int32_t pad = std::max<int32_t>(0, idOf(task.vocabulary(), "<pad>"));
  for (int64_t r = 0; r < b; ++r) {
    const Example &e = examples[size_t(r)];
    int64_t length = int64_t(e.ids.size());
    batch.lengths.data<int32_t>()[r] = int32_t(length);
    for (int64_t p = 0; p < t; ++p) {
      bool in = p < length;
      batch.ids.data<int32_t>()[r * t + p] = in ? e.ids[size_t(p)] : pad;
      batch.targetWeight.data<float>()[r * t + p] =
          in ? e.targetWeight[size_t(p)] : 0.0f;
      batch.scored.data<int32_t>()[r * t + p] = in ? e.scored[size_t(p)] : 0;
    }
  }
  return batch;
}

TaskBatch trainBatch(const Task &task, uint64_t seed, int64_t step,
                     int64_t batchSize) {
  std::vector<Example> examples;
  for (int64_t i = 0; i < batchSize; ++i)
    examples.push_back(
        task.example(Split::Train, seed, uint64_t(step * batchSize + i)));
  return makeTaskBatch(task, examples);
}

TaskBatch heldOutBatch(const Task &task, uint64_t seed, int64_t first,
                       int64_t count) {
  std::vector<Example> examples;
  for (int64_t i = 0; i < count; ++i)
    examples.push_back(task.example(Split::HeldOut, seed, uint64_t(first + i)));
  return makeTaskBatch(task, examples);
}

} // namespace ponder

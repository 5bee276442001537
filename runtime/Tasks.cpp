//===- Tasks.cpp - Built-in training tasks --------------------------------===//

#include "runtime/Tasks.h"

#include "runtime/Hash.h"
#include "runtime/Json.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace ponder {

Task::~Task() = default;

namespace {

/// The random stream of one example.
class Stream {
public:
  Stream(uint64_t seed, Split split, uint64_t index)
      : state(fnv1a(std::to_string(seed) +
                    (split == Split::Train ? ":train:" : ":heldout:") +
                    std::to_string(index))) {}
  uint64_t next() { return splitmix64(state); }
  /// Uniform in [0, n).
  uint64_t below(uint64_t n) { return next() % n; }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state;
};

/// Problems whose mixed hash is 0 mod 10 are held out, the rest train.
/// FNV-1a's low bits alone would track the parity of the symbols' low bits
/// (every step multiplies by an odd prime), so a parity task's held-out
/// split would hold one answer only; splitmix64 mixes every bit.
bool inSplit(const std::string &problem, Split split) {
  uint64_t state = fnv1a(problem);
  return (splitmix64(state) % 10 == 0) == (split == Split::HeldOut);
}

/// A symbol vocabulary's id of `symbol`.
int32_t idOf(const Vocabulary &v, const std::string &symbol) {
  std::vector<int32_t> ids;
  std::string error;
  v.encode(symbol, ids, error);
  return ids.size() == 1 ? ids[0] : -1;
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

/// A task whose examples are prompt | answer over a symbol vocabulary,
/// drawn by rejection until the problem falls in the split.
class SymbolTask : public Task {
public:
  SymbolTask(std::string name, Vocabulary vocab)
      : taskName(std::move(name)), vocab(std::move(vocab)) {}
  std::string name() const override { return taskName; }
  const Vocabulary &vocabulary() const override { return vocab; }

  Example example(Split split, uint64_t seed, uint64_t index) const override {
    Stream stream(seed, split, index);
    for (;;) {
      auto [prompt, answer] = draw(stream);
      if (!inSplit(prompt, split))
        continue;
      Builder b;
      b.add(vocab.bos(), 0, false);
      for (char c : prompt)
        b.add(idOf(vocab, std::string(1, c)), 0, false);
      for (char c : answer)
        b.add(idOf(vocab, std::string(1, c)), 1, true);
      b.add(vocab.eos(), 1, true);
      return b.e;
    }
  }

protected:
  /// The prompt (ending with its separator) and the answer, as symbols.
  virtual std::pair<std::string, std::string> draw(Stream &s) const = 0;

  std::string taskName;
  Vocabulary vocab;
};

// <bos> b1 .. bN | p <eos>
class Parity : public SymbolTask {
public:
  /// Strings of `minBits` .. `bits` bits, the length uniform.
  Parity(std::string spec, int64_t minBits, int64_t bits)
      : SymbolTask(std::move(spec), *Vocabulary::task("parity")),
        minBits(minBits), bits(bits) {}
  int64_t maxLength() const override { return bits + 4; }

private:
  std::pair<std::string, std::string> draw(Stream &s) const override {
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
  int64_t minBits, bits;
};

// <bos> a + b = c <eos>, a and b with D digits, c with D + 1.
class Addition : public SymbolTask {
public:
  explicit Addition(int64_t digits)
      : SymbolTask("addition:" + std::to_string(digits),
                   *Vocabulary::task("addition")),
        digits(digits) {}
  int64_t maxLength() const override { return 3 * digits + 5; }

private:
  static std::string padded(uint64_t value, int64_t width) {
    std::string s = std::to_string(value);
    return std::string(size_t(width) - s.size(), '0') + s;
  }
  std::pair<std::string, std::string> draw(Stream &s) const override {
    uint64_t limit = 1;
    for (int64_t i = 0; i < digits; ++i)
      limit *= 10;
    uint64_t a = s.below(limit), b = s.below(limit);
    return {padded(a, digits) + "+" + padded(b, digits) + "=",
            padded(a + b, digits + 1)};
  }
  int64_t digits;
};

// <bos> s | reverse(s) <eos> over the letters a..h.
class Reverse : public SymbolTask {
public:
  explicit Reverse(int64_t length)
      : SymbolTask("reverse:" + std::to_string(length),
                   *Vocabulary::task("reverse")),
        length(length) {}
  int64_t maxLength() const override { return 2 * length + 3; }

private:
  std::pair<std::string, std::string> draw(Stream &s) const override {
    std::string text;
    for (int64_t i = 0; i < length; ++i)
      text += char('a' + s.below(8));
    return {text + "|", std::string(text.rbegin(), text.rend())};
  }
  int64_t length;
};

// <bos> c1 x1 c2 x2 ... c12 x12 <eos>: c_i is a coin with P(1) = 3/4 (the
// irreducible part), x_i = c_i XOR c_{i-1} (x_1 = c_1) is computable.
class OracleMix : public Task {
public:
  static constexpr int kPairs = 12;
  static constexpr double kOne = 0.75;

  OracleMix() : vocab(*Vocabulary::task("oracle-mix")) {}
  std::string name() const override { return "oracle-mix"; }
  const Vocabulary &vocabulary() const override { return vocab; }
  int64_t maxLength() const override { return 2 * kPairs + 2; }

  Example example(Split split, uint64_t seed, uint64_t index) const override {
    Stream stream(seed, split, index);
    for (;;) {
      std::string coins;
      for (int i = 0; i < kPairs; ++i)
        coins += stream.uniform() < kOne ? '1' : '0';
      if (!inSplit(coins, split))
        continue;
      Builder b;
      b.add(vocab.bos(), 0, false);
      int previous = 0;
      for (char c : coins) {
        int coin = c - '0';
        b.add(coin, 1, false); // ids 0 and 1 are the symbols "0" and "1"
        b.add(coin ^ previous, 1, true);
        previous = coin;
      }
      b.add(vocab.eos(), 1, true);
      return b.e;
    }
  }

  /// Only the coins cost anything: kPairs H(3/4) nats over 2 kPairs + 1
  /// targets.
  std::optional<double> optimalLoss() const override {
    double h = -(kOne * std::log(kOne) + (1 - kOne) * std::log(1 - kOne));
    return kPairs * h / (2 * kPairs + 1);
  }

private:
  Vocabulary vocab;
};

// Byte-level language modelling: windows of the file after <bos>; the last
// 10% of the file is held out.
class Text : public Task {
public:
  Text(std::string path, std::string bytes, int64_t window)
      : path(std::move(path)), bytes(std::move(bytes)), window(window),
        vocab(Vocabulary::bytes()) {
    split = this->bytes.size() - this->bytes.size() / 10;
  }
  std::string name() const override { return "text:" + path; }
  const Vocabulary &vocabulary() const override { return vocab; }
  int64_t maxLength() const override { return window + 1; }

  Example example(Split which, uint64_t seed, uint64_t index) const override {
    Stream stream(seed, which, index);
    size_t begin = which == Split::Train ? 0 : split;
    size_t end = which == Split::Train ? split : bytes.size();
    size_t length = std::min<size_t>(size_t(window), end - begin);
    size_t offset = begin + stream.below(end - begin - length + 1);
    Builder b;
    b.add(vocab.bos(), 0, false);
    for (size_t i = 0; i < length; ++i)
      b.add(static_cast<unsigned char>(bytes[offset + i]), 1, true);
    return b.e;
  }

  size_t heldOutBytes() const { return bytes.size() - split; }

private:
  std::string path, bytes;
  int64_t window;
  size_t split = 0;
  Vocabulary vocab;
};

/// The integer after "name:" in `spec`, or `fallback` without one.
StatusOr<int64_t> option(const std::string &spec, size_t colon,
                         int64_t fallback, int64_t max) {
  if (colon == std::string::npos)
    return fallback;
  std::string text = spec.substr(colon + 1);
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1 || v > max)
    return Status::error("task '" + spec + "': expected an integer in [1, " +
                         std::to_string(max) + "] after ':', got '" + text +
                         "'");
  return static_cast<int64_t>(v);
}

} // namespace

StatusOr<std::unique_ptr<Task>>
Task::create(const std::string &spec, int64_t verbalVocab, int64_t maxSeq) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::unique_ptr<Task> task;
  size_t dash = spec.find('-', colon == std::string::npos ? 0 : colon);
  if (kind == "parity" && colon != std::string::npos &&
      dash != std::string::npos) {
    // parity:M-N: lengths from M to N bits.
    StatusOr<int64_t> low = option(spec.substr(0, dash), colon, 1, 64);
    StatusOr<int64_t> high = option(spec, dash, 1, 64);
    if (!low || !high || *low > *high)
      return Status::error("task '" + spec +
                           "': expected parity:M-N with 1 <= M <= N <= 64");
    task = std::make_unique<Parity>(spec, *low, *high);
  } else if (kind == "parity" || kind == "addition" || kind == "reverse") {
    int64_t fallback = kind == "parity" ? 8 : kind == "addition" ? 2 : 6;
    int64_t max = kind == "addition" ? 9 : 64;
    StatusOr<int64_t> n = option(spec, colon, fallback, max);
    if (!n)
      return n.getStatus();
    if (kind == "parity")
      task = std::make_unique<Parity>("parity:" + std::to_string(*n), *n, *n);
    else if (kind == "addition")
      task = std::make_unique<Addition>(*n);
    else
      task = std::make_unique<Reverse>(*n);
  } else if (kind == "oracle-mix" && colon == std::string::npos) {
    task = std::make_unique<OracleMix>();
  } else if (kind == "text" && colon != std::string::npos) {
    std::string path = spec.substr(colon + 1);
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return Status::error(path + ": cannot read the text file");
    std::stringstream s;
    s << in.rdbuf();
    std::string bytes = s.str();
    if (!json::isValidUtf8(bytes))
      return Status::error(path + ": not UTF-8 text");
    int64_t window = maxSeq - 1;
    if (int64_t(bytes.size()) / 10 < window || window < 1)
      return Status::error(path + ": " + std::to_string(bytes.size()) +
                           " bytes; text needs at least 10 windows of " +
                           std::to_string(std::max<int64_t>(window, 1)) +
                           " bytes (max_seq - 1) so that the held-out 10% "
                           "holds one");
    task = std::make_unique<Text>(path, std::move(bytes), window);
  } else {
    return Status::error("unknown task '" + spec +
                         "' (parity[:BITS], addition[:DIGITS], "
                         "reverse[:LENGTH], oracle-mix, text:FILE)");
  }
  if (task->vocabulary().size() > verbalVocab)
    return Status::error("task '" + spec + "' needs " +
                         std::to_string(task->vocabulary().size()) +
                         " verbal ids, the model has verbal_vocab = " +
                         std::to_string(verbalVocab));
  if (task->maxLength() > maxSeq)
    return Status::error(
        "task '" + spec + "': examples need " +
        std::to_string(task->maxLength()) +
        " positions, the model has max_seq = " + std::to_string(maxSeq));
  return task;
}

TaskBatch makeTaskBatch(const Task &task,
                        const std::vector<Example> &examples) {
  int64_t b = int64_t(examples.size()), t = 1;
  for (const Example &e : examples)
    t = std::max<int64_t>(t, int64_t(e.ids.size()));
  TaskBatch batch{Tensor(DType::I32, {b, t}), Tensor(DType::I32, {b}),
                  Tensor(DType::F32, {b, t}), Tensor(DType::I32, {b, t})};
  int32_t pad = std::max<int32_t>(0, idOf(task.vocabulary(), "<pad>"));
  for (int64_t r = 0; r < b; ++r) {
    const Example &e = examples[size_t(r)];
    batch.lengths.data<int32_t>()[r] = int32_t(e.ids.size());
    for (int64_t p = 0; p < t; ++p) {
      bool in = p < int64_t(e.ids.size());
      batch.ids.data<int32_t>()[r * t + p] = in ? e.ids[p] : pad;
      batch.targetWeight.data<float>()[r * t + p] = in ? e.targetWeight[p] : 0;
      batch.scored.data<int32_t>()[r * t + p] = in ? e.scored[p] : 0;
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

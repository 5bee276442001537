//===- Corpus.cpp - Text corpora as windows of token ids ------------------===//

#include "training/Corpus.h"

#include "runtime/Hash.h"
#include "runtime/Utf8.h"

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/mman.h>
#include <unistd.h>

namespace ponder {

namespace fs = std::filesystem;

namespace {

// The cache file: this header, then `count` little-endian int32 ids.
struct CacheHeader {
  char magic[8] = {'P', 'O', 'N', 'D', 'E', 'R', 'I', 'D'};
  uint64_t version = 1;
  uint64_t vocabulary = 0;  // fnv1a of the vocabulary's identity
  uint64_t corpusBytes = 0; // the corpus's size
  int64_t corpusTime = 0;   // and its modification time (ns)
  uint64_t count = 0;       // ids that follow
};
static_assert(sizeof(CacheHeader) == 48, "no padding in the header");

/// What the cache must match: the corpus as it is now and the vocabulary.
StatusOr<CacheHeader> expectedHeader(const std::string &corpus,
                                     const Vocabulary &vocab) {
  std::error_code ec;
  if (!fs::exists(corpus, ec))
    return Status::error(corpus + ": no such text file");
  if (!fs::is_regular_file(corpus, ec))
    return Status::error(corpus + ": not a regular file");
  CacheHeader h;
  h.corpusBytes = fs::file_size(corpus, ec);
  if (ec)
    return Status::error(corpus + ": cannot read the text file");
  if (h.corpusBytes == 0)
    return Status::error(corpus + ": empty text file");
  h.corpusTime =
      int64_t(fs::last_write_time(corpus, ec).time_since_epoch().count());
  std::string identity = vocab.describe();
  for (int32_t id = 0; id < vocab.size(); ++id)
    identity += vocab.decode({id}, vocab.size(), false) + '\0';
  h.vocabulary = fnv1a(identity);
  return h;
}

bool sameHeader(const CacheHeader &a, const CacheHeader &b) {
  return std::memcmp(a.magic, b.magic, sizeof(a.magic)) == 0 &&
         a.version == b.version && a.vocabulary == b.vocabulary &&
         a.corpusBytes == b.corpusBytes && a.corpusTime == b.corpusTime;
}

/// Tokenizes `corpus` line by line into `cache` (through a temporary
/// file, renamed when complete).
Status writeCache(const std::string &corpus, const std::string &cache,
                  const Vocabulary &vocab, CacheHeader header) {
  std::ifstream in(corpus, std::ios::binary);
  if (!in)
    return Status::error(corpus + ": cannot read the text file");
  std::string partial = cache + ".tmp" + std::to_string(getpid());
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out)
    return Status::error(cache + ": cannot write the token cache beside "
                                 "the corpus (copy the corpus into a "
                                 "writable directory)");
  auto failed = [&](Status s) {
    out.close();
    std::error_code ec;
    fs::remove(partial, ec);
    return s;
  };
  out.write(reinterpret_cast<const char *>(&header), sizeof(header));
  std::vector<int32_t> ids;
  std::string line, error;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!isValidUtf8(line))
      return failed(Status::error(corpus + ":" + std::to_string(number) +
                                  ": not UTF-8 text"));
    if (!in.eof())
      line += '\n';
    ids.clear();
    if (!vocab.encode(line, ids, error))
      return failed(
          Status::error(corpus + ":" + std::to_string(number) + ": " + error));
    out.write(reinterpret_cast<const char *>(ids.data()),
              std::streamsize(ids.size() * sizeof(int32_t)));
    header.count += ids.size();
  }
  if (in.bad())
    return failed(Status::error(corpus + ": cannot read the text file"));
  if (header.count == 0)
    return failed(Status::error(corpus + ": no tokens in the text file"));
  out.seekp(0);
  out.write(reinterpret_cast<const char *>(&header), sizeof(header));
  out.close();
  if (!out)
    return failed(Status::error(cache + ": cannot write the token cache"));
  std::error_code ec;
  fs::rename(partial, cache, ec);
  if (ec)
    return failed(Status::error(
        cache + ": cannot write the token cache: " + ec.message()));
  return Status::ok();
}

/// The cache's header when it is current, else nullopt.
std::optional<CacheHeader> currentHeader(const std::string &cache,
                                         const CacheHeader &expected) {
  std::ifstream in(cache, std::ios::binary);
  CacheHeader h;
  if (!in.read(reinterpret_cast<char *>(&h), sizeof(h)) ||
      !sameHeader(h, expected))
    return std::nullopt;
  std::error_code ec;
  if (fs::file_size(cache, ec) != sizeof(h) + h.count * sizeof(int32_t))
    return std::nullopt;
  return h;
}

} // namespace

TokenFile::~TokenFile() {
  if (mapping)
    munmap(mapping, mappedBytes);
}

StatusOr<std::shared_ptr<const TokenFile>>
TokenFile::open(const std::string &corpus, const Vocabulary &vocab) {
  StatusOr<CacheHeader> expected = expectedHeader(corpus, vocab);
  if (!expected)
    return expected.getStatus();
  std::shared_ptr<TokenFile> f(new TokenFile());
  f->cache = corpus + ".ids";
  std::optional<CacheHeader> header = currentHeader(f->cache, *expected);
  if (!header) {
    if (Status s = writeCache(corpus, f->cache, vocab, *expected); !s)
      return s;
    f->wasBuilt = true;
    header = currentHeader(f->cache, *expected);
    if (!header) // the corpus changed while it was read
      return Status::error(corpus + ": changed while it was tokenized");
  }
  int fd = ::open(f->cache.c_str(), O_RDONLY);
  if (fd < 0)
    return Status::error(f->cache + ": cannot read the token cache");
  f->mappedBytes = sizeof(CacheHeader) + header->count * sizeof(int32_t);
  void *m = mmap(nullptr, f->mappedBytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED)
    return Status::error(f->cache + ": cannot map the token cache");
  f->mapping = m;
  f->first = reinterpret_cast<const int32_t *>(static_cast<const char *>(m) +
                                               sizeof(CacheHeader));
  f->count = int64_t(header->count);
  return std::shared_ptr<const TokenFile>(std::move(f));
}

StatusOr<std::unique_ptr<CorpusTask>>
CorpusTask::create(const std::string &corpus, const std::string &val,
                   const Vocabulary &vocab, int64_t verbalVocab, int64_t maxSeq,
                   int64_t window) {
  if (vocab.size() > verbalVocab)
    return Status::error(
        "--data " + corpus + ": " + vocab.describe() +
        " needs verbal_vocab >= " + std::to_string(vocab.size()) +
        ", the model has verbal_vocab = " + std::to_string(verbalVocab));
  std::unique_ptr<CorpusTask> t(new CorpusTask(vocab));
  t->corpusPath = corpus;
  int64_t longest = maxSeq - (vocab.bos() >= 0);
  if (window > longest)
    return Status::error(
        "--window " + std::to_string(window) +
        ": longer than the model's max_seq = " + std::to_string(maxSeq) +
        (vocab.bos() >= 0 ? " less one for <bos>" : ""));
  t->window = window > 0 ? window : longest;
  if (t->window < 2)
    return Status::error("--data " + corpus + ": max_seq = " +
                         std::to_string(maxSeq) + " leaves no window");
  auto train = TokenFile::open(corpus, vocab);
  if (!train)
    return train.getStatus();
  t->train = *train;
  std::string heldOutName = val.empty() ? corpus : val;
  if (val.empty()) {
    t->heldOut = t->train;
    t->heldOutBegin = t->train->size() - t->train->size() / 10;
    t->trainEnd = t->heldOutBegin;
  } else {
    auto held = TokenFile::open(val, vocab);
    if (!held)
      return held.getStatus();
    t->heldOut = *held;
    t->trainEnd = t->train->size();
  }
  t->heldOutCount = (t->heldOut->size() - t->heldOutBegin) / t->window;
  std::string windows = "windows of " + std::to_string(t->window) + " ids";
  if (t->trainEnd < t->window)
    return Status::error(corpus + ": " + std::to_string(t->trainEnd) +
                         " training ids, too few for " + windows);
  if (t->heldOutCount == 0)
    return Status::error(heldOutName + ": " + std::to_string(t->heldOutIds()) +
                         " held-out ids" +
                         (val.empty() ? " (the last 10%)" : "") +
                         ", too few for one of the " + windows);
  return t;
}

int64_t CorpusTask::heldOutIds() const {
  return heldOut->size() - heldOutBegin;
}

int64_t CorpusTask::trainOffset(uint64_t seed, uint64_t index) const {
  uint64_t state =
      fnv1a(std::to_string(seed) + ":data:" + std::to_string(index));
  return int64_t(splitmix64(state) % uint64_t(trainEnd - window + 1));
}

int64_t CorpusTask::heldOutOffset(uint64_t index) const {
  return heldOutBegin + int64_t(index % uint64_t(heldOutCount)) * window;
}

std::string corpusOf(const std::string &taskSpec) {
  return taskSpec.rfind("data:", 0) == 0 ? taskSpec.substr(5) : "";
}

StatusOr<Vocabulary> corpusVocabulary(const std::string &tokenizer) {
  if (tokenizer.empty())
    return Vocabulary::bytes();
  return Vocabulary::sentencePiece(tokenizer);
}

Example CorpusTask::example(Split split, uint64_t seed, uint64_t index) const {
  bool training = split == Split::Train;
  const int32_t *ids = training ? train->ids() + trainOffset(seed, index)
                                : heldOut->ids() + heldOutOffset(index);
  Example e;
  auto add = [&](int32_t id, float weight) {
    e.ids.push_back(id);
    e.targetWeight.push_back(weight);
    e.scored.push_back(weight > 0);
  };
  if (vocab.bos() >= 0)
    add(vocab.bos(), 0);
  for (int64_t i = 0; i < window; ++i)
    add(ids[i], e.ids.empty() ? 0.0f : 1.0f);
  return e;
}

} // namespace ponder

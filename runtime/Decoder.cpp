//===- Decoder.cpp - Cached decoding with a compiled model ----------------===//

#include "runtime/Decoder.h"

#include "runtime/ArtifactContract.h"
#include "runtime/Init.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ponder {

namespace {

const ValueSpec *findArgument(const EntryPoint &entry,
                              const std::string &name) {
  for (const ValueSpec &a : entry.arguments)
    if (a.name == name)
      return &a;
  return nullptr;
}

} // namespace

Decoder::Decoder(const Artifact &artifact, const EntryPoint &entry,
                 std::map<std::string, const Tensor *> values, int64_t batch)
    : artifact(artifact), entry(entry), values(std::move(values)),
      cached(size_t(batch), 0), origin(size_t(batch)) {
  for (int64_t r = 0; r < batch; ++r)
    origin[size_t(r)] = r;
}

StatusOr<std::unique_ptr<Decoder>>
Decoder::create(const Artifact &artifact,
                const std::map<std::string, const Tensor *> &weights,
                int64_t batch, const std::string &weightsSource) {
  const EntryPoint *entry = artifact.entry(PONDER_ENTRY_DECODE);
  if (!entry)
    return Status::error("the artifact has no decode entry point; recompile "
                         "the model with this version of ponderc");
  if (batch < 1)
    return Status::error("decoding needs at least one row, got " +
                         std::to_string(batch));
  if (Status s = artifact.checkWeights(weights, weightsSource); !s)
    return s;
  const ValueSpec *spec = findArgument(*entry, PONDER_VALUE_CACHE_KEYS);
  if (!spec || spec->shape.size() != 4 ||
      !findArgument(*entry, PONDER_VALUE_CACHE_VALUES))
    return Status::error("the artifact's decode entry has no [N_max, B, "
                         "max_seq, d] caches");
  std::vector<int64_t> shape = spec->shape;
  shape[1] = batch;
  StatusOr<Tensor> keys = Tensor::allocate(DType::F32, shape);
  if (!keys)
    return keys.getStatus();
  StatusOr<Tensor> values = Tensor::allocate(DType::F32, shape);
  if (!values)
    return values.getStatus();
  std::unique_ptr<Decoder> d(new Decoder(artifact, *entry, weights, batch));
  d->keys = std::move(*keys);
  d->values_ = std::move(*values);
  if (findArgument(*entry, PONDER_VALUE_CARRY)) {
    StatusOr<Tensor> carry = Tensor::allocate(DType::F32, {batch, shape[3]});
    if (!carry)
      return carry.getStatus();
    d->carry = std::move(*carry);
    d->hidden = true;
  }
  return d;
}

void Decoder::reset() {
  std::fill(cached.begin(), cached.end(), 0);
  // Positions at or past a row's count are never read, so the cache's stale
  // contents need no clearing.
}

Status Decoder::keepRows(const std::vector<int64_t> &rows) {
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i] < 0 || rows[i] >= batch() || (i > 0 && rows[i] <= rows[i - 1]))
      return Status::error("keepRows: rows must be ascending row numbers "
                           "below " +
                           std::to_string(batch()));
  if (rows.empty())
    return Status::error("keepRows: a decoder keeps at least one row");
  std::vector<int64_t> shape = keys.shape();
  int64_t steps = shape[0], b = shape[1], seq = shape[2], d = shape[3];
  int64_t kept = int64_t(rows.size());
  shape[1] = kept;
  for (Tensor *cache : {&keys, &values_}) {
    StatusOr<Tensor> smaller = Tensor::allocate(DType::F32, shape);
    if (!smaller)
      return smaller.getStatus();
    // Only the cached positions of each kept row are ever read again.
    for (int64_t n = 0; n < steps; ++n)
      for (int64_t i = 0; i < kept; ++i)
        std::memcpy(smaller->data<float>() + ((n * kept + i) * seq) * d,
                    cache->data<float>() + ((n * b + rows[i]) * seq) * d,
                    size_t(cached[rows[i]] * d) * sizeof(float));
    *cache = std::move(*smaller);
  }
  if (hidden) {
    StatusOr<Tensor> smaller = Tensor::allocate(DType::F32, {kept, d});
    if (!smaller)
      return smaller.getStatus();
    for (int64_t i = 0; i < kept; ++i)
      std::memcpy(smaller->data<float>() + i * d,
                  carry.data<float>() + rows[i] * d, size_t(d) * sizeof(float));
    carry = std::move(*smaller);
  }
  std::vector<int32_t> keptCached;
  std::vector<int64_t> keptOrigin;
  for (int64_t r : rows) {
    keptCached.push_back(cached[r]);
    keptOrigin.push_back(origin[r]);
  }
  cached = std::move(keptCached);
  origin = std::move(keptOrigin);
  return Status::ok();
}

StatusOr<DecodeOutputs> Decoder::append(const std::vector<int32_t> &ids) {
  Tensor chunk(DType::I32, {batch(), 1});
  if (int64_t(ids.size()) != batch())
    return Status::error("expected one id per row (" + std::to_string(batch()) +
                         "), got " + std::to_string(ids.size()));
  std::memcpy(chunk.bytes(), ids.data(), ids.size() * sizeof(int32_t));
  return append(chunk, std::vector<int32_t>(ids.size(), 1));
}

StatusOr<DecodeOutputs> Decoder::append(const Tensor &ids,
                                        const std::vector<int32_t> &lengths) {
  int64_t b = batch();
  if (ids.dtype() != DType::I32 || ids.rank() != 2 || ids.shape()[0] != b)
    return Status::error("expected ids I32 [" + std::to_string(b) + ", T]");
  int64_t t = ids.shape()[1];
  if (t < 1 || int64_t(lengths.size()) != b)
    return Status::error("expected at least one new token and one length per "
                         "row");
  if (std::all_of(lengths.begin(), lengths.end(),
                  [](int32_t n) { return n == 0; }))
    return Status::error("every row has length 0: nothing to append");
  if (t > artifact.maxSeq())
    return Status::error(std::to_string(t) + " new tokens exceed max_seq = " +
                         std::to_string(artifact.maxSeq()));
  for (int64_t r = 0; r < b; ++r) {
    if (lengths[r] < 0 || lengths[r] > t)
      return Status::error("lengths[" + std::to_string(r) +
                           "] = " + std::to_string(lengths[r]) +
                           " is outside [0, " + std::to_string(t) + "]");
    if (lengths[r] > 0 && cached[r] + t > artifact.maxSeq())
      return Status::error(
          "row " + std::to_string(r) + " is full: " +
          std::to_string(cached[r]) + " cached + " + std::to_string(t) +
          " new tokens exceed max_seq = " + std::to_string(artifact.maxSeq()));
  }
  for (int64_t i = 0; i < b * t; ++i) {
    int32_t id = ids.data<int32_t>()[i];
    if (id < 0 || id >= artifact.vocabSize())
      return Status::error(
          "ids[" + std::to_string(i / t) + ", " + std::to_string(i % t) +
          "] = " + std::to_string(id) +
          " is outside [0, V = " + std::to_string(artifact.vocabSize()) + ")");
  }

  Tensor lengthTensor(DType::I32, {b}), start(DType::I32, {b});
  std::memcpy(lengthTensor.bytes(), lengths.data(), b * sizeof(int32_t));
  // A row that does not grow writes nothing; its start only has to keep the
  // padding positions' embeddings inside max_seq.
  for (int64_t r = 0; r < b; ++r)
    start.data<int32_t>()[r] =
        lengths[r] > 0
            ? cached[r]
            : int32_t(std::min<int64_t>(cached[r], artifact.maxSeq() - t));
  std::map<std::string, const Tensor *> args = values;
  args[PONDER_VALUE_IDS] = &ids;
  args[PONDER_VALUE_LENGTHS] = &lengthTensor;
  args[PONDER_VALUE_START] = &start;
  args[PONDER_VALUE_CACHE_KEYS] = &keys;
  args[PONDER_VALUE_CACHE_VALUES] = &values_;
  if (hidden && noise)
    replaceCarriedThoughts(ids, lengths);
  if (hidden)
    args[PONDER_VALUE_CARRY] = &carry;
  auto results = artifact.call(entry, args);
  if (!results)
    return results.getStatus();
  writeNewPositions(results->at(PONDER_VALUE_NEW_KEYS), keys, lengths);
  writeNewPositions(results->at(PONDER_VALUE_NEW_VALUES), values_, lengths);
  if (hidden)
    keepCarry(results->at(PONDER_VALUE_NORMED), lengths);
  for (int64_t r = 0; r < b; ++r)
    cached[r] += lengths[r];
  return DecodeOutputs{std::move(results->at(PONDER_VALUE_LOGITS)),
                       std::move(results->at(PONDER_VALUE_STEPS)),
                       std::move(results->at(PONDER_VALUE_REMAINDER))};
}

void Decoder::writeNewPositions(const Tensor &fresh, Tensor &cache,
                                const std::vector<int32_t> &lengths) const {
  int64_t steps = fresh.shape()[0], b = fresh.shape()[1], t = fresh.shape()[2];
  int64_t seq = cache.shape()[2], d = cache.shape()[3];
  for (int64_t n = 0; n < steps; ++n)
    for (int64_t r = 0; r < b; ++r)
      if (lengths[r] > 0)
        std::memcpy(cache.data<float>() + ((n * b + r) * seq + cached[r]) * d,
                    fresh.data<float>() + ((n * b + r) * t) * d,
                    size_t(lengths[r] * d) * sizeof(float));
}

void Decoder::replaceCarriedThoughts(const Tensor &ids,
                                     const std::vector<int32_t> &lengths) {
  int64_t t = ids.shape()[1], d = carry.shape()[1];
  std::vector<float> random(static_cast<size_t>(d));
  for (int64_t r = 0; r < batch(); ++r) {
    if (lengths[r] == 0 || cached[r] == 0 ||
        ids.data<int32_t>()[r * t] < artifact.verbalVocab())
      continue;
    float *state = carry.data<float>() + r * d;
    double norm = 0, drawn = 0;
    fillNormal(noiseSeed,
               "thought:" + std::to_string(origin[r]) + ":" +
                   std::to_string(cached[r]),
               1.0f, random.data(), random.size());
    for (int64_t i = 0; i < d; ++i) {
      norm += double(state[i]) * state[i];
      drawn += double(random[i]) * random[i];
    }
    double scale = drawn > 0 ? std::sqrt(norm / drawn) : 0;
    for (int64_t i = 0; i < d; ++i)
      state[i] = float(random[i] * scale);
  }
}

void Decoder::keepCarry(const Tensor &normed,
                        const std::vector<int32_t> &lengths) {
  int64_t t = normed.shape()[1], d = normed.shape()[2];
  for (int64_t r = 0; r < batch(); ++r)
    if (lengths[r] > 0)
      std::memcpy(carry.data<float>() + r * d,
                  normed.data<float>() + (r * t + lengths[r] - 1) * d,
                  d * sizeof(float));
}

} // namespace ponder

//===- BatchFile.cpp - A batch of MODEL.md §8 read from a file ------------===//

#include "tools/ponder/BatchFile.h"

#include "runtime/ArtifactContract.h"

namespace ponder::cli {

namespace {

std::string shape(const std::vector<int64_t> &dims) {
  std::string s;
  for (int64_t d : dims)
    s += (s.empty() ? "[" : ", ") + std::to_string(d);
  return s + "]";
}

/// ids [B, T] and lengths [B]: present, typed, in range for `model`.
Status checkIdsAndLengths(const Artifact &model, const SafetensorsFile &batch,
                          const std::string &path) {
  const Tensor *ids = batch.find(PONDER_VALUE_IDS),
               *lengths = batch.find(PONDER_VALUE_LENGTHS);
  if (!ids || ids->dtype() != DType::I32 || ids->rank() != 2)
    return Status::error(path + ": expected 'ids' I32 [B, T]");
  int64_t b = ids->shape()[0], t = ids->shape()[1];
  if (b == 0)
    return Status::error(path + ": the batch is empty (B = 0)");
  if (!lengths || lengths->dtype() != DType::I32 ||
      lengths->shape() != std::vector<int64_t>{b})
    return Status::error(path + ": expected 'lengths' I32 " + shape({b}));
  if (t < 1 || t > model.maxSeq())
    return Status::error(
        path + ": sequence length " + std::to_string(t) +
        " is outside [1, max_seq = " + std::to_string(model.maxSeq()) + "]");
  for (int64_t r = 0; r < b; ++r)
    if (int32_t len = lengths->data<int32_t>()[r]; len < 1 || len > t)
      return Status::error(path + ": lengths[" + std::to_string(r) +
                           "] = " + std::to_string(len) + " is outside [1, " +
                           std::to_string(t) + "]");
  for (int64_t i = 0; i < b * t; ++i)
    if (int32_t id = ids->data<int32_t>()[i]; id < 0 || id >= model.vocabSize())
      return Status::error(
          path + ": ids[" + std::to_string(i / t) + ", " +
          std::to_string(i % t) + "] = " + std::to_string(id) +
          " is outside [0, V = " + std::to_string(model.vocabSize()) + ")");
  return Status::ok();
}

/// Optional F32 tensor `name` of `batch`, of `dims` and finite, into
/// `values` (which holds a default already).
Status takeOptional(const SafetensorsFile &batch, const char *name,
                    const std::vector<int64_t> &dims, const std::string &path,
                    std::map<std::string, const Tensor *> &values) {
  const Tensor *x = batch.find(name);
  if (!x)
    return Status::ok();
  if (x->dtype() != DType::F32 || x->shape() != dims)
    return Status::error(path + ": expected '" + name + "' F32 " + shape(dims));
  if (Status s = checkFinite(*x, name); !s)
    return Status::error(path + ": " + s.message());
  values[name] = x;
  return Status::ok();
}

} // namespace

StatusOr<std::unique_ptr<BatchFile>> readBatchFile(const Artifact &model,
                                                   const std::string &path) {
  auto batch = std::make_unique<BatchFile>();
  StatusOr<SafetensorsFile> file = readSafetensors(path);
  if (!file)
    return file.getStatus();
  batch->file = std::move(*file);
  if (Status s = checkIdsAndLengths(model, batch->file, path); !s)
    return s;
  const Tensor *ids = batch->file.find(PONDER_VALUE_IDS);
  int64_t b = ids->shape()[0], t = ids->shape()[1];
  batch->ones = Tensor(DType::F32, {b, t});
  batch->zeros = Tensor(DType::F32, {b, t});
  for (int64_t i = 0; i < b * t; ++i)
    batch->ones.data<float>()[i] = 1.0f;
  std::map<std::string, const Tensor *> &values = batch->values;
  values[PONDER_VALUE_IDS] = ids;
  values[PONDER_VALUE_LENGTHS] = batch->file.find(PONDER_VALUE_LENGTHS);
  values[PONDER_VALUE_TARGET_WEIGHT] = &batch->ones;
  values[PONDER_VALUE_ADVANTAGE] = &batch->zeros;
  for (auto [name, dims] :
       {std::pair<const char *, std::vector<int64_t>>{
            PONDER_VALUE_TARGET_WEIGHT, {b, t}},
        {PONDER_VALUE_ADVANTAGE, {b, t}},
        {PONDER_VALUE_REFERENCE_LOGITS, {b, t, model.vocabSize()}}})
    if (Status s = takeOptional(batch->file, name, dims, path, values); !s)
      return s;
  return batch;
}

} // namespace ponder::cli

//===- Run.cpp - ponder run
//------------------------------------------------===//
//
// ponder run MODEL.toml --weights W --batch IN --dump OUT [--grad]: one call
// of @loss (or `grad`: @loss's outputs and grad.NAME) on a batch of
// MODEL.md §8, its results written as safetensors.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

#include "runtime/ArtifactContract.h"

namespace ponder::cli {

namespace {
struct RunOptions {
  ModelOptions model;
  std::string weights, batch, dump;
  bool grad = false;
};

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

int runRun(const RunOptions &o) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return fail(loaded.getStatus());
  const Artifact &model = *loaded->artifact;
  StatusOr<std::unique_ptr<Weights>> weights = loadWeights(model, o.weights);
  if (!weights)
    return fail(weights.getStatus());
  StatusOr<SafetensorsFile> batch = readSafetensors(o.batch);
  if (!batch)
    return fail(batch.getStatus());
  if (Status s = checkIdsAndLengths(model, *batch, o.batch); !s)
    return fail(s);
  std::map<std::string, const Tensor *> values = (*weights)->values;
  const Tensor *ids = batch->find(PONDER_VALUE_IDS);
  int64_t b = ids->shape()[0], t = ids->shape()[1];
  Tensor ones(DType::F32, {b, t}), zeros(DType::F32, {b, t});
  for (int64_t i = 0; i < b * t; ++i)
    ones.data<float>()[i] = 1.0f;
  values[PONDER_VALUE_IDS] = ids;
  values[PONDER_VALUE_LENGTHS] = batch->find(PONDER_VALUE_LENGTHS);
  values[PONDER_VALUE_TARGET_WEIGHT] = &ones;
  values[PONDER_VALUE_ADVANTAGE] = &zeros;
  for (auto [name, dims] :
       {std::pair<const char *, std::vector<int64_t>>{
            PONDER_VALUE_TARGET_WEIGHT, {b, t}},
        {PONDER_VALUE_ADVANTAGE, {b, t}},
        {PONDER_VALUE_REFERENCE_LOGITS, {b, t, model.vocabSize()}}})
    if (Status s = takeOptional(*batch, name, dims, o.batch, values); !s)
      return fail(s);

  const char *entryName = o.grad ? PONDER_ENTRY_GRAD : PONDER_ENTRY_LOSS;
  const EntryPoint *entry = model.entry(entryName);
  if (!entry)
    return fail(Status::error(loaded->label + ": the artifact has no " +
                              entryName + " entry point"));
  auto results = model.call(*entry, values);
  if (!results)
    return fail(Status::error(o.batch + ": " + results.getStatus().message()));
  std::vector<std::pair<std::string, const Tensor *>> dump;
  for (const ValueSpec &r : entry->results)
    dump.emplace_back(r.name, &results->at(r.name));
  Status s = writeSafetensors(o.dump, dump, {});
  return s ? 0 : fail(s);
}
} // namespace

Command makeRunCommand(CLI::App &parent) {
  auto o = std::make_shared<RunOptions>();
  CLI::App *app = addSubcommand(parent, "run",
                                "Run @loss (or its gradient) on a batch and "
                                "dump the results (MODEL.md §8).");
  addModelOptions(app, o->model);
  app->add_option("--weights", o->weights, "weights or a checkpoint")
      ->required();
  app->add_option("--batch", o->batch,
                  "ids, lengths [, target_weight, advantage, "
                  "reference_logits] (.safetensors)")
      ->required();
  app->add_option("--dump", o->dump, "the results (.safetensors)")
      ->required()
      ->check(outputFile());
  app->add_flag("--grad", o->grad, "also the gradient: grad.NAME");
  return {app, [o] { return runRun(*o); }};
}

} // namespace ponder::cli

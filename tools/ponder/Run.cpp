//===- Run.cpp - ponder run
//------------------------------------------------===//
//
// ponder run MODEL.toml --weights W --batch IN --dump OUT [--grad]: one call
// of @loss (or `grad`: @loss's outputs and grad.NAME) on a batch of
// MODEL.md §8, its results written as safetensors.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/BatchFile.h"
#include "tools/ponder/Command.h"

#include "runtime/ArtifactContract.h"

namespace ponder::cli {

namespace {
struct RunOptions {
  ModelOptions model;
  std::string weights, batch, dump;
  bool grad = false;
};

int runRun(const RunOptions &o) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return fail(loaded.getStatus());
  const Artifact &model = *loaded->artifact;
  StatusOr<std::unique_ptr<Weights>> weights = loadWeights(model, o.weights);
  if (!weights)
    return fail(weights.getStatus());
  StatusOr<std::unique_ptr<BatchFile>> batch = readBatchFile(model, o.batch);
  if (!batch)
    return fail(batch.getStatus());
  std::map<std::string, const Tensor *> values = (*weights)->values;
  values.insert((*batch)->values.begin(), (*batch)->values.end());

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

//===- Init.cpp - ponder init
//----------------------------------------------===//
//
// ponder init MODEL.toml --seed S -o W.safetensors: the contract's initial
// weights (MODEL.md §3).
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

#include "training/TrainingRun.h"

namespace ponder::cli {

namespace {
struct InitOptions {
  ModelOptions model;
  int64_t seed = 0;
  double embedStd = kInitStd;
  std::string out;
};

int runInit(const InitOptions &o) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return fail(loaded.getStatus());
  std::map<std::string, Tensor> parameters =
      initialParameters(*loaded->artifact, uint64_t(o.seed), o.embedStd);
  std::vector<std::pair<std::string, const Tensor *>> named;
  for (const ValueSpec &p : loaded->artifact->parameters())
    named.emplace_back(p.name, &parameters.at(p.name));
  Status s =
      writeSafetensors(o.out, named, {{"model", loaded->text}, {"step", "0"}});
  return s ? 0 : fail(s);
}
} // namespace

Command makeInitCommand(CLI::App &parent) {
  auto o = std::make_shared<InitOptions>();
  CLI::App *app =
      addSubcommand(parent, "init", "Write a model's initial weights.");
  addModelOptions(app, o->model);
  app->add_option("--seed", o->seed, "the initialisation seed")
      ->required()
      ->check(integerAtLeast(0));
  app->add_option("--embed-std", o->embedStd,
                  "the std of the token and position embeddings (MODEL.md "
                  "§3: 0.02)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("-o", o->out, "the weights file (.safetensors)")
      ->required()
      ->check(outputFile());
  return {app, [o] { return runInit(*o); }};
}

} // namespace ponder::cli

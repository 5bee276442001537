// A minimal trainer linking libponder: loads an artifact compiled by
// `ponderc MODEL.toml --emit=artifact`, initialises the parameters as
// `ponder init` does (MODEL.md §3), trains on a built-in task and reports
// the loss and held-out accuracy.
//
//   trainer MODEL.so TASK STEPS
#include "runtime/Trainer.h"
#include "runtime/Artifact.h"
#include "runtime/Init.h"
#include "training/Tasks.h"

#include <cstdio>
#include <cstdlib>

using namespace ponder;

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: trainer MODEL.so TASK STEPS\n");
    return 2;
  }
  auto artifact = Artifact::load(argv[1]);
  if (!artifact) {
    std::fprintf(stderr, "%s\n", artifact.getStatus().message().c_str());
    return 1;
  }
  const Artifact &model = **artifact;
  auto task = Task::create(argv[2], model.verbalVocab(), model.maxSeq());
  if (!task) {
    std::fprintf(stderr, "%s\n", task.getStatus().message().c_str());
    return 1;
  }
  std::map<std::string, Tensor> params;
  for (const ValueSpec &p : model.parameters()) {
    Tensor t(DType::F32, p.shape);
    initParameter(p.name, /*seed=*/0, t.data<float>(), size_t(t.numel()));
    params.emplace(p.name, std::move(t));
  }
  auto trainer = Trainer::create(model, std::move(params), {}, {}, 0, "init");
  if (!trainer) {
    std::fprintf(stderr, "%s\n", trainer.getStatus().message().c_str());
    return 1;
  }
  int64_t steps = std::atoll(argv[3]);
  for (int64_t s = 1; s <= steps; ++s) {
    TaskBatch batch = trainBatch(**task, /*seed=*/0, s - 1, 16);
    double lr = scheduledLearningRate(0.005, s, steps / 10, steps);
    auto metrics = (*trainer)->train(
        {&batch.ids, &batch.lengths, &batch.targetWeight, nullptr}, lr, 0.1);
    if (!metrics) {
      std::fprintf(stderr, "%s\n", metrics.getStatus().message().c_str());
      return 1;
    }
    std::printf("step %lld loss %.4f depth %.2f\n", static_cast<long long>(s),
                metrics->loss, metrics->meanDepth);
  }
  TaskBatch held = heldOutBatch(**task, 0, 0, 64);
  auto accuracy = (*trainer)->accuracy(held.ids, held.lengths, held.scored);
  if (!accuracy) {
    std::fprintf(stderr, "%s\n", accuracy.getStatus().message().c_str());
    return 1;
  }
  std::printf("held-out accuracy %.3f\n", *accuracy);
  return 0;
}

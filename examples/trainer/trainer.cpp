// A minimal trainer linking libponder-training: loads an artifact compiled
// by `ponderc MODEL.toml --emit=artifact`, and trains it on a built-in task
// with the training loop `ponder train` uses (training/TrainingRun.h):
// contract initialisation, the learning-rate schedule, held-out accuracy,
// checkpoints and the metrics CSV (OUT.csv).
//
//   trainer MODEL.so TASK STEPS OUT.safetensors
#include "runtime/Artifact.h"
#include "training/TrainingRun.h"

#include <cstdio>
#include <cstdlib>

using namespace ponder;

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: trainer MODEL.so TASK STEPS OUT\n");
    return 2;
  }
  auto artifact = Artifact::load(argv[1]);
  if (!artifact) {
    std::fprintf(stderr, "%s\n", artifact.getStatus().message().c_str());
    return 1;
  }
  const Artifact &model = **artifact;
  TrainingSettings settings;
  settings.task = argv[2];
  settings.steps = std::atoll(argv[3]);
  settings.batch = 16;
  settings.lr = 0.005;
  TrainingStart start;
  start.parameters = initialParameters(model, settings.seed);
  start.source = "the initial weights";
  TrainingOptions options;
  options.out = argv[4];
  options.heldOutCount = 64;
  auto run = TrainingRun::create(model, /*modelText=*/"", settings,
                                 std::move(start), options);
  if (!run) {
    std::fprintf(stderr, "%s\n", run.getStatus().message().c_str());
    return 1;
  }
  auto reached = (*run)->run([](const StepReport &r) {
    std::printf("step %lld loss %.4f depth %.2f\n",
                static_cast<long long>(r.row.step), r.row.loss,
                r.row.meanDepth);
  });
  if (!reached) {
    std::fprintf(stderr, "%s\n", reached.getStatus().message().c_str());
    return 1;
  }
  std::printf("held-out accuracy %.3f\n", (*run)->lastAccuracy());
  return 0;
}

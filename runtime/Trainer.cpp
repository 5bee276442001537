//===- Trainer.cpp - Training a compiled model ----------------------------===//

#include "runtime/Trainer.h"

#include "runtime/ArtifactContract.h"
#include "runtime/Safetensors.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace ponder {

namespace {

constexpr const char *kMomentPrefix[2] = {PONDER_VALUE_ADAM_M_PREFIX,
                                          PONDER_VALUE_ADAM_V_PREFIX};

Tensor scalarF32(double value) {
  Tensor t(DType::F32, {});
  t.data<float>()[0] = float(value);
  return t;
}

} // namespace

StatusOr<std::unique_ptr<Trainer>> Trainer::create(
    const Artifact &artifact, std::map<std::string, Tensor> parameters,
    std::map<std::string, Tensor> m, std::map<std::string, Tensor> v,
    int64_t step, const std::string &source) {
  if (!artifact.entry(PONDER_ENTRY_TRAIN_STEP) ||
      !artifact.entry(PONDER_ENTRY_FORWARD))
    return Status::error("the artifact has no train_step entry point; "
                         "recompile the model with this version of ponderc");
  std::map<std::string, const Tensor *> view;
  for (const auto &[name, t] : parameters)
    view[name] = &t;
  if (Status s = artifact.checkWeights(view, source); !s)
    return s;
  std::unique_ptr<Trainer> trainer(new Trainer(artifact));
  for (const ValueSpec &p : artifact.parameters()) {
    for (auto *moments : {&m, &v}) {
      auto it = moments->find(p.name);
      bool isM = moments == &m;
      if (it == moments->end()) {
        moments->emplace(p.name, Tensor(DType::F32, p.shape));
      } else if (it->second.dtype() != DType::F32 ||
                 it->second.shape() != p.shape) {
        return Status::error(source + ": " + kMomentPrefix[isM ? 0 : 1] +
                             p.name + " does not have the parameter's shape");
      }
    }
  }
  trainer->params = std::move(parameters);
  trainer->moments1 = std::move(m);
  trainer->moments2 = std::move(v);
  trainer->completed = step;
  return trainer;
}

namespace {

bool takesReference(const EntryPoint &entry) {
  return std::any_of(entry.arguments.begin(), entry.arguments.end(),
                     [](const ValueSpec &a) {
                       return a.name == PONDER_VALUE_REFERENCE_LOGITS;
                     });
}

} // namespace

Status Trainer::setReference(const Artifact &model,
                             std::map<std::string, Tensor> weights,
                             const std::string &source) {
  if (!takesReference(*artifact.entry(PONDER_ENTRY_TRAIN_STEP)))
    return Status::error("a reference model is only used by models with "
                         "[loss] reference_mix > 0");
  if (!model.entry(PONDER_ENTRY_FORWARD))
    return Status::error(source + ": the reference artifact has no forward "
                                  "entry point");
  if (model.verbalVocab() != artifact.verbalVocab())
    return Status::error(source + ": the reference model has verbal_vocab = " +
                         std::to_string(model.verbalVocab()) + ", this model " +
                         std::to_string(artifact.verbalVocab()));
  std::map<std::string, const Tensor *> view;
  for (const auto &[name, t] : weights)
    view[name] = &t;
  if (Status s = model.checkWeights(view, source); !s)
    return s;
  reference = &model;
  referenceParams = std::move(weights);
  return Status::ok();
}

StatusOr<Tensor> Trainer::referenceLogits(const TrainBatch &batch) const {
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : referenceParams)
    values[name] = &t;
  values[PONDER_VALUE_IDS] = batch.ids;
  values[PONDER_VALUE_LENGTHS] = batch.lengths;
  auto out = reference->call(*reference->entry(PONDER_ENTRY_FORWARD), values);
  if (!out)
    return out.getStatus();
  Tensor &logits = out->at(PONDER_VALUE_LOGITS);
  int64_t v = artifact.vocabSize(), refV = reference->vocabSize();
  if (refV == v)
    return std::move(logits);
  // Only the verbal columns are read (the soft targets are a softmax over
  // verbal ids); the think columns may differ between the models.
  int64_t rows = batch.ids->numel(), verbal = artifact.verbalVocab();
  Tensor copied(DType::F32, {batch.ids->shape()[0], batch.ids->shape()[1], v});
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(logits.data<float>() + r * refV, verbal,
                copied.data<float>() + r * v);
  return copied;
}

StatusOr<std::map<std::string, const Tensor *>>
Trainer::stepInputs(const TrainBatch &batch, double lr, double weightDecay,
                    std::vector<Tensor> &scratch) const {
  const std::vector<int64_t> &shape = batch.ids->shape();
  scratch.clear();
  scratch.reserve(5);
  scratch.push_back(Tensor(DType::F32, shape)); // zero advantages
  scratch.push_back(scalarF32(lr));
  scratch.push_back(scalarF32(weightDecay));
  scratch.push_back(Tensor(DType::I32, {}));
  scratch[3].data<int32_t>()[0] = int32_t(completed + 1);
  std::map<std::string, const Tensor *> values;
  if (takesReference(*artifact.entry(PONDER_ENTRY_TRAIN_STEP))) {
    if (!reference)
      return Status::error("the model has [loss] reference_mix > 0 and "
                           "needs a reference model (ponder train "
                           "--reference CKPT)");
    StatusOr<Tensor> logits = referenceLogits(batch);
    if (!logits)
      return logits.getStatus();
    scratch.push_back(std::move(*logits));
    values[PONDER_VALUE_REFERENCE_LOGITS] = &scratch[4];
  }
  for (const auto &[name, t] : params)
    values[name] = &t;
  for (const auto &[name, t] : moments1)
    values[kMomentPrefix[0] + name] = &t;
  for (const auto &[name, t] : moments2)
    values[kMomentPrefix[1] + name] = &t;
  values[PONDER_VALUE_IDS] = batch.ids;
  values[PONDER_VALUE_LENGTHS] = batch.lengths;
  values[PONDER_VALUE_TARGET_WEIGHT] = batch.targetWeight;
  values[PONDER_VALUE_ADVANTAGE] =
      batch.advantage ? batch.advantage : &scratch[0];
  values[PONDER_VALUE_LEARNING_RATE] = &scratch[1];
  values[PONDER_VALUE_WEIGHT_DECAY] = &scratch[2];
  values[PONDER_VALUE_STEP] = &scratch[3];
  return values;
}

// A step whose loss or gradient is not finite would poison every
// parameter: it is refused and the state stays that of the last step.
Status Trainer::applyStep(std::map<std::string, Tensor> &out, double loss) {
  for (auto [value, what] :
       {std::pair(loss, "the loss"),
        std::pair(double(out.at(PONDER_VALUE_GRAD_NORM).data<float>()[0]),
                  "the gradient norm")})
    if (!std::isfinite(value))
      return Status::error(std::string(what) + " is " +
                           (std::isnan(value) ? "NaN" : "infinite") +
                           "; the step is not applied");
  for (auto &[name, t] : params)
    t = std::move(out.at(name));
  for (auto &[name, t] : moments1)
    t = std::move(out.at(kMomentPrefix[0] + name));
  for (auto &[name, t] : moments2)
    t = std::move(out.at(kMomentPrefix[1] + name));
  ++completed;
  return Status::ok();
}

StatusOr<StepMetrics> Trainer::train(const TrainBatch &batch, double lr,
                                     double weightDecay) {
  if (comm)
    return trainShard(batch, lr, weightDecay);
  std::vector<Tensor> scratch;
  auto values = stepInputs(batch, lr, weightDecay, scratch);
  if (!values)
    return values.getStatus();
  auto out = artifact.call(*artifact.entry(PONDER_ENTRY_TRAIN_STEP), *values);
  if (!out)
    return out.getStatus();
  auto scalar = [&](const char *name) {
    return double(out->at(name).data<float>()[0]);
  };
  StepMetrics metrics;
  metrics.loss = scalar(PONDER_VALUE_LOSS);
  metrics.ce = scalar(PONDER_VALUE_LOSS_CE);
  metrics.ponder = scalar(PONDER_VALUE_LOSS_PONDER);
  metrics.policy = scalar(PONDER_VALUE_LOSS_POLICY);
  metrics.gradNorm = scalar(PONDER_VALUE_GRAD_NORM);
  metrics.tokens = validPositions(*batch.lengths);
  metrics.meanDepth = meanDepth(out->at(PONDER_VALUE_STEPS), *batch.lengths);
  if (Status s = applyStep(*out, metrics.loss); !s)
    return s;
  return metrics;
}

Status Trainer::setCommunicator(Communicator *c) {
  for (const char *entry :
       {PONDER_ENTRY_GRAD_SHARD, PONDER_ENTRY_APPLY_GRADIENTS})
    if (!artifact.entry(entry))
      return Status::error(std::string("the artifact has no @") + entry +
                           " (compile it with ponderc --data-parallel)");
  comm = c;
  return Status::ok();
}

std::array<double, 3> lossCounts(const TrainBatch &batch, int64_t verbalVocab) {
  int64_t rows = batch.ids->shape()[0], t = batch.ids->shape()[1];
  std::array<double, 3> c = {0, 0, 0};
  for (int64_t r = 0; r < rows; ++r) {
    int32_t length = batch.lengths->data<int32_t>()[r];
    for (int64_t p = 1; p < length; ++p)
      if (batch.ids->data<int32_t>()[r * t + p] < verbalVocab)
        c[0] += batch.targetWeight->data<float>()[r * t + p];
    c[1] += length;
    c[2] += length - 1;
  }
  return c;
}

// The sums over the ranks come in two collectives: the denominators first
// (every rank needs the global ones to scale its terms), then the
// gradients with the metrics behind them.
StatusOr<StepMetrics> Trainer::trainShard(const TrainBatch &shard, double lr,
                                          double weightDecay) {
  std::array<double, 3> local = lossCounts(shard, artifact.verbalVocab());
  std::array<double, 3> global = local;
  double waited = 0;
  auto timed = [&](auto *data, size_t count) {
    auto begin = std::chrono::steady_clock::now();
    Status s = comm->allReduceSum(data, count);
    waited +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
            .count();
    return s;
  };
  if (Status s = timed(global.data(), global.size()); !s)
    return s;
  std::vector<Tensor> scratch;
  auto values = stepInputs(shard, lr, weightDecay, scratch);
  if (!values)
    return values.getStatus();
  Tensor scales(DType::F32, {3});
  for (int i = 0; i < 3; ++i)
    scales.data<float>()[i] =
        float(std::max(1.0, local[i]) / std::max(1.0, global[i]));
  (*values)[PONDER_VALUE_LOSS_SCALES] = &scales;
  auto grads = artifact.call(*artifact.entry(PONDER_ENTRY_GRAD_SHARD), *values);
  if (!grads)
    return grads.getStatus();

  // Gradients, then loss, ce, ponder, policy, depth and tokens.
  std::vector<std::string> names;
  size_t size = 0;
  for (const auto &[name, t] : params) {
    names.push_back(PONDER_VALUE_GRAD_PREFIX + name);
    size += size_t(t.numel());
  }
  std::vector<float> sums(size);
  size_t at = 0;
  for (const std::string &name : names) {
    const Tensor &g = grads->at(name);
    std::copy_n(g.data<float>(), g.numel(), sums.data() + at);
    at += size_t(g.numel());
  }
  auto scalar = [&](const char *name) {
    return double(grads->at(name).data<float>()[0]);
  };
  int64_t tokens = validPositions(*shard.lengths);
  std::array<double, 6> metrics = {
      scalar(PONDER_VALUE_LOSS),
      scalar(PONDER_VALUE_LOSS_CE) * scales.data<float>()[0],
      scalar(PONDER_VALUE_LOSS_PONDER) * scales.data<float>()[1],
      scalar(PONDER_VALUE_LOSS_POLICY) * scales.data<float>()[2],
      meanDepth(grads->at(PONDER_VALUE_STEPS), *shard.lengths) * double(tokens),
      double(tokens)};
  if (Status s = timed(sums.data(), sums.size()); !s)
    return s;
  if (Status s = timed(metrics.data(), metrics.size()); !s)
    return s;

  std::vector<Tensor> summed;
  summed.reserve(names.size());
  at = 0;
  for (const std::string &name : names) {
    const Tensor &g = grads->at(name);
    summed.push_back(Tensor(DType::F32, g.shape()));
    std::copy_n(sums.data() + at, g.numel(), summed.back().data<float>());
    at += size_t(g.numel());
    (*values)[name] = &summed.back();
  }
  auto out =
      artifact.call(*artifact.entry(PONDER_ENTRY_APPLY_GRADIENTS), *values);
  if (!out)
    return out.getStatus();
  StepMetrics m;
  m.loss = metrics[0];
  m.ce = metrics[1];
  m.ponder = metrics[2];
  m.policy = metrics[3];
  m.gradNorm = double(out->at(PONDER_VALUE_GRAD_NORM).data<float>()[0]);
  m.tokens = int64_t(metrics[5]);
  m.meanDepth = metrics[5] > 0 ? metrics[4] / metrics[5] : 0;
  m.allReduceSeconds = waited;
  if (Status s = applyStep(*out, m.loss); !s)
    return s;
  return m;
}

int64_t validPositions(const Tensor &lengths) {
  int64_t n = 0;
  for (int64_t r = 0; r < lengths.numel(); ++r)
    n += lengths.data<int32_t>()[r];
  return n;
}

double meanDepth(const Tensor &steps, const Tensor &lengths) {
  int64_t t = steps.shape()[1], depth = 0;
  for (int64_t r = 0; r < steps.shape()[0]; ++r)
    for (int64_t p = 0; p < lengths.data<int32_t>()[r]; ++p)
      depth += steps.data<int32_t>()[r * t + p];
  int64_t n = validPositions(lengths);
  return n ? double(depth) / double(n) : 0.0;
}

StatusOr<double> Trainer::accuracy(const Tensor &ids, const Tensor &lengths,
                                   const Tensor &scored) const {
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : params)
    values[name] = &t;
  values[PONDER_VALUE_IDS] = &ids;
  values[PONDER_VALUE_LENGTHS] = &lengths;
  auto out = artifact.call(*artifact.entry(PONDER_ENTRY_FORWARD), values);
  if (!out)
    return out.getStatus();
  const Tensor &logits = out->at(PONDER_VALUE_LOGITS);
  int64_t b = ids.shape()[0], t = ids.shape()[1];
  int64_t vocab = logits.shape()[2], verbal = artifact.verbalVocab();
  int64_t correct = 0;
  for (int64_t r = 0; r < b; ++r) {
    bool right = true;
    for (int64_t p = 1; p < lengths.data<int32_t>()[r]; ++p) {
      if (!scored.data<int32_t>()[r * t + p])
        continue;
      const float *z = logits.data<float>() + (r * t + p - 1) * vocab;
      int64_t best = 0;
      for (int64_t v = 1; v < verbal; ++v)
        if (z[v] > z[best])
          best = v;
      right &= best == ids.data<int32_t>()[r * t + p];
    }
    correct += right;
  }
  return b ? double(correct) / double(b) : 0.0;
}

Status Trainer::save(const std::string &path,
                     std::map<std::string, std::string> metadata) const {
  std::vector<std::pair<std::string, const Tensor *>> named;
  for (const ValueSpec &p : artifact.parameters())
    named.emplace_back(p.name, &params.at(p.name));
  std::vector<std::string> names;
  names.reserve(2 * params.size());
  for (int which = 0; which < 2; ++which)
    for (const ValueSpec &p : artifact.parameters()) {
      const auto &moments = which == 0 ? moments1 : moments2;
      names.push_back(kMomentPrefix[which] + p.name);
      named.emplace_back(names.back(), &moments.at(p.name));
    }
  metadata["step"] = std::to_string(completed);
  return writeSafetensors(path, named, metadata);
}

StatusOr<Checkpoint> loadCheckpoint(const std::string &path) {
  StatusOr<SafetensorsFile> file = readSafetensors(path);
  if (!file)
    return file.getStatus();
  Checkpoint c;
  c.metadata = file->metadata;
  for (auto &[name, t] : file->tensors) {
    if (name.rfind(kMomentPrefix[0], 0) == 0)
      c.m.emplace(name.substr(std::strlen(kMomentPrefix[0])), std::move(t));
    else if (name.rfind(kMomentPrefix[1], 0) == 0)
      c.v.emplace(name.substr(std::strlen(kMomentPrefix[1])), std::move(t));
    else
      c.parameters.emplace(name, std::move(t));
  }
  auto it = c.metadata.find("step");
  if (it != c.metadata.end()) {
    char *end = nullptr;
    long long step = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || step < 0)
      return Status::error(path + ": __metadata__ step '" + it->second +
                           "' is not a non-negative integer");
    c.step = step;
  }
  return c;
}

bool isOptimizerState(const std::string &name) {
  return name.rfind(kMomentPrefix[0], 0) == 0 ||
         name.rfind(kMomentPrefix[1], 0) == 0;
}

} // namespace ponder

//===- Trainer.cpp - Training a compiled model ----------------------------===//

#include "runtime/Trainer.h"

#include "runtime/ArtifactContract.h"
#include "runtime/Safetensors.h"

#include <algorithm>
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

StatusOr<StepMetrics> Trainer::train(const TrainBatch &batch, double lr,
                                     double weightDecay) {
  const EntryPoint &entry = *artifact.entry(PONDER_ENTRY_TRAIN_STEP);
  Tensor softTargets;
  if (takesReference(entry)) {
    if (!reference)
      return Status::error("the model has [loss] reference_mix > 0 and "
                           "needs a reference model (ponder train "
                           "--reference CKPT)");
    StatusOr<Tensor> logits = referenceLogits(batch);
    if (!logits)
      return logits.getStatus();
    softTargets = std::move(*logits);
  }
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : params)
    values[name] = &t;
  for (const auto &[name, t] : moments1)
    values[kMomentPrefix[0] + name] = &t;
  for (const auto &[name, t] : moments2)
    values[kMomentPrefix[1] + name] = &t;
  const std::vector<int64_t> &shape = batch.ids->shape();
  Tensor zeros(DType::F32, shape), lrT = scalarF32(lr),
                                   decayT = scalarF32(weightDecay);
  Tensor stepT(DType::I32, {});
  stepT.data<int32_t>()[0] = int32_t(completed + 1);
  values[PONDER_VALUE_IDS] = batch.ids;
  values[PONDER_VALUE_LENGTHS] = batch.lengths;
  values[PONDER_VALUE_TARGET_WEIGHT] = batch.targetWeight;
  values[PONDER_VALUE_ADVANTAGE] = batch.advantage ? batch.advantage : &zeros;
  if (reference)
    values[PONDER_VALUE_REFERENCE_LOGITS] = &softTargets;
  values[PONDER_VALUE_LEARNING_RATE] = &lrT;
  values[PONDER_VALUE_STEP] = &stepT;
  values[PONDER_VALUE_WEIGHT_DECAY] = &decayT;
  auto out = artifact.call(entry, values);
  if (!out)
    return out.getStatus();
  // A step whose loss or gradient is not finite would poison every
  // parameter: it is refused and the state stays that of the last step.
  for (auto [name, what] :
       {std::pair(PONDER_VALUE_LOSS, "the loss"),
        std::pair(PONDER_VALUE_GRAD_NORM, "the gradient norm")})
    if (float v = out->at(name).data<float>()[0]; !std::isfinite(v))
      return Status::error(std::string(what) + " is " +
                           (std::isnan(v) ? "NaN" : "infinite") +
                           "; the step is not applied");
  for (auto &[name, t] : params)
    t = std::move(out->at(name));
  for (auto &[name, t] : moments1)
    t = std::move(out->at(kMomentPrefix[0] + name));
  for (auto &[name, t] : moments2)
    t = std::move(out->at(kMomentPrefix[1] + name));
  ++completed;

  StepMetrics metrics;
  auto scalar = [&](const char *name) {
    return double(out->at(name).data<float>()[0]);
  };
  metrics.loss = scalar(PONDER_VALUE_LOSS);
  metrics.ce = scalar(PONDER_VALUE_LOSS_CE);
  metrics.ponder = scalar(PONDER_VALUE_LOSS_PONDER);
  metrics.policy = scalar(PONDER_VALUE_LOSS_POLICY);
  metrics.gradNorm = scalar(PONDER_VALUE_GRAD_NORM);
  metrics.tokens = validPositions(*batch.lengths);
  metrics.meanDepth = meanDepth(out->at(PONDER_VALUE_STEPS), *batch.lengths);
  return metrics;
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

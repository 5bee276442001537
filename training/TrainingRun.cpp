//===- TrainingRun.cpp - The training loop --------------------------------===//

#include "training/TrainingRun.h"

#include "runtime/Hash.h"
#include "runtime/Init.h"
#include "training/Evaluation.h"
#include "training/TextEvaluation.h"

#include <array>
#include <chrono>
#include <cmath>
#include <fstream>

namespace ponder {

std::map<std::string, Tensor>
initialParameters(const Artifact &model, uint64_t seed, double embedStd) {
  std::map<std::string, Tensor> parameters;
  for (const ValueSpec &p : model.parameters()) {
    Tensor t(DType::F32, p.shape);
    initParameter(p.name, seed, t.data<float>(), size_t(t.numel()),
                  float(embedStd));
    parameters.emplace(p.name, std::move(t));
  }
  return parameters;
}

StatusOr<std::unique_ptr<TrainingRun>>
TrainingRun::create(const Artifact &model, std::string modelText,
                    TrainingSettings settings, TrainingStart start,
                    TrainingOptions options, const Artifact *reference) {
  if (start.step >= settings.steps)
    return Status::error(
        "ponder: the checkpoint is at step " + std::to_string(start.step) +
        ", nothing to do for --steps " + std::to_string(settings.steps));
  if (options.out.empty())
    return Status::error("ponder: missing option '--out'");
  if (Status s = settings.checkThinking(); !s)
    return s;
  std::unique_ptr<TrainingRun> run(new TrainingRun(model));
  run->modelText = std::move(modelText);
  run->config = std::move(settings);
  run->opts = std::move(options);
  if (run->opts.saveEvery <= 0)
    run->opts.saveEvery = std::max<int64_t>(1, run->config.steps / 10);

  if (Status s = run->setUpTask(); !s)
    return s;
  auto trainer =
      Trainer::create(model, std::move(start.parameters), std::move(start.m),
                      std::move(start.v), start.step, start.source);
  if (!trainer)
    return trainer.getStatus();
  run->stepper = std::move(*trainer);
  if (Status s = run->setUpRanks(); !s)
    return s;
  if (!run->config.reference.empty()) {
    if (!reference)
      return Status::error("ponder: --reference: no reference model given");
    if (Status s = run->setUpReference(*reference); !s)
      return s;
  }
  if (run->config.think)
    if (Status s = run->setUpRollouts(); !s)
      return s;
  if (!run->config.thoughtSlots.empty())
    if (Status s = run->setUpThoughtSlots(); !s)
      return s;
  if (!run->writes())
    return run;
  auto metrics =
      MetricsLog::open(withExtension(run->opts.out, ".csv"), start.step);
  if (!metrics)
    return metrics.getStatus();
  run->metrics.emplace(std::move(*metrics));
  return run;
}

Status TrainingRun::setUpTask() {
  if (std::string corpus = corpusOf(config.task); !corpus.empty()) {
    StatusOr<Vocabulary> vocab = corpusVocabulary(config.tokenizer);
    if (!vocab)
      return Status::error("ponder: " + vocab.getStatus().message());
    auto t = CorpusTask::create(corpus, config.val, *vocab, model.verbalVocab(),
                                model.maxSeq(), config.window);
    if (!t)
      return Status::error("ponder: " + t.getStatus().message());
    corpusTask = t->get();
    task = std::move(*t);
    return Status::ok();
  }
  auto t = Task::create(config.task, model.verbalVocab(), model.maxSeq());
  if (!t)
    return Status::error("ponder: " + t.getStatus().message());
  task = std::move(*t);
  heldOut = heldOutBatch(*task, config.seed, 0, opts.heldOutCount);
  return Status::ok();
}

// Every rank holds the whole model and takes its rows of each global batch
// (docs/distributed.md); an example's G rollouts stay on its rank.
Status TrainingRun::setUpRanks() {
  if (!opts.comm)
    return Status::ok();
  int size = opts.comm->size();
  if (config.batch < size)
    return Status::error("ponder: --batch " + std::to_string(config.batch) +
                         " is smaller than the " + std::to_string(size) +
                         " ranks");
  if (Status s = stepper->setCommunicator(opts.comm); !s)
    return Status::error("ponder: " + s.message());
  return Status::ok();
}

std::pair<int64_t, int64_t> TrainingRun::shardRows() const {
  if (!opts.comm)
    return {0, config.batch};
  return ponder::shardRows(config.batch, opts.comm->rank(), opts.comm->size());
}

Status TrainingRun::setUpReference(const Artifact &reference) {
  StatusOr<Checkpoint> c = loadCheckpoint(config.reference);
  if (!c)
    return c.getStatus();
  if (Status s = stepper->setReference(reference, std::move(c->parameters),
                                       config.reference);
      !s)
    return Status::error("ponder: --reference: " + s.message());
  return Status::ok();
}

// Rollouts decode with the trainer's own parameters, which every step
// updates in place.
Status TrainingRun::setUpRollouts() {
  if (model.vocabSize() == model.verbalVocab() || model.maxThink() == 0)
    return Status::error("ponder: --think: " + opts.modelName +
                         " has no think tokens to sample (think_vocab or "
                         "max_think is 0)");
  StatusOr<ThinkReward> reward = parseThinkReward(model.thinkReward());
  if (!reward)
    return Status::error("ponder: " + reward.getStatus().message());
  StatusOr<ThinkAt> at = parseThinkAt(config.thinkAt);
  if (!at)
    return Status::error("ponder: --think-at: " + at.getStatus().message());
  rolloutOptions = {model.rollouts(), model.maxThink(), *reward, 0};
  rolloutOptions.grouped = model.hiddenThoughts();
  rolloutOptions.at = *at;
  rolloutOptions.thinkCost = config.thinkCost;
  rolloutOptions.thinkFloor = config.thinkFloor;
  rolloutOptions.clampAdvantages = config.clampAdvantages;
  rolloutOptions.returnToGo = config.returnToGo;
  auto d = Decoder::create(model, parameterView(),
                           shardRows().second * model.rollouts(),
                           "the trained weights");
  if (!d)
    return d.getStatus();
  decoder = std::move(*d);
  return Status::ok();
}

// Placed thoughts need a think id to write and a model that may emit K of
// them in a row at evaluation; the held-out batch, placed once here, shows
// an overflow of max_seq before the first step.
Status TrainingRun::setUpThoughtSlots() {
  StatusOr<ThoughtSlots> parsed = ThoughtSlots::parse(config.thoughtSlots);
  if (!parsed)
    return Status::error("ponder: --thought-slots: " +
                         parsed.getStatus().message());
  std::string flag = "ponder: --thought-slots " + parsed->spec() + ": ";
  if (model.vocabSize() == model.verbalVocab())
    return Status::error(flag + opts.modelName +
                         " has no think ids (think_vocab is 0)");
  if (model.maxThink() < parsed->count)
    return Status::error(flag + opts.modelName + " allows max_think = " +
                         std::to_string(model.maxThink()) +
                         " thoughts in a row, fewer than " +
                         std::to_string(parsed->count) + " per slot");
  slots = *parsed;
  if (StatusOr<PlacedBatch> p = placedBatch(heldOut); !p)
    return p.getStatus();
  return Status::ok();
}

StatusOr<PlacedBatch> TrainingRun::placedBatch(const TaskBatch &b) const {
  StatusOr<PlacedBatch> p = placeThoughtSlots(
      b, *slots, int32_t(model.verbalVocab()), model.maxSeq());
  if (!p)
    return Status::error("ponder: --thought-slots: " + p.getStatus().message());
  return p;
}

namespace {

/// The metrics of compiled step `s` at learning rate `rate`.
MetricsRow stepRow(int64_t s, const StepMetrics &m, double rate) {
  MetricsRow row;
  row.step = s;
  row.loss = m.loss;
  row.ce = m.ce;
  row.ponder = m.ponder;
  row.policy = m.policy;
  row.gradNorm = m.gradNorm;
  row.learningRate = rate;
  row.meanDepth = m.meanDepth;
  return row;
}

/// The rows [rows.first, rows.first + rows.second) of `b`.
TaskBatch shardOf(const TaskBatch &b, std::pair<int64_t, int64_t> rows) {
  auto [first, count] = rows;
  return {b.ids.rows(first, count), b.lengths.rows(first, count),
          b.targetWeight.rows(first, count), b.scored.rows(first, count)};
}

/// Adds the rollouts' statistics to `row`.
/// Adds the rollouts' statistics to `row`, summed over the ranks of `comm`
/// (when not null) as one process would have counted them.
Status addRolloutMetrics(MetricsRow &row, const RolloutBatch &rolled,
                         Communicator *comm) {
  const RolloutStats &t = rolled.stats;
  double spans = double(t.spans), thinking = double(t.thinkingSpans);
  std::array<double, 7> sums = {spans,
                                t.meanReward * spans,
                                t.advantageStd * t.advantageStd * spans,
                                double(t.thinkTokens),
                                thinking,
                                t.thinkingAdvantage * thinking,
                                double(rolled.ids.shape()[0])};
  if (comm)
    if (Status s = comm->allReduceSum(sums.data(), sums.size()); !s)
      return s;
  double n = std::max(1.0, sums[0]);
  row.reward = sums[1] / n;
  row.advantageStd = std::sqrt(sums[2] / n);
  row.thinkPerVerbal = sums[3] / n;
  if (sums[4] > 0)
    row.thinkAdvantage = sums[5] / sums[4];
  row.thoughtsPerAnswer = sums[3] / sums[6];
  return Status::ok();
}

} // namespace

StatusOr<MetricsRow> TrainingRun::step(int64_t s) {
  TaskBatch b = trainBatch(*task, config.seed, s - 1, config.batch);
  if (opts.comm)
    b = shardOf(b, shardRows());
  double rate = config.schedule().at(s);
  TrainBatch batch{&b.ids, &b.lengths, &b.targetWeight, nullptr};
  PlacedBatch placed;
  if (slots) {
    StatusOr<PlacedBatch> p = placedBatch(b);
    if (!p)
      return p.getStatus();
    placed = std::move(*p);
    batch = {&placed.ids, &placed.lengths, &placed.targetWeight,
             &placed.advantage};
  }
  RolloutBatch rolled;
  if (config.think) {
    decoder->reset();
    rolloutOptions.seed = fnv1a("rollouts:" + std::to_string(config.seed) +
                                ":" + std::to_string(s));
    rolloutOptions.firstRow = shardRows().first * model.rollouts();
    StatusOr<RolloutBatch> r =
        rollout(*decoder, b.ids, b.lengths, b.targetWeight, rolloutOptions);
    if (!r)
      return Status::error("rollouts: " + r.getStatus().message());
    rolled = std::move(*r);
    batch = {&rolled.ids, &rolled.lengths, &rolled.targetWeight,
             &rolled.advantage};
  }
  auto r = stepper->train(batch, rate, config.weightDecay);
  if (!r)
    return r.getStatus();
  tokens += r->tokens;
  MetricsRow row = stepRow(s, *r, rate);
  if (config.think)
    if (Status st = addRolloutMetrics(row, rolled, opts.comm); !st)
      return st;
  if (slots)
    row.thoughtsPerAnswer =
        double(placed.thoughts) / double(shardRows().second);
  return row;
}

// Teacher-forced argmax through @forward, or with thinking a greedy walk in
// which the model chooses its thoughts (Evaluation.h): where rollouts open
// spans, or before every token for placed thoughts, which the model learnt
// to emit itself.
Status TrainingRun::evaluateHeldOut(MetricsRow &row) const {
  if (corpusTask) { // teacher forced, without thoughts
    auto e =
        evaluateText(model, parameterView(), *corpusTask, opts.heldOutCount);
    if (!e)
      return e.getStatus();
    row.heldOutAccuracy = e->accuracy();
    row.heldOutLoss = e->meanNll();
    return Status::ok();
  }
  if (!config.think && !slots) {
    StatusOr<double> a =
        stepper->accuracy(heldOut.ids, heldOut.lengths, heldOut.scored);
    if (!a)
      return a.getStatus();
    row.heldOutAccuracy = *a;
    return Status::ok();
  }
  std::map<std::string, const Tensor *> view = parameterView();
  EvaluateOptions options;
  options.maxThink = model.maxThink();
  options.at = slots ? ThinkAt::All : rolloutOptions.at;
  auto e =
      evaluate(model, view, heldOut.ids, heldOut.lengths, heldOut.targetWeight,
               heldOut.scored, options, "the trained weights");
  if (!e)
    return e.getStatus();
  row.heldOutAccuracy = e->accuracy();
  row.heldOutThoughts = e->thoughtsPerExample();
  row.heldOutFlops = e->flopsPerExample();
  return Status::ok();
}

std::map<std::string, const Tensor *> TrainingRun::parameterView() const {
  std::map<std::string, const Tensor *> view;
  for (const auto &[name, t] : stepper->parameters())
    view[name] = &t;
  return view;
}

Status TrainingRun::save() const {
  if (!writes())
    return Status::ok();
  std::map<std::string, std::string> metadata = config.toMetadata();
  metadata["model"] = modelText;
  return stepper->save(opts.out, metadata);
}

StatusOr<int64_t>
TrainingRun::run(const std::function<void(const StepReport &)> &report,
                 const volatile std::sig_atomic_t *stop) {
  auto began = std::chrono::steady_clock::now();
  int64_t first = stepper->step();
  for (int64_t s = first + 1; s <= config.steps; ++s) {
    // The ranks stop together, at the first step any of them was asked to.
    double stopping = stop && *stop ? 1 : 0;
    if (opts.comm)
      if (Status st = opts.comm->allReduceSum(&stopping, 1); !st)
        return st;
    if (stopping > 0) {
      if (Status st = save(); !st)
        return st;
      return stepper->step();
    }
    StatusOr<MetricsRow> row = step(s);
    if (!row) {
      // Checkpoints are replaced atomically: the last one is intact.
      bool saved = std::ifstream(opts.out).good();
      return Status::error("ponder: step " + std::to_string(s) + ": " +
                           row.getStatus().message() +
                           (saved ? "; the last checkpoint is kept" : ""));
    }
    StepReport r;
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
            .count();
    row->tokensPerSecond = r.seconds > 0 ? double(tokens) / r.seconds : 0.0;
    if ((opts.evalEvery > 0 && s % opts.evalEvery == 0) || s == config.steps) {
      if (Status st = evaluateHeldOut(*row); !st)
        return Status::error("ponder: held-out evaluation: " + st.message());
      accuracy = *row->heldOutAccuracy;
      heldOutLoss = row->heldOutLoss.value_or(-1);
      r.evaluated = true;
    }
    if (metrics)
      if (Status st = metrics->append(*row); !st)
        return st;
    if (s % opts.saveEvery == 0 || s == config.steps)
      if (Status st = save(); !st)
        return st;
    r.row = *row;
    r.steps = config.steps;
    r.remaining = r.seconds / double(s - first) * double(config.steps - s);
    r.lastAccuracy = accuracy;
    r.lastHeldOutLoss = heldOutLoss;
    last = *row;
    report(r);
  }
  return stepper->step();
}

} // namespace ponder

//===- Bench.cpp - ponder bench
//--------------------------------------------===//
//
// ponder bench [forward] MODEL.toml: the time of one @forward over B x T
// tokens; `bench generate`: prefill and per-token decoding at batch 1;
// `bench train`: the median @train_step. All with contract-initialised
// weights (MODEL.md §3) and defaults that fit the model.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/BatchFile.h"
#include "tools/ponder/Command.h"
#include "tools/ponder/Ranks.h"

#include "runtime/ArtifactContract.h"

#include "runtime/Decoder.h"
#include "runtime/Generate.h"
#include "training/TrainingRun.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sys/resource.h>

namespace ponder::cli {

namespace {

struct BenchOptions {
  ModelOptions model;
  std::string weights, batchFile; // "": initial weights, a made-up batch
  int64_t batch = 0, length = 0, iters = 0; // 0: the command's default
  int64_t promptLength = 0, newTokens = 0;
};

double millisecondsSince(std::chrono::steady_clock::time_point begin) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - begin)
      .count();
}

/// Deterministic ids [B, T] over the verbal vocabulary, full lengths.
void fillBatch(const Artifact &model, Tensor &ids, Tensor &lengths) {
  int64_t b = ids.shape()[0], t = ids.shape()[1];
  for (int64_t i = 0; i < b * t; ++i)
    ids.data<int32_t>()[i] = int32_t((i * 7919) % model.verbalVocab());
  for (int64_t r = 0; r < b; ++r)
    lengths.data<int32_t>()[r] = int32_t(t);
}

/// What the code was compiled for, closing each result line: "code
/// rocketlake (avx512)", so that timings name the vector instructions used.
std::string codeFor(const Artifact &model) {
  if (model.target() != PONDER_TARGET_CPU || model.cpu().empty())
    return "code " + model.target();
  return "code " + model.cpu() +
         (model.cpuIsa().empty() ? "" : " (" + model.cpuIsa() + ")");
}

/// "--FLAG: at most max_seq = N" when `value` is over the model's max_seq.
Status atMostMaxSeq(const Artifact &model, const char *flag, int64_t value) {
  if (value <= model.maxSeq())
    return Status::ok();
  return Status::error(std::string("ponder: ") + flag +
                       ": at most max_seq = " + std::to_string(model.maxSeq()));
}

/// The model of a forward or train benchmark and its batch: B rows of T
/// tokens, from --batch-file or made up (default T: max_seq), timed `iters`
/// times.
struct BenchRun {
  LoadedModel loaded;
  int64_t b = 0, t = 0, iters = 0;
  std::unique_ptr<BatchFile> file; // --batch-file
  Tensor ids, lengths, weight;     // without one
  TrainBatch batch;                // what is timed
};

StatusOr<std::unique_ptr<BenchRun>> prepare(const BenchOptions &o,
                                            int64_t batch, int64_t iters,
                                            const char *lengthFlag) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return loaded.getStatus();
  auto run = std::make_unique<BenchRun>();
  run->loaded = std::move(*loaded);
  const Artifact &model = *run->loaded.artifact;
  run->iters = o.iters ? o.iters : iters;
  if (!o.batchFile.empty()) {
    StatusOr<std::unique_ptr<BatchFile>> file =
        readBatchFile(model, o.batchFile);
    if (!file)
      return file.getStatus();
    run->file = std::move(*file);
    run->b = run->file->rows();
    run->t = run->file->length();
    const auto &v = run->file->values;
    run->batch = {v.at(PONDER_VALUE_IDS), v.at(PONDER_VALUE_LENGTHS),
                  v.at(PONDER_VALUE_TARGET_WEIGHT),
                  v.at(PONDER_VALUE_ADVANTAGE)};
    return run;
  }
  run->b = o.batch ? o.batch : batch;
  run->t = o.length ? o.length : model.maxSeq();
  if (Status s = atMostMaxSeq(model, lengthFlag, run->t); !s)
    return s;
  run->ids = Tensor(DType::I32, {run->b, run->t});
  run->lengths = Tensor(DType::I32, {run->b});
  run->weight = Tensor(DType::F32, {run->b, run->t});
  fillBatch(model, run->ids, run->lengths);
  for (int64_t i = 0; i < run->b * run->t; ++i)
    run->weight.data<float>()[i] = 1.0f;
  run->batch = {&run->ids, &run->lengths, &run->weight, nullptr};
  return run;
}

/// The weights a forward or generation benchmark runs: --weights (checked
/// against the model), or the initial weights of seed 0.
struct BenchWeights {
  std::map<std::string, Tensor> initial;
  std::unique_ptr<Weights> given;
  std::map<std::string, const Tensor *> values;
};

StatusOr<std::unique_ptr<BenchWeights>> benchWeights(const Artifact &model,
                                                     const std::string &path) {
  auto w = std::make_unique<BenchWeights>();
  if (!path.empty()) {
    StatusOr<std::unique_ptr<Weights>> given = loadWeights(model, path);
    if (!given)
      return given.getStatus();
    w->given = std::move(*given);
    w->values = w->given->values;
    return w;
  }
  w->initial = initialParameters(model, 0);
  for (const auto &[name, p] : w->initial)
    w->values[name] = &p;
  return w;
}

/// The model FLOPs of one forward token at sequence length T and mean depth
/// `depth` (docs/performance.md): per block step 8 d^2 (q, k, v, o) +
/// 4 d d_ff (the FFN) + 2 d (T + 1) (causal scores and values, averaged over
/// positions), plus 2 d V for the unembedding. Norms, GELU and halting are
/// left out.
double forwardFlopsPerToken(const Artifact &model, int64_t t, double depth) {
  double d = 0, ff = 0;
  for (const ValueSpec &p : model.parameters()) {
    if (p.name == "embed.token")
      d = double(p.shape[1]);
    if (p.name == "block.ffn.up.weight")
      ff = double(p.shape[0]);
  }
  double block = 8 * d * d + 4 * d * ff + 2 * d * double(t + 1);
  return depth * block + 2 * d * double(model.vocabSize());
}

/// Peak resident memory of this process in MiB.
double peakMemoryMiB() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

/// The median of `times` (not empty).
double medianOf(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int benchForward(const BenchOptions &o) {
  StatusOr<std::unique_ptr<BenchRun>> run = prepare(o, 1, 10, "--length");
  if (!run)
    return fail(run.getStatus());
  const Artifact &model = *(*run)->loaded.artifact;
  int64_t b = (*run)->b, t = (*run)->t, iters = (*run)->iters;
  StatusOr<std::unique_ptr<BenchWeights>> weights =
      benchWeights(model, o.weights);
  if (!weights)
    return fail(weights.getStatus());
  std::map<std::string, const Tensor *> values = (*weights)->values;
  const TrainBatch &batch = (*run)->batch;
  values[PONDER_VALUE_IDS] = batch.ids;
  values[PONDER_VALUE_LENGTHS] = batch.lengths;
  const EntryPoint *forward = model.entry(PONDER_ENTRY_FORWARD);
  if (!forward)
    return fail(Status::error((*run)->loaded.label +
                              ": the artifact has no forward entry point"));
  std::vector<double> times;
  double depth = 0;
  for (int64_t i = 0; i <= iters; ++i) { // the first call warms up
    auto begin = std::chrono::steady_clock::now();
    auto out = model.call(*forward, values);
    double ms = millisecondsSince(begin);
    if (!out)
      return fail(out.getStatus());
    if (i > 0) {
      times.push_back(ms);
      depth = meanDepth(out->at(PONDER_VALUE_STEPS), *batch.lengths);
    }
  }
  double median = medianOf(times),
         tokens = double(validPositions(*batch.lengths));
  double flops = tokens * forwardFlopsPerToken(model, t, depth);
  std::printf("forward  batch %lld  length %lld  threads %lld  median %.3f "
              "ms/iter  %.0f tokens/s  %.2f GFLOP/s  mean depth %.2f steps  "
              "peak %.0f MiB  (%lld iters)  %s\n",
              static_cast<long long>(b), static_cast<long long>(t),
              static_cast<long long>(model.threads()), median,
              tokens / (median / 1000.0), flops / (median / 1000.0) / 1e9,
              depth, peakMemoryMiB(), static_cast<long long>(iters),
              codeFor(model).c_str());
  return 0;
}

int benchGenerate(const BenchOptions &o) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return fail(loaded.getStatus());
  const Artifact &model = *loaded->artifact;
  // Defaults that fit any model: a quarter of max_seq of prompt (at most
  // 16), the rest (at most 64) generated.
  int64_t p =
      o.promptLength
          ? o.promptLength
          : std::max<int64_t>(1, std::min<int64_t>(16, model.maxSeq() / 4));
  int64_t n =
      o.newTokens
          ? o.newTokens
          : std::max<int64_t>(1, std::min<int64_t>(64, model.maxSeq() - p));
  if (Status s = atMostMaxSeq(model, "--prompt-length + --new", p + n); !s)
    return fail(s);
  StatusOr<std::unique_ptr<BenchWeights>> weights =
      benchWeights(model, o.weights);
  if (!weights)
    return fail(weights.getStatus());
  const std::map<std::string, const Tensor *> &values = (*weights)->values;
  int64_t rows = o.batch ? o.batch : 1;
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < p; ++i)
      prompts[size_t(r)].push_back(
          int32_t((i * 7919 + r * 31) % model.verbalVocab()));
  GenerateOptions options;
  options.sampling = {model.verbalVocab(), 0.0, model.maxThink()};
  options.maxNew = n + 1; // the last token is chosen, not decoded
  for (int round = 0; round < 2; ++round) { // the first warms up
    auto decoder = Decoder::create(model, values, rows,
                                   o.weights.empty() ? "init" : o.weights);
    if (!decoder)
      return fail(decoder.getStatus());
    auto g = generateBatch(**decoder, prompts, options);
    if (!g)
      return fail(g.getStatus());
    if (round == 0)
      continue;
    double depth = 0;
    size_t decoded = 0;
    for (const Generation &row : *g) {
      for (int32_t s : row.decodedSteps)
        depth += s;
      decoded += row.decodedSteps.size();
    }
    double seconds = g->front().decodeSeconds;
    std::printf("generate  batch %lld  prompt %lld  threads %lld  prefill %.3f "
                "ms  decode %zu tokens  %.3f ms/token  %.1f tokens/s  mean "
                "depth %.2f steps  %s\n",
                static_cast<long long>(rows), static_cast<long long>(p),
                static_cast<long long>(model.threads()),
                g->front().prefillSeconds * 1e3, decoded,
                seconds * 1e3 / double(decoded), double(decoded) / seconds,
                decoded ? depth / double(decoded) : 0.0,
                codeFor(model).c_str());
  }
  return 0;
}

/// Rank `r` of `n`'s rows of `batch`, in `rows` (which must outlive it).
TrainBatch shardOf(const TrainBatch &batch, int r, int n,
                   std::vector<Tensor> &rows) {
  auto [first, count] = shardRows(batch.ids->shape()[0], r, n);
  rows.clear();
  for (const Tensor *t : {batch.ids, batch.lengths, batch.targetWeight})
    rows.push_back(t->rows(first, count));
  return {&rows[0], &rows[1], &rows[2], nullptr};
}

int benchTrain(BenchOptions o) {
  // Under mpirun the ranks time one data-parallel step of the batch
  // (docs/distributed.md); rank 0 reports.
  auto ranks = launchedRanks();
  if (!ranks)
    return fail(ranks.getStatus());
  o.model.dataParallel = bool(*ranks);
  StatusOr<std::unique_ptr<BenchRun>> run = prepare(o, 16, 5, "--seq");
  if (!run)
    return fail(run.getStatus());
  const Artifact &model = *(*run)->loaded.artifact;
  int64_t b = (*run)->b, t = (*run)->t, iters = (*run)->iters;
  Checkpoint start;
  if (!o.weights.empty()) {
    StatusOr<Checkpoint> c = loadCheckpoint(o.weights);
    if (!c)
      return fail(c.getStatus());
    start = std::move(*c);
  } else {
    start.parameters = initialParameters(model, 0);
  }
  auto trainer =
      Trainer::create(model, std::move(start.parameters), std::move(start.m),
                      std::move(start.v), start.step,
                      o.weights.empty() ? "the initial weights" : o.weights);
  if (!trainer)
    return fail(trainer.getStatus());
  TrainBatch batch = (*run)->batch;
  std::vector<Tensor> rows;
  if (Communicator *c = ranks->get()) {
    if (b < c->size())
      return fail(Status::error("ponder: --batch " + std::to_string(b) +
                                " is smaller than the " +
                                std::to_string(c->size()) + " ranks"));
    if (Status s = (*trainer)->setCommunicator(c); !s)
      return fail(Status::error("ponder: " + s.message()));
    batch = shardOf(batch, c->rank(), c->size(), rows);
  }
  // A learning rate of 0 keeps the weights, so every timed step sees the
  // same halting depths; the work of a step does not depend on the rate.
  std::vector<double> times, waits;
  double depth = 0;
  for (int64_t i = 0; i <= iters; ++i) { // the first call warms up
    auto begin = std::chrono::steady_clock::now();
    auto r = (*trainer)->train(batch, 0.0, 0.0);
    double ms = millisecondsSince(begin);
    if (!r)
      return fail(r.getStatus());
    if (i > 0) {
      times.push_back(ms);
      waits.push_back(r->allReduceSeconds * 1e3);
      depth = r->meanDepth;
    }
  }
  if (*ranks && (*ranks)->rank() != 0)
    return 0;
  double median = medianOf(times);
  double tokens = double(validPositions(*(*run)->batch.lengths));
  // Training: forward + backward = 3 forward FLOPs (the block's recomputation
  // in the backward pass is not counted: effective, not executed, FLOPs).
  double flops = 3 * tokens * forwardFlopsPerToken(model, t, depth);
  std::printf("train  batch %lld  seq %lld  threads %lld  median %.2f "
              "ms/step  %.0f tokens/s  %.2f GFLOP/s  mean depth %.2f  peak "
              "%.0f MiB  (%lld iters)  %s\n",
              static_cast<long long>(b), static_cast<long long>(t),
              static_cast<long long>(model.threads()), median,
              tokens / (median / 1000.0), flops / (median / 1000.0) / 1e9,
              depth, peakMemoryMiB(), static_cast<long long>(iters),
              codeFor(model).c_str());
  if (*ranks)
    std::printf("ranks %d  all-reduce median %.2f ms/step (%.1f%% of the "
                "step)\n",
                (*ranks)->size(), medianOf(waits),
                100 * medianOf(waits) / median);
  return 0;
}

/// --weights and --batch-file, the latter instead of the options in
/// `shape`.
void addRealInputs(CLI::App *app, BenchOptions &o,
                   std::initializer_list<CLI::Option *> shape) {
  app->add_option("--weights", o.weights,
                  "weights or a checkpoint to time (default: the initial "
                  "weights of seed 0)");
  CLI::Option *file = app->add_option(
      "--batch-file", o.batchFile,
      "the batch to time, as for ponder run --batch: ids, lengths, optional "
      "target_weight and advantage (default: made-up full rows)");
  for (CLI::Option *option : shape)
    file->excludes(option);
}

} // namespace

std::vector<Command> makeBenchCommands(CLI::App &parent) {
  auto f = std::make_shared<BenchOptions>();
  CLI::App *bench = addSubcommand(
      parent, "bench",
      "Time @forward (or a subcommand's work) with initial weights.");
  addModelOptions(bench, f->model);
  // MODEL.toml is bench's own positional only without a subcommand.
  bench->get_option("MODEL.toml")->required(false);
  CLI::Option *rows = bench->add_option("--batch", f->batch, "rows (default 1)")
                          ->check(integerAtLeast(1));
  CLI::Option *length = bench
                            ->add_option("--length", f->length,
                                         "tokens per row (default max_seq)")
                            ->check(integerAtLeast(1));
  bench->add_option("--iters", f->iters, "timed calls (default 10)")
      ->check(integerAtLeast(1));
  addRealInputs(bench, *f, {rows, length});

  auto g = std::make_shared<BenchOptions>();
  CLI::App *gen = addSubcommand(*bench, "generate",
                                "Prefill and per-token decoding (batch 1 "
                                "unless --batch).");
  addModelOptions(gen, g->model);
  gen->add_option("--weights", g->weights,
                  "weights or a checkpoint to time (default: the initial "
                  "weights of seed 0)");
  gen->add_option("--batch", g->batch,
                  "prompts decoded together (default 1); tokens/s counts "
                  "every row's")
      ->check(integerAtLeast(1));
  gen->add_option("--prompt-length", g->promptLength,
                  "prompt tokens (default min(16, max_seq / 4))")
      ->check(integerAtLeast(1));
  gen->add_option("--new", g->newTokens,
                  "decoded tokens (default min(64, max_seq - prompt))")
      ->check(integerAtLeast(1));

  auto t = std::make_shared<BenchOptions>();
  CLI::App *train = addSubcommand(*bench, "train",
                                  "The median @train_step (gradient, "
                                  "clipping, AdamW).");
  addModelOptions(train, t->model);
  CLI::Option *trainRows =
      train->add_option("--batch", t->batch, "rows (default 16)")
          ->check(integerAtLeast(1));
  CLI::Option *seq =
      train->add_option("--seq", t->length, "tokens per row (default max_seq)")
          ->check(integerAtLeast(2));
  train->add_option("--iters", t->iters, "timed steps (default 5)")
      ->check(integerAtLeast(1));
  addRealInputs(train, *t, {trainRows, seq});

  auto forward = [f] {
    if (f->model.model.empty())
      return fail(Status::error("ponder: bench: missing MODEL.toml"));
    return benchForward(*f);
  };
  return {{bench, forward},
          {gen, [g] { return benchGenerate(*g); }},
          {train, [t] { return benchTrain(*t); }}};
}

} // namespace ponder::cli

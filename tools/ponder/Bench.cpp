//===- Bench.cpp - ponder bench
//--------------------------------------------===//
//
// ponder bench [forward] MODEL.toml: the time of one @forward over B x T
// tokens; `bench generate`: prefill and per-token decoding at batch 1;
// `bench train`: the median @train_step. All with contract-initialised
// weights (MODEL.md §3) and defaults that fit the model.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

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

/// "--FLAG: at most max_seq = N" when `value` is over the model's max_seq.
Status atMostMaxSeq(const Artifact &model, const char *flag, int64_t value) {
  if (value <= model.maxSeq())
    return Status::ok();
  return Status::error(std::string("ponder: ") + flag +
                       ": at most max_seq = " + std::to_string(model.maxSeq()));
}

/// The model of a forward or train benchmark and its shape: B rows of T
/// tokens (default max_seq), timed `iters` times.
struct BenchRun {
  LoadedModel loaded;
  int64_t b = 0, t = 0, iters = 0;
};

StatusOr<BenchRun> prepare(const BenchOptions &o, int64_t batch, int64_t iters,
                           const char *lengthFlag) {
  StatusOr<LoadedModel> loaded = loadModel(o.model);
  if (!loaded)
    return loaded.getStatus();
  int64_t maxSeq = loaded->artifact->maxSeq();
  BenchRun run{std::move(*loaded), o.batch ? o.batch : batch,
               o.length ? o.length : maxSeq, o.iters ? o.iters : iters};
  if (Status s = atMostMaxSeq(*run.loaded.artifact, lengthFlag, run.t); !s)
    return s;
  return run;
}

int benchForward(const BenchOptions &o) {
  StatusOr<BenchRun> run = prepare(o, 1, 10, "--length");
  if (!run)
    return fail(run.getStatus());
  const Artifact &model = *run->loaded.artifact;
  int64_t b = run->b, t = run->t, iters = run->iters;
  std::map<std::string, Tensor> params = initialParameters(model, 0);
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, p] : params)
    values[name] = &p;
  Tensor ids(DType::I32, {b, t}), lengths(DType::I32, {b});
  fillBatch(model, ids, lengths);
  values[PONDER_VALUE_IDS] = &ids;
  values[PONDER_VALUE_LENGTHS] = &lengths;
  const EntryPoint *forward = model.entry(PONDER_ENTRY_FORWARD);
  if (!forward)
    return fail(Status::error(run->loaded.label +
                              ": the artifact has no forward entry point"));
  auto warm = model.call(*forward, values); // page-in, allocator warm-up
  if (!warm)
    return fail(warm.getStatus());
  auto start = std::chrono::steady_clock::now();
  double meanSteps = 0;
  for (int64_t i = 0; i < iters; ++i) {
    auto out = model.call(*forward, values);
    if (!out)
      return fail(out.getStatus());
    const Tensor &steps = out->at(PONDER_VALUE_STEPS);
    meanSteps = 0;
    for (int64_t k = 0; k < steps.numel(); ++k)
      meanSteps += steps.data<int32_t>()[k];
    meanSteps /= double(steps.numel());
  }
  double ms = millisecondsSince(start) / double(iters);
  std::printf("forward  batch %lld  length %lld  threads %lld  %.3f "
              "ms/iter  %.0f tokens/s  mean depth %.2f steps  (%lld iters)\n",
              static_cast<long long>(b), static_cast<long long>(t),
              static_cast<long long>(model.threads()), ms,
              double(b * t) / (ms / 1000.0), meanSteps,
              static_cast<long long>(iters));
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
  std::map<std::string, Tensor> params = initialParameters(model, 0);
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : params)
    values[name] = &t;
  std::vector<int32_t> prompt(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i)
    prompt[size_t(i)] = int32_t((i * 7919) % model.verbalVocab());
  GenerateOptions options;
  options.sampling = {model.verbalVocab(), 0.0, model.maxThink()};
  options.maxNew = n + 1; // the last token is chosen, not decoded
  for (int round = 0; round < 2; ++round) { // the first warms up
    auto decoder = Decoder::create(model, values, 1, "init");
    if (!decoder)
      return fail(decoder.getStatus());
    auto g = generate(**decoder, prompt, options);
    if (!g)
      return fail(g.getStatus());
    if (round == 0)
      continue;
    double depth = 0;
    for (int32_t s : g->decodedSteps)
      depth += s;
    size_t decoded = g->decodedSteps.size();
    std::printf("generate  batch 1  prompt %lld  threads %lld  prefill %.3f "
                "ms  decode %zu tokens  %.3f ms/token  %.1f tokens/s  mean "
                "depth %.2f steps\n",
                static_cast<long long>(p),
                static_cast<long long>(model.threads()),
                g->prefillSeconds * 1e3, decoded,
                g->decodeSeconds * 1e3 / double(decoded),
                double(decoded) / g->decodeSeconds,
                decoded ? depth / double(decoded) : 0.0);
  }
  return 0;
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

int benchTrain(const BenchOptions &o) {
  StatusOr<BenchRun> run = prepare(o, 16, 5, "--seq");
  if (!run)
    return fail(run.getStatus());
  const Artifact &model = *run->loaded.artifact;
  int64_t b = run->b, t = run->t, iters = run->iters;
  auto trainer =
      Trainer::create(model, initialParameters(model, 0), {}, {}, 0, "init");
  if (!trainer)
    return fail(trainer.getStatus());
  Tensor ids(DType::I32, {b, t}), lengths(DType::I32, {b});
  Tensor weight(DType::F32, {b, t});
  fillBatch(model, ids, lengths);
  for (int64_t i = 0; i < b * t; ++i)
    weight.data<float>()[i] = 1.0f;
  std::vector<double> times;
  double depth = 0;
  for (int64_t i = 0; i <= iters; ++i) { // the first call warms up
    auto begin = std::chrono::steady_clock::now();
    auto r = (*trainer)->train({&ids, &lengths, &weight, nullptr}, 1e-4, 0.0);
    double ms = millisecondsSince(begin);
    if (!r)
      return fail(r.getStatus());
    if (i > 0) {
      times.push_back(ms);
      depth = r->meanDepth;
    }
  }
  std::sort(times.begin(), times.end());
  double median = times[times.size() / 2];
  double tokens = double(b * t);
  // Training: forward + backward = 3 forward FLOPs (the block's recomputation
  // in the backward pass is not counted: effective, not executed, FLOPs).
  double flops = 3 * tokens * forwardFlopsPerToken(model, t, depth);
  std::printf("train  batch %lld  seq %lld  threads %lld  median %.2f "
              "ms/step  %.0f tokens/s  %.2f GFLOP/s  mean depth %.2f  peak "
              "%.0f MiB  (%lld iters)\n",
              static_cast<long long>(b), static_cast<long long>(t),
              static_cast<long long>(model.threads()), median,
              tokens / (median / 1000.0), flops / (median / 1000.0) / 1e9,
              depth, peakMemoryMiB(), static_cast<long long>(iters));
  return 0;
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
  bench->add_option("--batch", f->batch, "rows (default 1)")
      ->check(integerAtLeast(1));
  bench->add_option("--length", f->length, "tokens per row (default max_seq)")
      ->check(integerAtLeast(1));
  bench->add_option("--iters", f->iters, "timed calls (default 10)")
      ->check(integerAtLeast(1));

  auto g = std::make_shared<BenchOptions>();
  CLI::App *gen = addSubcommand(*bench, "generate",
                                "Prefill and per-token decoding at batch 1.");
  addModelOptions(gen, g->model);
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
  train->add_option("--batch", t->batch, "rows (default 16)")
      ->check(integerAtLeast(1));
  train->add_option("--seq", t->length, "tokens per row (default max_seq)")
      ->check(integerAtLeast(2));
  train->add_option("--iters", t->iters, "timed steps (default 5)")
      ->check(integerAtLeast(1));

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

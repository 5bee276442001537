//===- Generate.cpp - Sampling and the generation loop --------------------===//

#include "runtime/Generate.h"
#include "runtime/Hash.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

namespace ponder {

double Sampler::uniform() {
  return double(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::sample(const float *logits, int64_t vocab,
                        const SamplingOptions &options, int64_t thinkRun) {
  int64_t allowed = thinkRun >= options.maxThink ? options.verbalVocab : vocab;
  int64_t best = 0;
  for (int64_t i = 1; i < allowed; ++i)
    if (logits[i] > logits[best])
      best = i;
  if (options.temperature <= 0)
    return int32_t(best);
  // softmax(z / T) by inversion, in double, relative to the largest logit.
  double total = 0;
  std::vector<double> weights(static_cast<size_t>(allowed));
  for (int64_t i = 0; i < allowed; ++i)
    total += weights[i] =
        std::exp((double(logits[i]) - logits[best]) / options.temperature);
  double u = uniform() * total;
  for (int64_t i = 0; i < allowed; ++i) {
    u -= weights[i];
    if (u < 0)
      return int32_t(i);
  }
  return int32_t(best); // u landed on the rounding error at the top
}

namespace {

/// One row of a batched generation: its prompt, sampler and progress.
struct Row {
  std::vector<int32_t> prompt;
  Sampler sampler;
  int64_t thinkRun = 0;
  Generation out;
};

/// The number of think ids at the end of `prompt`: they count toward
/// max_think.
int64_t trailingThinks(const std::vector<int32_t> &prompt,
                       int64_t verbalVocab) {
  int64_t run = 0;
  for (auto it = prompt.rbegin(); it != prompt.rend() && *it >= verbalVocab;
       ++it)
    ++run;
  return run;
}

/// Chooses row `r`'s next token from `logits` (the row's last position) and
/// says whether the row goes on to decode it.
bool chooseNext(Row &row, int64_t r, const float *logits, int64_t vocab,
                int32_t cachedTokens, int64_t maxSeq,
                const GenerateOptions &options,
                const std::function<void(int64_t, int32_t)> &onToken) {
  int32_t token =
      row.sampler.sample(logits, vocab, options.sampling, row.thinkRun);
  if (token == options.eos) {
    row.out.sawEos = true;
    return false;
  }
  row.out.ids.push_back(token);
  if (onToken)
    onToken(r, token);
  row.thinkRun = token >= options.sampling.verbalVocab ? row.thinkRun + 1 : 0;
  if (int64_t(row.out.ids.size()) == options.maxNew)
    return false; // chosen; its own logits are not needed
  if (cachedTokens >= maxSeq) {
    row.out.reachedMaxSeq = true;
    return false;
  }
  return true;
}

/// `prompts` as one [B, T] chunk (padded with 0) and their lengths.
Tensor promptChunk(const std::vector<Row> &rows,
                   std::vector<int32_t> &lengths) {
  size_t longest = 0;
  for (const Row &row : rows)
    longest = std::max(longest, row.prompt.size());
  Tensor ids(DType::I32, {int64_t(rows.size()), int64_t(longest)});
  std::memset(ids.bytes(), 0, rows.size() * longest * sizeof(int32_t));
  for (size_t r = 0; r < rows.size(); ++r) {
    std::memcpy(ids.data<int32_t>() + r * longest, rows[r].prompt.data(),
                rows[r].prompt.size() * sizeof(int32_t));
    lengths.push_back(int32_t(rows[r].prompt.size()));
  }
  return ids;
}

} // namespace

StatusOr<std::vector<Generation>>
generateBatch(Decoder &decoder,
              const std::vector<std::vector<int32_t>> &prompts,
              const GenerateOptions &options,
              const std::function<void(int64_t, int32_t)> &onToken) {
  using Clock = std::chrono::steady_clock;
  int64_t b = int64_t(prompts.size());
  if (b == 0 || decoder.batch() != b ||
      std::any_of(decoder.positions().begin(), decoder.positions().end(),
                  [](int32_t n) { return n != 0; }))
    return Status::error("generation needs an empty decoder of one row per "
                         "prompt");
  std::vector<Row> rows;
  for (int64_t r = 0; r < b; ++r) {
    if (prompts[r].empty())
      return Status::error("prompt " + std::to_string(r + 1) + " is empty");
    rows.push_back({prompts[r],
                    Sampler(options.seed + uint64_t(r)),
                    trailingThinks(prompts[r], options.sampling.verbalVocab),
                    {}});
  }
  std::vector<int32_t> lengths;
  Tensor chunk = promptChunk(rows, lengths);
  auto begin = Clock::now();
  auto out = decoder.append(chunk, lengths);
  if (!out)
    return out.getStatus();
  double prefill = std::chrono::duration<double>(Clock::now() - begin).count();

  // live[i]: the row that is decoder row i; each call's logits hold the
  // last position of row i at lastAt[i].
  std::vector<int64_t> live(static_cast<size_t>(b)),
      lastAt(static_cast<size_t>(b));
  for (int64_t r = 0; r < b; ++r) {
    live[r] = r;
    lastAt[r] = lengths[r] - 1;
  }
  begin = Clock::now();
  while (!live.empty()) {
    int64_t t = out->logits.shape()[1], vocab = out->logits.shape()[2];
    std::vector<int64_t> going; // decoder rows that decode their token
    std::vector<int32_t> next;
    for (size_t i = 0; i < live.size(); ++i) {
      Row &row = rows[live[i]];
      const float *logits =
          out->logits.data<float>() + (int64_t(i) * t + lastAt[i]) * vocab;
      if (chooseNext(row, live[i], logits, vocab, decoder.positions()[i],
                     decoder.maxSeq(), options, onToken)) {
        going.push_back(int64_t(i));
        next.push_back(row.out.ids.back());
      }
    }
    if (going.empty())
      break;
    // Finished rows leave the decoder, so later calls skip their work.
    if (going.size() < live.size()) {
      if (Status s = decoder.keepRows(going); !s)
        return s;
      std::vector<int64_t> stillLive;
      for (int64_t i : going)
        stillLive.push_back(live[i]);
      live = std::move(stillLive);
    }
    out = decoder.append(next);
    if (!out)
      return out.getStatus();
    for (size_t i = 0; i < live.size(); ++i) {
      rows[live[i]].out.decodedSteps.push_back(out->steps.data<int32_t>()[i]);
      lastAt[i] = 0;
    }
  }
  double decode = std::chrono::duration<double>(Clock::now() - begin).count();
  std::vector<Generation> generations;
  for (Row &row : rows) {
    row.out.prefillSeconds = prefill;
    row.out.decodeSeconds = decode;
    generations.push_back(std::move(row.out));
  }
  return generations;
}

StatusOr<Generation> generate(Decoder &decoder,
                              const std::vector<int32_t> &prompt,
                              const GenerateOptions &options,
                              const std::function<void(int32_t)> &onToken) {
  if (decoder.batch() != 1 || decoder.positions()[0] != 0)
    return Status::error("generate needs an empty single-row decoder");
  if (prompt.empty())
    return Status::error("the prompt is empty");
  auto g = generateBatch(decoder, {prompt}, options, [&](int64_t, int32_t id) {
    if (onToken)
      onToken(id);
  });
  if (!g)
    return g.getStatus();
  return std::move(g->front());
}

} // namespace ponder

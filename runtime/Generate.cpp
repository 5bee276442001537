//===- Generate.cpp - Sampling and the generation loop --------------------===//

#include "runtime/Generate.h"
#include "runtime/Hash.h"

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

StatusOr<Generation> generate(Decoder &decoder,
                              const std::vector<int32_t> &prompt,
                              const GenerateOptions &options,
                              const std::function<void(int32_t)> &onToken) {
  using Clock = std::chrono::steady_clock;
  if (decoder.batch() != 1 || decoder.positions()[0] != 0)
    return Status::error("generate needs an empty single-row decoder");
  if (prompt.empty())
    return Status::error("the prompt is empty");
  Tensor ids(DType::I32, {1, int64_t(prompt.size())});
  std::memcpy(ids.bytes(), prompt.data(), prompt.size() * sizeof(int32_t));

  Generation g;
  auto begin = Clock::now();
  auto out = decoder.append(ids, {int32_t(prompt.size())});
  if (!out)
    return out.getStatus();
  g.prefillSeconds =
      std::chrono::duration<double>(Clock::now() - begin).count();

  Sampler sampler(options.seed);
  int64_t vocab = out->logits.shape()[2];
  // The prompt's trailing think tokens count toward max_think.
  int64_t thinkRun = 0;
  for (auto it = prompt.rbegin();
       it != prompt.rend() && *it >= options.sampling.verbalVocab; ++it)
    ++thinkRun;
  begin = Clock::now();
  while (int64_t(g.ids.size()) < options.maxNew) {
    const float *last =
        out->logits.data<float>() + (out->logits.numel() - vocab);
    int32_t token = sampler.sample(last, vocab, options.sampling, thinkRun);
    if (token == options.eos) {
      g.sawEos = true;
      break;
    }
    g.ids.push_back(token);
    if (onToken)
      onToken(token);
    thinkRun = token >= options.sampling.verbalVocab ? thinkRun + 1 : 0;
    if (int64_t(g.ids.size()) == options.maxNew)
      break; // chosen; its own logits are not needed
    if (decoder.positions()[0] >= decoder.maxSeq()) {
      g.reachedMaxSeq = true;
      break;
    }
    out = decoder.append(std::vector<int32_t>{token});
    if (!out)
      return out.getStatus();
    g.decodedSteps.push_back(out->steps.data<int32_t>()[0]);
  }
  g.decodeSeconds = std::chrono::duration<double>(Clock::now() - begin).count();
  return g;
}

} // namespace ponder

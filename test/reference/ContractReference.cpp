//===- ContractReference.cpp - Independent reference of MODEL.md ----------===//
//
// Plain loops in double precision, one row at a time: rows of a batch never
// interact (MODEL.md §4), so the batched forward is the per-row forward
// repeated. Written from MODEL.md alone; see ContractReference.h.
//
//===----------------------------------------------------------------------===//

#include "test/reference/ContractReference.h"

#include <algorithm>
#include <cmath>

namespace ponder::reference {
namespace {

constexpr double kPi = 3.14159265358979323846;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// log sum_{i in [begin, end)} exp(z[i]), shifted by the maximum for range.
double logSumExp(const double *z, int64_t begin, int64_t end) {
  double maxZ = z[begin];
  for (int64_t i = begin + 1; i < end; ++i)
    maxZ = std::max(maxZ, z[i]);
  double sum = 0;
  for (int64_t i = begin; i < end; ++i)
    sum += std::exp(z[i] - maxZ);
  return maxZ + std::log(sum);
}

/// y = x W^T for x [rows, in] and W [out, in].
Tensor linear(const Tensor &x, const Tensor &w, int64_t in, int64_t out) {
  int64_t rows = static_cast<int64_t>(x.size()) / in;
  Tensor y(rows * out, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0;
      for (int64_t i = 0; i < in; ++i)
        sum += x[r * in + i] * w[o * in + i];
      y[r * out + o] = sum;
    }
  return y;
}

/// RMSNorm of every row of x [T, d].
Tensor rmsNormRows(const Tensor &x, const Tensor &weight, double eps) {
  int64_t d = static_cast<int64_t>(weight.size());
  Tensor y(x.size());
  for (size_t r = 0; r * d < x.size(); ++r) {
    Tensor row(x.begin() + r * d, x.begin() + (r + 1) * d);
    Tensor normed = rmsNorm(row, weight, eps);
    std::copy(normed.begin(), normed.end(), y.begin() + r * d);
  }
  return y;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The forward of one row (MODEL.md §4).
struct RowForward {
  Tensor logits;              // [T, V]
  std::vector<int32_t> steps; // [T]
  Tensor remainder;           // [T]
  Tensor haltProbs;           // [N_max, T]
  Tensor stepLogits;          // [N_max, T, V], pondernet only
  Tensor finalState;          // [T, d], the y that the unembedding reads
};

void forwardFixed(const Config &config, const Weights &weights, Tensor s,
                  int64_t length, RowForward &out) {
  const int64_t T = static_cast<int64_t>(out.steps.size());
  const int64_t nMax = config.maxSteps;
  for (int64_t n = 0; n < nMax; ++n)
    s = block(config, weights, s, n, length);
  out.finalState = s;
  // docs/contract-notes.md 3: one-hot on the last step.
  for (int64_t t = 0; t < length; ++t) {
    out.steps[t] = static_cast<int32_t>(nMax);
    out.haltProbs[(nMax - 1) * T + t] = 1.0;
  }
}

void forwardPonderNet(const Config &config, const Weights &weights, Tensor s,
                      int64_t length, RowForward &out) {
  const int64_t T = static_cast<int64_t>(out.steps.size());
  const int64_t d = config.dModel, nMax = config.maxSteps;
  const int64_t V = config.vocab();
  // §4 pondernet: no freezing; p_n = lambda_n prod_{j<n} (1 - lambda_j).
  out.stepLogits.assign(nMax * T * V, 0.0);
  std::vector<Tensor> states;
  Tensor notHalted(T, 1.0); // prod_{j<n} (1 - lambda_j)
  for (int64_t n = 0; n < nMax; ++n) {
    s = block(config, weights, s, n, length);
    states.push_back(s);
    Tensor z = unembed(config, weights, s);
    std::copy(z.begin(), z.end(), out.stepLogits.begin() + n * T * V);
    Tensor lambda = haltProbability(config, weights, s);
    for (int64_t t = 0; t < length; ++t) {
      double l = n < nMax - 1 ? lambda[t] : 1.0;
      out.haltProbs[n * T + t] = l * notHalted[t];
      notHalted[t] *= 1.0 - l;
    }
  }
  // N = the step of largest p_n, the first on ties, 1-based; the reported
  // logits and the final state (§9) are step N's. Padding reads step 1
  // (docs/contract-notes.md 2).
  out.finalState.assign(T * d, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    int64_t best = 0;
    for (int64_t n = 1; n < nMax && t < length; ++n)
      if (out.haltProbs[n * T + t] > out.haltProbs[best * T + t])
        best = n;
    if (t < length)
      out.steps[t] = static_cast<int32_t>(best + 1);
    std::copy(states[best].begin() + t * d, states[best].begin() + (t + 1) * d,
              out.finalState.begin() + t * d);
  }
}

/// §4 act, the pseudo-code line by line.
void forwardAct(const Config &config, const Weights &weights, Tensor s,
                int64_t length, RowForward &out) {
  const int64_t T = static_cast<int64_t>(out.steps.size());
  const int64_t d = config.dModel, nMax = config.maxSteps;
  Tensor acc(T, 0.0), y(T * d, 0.0);
  std::vector<bool> running(T);
  for (int64_t t = 0; t < T; ++t)
    running[t] = t < length;
  for (int64_t n = 0; n < nMax; ++n) {
    // Keys and values come from every valid position, halted or not: Block
    // runs on the whole row and only running positions take its result.
    Tensor f = block(config, weights, s, n, length);
    for (int64_t t = 0; t < T; ++t)
      if (running[t])
        std::copy(f.begin() + t * d, f.begin() + (t + 1) * d,
                  s.begin() + t * d);
    Tensor h = haltProbability(config, weights, s);
    bool anyRunning = false;
    for (int64_t t = 0; t < T; ++t) {
      bool last = running[t] &&
                  (acc[t] + h[t] >= 1.0 - config.actEpsilon || n == nMax - 1);
      double p = last ? 1.0 - acc[t] : (running[t] ? h[t] : 0.0);
      for (int64_t i = 0; i < d; ++i)
        y[t * d + i] += p * s[t * d + i];
      if (running[t] && !last)
        acc[t] += h[t];
      if (last) {
        out.remainder[t] = 1.0 - acc[t];
        out.steps[t] = static_cast<int32_t>(n + 1);
      }
      running[t] = running[t] && !last;
      out.haltProbs[n * T + t] = p;
      anyRunning = anyRunning || running[t];
    }
    if (!anyRunning)
      break;
  }
  out.finalState = y;
}

/// The forward of one row from its inputs x [T, d] (MODEL.md §4, s = x).
RowForward forwardStates(const Config &config, const Weights &weights,
                         const Tensor &x, int64_t length) {
  const int64_t T = static_cast<int64_t>(x.size()) / config.dModel;
  RowForward out;
  out.steps.assign(T, 0);
  out.remainder.assign(T, 0.0);
  out.haltProbs.assign(config.maxSteps * T, 0.0);
  switch (config.halting) {
  case Halting::Fixed:
    forwardFixed(config, weights, x, length, out);
    break;
  case Halting::PonderNet:
    forwardPonderNet(config, weights, x, length, out);
    break;
  case Halting::Act:
    forwardAct(config, weights, x, length, out);
    break;
  }
  // Every mode's logits read the final state: pondernet's are step N's.
  out.logits = unembed(config, weights, out.finalState);
  return out;
}

/// A row's inputs x [T, d]. Token channel: token[ids] + position[t] (§4).
/// Hidden (§9): a think position 1 <= t < length takes
/// RMSNorm(y_{t-1}, out_norm) + position[t]. x_t depends only on positions
/// < t, so the positions are resolved in order, each from the forward of the
/// prefix [0, t) with its inputs already resolved: by causality (§4) that
/// prefix computes the full row's y_{t-1}. Slow, and obviously the definition.
Tensor rowInputs(const Config &config, const Weights &weights,
                 const std::vector<int32_t> &ids, int64_t length) {
  Tensor x = embed(config, weights, ids);
  if (config.channel == Channel::Token)
    return x;
  const int64_t d = config.dModel;
  const Tensor &position = weights.get("embed.position");
  const Tensor &outNorm = weights.get("out_norm.weight");
  for (int64_t t = 1; t < length; ++t) {
    if (ids[t] < config.verbalVocab)
      continue;
    Tensor prefix(x.begin(), x.begin() + t * d);
    RowForward before = forwardStates(config, weights, prefix, t);
    Tensor last(before.finalState.begin() + (t - 1) * d,
                before.finalState.end());
    Tensor thought = rmsNorm(last, outNorm, config.normEps);
    for (int64_t i = 0; i < d; ++i)
      x[t * d + i] = thought[i] + position[t * d + i];
  }
  return x;
}

RowForward forwardRow(const Config &config, const Weights &weights,
                      const std::vector<int32_t> &ids, int64_t length) {
  return forwardStates(config, weights, rowInputs(config, weights, ids, length),
                       length);
}

/// -sum_v q_v l_v at one target (MODEL.md §5): z the predicting position's
/// logits [V], zRef the reference model's (null when mu = 0).
double crossEntropy(const Config &config, const double *z, int32_t target,
                    const double *zRef) {
  const int64_t vv = config.verbalVocab;
  const double alpha = config.smoothing, mu = config.referenceMix;
  // Verbal log-probs, renormalised over [0, Vv).
  double lseVerbal = logSumExp(z, 0, vv);
  Tensor q(vv, alpha / static_cast<double>(vv));
  q[target] += 1.0 - alpha - mu;
  if (mu > 0) {
    Tensor scaled(vv);
    for (int64_t v = 0; v < vv; ++v)
      scaled[v] = zRef[v] / config.referenceTemperature;
    double lseRef = logSumExp(scaled.data(), 0, vv);
    for (int64_t v = 0; v < vv; ++v)
      q[v] += mu * std::exp(scaled[v] - lseRef);
  }
  double ce = 0;
  for (int64_t v = 0; v < vv; ++v)
    ce -= q[v] * (z[v] - lseVerbal);
  return ce;
}

/// logpi of the token x_t under logits z = z_{t-1} (MODEL.md §5, §9).
double policyLogProb(const Config &config, const double *z, int32_t token) {
  const int64_t vv = config.verbalVocab, V = config.vocab();
  double lseAll = logSumExp(z, 0, V);
  // §9: under Hidden the id of a thought carries nothing, so the action is
  // "think", whichever think id.
  if (token >= vv && config.channel == Channel::Hidden)
    return logSumExp(z, vv, V) - lseAll;
  if (token >= vv)
    return z[token] - lseAll;
  // A verbal token: the decision to speak now, whichever verbal id.
  return logSumExp(z, 0, vv) - lseAll;
}

/// KL(p || g), g the geometric(lambda) prior truncated to N_max and
/// renormalised: g_n ∝ lambda (1 - lambda)^n (MODEL.md §5).
double klToGeometricPrior(const Config &config, const Tensor &p) {
  const int64_t nMax = config.maxSteps;
  const double lambda = config.priorLambda;
  Tensor g(nMax);
  double z = 0;
  for (int64_t n = 0; n < nMax; ++n) {
    g[n] = lambda * std::pow(1.0 - lambda, static_cast<double>(n));
    z += g[n];
  }
  double kl = 0;
  for (int64_t n = 0; n < nMax; ++n)
    if (p[n] > 0) // 0 log 0 = 0
      kl += p[n] * std::log(p[n] / (g[n] / z));
  return kl;
}

} // namespace

const Tensor &Weights::get(const std::string &name) const {
  return tensors.at(name);
}

std::vector<std::pair<std::string, std::vector<int64_t>>>
parameterShapes(const Config &config) {
  const int64_t V = config.vocab(), d = config.dModel;
  return {
      {"embed.token", {V, d}},
      {"embed.position", {config.maxSeq, d}},
      {"embed.step", {config.maxSteps, d}},
      {"block.attn_norm.weight", {d}},
      {"block.attn.q.weight", {d, d}},
      {"block.attn.k.weight", {d, d}},
      {"block.attn.v.weight", {d, d}},
      {"block.attn.o.weight", {d, d}},
      {"block.ffn_norm.weight", {d}},
      {"block.ffn.up.weight", {config.dFF, d}},
      {"block.ffn.down.weight", {d, config.dFF}},
      {"halt.weight", {1, d}},
      {"halt.bias", {1}},
      {"out_norm.weight", {d}},
      {"unembed.weight", {V, d}},
  };
}

Weights randomWeights(const Config &config, uint64_t seed, double scale,
                      double haltBias) {
  uint64_t state = seed;
  // splitmix64, then a uniform in (0, 1) from the top 53 bits.
  auto uniform = [&state]() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;
  };
  // Box-Muller, one normal per pair of uniforms: simple, not fast.
  auto normal = [&uniform]() {
    double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  };

  Weights weights;
  for (const auto &[name, shape] : parameterShapes(config)) {
    int64_t size = 1;
    for (int64_t dim : shape)
      size *= dim;
    Tensor tensor(size);
    bool isNorm = name.size() > 12 &&
                  name.compare(name.size() - 12, 12, "_norm.weight") == 0;
    for (double &value : tensor)
      value = name == "halt.bias" ? haltBias
                                  : (isNorm ? 1.0 : 0.0) + scale * normal();
    weights.tensors[name] = std::move(tensor);
  }
  return weights;
}

Batch makeBatch(int64_t B, int64_t T, std::vector<int32_t> ids,
                std::vector<int32_t> lengths) {
  Batch batch;
  batch.B = B;
  batch.T = T;
  batch.ids = std::move(ids);
  batch.lengths = std::move(lengths);
  batch.targetWeight.assign(B * T, 1.0);
  batch.advantage.assign(B * T, 0.0);
  return batch;
}

std::string validate(const Config &config, const Weights &weights,
                     const Batch &batch) {
  if (config.verbalVocab < 1 || config.thinkVocab < 0)
    return "config: expected verbalVocab >= 1 and thinkVocab >= 0";
  if (config.dModel < 1 || config.nHeads < 1 ||
      config.dModel % config.nHeads != 0)
    return "config: expected dModel >= 1 divisible by nHeads >= 1";
  if (config.dFF < 1 || config.maxSeq < 1 || config.maxSteps < 1)
    return "config: expected dFF, maxSeq and maxSteps >= 1";
  if (config.halting == Halting::PonderNet &&
      !(config.priorLambda > 0 && config.priorLambda <= 1))
    return "config: expected priorLambda in (0, 1], found " +
           std::to_string(config.priorLambda);
  if (config.referenceMix > 0 && !(config.referenceTemperature > 0))
    return "config: expected referenceTemperature > 0";

  for (const auto &[name, shape] : parameterShapes(config)) {
    auto it = weights.tensors.find(name);
    if (it == weights.tensors.end())
      return "weights: missing '" + name + "'";
    size_t size = 1;
    for (int64_t dim : shape)
      size *= static_cast<size_t>(dim);
    if (it->second.size() != size)
      return "weights: '" + name + "' expected " + shapeString(shape) + " (" +
             std::to_string(size) + " values), found " +
             std::to_string(it->second.size()) + " values";
  }

  const int64_t B = batch.B, T = batch.T, V = config.vocab();
  if (B < 1 || T < 1 || T > config.maxSeq)
    return "batch: expected B >= 1 and 1 <= T <= maxSeq, found B = " +
           std::to_string(B) + ", T = " + std::to_string(T);
  if (static_cast<int64_t>(batch.ids.size()) != B * T)
    return "batch: 'ids' expected B*T values";
  if (static_cast<int64_t>(batch.lengths.size()) != B)
    return "batch: 'lengths' expected B values";
  for (int64_t i = 0; i < B * T; ++i)
    if (batch.ids[i] < 0 || batch.ids[i] >= V)
      return "batch: 'ids' expected values in [0, " + std::to_string(V) +
             "), found " + std::to_string(batch.ids[i]);
  for (int32_t length : batch.lengths)
    if (length < 1 || length > T)
      return "batch: 'lengths' expected values in [1, T], found " +
             std::to_string(length);
  if (!batch.targetWeight.empty() &&
      static_cast<int64_t>(batch.targetWeight.size()) != B * T)
    return "batch: 'targetWeight' expected B*T values or none";
  if (!batch.advantage.empty() &&
      static_cast<int64_t>(batch.advantage.size()) != B * T)
    return "batch: 'advantage' expected B*T values or none";
  if (config.referenceMix > 0 &&
      static_cast<int64_t>(batch.referenceLogits.size()) != B * T * V)
    return "batch: 'referenceLogits' expected B*T*V values when mu > 0";
  return "";
}

Outputs run(const Config &config, const Weights &weights, const Batch &batch) {
  Outputs out;
  out.error = validate(config, weights, batch);
  if (!out.error.empty())
    return out;

  const int64_t B = batch.B, T = batch.T, V = config.vocab();
  const int64_t nMax = config.maxSteps;
  const bool ponderNet = config.halting == Halting::PonderNet;
  out.logits.assign(B * T * V, 0.0);
  out.steps.assign(B * T, 0);
  out.remainder.assign(B * T, 0.0);
  out.haltProbs.assign(nMax * B * T, 0.0);
  if (ponderNet)
    out.stepLogits.assign(nMax * B * T * V, 0.0);

  // §4, row by row: rows never interact.
  std::vector<RowForward> rows;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> ids(batch.ids.begin() + b * T,
                             batch.ids.begin() + (b + 1) * T);
    RowForward row = forwardRow(config, weights, ids, batch.lengths[b]);
    std::copy(row.logits.begin(), row.logits.end(),
              out.logits.begin() + b * T * V);
    std::copy(row.steps.begin(), row.steps.end(), out.steps.begin() + b * T);
    std::copy(row.remainder.begin(), row.remainder.end(),
              out.remainder.begin() + b * T);
    for (int64_t n = 0; n < nMax; ++n) {
      std::copy(row.haltProbs.begin() + n * T,
                row.haltProbs.begin() + (n + 1) * T,
                out.haltProbs.begin() + (n * B + b) * T);
      if (ponderNet)
        std::copy(row.stepLogits.begin() + n * T * V,
                  row.stepLogits.begin() + (n + 1) * T * V,
                  out.stepLogits.begin() + (n * B + b) * T * V);
    }
    rows.push_back(std::move(row));
  }

  // §5 losses. Token t is predicted from position t - 1.
  double ceSum = 0, maskSum = 0, policySum = 0, ponderSum = 0;
  int64_t policyCount = 0, validCount = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = batch.lengths[b];
    const RowForward &row = rows[b];
    for (int64_t t = 1; t < length; ++t) {
      const int32_t token = batch.ids[b * T + t];
      const double *z = &row.logits[(t - 1) * V];

      // m = target_weight * [x_t verbal] * [1 <= t < length].
      double weight =
          batch.targetWeight.empty() ? 1.0 : batch.targetWeight[b * T + t];
      double m = token < config.verbalVocab ? weight : 0.0;
      if (m != 0) {
        const double *zRef = config.referenceMix > 0
                                 ? &batch.referenceLogits[(b * T + t - 1) * V]
                                 : nullptr;
        double ce = 0;
        if (ponderNet) {
          // sum_n p_n CE_n, p from the predicting position t - 1.
          for (int64_t n = 0; n < nMax; ++n)
            ce += row.haltProbs[n * T + t - 1] *
                  crossEntropy(config, &row.stepLogits[(n * T + t - 1) * V],
                               token, zRef);
        } else {
          ce = crossEntropy(config, z, token, zRef);
        }
        ceSum += m * ce;
      }
      maskSum += m;

      // docs/contract-notes.md 1: pondernet uses the reported logits.
      double a = batch.advantage.empty() ? 0.0 : batch.advantage[b * T + t];
      policySum += a * policyLogProb(config, z, token);
      ++policyCount;
    }

    for (int64_t t = 0; t < length; ++t) {
      ++validCount;
      if (config.halting == Halting::Act) {
        ponderSum += row.steps[t] + row.remainder[t];
      } else if (ponderNet) {
        Tensor p(nMax);
        for (int64_t n = 0; n < nMax; ++n)
          p[n] = row.haltProbs[n * T + t];
        ponderSum += klToGeometricPrior(config, p);
      }
    }
  }

  out.lossCe = ceSum / std::max(1.0, maskSum);
  out.lossPolicy =
      -policySum / static_cast<double>(std::max<int64_t>(1, policyCount));
  out.lossPonder = ponderSum / static_cast<double>(validCount);
  double ponderWeight = config.halting == Halting::Act ? config.ponderCost
                        : ponderNet                    ? config.klBeta
                                                       : 0.0;
  out.loss = out.lossCe + ponderWeight * out.lossPonder +
             config.policyWeight * out.lossPolicy;
  return out;
}

Outputs runRow(const Config &config, const Weights &weights,
               const std::vector<int32_t> &ids) {
  const int64_t T = static_cast<int64_t>(ids.size());
  return run(config, weights, makeBatch(1, T, ids, {static_cast<int32_t>(T)}));
}

//===----------------------------------------------------------------------===//
// Building blocks (MODEL.md §4)
//===----------------------------------------------------------------------===//

double gelu(double x) {
  const double c = std::sqrt(2.0 / kPi);
  return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
}

Tensor rmsNorm(const Tensor &x, const Tensor &weight, double eps) {
  double meanSquare = 0;
  for (double v : x)
    meanSquare += v * v;
  meanSquare /= static_cast<double>(x.size());
  double inv = 1.0 / std::sqrt(meanSquare + eps);
  Tensor y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = x[i] * inv * weight[i];
  return y;
}

Tensor embed(const Config &config, const Weights &weights,
             const std::vector<int32_t> &ids) {
  const int64_t d = config.dModel;
  const Tensor &token = weights.get("embed.token");
  const Tensor &position = weights.get("embed.position");
  Tensor x(ids.size() * d);
  for (size_t t = 0; t < ids.size(); ++t)
    for (int64_t i = 0; i < d; ++i)
      x[t * d + i] = token[ids[t] * d + i] + position[t * d + i];
  return x;
}

Tensor attention(const Config &config, const Weights &weights, const Tensor &a,
                 int64_t length) {
  const int64_t d = config.dModel, h = config.nHeads, dh = config.headDim();
  const int64_t T = static_cast<int64_t>(a.size()) / d;
  Tensor q = linear(a, weights.get("block.attn.q.weight"), d, d);
  Tensor k = linear(a, weights.get("block.attn.k.weight"), d, d);
  Tensor v = linear(a, weights.get("block.attn.v.weight"), d, d);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));

  Tensor heads(T * d, 0.0); // concatenated heads
  for (int64_t head = 0; head < h; ++head) {
    const int64_t off = head * dh;
    for (int64_t i = 0; i < T; ++i) {
      // Position i sees key j iff j <= i and j < length; 1 <= length keeps
      // key 0 visible to every position, so the softmax is never empty.
      const int64_t visible = std::min(i + 1, length);
      Tensor scores(visible);
      for (int64_t j = 0; j < visible; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < dh; ++c)
          dot += q[i * d + off + c] * k[j * d + off + c];
        scores[j] = dot * scale;
      }
      double lse = logSumExp(scores.data(), 0, visible);
      for (int64_t j = 0; j < visible; ++j) {
        double weight = std::exp(scores[j] - lse);
        for (int64_t c = 0; c < dh; ++c)
          heads[i * d + off + c] += weight * v[j * d + off + c];
      }
    }
  }
  return linear(heads, weights.get("block.attn.o.weight"), d, d);
}

Tensor block(const Config &config, const Weights &weights, const Tensor &s,
             int64_t step, int64_t length) {
  const int64_t d = config.dModel, dFF = config.dFF;
  const Tensor &stepEmbed = weights.get("embed.step");
  // u = s + step[n]
  Tensor u(s.size());
  for (size_t r = 0; r * d < s.size(); ++r)
    for (int64_t i = 0; i < d; ++i)
      u[r * d + i] = s[r * d + i] + stepEmbed[step * d + i];
  // a = u + Attn(RMSNorm(u, attn_norm))
  Tensor attn = attention(
      config, weights,
      rmsNormRows(u, weights.get("block.attn_norm.weight"), config.normEps),
      length);
  Tensor a(u.size());
  for (size_t i = 0; i < u.size(); ++i)
    a[i] = u[i] + attn[i];
  // a + down(GELU(up(RMSNorm(a, ffn_norm))))
  Tensor hidden = linear(
      rmsNormRows(a, weights.get("block.ffn_norm.weight"), config.normEps),
      weights.get("block.ffn.up.weight"), d, dFF);
  for (double &x : hidden)
    x = gelu(x);
  Tensor down = linear(hidden, weights.get("block.ffn.down.weight"), dFF, d);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] += down[i];
  return a;
}

Tensor haltProbability(const Config &config, const Weights &weights,
                       const Tensor &s) {
  const int64_t d = config.dModel;
  const Tensor &w = weights.get("halt.weight");
  const double bias = weights.get("halt.bias")[0];
  Tensor h(s.size() / d);
  for (size_t t = 0; t < h.size(); ++t) {
    double dot = bias;
    for (int64_t i = 0; i < d; ++i)
      dot += s[t * d + i] * w[i];
    h[t] = sigmoid(dot);
  }
  return h;
}

Tensor unembed(const Config &config, const Weights &weights, const Tensor &y) {
  return linear(rmsNormRows(y, weights.get("out_norm.weight"), config.normEps),
                weights.get("unembed.weight"), config.dModel, config.vocab());
}

} // namespace ponder::reference

//===- ContractReference.h - Independent reference of MODEL.md --*- C++ -*-===//
//
// The contract's forward pass (MODEL.md §4), losses (§5) and the hidden-state
// thought channel (§9) in plain loops and double precision, written from
// MODEL.md and docs/contract-notes.md alone:
// the oracle every backend is compared against. It depends only on the C++
// standard library and favours obvious correctness over speed.
//
// Layouts are row-major. Per-row building blocks take a row's states as
// [T, d]; batched outputs are [B, T, ...] and per-step outputs [N_max, B, T].
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TEST_REFERENCE_CONTRACTREFERENCE_H
#define PONDER_TEST_REFERENCE_CONTRACTREFERENCE_H

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ponder::reference {

using Tensor = std::vector<double>;

/// MODEL.md §2 `[depth] halting`.
enum class Halting { Fixed, Act, PonderNet };

/// MODEL.md §9 `[think] channel`: what a think position takes as input.
/// Token: `embed.token[id]` (v1). Hidden: the normed final state of the
/// position before it, whichever think id stands there.
enum class Channel { Token, Hidden };

/// Every number the forward and the losses read (MODEL.md §2); the defaults
/// are the values shown there.
struct Config {
  int64_t verbalVocab = 16; // Vv
  int64_t thinkVocab = 8;   // Vt
  int64_t dModel = 128;     // d
  int64_t nHeads = 4;       // h
  int64_t dFF = 512;
  int64_t maxSeq = 128;
  double normEps = 1e-5;

  Halting halting = Halting::Act;
  int64_t maxSteps = 8; // N_max
  double actEpsilon = 0.01;
  double ponderCost = 0.01; // tau
  double priorLambda = 0.2;
  double klBeta = 0.01;

  double smoothing = 0.0;    // alpha
  double referenceMix = 0.0; // mu
  double referenceTemperature = 1.0;
  double policyWeight = 1.0; // lambda_pg

  Channel channel = Channel::Token;

  int64_t vocab() const { return verbalVocab + thinkVocab; }
  int64_t headDim() const { return dModel / nHeads; }
};

/// Parameters by their contract names (MODEL.md §3), row-major, a Linear's W
/// stored [out, in] so that y = x W^T.
struct Weights {
  std::map<std::string, Tensor> tensors;

  /// The named tensor; it must exist (run() checks this first).
  const Tensor &get(const std::string &name) const;
};

/// The parameters of MODEL.md §3 with their shapes, in the contract's order.
std::vector<std::pair<std::string, std::vector<int64_t>>>
parameterShapes(const Config &config);

/// Deterministic test weights (splitmix64 + Box-Muller): matrices and
/// embeddings ~ N(0, scale), norm weights 1 + N(0, scale) (near 1, so that
/// the multiplication by them is exercised), `halt.bias` = haltBias.
Weights randomWeights(const Config &config, uint64_t seed, double scale = 0.02,
                      double haltBias = 1.0);

/// One batch (MODEL.md §1, §8 `--batch`).
struct Batch {
  int64_t B = 0;
  int64_t T = 0;
  std::vector<int32_t> ids;     // [B, T]
  std::vector<int32_t> lengths; // [B]
  Tensor targetWeight;          // [B, T]; empty means all 1
  Tensor advantage;             // [B, T]; empty means all 0
  Tensor referenceLogits;       // [B, T, V]; read only when mu > 0
};

/// A batch with the default target weights (1) and advantages (0).
Batch makeBatch(int64_t B, int64_t T, std::vector<int32_t> ids,
                std::vector<int32_t> lengths);

/// What run() computes (MODEL.md §8 `--dump`, plus what tests inspect).
struct Outputs {
  /// Non-empty when the inputs were rejected; then nothing else is set.
  std::string error;

  /// [B, T, V]. PonderNet: step N's logits. Padding positions hold whatever
  /// the forward gives there (act: y = 0; fixed: the padding state; pondernet:
  /// step 1, docs/contract-notes.md 2); they are unspecified by the contract.
  Tensor logits;
  std::vector<int32_t> steps; // [B, T], N; 0 at padding
  Tensor remainder;           // [B, T], R; 0 at padding
  /// [N_max, B, T] halting distribution: act's p per step (0 once halted),
  /// pondernet's p_n, fixed one-hot on the last step (docs/contract-notes.md
  /// 3). 0 at padding in every mode.
  Tensor haltProbs;
  /// [N_max, B, T, V], each step's logits; pondernet only (empty otherwise).
  Tensor stepLogits;

  double loss = 0;       // L = L_ce + w L_ponder + lambda_pg L_pg
  double lossCe = 0;     // L_ce
  double lossPonder = 0; // unweighted: act mean N + R, pondernet mean KL
  double lossPolicy = 0; // L_pg, unweighted
};

/// The first problem with the inputs as one line naming the field at fault,
/// or "" when they are valid.
std::string validate(const Config &config, const Weights &weights,
                     const Batch &batch);

/// The full forward (MODEL.md §4, all halting modes, either channel of §9)
/// and losses (§5; under Hidden the grouped policy of §9).
Outputs run(const Config &config, const Weights &weights, const Batch &batch);

/// One unpadded row (B = 1, length = T = ids.size()), e.g. to compare the
/// logits of a prefix with those of incremental decoding.
Outputs runRow(const Config &config, const Weights &weights,
               const std::vector<int32_t> &ids);

//===----------------------------------------------------------------------===//
// Building blocks of MODEL.md §4, exposed so tests can check them by hand.
// A row's states are [T, d]; `length` is the row's number of valid positions.
//===----------------------------------------------------------------------===//

/// GELU, tanh form.
double gelu(double x);
/// RMSNorm of one vector.
Tensor rmsNorm(const Tensor &x, const Tensor &weight, double eps);
/// x = token[ids] + position[t], [T, d]: the token channel's inputs (under
/// Hidden, those of position 0, verbal and padding positions).
Tensor embed(const Config &config, const Weights &weights,
             const std::vector<int32_t> &ids);
/// Attn(a) for an already normalised a, [T, d] -> [T, d].
Tensor attention(const Config &config, const Weights &weights, const Tensor &a,
                 int64_t length);
/// Block(s, n), [T, d] -> [T, d].
Tensor block(const Config &config, const Weights &weights, const Tensor &s,
             int64_t step, int64_t length);
/// sigmoid(s_t . halt.weight + halt.bias) for every position, [T].
Tensor haltProbability(const Config &config, const Weights &weights,
                       const Tensor &s);
/// RMSNorm(y, out_norm) unembed^T, [T, d] -> [T, V].
Tensor unembed(const Config &config, const Weights &weights, const Tensor &y);

} // namespace ponder::reference

#endif // PONDER_TEST_REFERENCE_CONTRACTREFERENCE_H

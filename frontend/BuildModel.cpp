//===- BuildModel.cpp - Model description -> ponder IR --------------------===//
//
// Emits the forward graph (MODEL.md §4) and the training-loss graph (§5) of a
// model description. Batch size B and sequence length T are dynamic; every
// model dimension is static.
//
// Every op is located at the key of the description that shapes it, so that
// a diagnostic points into the TOML file: attention at [model] n_heads, the
// linear layers at the width they produce (d_model, d_ff, verbal_vocab),
// norms at norm_eps, the step embedding at [depth] max_steps, the halting
// loop at [depth] halting, each loss term at the key that weights it; what
// no single key decides at its section's header ([model] for @forward and
// @decode, [loss] for @loss, @grad and @train_step).
//
//===----------------------------------------------------------------------===//

#include "frontend/BuildModel.h"

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::ponder;

namespace ponder {

std::vector<ParameterSpec> getParameters(const ModelDescription &desc) {
  const auto &m = desc.model;
  int64_t v = m.vocabSize(), d = m.dModel;
  return {
      {"embed.token", {v, d}},
      {"embed.position", {m.maxSeq, d}},
      {"embed.step", {desc.depth.maxSteps, d}},
      {"block.attn_norm.weight", {d}},
      {"block.attn.q.weight", {d, d}},
      {"block.attn.k.weight", {d, d}},
      {"block.attn.v.weight", {d, d}},
      {"block.attn.o.weight", {d, d}},
      {"block.ffn_norm.weight", {d}},
      {"block.ffn.up.weight", {m.dFF, d}},
      {"block.ffn.down.weight", {d, m.dFF}},
      {"halt.weight", {1, d}},
      {"halt.bias", {1}},
      {"out_norm.weight", {d}},
      {"unembed.weight", {v, d}},
  };
}

namespace {

HaltingMode toHaltingMode(Halting h) {
  switch (h) {
  case Halting::Fixed:
    return HaltingMode::Fixed;
  case Halting::Act:
    return HaltingMode::Act;
  case Halting::PonderNet:
    return HaltingMode::PonderNet;
  }
  return HaltingMode::Fixed;
}

/// The key that sets the weight w of L_ponder (ModelDescription::ponderWeight).
StringRef ponderWeightKey(Halting h) {
  switch (h) {
  case Halting::Fixed:
    return "depth.halting";
  case Halting::Act:
    return "depth.ponder_cost";
  case Halting::PonderNet:
    return "depth.kl_beta";
  }
  llvm_unreachable("unknown halting mode");
}

/// The inputs of cached decoding: where each row's new tokens start, the
/// per-step key and value caches and (hidden channel) the carried state.
struct DecodeCache {
  Value start, keys, values, carry;
};

/// The results of the trunk: embedding, halting loop, output logits.
struct Trunk {
  Value logits;                  // [B, T, V]: the reported logits
  Value perStepLogits;           // [N_max, B, T, V] (pondernet only)
  Value steps, remainder, probs; // the halting loop's
  Value keys, values;            // every step's (cached decoding only)
  /// RMSNorm(y, out_norm) of every position, the vector the unembedding
  /// reads (hidden channel only: what the next thought reads).
  Value normed;

  /// The values, in a fixed order, that a thought chain's region yields.
  SmallVector<Value> chainYields() const;
};

SmallVector<Value> Trunk::chainYields() const {
  SmallVector<Value> all = {normed, logits, steps, remainder, probs};
  for (Value v : {perStepLogits, keys, values})
    if (v)
      all.push_back(v);
  return all;
}

/// Builds one function of the model. Parameters are function arguments
/// after the data arguments, in contract order.
class ModelBuilder {
public:
  ModelBuilder(ImplicitLocOpBuilder &b, const ModelDescription &desc,
               const BuildOptions &options)
      : b(b), desc(desc), options(options),
        vocab(VocabAttr::get(b.getContext(), desc.model.verbalVocab,
                             desc.model.thinkVocab)) {}

  /// The module's attributes and its five functions.
  void buildModule(ModuleOp module);

  /// Where `key` ("section" or "section.key") is in the description's file;
  /// unknown for a description that was not read from a file.
  Location at(StringRef key) const;

private:
  /// Creates `func.func @name` with data arguments `inputs` (named by
  /// `ponder.input`) followed by the parameters, and positions the builder
  /// in its body.
  func::FuncOp
  beginFunction(StringRef name, ArrayRef<std::pair<StringRef, Type>> inputs,
                ArrayRef<std::pair<StringRef, Type>> outputs,
                ArrayRef<std::pair<StringRef, Type>> trailing = {});

  /// Emits embedding, halting loop and logits for `ids`/`lengths`; with
  /// `cache`, for new tokens whose attention also reads the cache (the loop
  /// then returns every step's keys and values). Under the hidden channel
  /// this is a thought chain around the same trunk (MODEL.md §9).
  Trunk buildTrunk(Value ids, Value lengths,
                   const DecodeCache *cache = nullptr);
  /// The trunk from the thought inputs `thoughts` (null: token channel).
  Trunk buildDepth(Value ids, Value lengths, const DecodeCache *cache,
                   Value thoughts);
  /// ponder.thought_chain around buildDepth.
  Trunk buildThoughtChain(Value ids, Value lengths, const DecodeCache *cache);

  Value param(StringRef name) const { return params.lookup(name); }
  Value input(StringRef name) const { return inputs.lookup(name); }

  RankedTensorType floatTensor(ArrayRef<int64_t> shape) const {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  RankedTensorType idTensor(ArrayRef<int64_t> shape) const {
    return RankedTensorType::get(shape, b.getI32Type());
  }

  /// A scalar f32 tensor constant.
  Value scalar(double value) {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(floatTensor({}),
                                  b.getF32FloatAttr(value).getValue()));
  }

  /// The data types of the functions' inputs and outputs.
  struct Types {
    Type ids, lengths, perPosition, logits, scalar, steps;
  };

  void setModuleAttributes(ModuleOp module);
  void buildForward(const Types &t);
  void buildDecode(const Types &t);
  /// Returns @loss's data inputs, which @grad and @train_step share. With
  /// `scaled`, @loss_shard: the inputs end with `loss_scales`.
  SmallVector<std::pair<StringRef, Type>> buildLoss(const Types &t,
                                                    bool scaled = false);
  /// The loss terms of @loss from the trunk's results; with `scales` ([3]),
  /// each term of the total is multiplied by its scale.
  SmallVector<Value> buildLossTerms(const Types &t, const Trunk &trunk,
                                    bool useReference, Value scales = {});
  /// The gradient of `loss` as function `name`.
  void buildGrad(func::FuncOp loss, ArrayRef<std::pair<StringRef, Type>> inputs,
                 StringRef name = "grad");
  /// @loss_shard, @grad_shard and @apply_gradients (BuildOptions).
  void buildDataParallel(ModuleOp module, const Types &t);
  /// Global-norm clipping of `grads` and one AdamW update per parameter,
  /// `moments` naming the first moments, then the second ones: grad_norm,
  /// the parameters, the first and the second moments.
  SmallVector<Value> buildUpdate(ValueRange grads,
                                 ArrayRef<std::string> moments);
  void buildTrainStep(const Types &t, func::FuncOp loss,
                      ArrayRef<std::pair<StringRef, Type>> inputs);
  /// @train_step's body: the gradient, clipping and one AdamW update per
  /// parameter; `moments` names the first moments, then the second ones.
  SmallVector<Value>
  buildOptimizerStep(func::FuncOp loss,
                     ArrayRef<std::pair<StringRef, Type>> inputs,
                     ArrayRef<std::string> moments);
  /// @loss's results followed by `grad.NAME` for every parameter.
  std::vector<std::pair<std::string, Type>> gradOutputs(func::FuncOp loss);

  /// u = s + step[n], its attention norm, keys and values.
  struct Projections {
    Value u, normed, keys, values;
  };

  /// x W^T, located at `key` (the width it produces).
  Value linear(Value x, StringRef weight, StringRef key);
  Value rmsNorm(Value x, StringRef weight);
  Projections project(Value s, Value step);
  /// Block(s, n); `p` holds project(s, n).
  Value block(const Projections &p, Value step, Value lengths,
              const DecodeCache *cache);

  ImplicitLocOpBuilder &b;
  const ModelDescription &desc;
  BuildOptions options;
  VocabAttr vocab;
  llvm::StringMap<Value> params, inputs;
};

Location ModelBuilder::at(StringRef key) const {
  const SourcePositions &source = desc.source;
  if (source.file.empty())
    return UnknownLoc::get(b.getContext());
  SourcePositions::Position p = source.find(key);
  return FileLineColLoc::get(b.getContext(), source.file, p.line, p.column);
}

func::FuncOp
ModelBuilder::beginFunction(StringRef name,
                            ArrayRef<std::pair<StringRef, Type>> ins,
                            ArrayRef<std::pair<StringRef, Type>> outs,
                            ArrayRef<std::pair<StringRef, Type>> trailing) {
  std::vector<ParameterSpec> specs = getParameters(desc);
  SmallVector<Type> argTypes, resultTypes;
  for (auto &[_, type] : ins)
    argTypes.push_back(type);
  for (const ParameterSpec &p : specs)
    argTypes.push_back(floatTensor(p.shape));
  for (auto &[_, type] : trailing)
    argTypes.push_back(type);
  for (auto &[_, type] : outs)
    resultTypes.push_back(type);

  auto func =
      func::FuncOp::create(b, name, b.getFunctionType(argTypes, resultTypes));
  Block *entry = func.addEntryBlock();
  params.clear();
  inputs.clear();
  for (auto [i, in] : llvm::enumerate(ins)) {
    func.setArgAttr(i, "ponder.input", b.getStringAttr(in.first));
    inputs[in.first] = entry->getArgument(i);
  }
  for (auto [i, p] : llvm::enumerate(specs)) {
    unsigned arg = ins.size() + i;
    func.setArgAttr(arg, "ponder.param", b.getStringAttr(p.name));
    params[p.name] = entry->getArgument(arg);
  }
  for (auto [i, in] : llvm::enumerate(trailing)) {
    unsigned arg = ins.size() + specs.size() + i;
    func.setArgAttr(arg, "ponder.input", b.getStringAttr(in.first));
    inputs[in.first] = entry->getArgument(arg);
  }
  for (auto [i, out] : llvm::enumerate(outs))
    func.setResultAttr(i, "ponder.output", b.getStringAttr(out.first));
  b.setInsertionPointToStart(entry);
  return func;
}

Value ModelBuilder::linear(Value x, StringRef weight, StringRef key) {
  b.setLoc(at(key));
  Value w = param(weight);
  auto in = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(in.getShape());
  shape.back() = cast<RankedTensorType>(w.getType()).getDimSize(0);
  return LinearOp::create(b, floatTensor(shape), x, w);
}

Value ModelBuilder::rmsNorm(Value x, StringRef weight) {
  b.setLoc(at("model.norm_eps"));
  return RMSNormOp::create(b, x.getType(), x, param(weight),
                           b.getF64FloatAttr(desc.model.normEps));
}

ModelBuilder::Projections ModelBuilder::project(Value s, Value step) {
  b.setLoc(at("depth.max_steps"));
  Value u = StepEmbedOp::create(b, s.getType(), s, param("embed.step"), step);
  Value h = rmsNorm(u, "block.attn_norm.weight");
  return {u, h, linear(h, "block.attn.k.weight", "model.d_model"),
          linear(h, "block.attn.v.weight", "model.d_model")};
}

// Block(s, n) of MODEL.md §4.
Value ModelBuilder::block(const Projections &p, Value step, Value lengths,
                          const DecodeCache *cache) {
  Value q = linear(p.normed, "block.attn.q.weight", "model.d_model");
  b.setLoc(at("model.n_heads"));
  IntegerAttr heads = b.getI64IntegerAttr(desc.model.nHeads);
  Value att;
  if (cache)
    att = CachedAttentionOp::create(b, q.getType(), q, p.keys, p.values,
                                    cache->keys, cache->values, step,
                                    cache->start, lengths, heads);
  else
    att = AttentionOp::create(b, q.getType(), q, p.keys, p.values, lengths,
                              /*positions=*/Value(), heads);
  Value o = linear(att, "block.attn.o.weight", "model.d_model");
  Value a = arith::AddFOp::create(b, p.u, o);
  Value up = linear(rmsNorm(a, "block.ffn_norm.weight"), "block.ffn.up.weight",
                    "model.d_ff");
  b.setLoc(at("model.d_ff"));
  Value gelu = GeluOp::create(b, up);
  Value down = linear(gelu, "block.ffn.down.weight", "model.d_model");
  return arith::AddFOp::create(b, a, down);
}

Trunk ModelBuilder::buildTrunk(Value ids, Value lengths,
                               const DecodeCache *cache) {
  if (desc.think.channel == Channel::Hidden)
    return buildThoughtChain(ids, lengths, cache);
  return buildDepth(ids, lengths, cache, Value());
}

Trunk ModelBuilder::buildThoughtChain(Value ids, Value lengths,
                                      const DecodeCache *cache) {
  b.setLoc(at("think.channel"));
  Location loc = b.getLoc();
  Type state = floatTensor(
      {ShapedType::kDynamic, ShapedType::kDynamic, desc.model.dModel});
  // The region is built first; the op takes its yields' types.
  auto body = std::make_unique<Block>();
  Value h = body->addArgument(state, loc);
  Trunk inner;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body.get());
    inner = buildDepth(ids, lengths, cache, h);
    b.setLoc(loc);
    YieldOp::create(b, inner.chainYields());
  }
  SmallVector<Value> yielded = inner.chainYields();
  auto chain =
      ThoughtChainOp::create(b, ValueRange(yielded).getTypes(), state, ids,
                             lengths, cache ? cache->carry : Value(), vocab);
  chain.getBody().push_back(body.release());
  // The same fields, now the chain's results.
  ValueRange r = chain.getYielded();
  Trunk trunk;
  trunk.normed = r[0];
  trunk.logits = r[1];
  trunk.steps = r[2];
  trunk.remainder = r[3];
  trunk.probs = r[4];
  unsigned next = 5;
  if (inner.perStepLogits)
    trunk.perStepLogits = r[next++];
  if (inner.keys) {
    trunk.keys = r[next++];
    trunk.values = r[next++];
  }
  return trunk;
}

Trunk ModelBuilder::buildDepth(Value ids, Value lengths,
                               const DecodeCache *cache, Value thoughts) {
  int64_t d = desc.model.dModel;
  b.setLoc(at("model.verbal_vocab"));
  Value x = EmbedOp::create(
      b, floatTensor({ShapedType::kDynamic, ShapedType::kDynamic, d}), ids,
      param("embed.token"), param("embed.position"),
      cache ? cache->start : Value(), thoughts, vocab);

  HaltingMode mode = toHaltingMode(desc.depth.halting);
  bool fixed = mode == HaltingMode::Fixed;
  b.setLoc(at("depth.halting"));
  FloatAttr epsilon = mode == HaltingMode::Act
                          ? b.getF64FloatAttr(desc.depth.actEpsilon)
                          : FloatAttr();
  auto loop = HaltingLoopOp::create(
      b, x, lengths, fixed ? Value() : param("halt.weight"),
      fixed ? Value() : param("halt.bias"), mode, desc.depth.maxSteps, epsilon,
      /*kv_cache=*/cache != nullptr);
  {
    OpBuilder::InsertionGuard guard(b);
    SmallVector<Type> argTypes = {x.getType(), b.getIndexType()};
    SmallVector<Location> argLocs(2, b.getLoc());
    Block *body = b.createBlock(&loop.getBody(), {}, argTypes, argLocs);
    Value step = body->getArgument(1);
    Projections p = project(body->getArgument(0), step);
    Value f = block(p, step, lengths, cache);
    b.setLoc(loop.getLoc());
    if (cache) {
      YieldOp::create(b, ValueRange{f, p.keys, p.values});
      // The keys and values of a halted position's later steps.
      Block *frozen = b.createBlock(&loop.getFrozen(), {}, argTypes, argLocs);
      Projections q = project(frozen->getArgument(0), frozen->getArgument(1));
      b.setLoc(loop.getLoc());
      YieldOp::create(b, ValueRange{q.keys, q.values});
    } else {
      YieldOp::create(b, ValueRange{f});
    }
  }

  Trunk trunk;
  trunk.steps = loop.getSteps();
  trunk.remainder = loop.getRemainder();
  trunk.probs = loop.getProbs();
  if (cache) {
    trunk.keys = loop.getKeys();
    trunk.values = loop.getValues();
  }
  Value normed = rmsNorm(loop.getState(), "out_norm.weight");
  Value logits = linear(normed, "unembed.weight", "model.verbal_vocab");
  if (mode != HaltingMode::PonderNet) {
    trunk.logits = logits;
    trunk.normed = thoughts ? normed : Value();
    return trunk;
  }
  // PonderNet: every step has its own logits; the reported ones are step N's,
  // and so is the state a thought reads (MODEL.md §9).
  trunk.perStepLogits = logits;
  int64_t v = vocab.getSize();
  b.setLoc(loop.getLoc());
  const int64_t dyn = ShapedType::kDynamic;
  trunk.logits = SelectStepOp::create(b, floatTensor({dyn, dyn, v}), logits,
                                      loop.getSteps());
  if (thoughts)
    trunk.normed = SelectStepOp::create(b, floatTensor({dyn, dyn, d}), normed,
                                        loop.getSteps());
  return trunk;
}

void ModelBuilder::setModuleAttributes(ModuleOp module) {
  module->setAttr("ponder.vocab", vocab);
  module->setAttr("ponder.max_seq", b.getI64IntegerAttr(desc.model.maxSeq));
  module->setAttr("ponder.max_think", b.getI64IntegerAttr(desc.think.maxThink));
  module->setAttr("ponder.rollouts", b.getI64IntegerAttr(desc.think.rollouts));
  module->setAttr("ponder.think_reward",
                  b.getStringAttr(stringifyReward(desc.think.reward)));
  module->setAttr("ponder.think_channel",
                  b.getStringAttr(stringifyChannel(desc.think.channel)));
  // ponder-autodiff reads how the halting loops' backward gets its states.
  if (desc.depth.backward == Backward::Recompute)
    module->setAttr("ponder.recompute_states", b.getUnitAttr());
}

void ModelBuilder::buildModule(ModuleOp module) {
  setModuleAttributes(module);
  const int64_t dyn = ShapedType::kDynamic;
  Types t;
  t.ids = idTensor({dyn, dyn});
  t.lengths = idTensor({dyn});
  t.perPosition = floatTensor({dyn, dyn});
  t.logits = floatTensor({dyn, dyn, vocab.getSize()});
  t.scalar = floatTensor({});
  t.steps = idTensor({dyn, dyn});

  b.setInsertionPointToEnd(module.getBody());
  buildForward(t);
  b.setInsertionPointToEnd(module.getBody());
  buildDecode(t);
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<std::pair<StringRef, Type>> inputs = buildLoss(t);
  auto loss = module.lookupSymbol<func::FuncOp>("loss");
  b.setInsertionPointToEnd(module.getBody());
  buildGrad(loss, inputs);
  b.setInsertionPointToEnd(module.getBody());
  buildTrainStep(t, loss, inputs);
  if (options.dataParallel)
    buildDataParallel(module, t);
}

// Data parallelism (docs/distributed.md): each rank differentiates its
// shard's loss with every term scaled by max(1, its count) / max(1, the
// global count), so that the ranks' gradients sum to the whole batch's;
// the sum is clipped and applied by @apply_gradients.
void ModelBuilder::buildDataParallel(ModuleOp module, const Types &t) {
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<std::pair<StringRef, Type>> inputs = buildLoss(t, true);
  auto loss = module.lookupSymbol<func::FuncOp>("loss_shard");
  b.setInsertionPointToEnd(module.getBody());
  buildGrad(loss, inputs, "grad_shard");

  b.setInsertionPointToEnd(module.getBody());
  std::vector<ParameterSpec> specs = getParameters(desc);
  std::vector<std::string> names;
  for (const char *prefix : {"grad.", "adam.m.", "adam.v."})
    for (const ParameterSpec &p : specs)
      names.push_back(prefix + p.name);
  SmallVector<std::pair<StringRef, Type>> trailing, outputs;
  for (auto [i, name] : llvm::enumerate(names))
    trailing.push_back({name, floatTensor(specs[i % specs.size()].shape)});
  trailing.append({{"learning_rate", t.scalar},
                   {"step", idTensor({})},
                   {"weight_decay", t.scalar}});
  outputs.push_back({"grad_norm", t.scalar});
  for (const ParameterSpec &p : specs)
    outputs.push_back({p.name, floatTensor(p.shape)});
  outputs.append(trailing.begin() + specs.size(),
                 trailing.begin() + 3 * specs.size());
  b.setLoc(at("loss"));
  beginFunction("apply_gradients", {}, outputs, trailing);
  SmallVector<Value> grads;
  for (const ParameterSpec &p : specs)
    grads.push_back(input("grad." + p.name));
  func::ReturnOp::create(
      b, buildUpdate(grads,
                     ArrayRef<std::string>(names).drop_front(specs.size())));
}

// @forward: inference (MODEL.md §4).
void ModelBuilder::buildForward(const Types &t) {
  b.setLoc(at("model"));
  beginFunction(
      "forward", {{"ids", t.ids}, {"lengths", t.lengths}},
      {{"logits", t.logits}, {"steps", t.steps}, {"remainder", t.perPosition}});
  Trunk trunk = buildTrunk(input("ids"), input("lengths"));
  b.setLoc(at("model"));
  func::ReturnOp::create(
      b, ValueRange{trunk.logits, trunk.steps, trunk.remainder});
}

// @decode: cached decoding (docs/decoding.md). Under the hidden channel it
// also reads each row's carried state and returns every new position's.
void ModelBuilder::buildDecode(const Types &t) {
  Type cache = floatTensor({desc.depth.maxSteps, ShapedType::kDynamic,
                            desc.model.maxSeq, desc.model.dModel});
  bool hidden = desc.think.channel == Channel::Hidden;
  int64_t d = desc.model.dModel;
  const int64_t dyn = ShapedType::kDynamic;
  SmallVector<std::pair<StringRef, Type>> ins = {{"ids", t.ids},
                                                 {"lengths", t.lengths},
                                                 {"start", t.lengths},
                                                 {"cache.keys", cache},
                                                 {"cache.values", cache}};
  // The caches are read only: the runtime writes the new positions' keys
  // and values into them (docs/decoding.md).
  Type fresh = floatTensor({desc.depth.maxSteps, dyn, dyn, d});
  SmallVector<std::pair<StringRef, Type>> outs = {{"logits", t.logits},
                                                  {"steps", t.steps},
                                                  {"remainder", t.perPosition},
                                                  {"new.keys", fresh},
                                                  {"new.values", fresh}};
  if (hidden) {
    ins.push_back({"carry", floatTensor({dyn, d})});
    outs.push_back({"normed", floatTensor({dyn, dyn, d})});
  }
  b.setLoc(at("model"));
  beginFunction("decode", ins, outs);
  DecodeCache in{input("start"), input("cache.keys"), input("cache.values"),
                 hidden ? input("carry") : Value()};
  Value lengths = input("lengths");
  Trunk trunk = buildTrunk(input("ids"), lengths, &in);
  SmallVector<Value> results = {trunk.logits, trunk.steps, trunk.remainder,
                                trunk.keys, trunk.values};
  if (hidden)
    results.push_back(trunk.normed);
  b.setLoc(at("model"));
  func::ReturnOp::create(b, results);
}

// @loss: the training objective (MODEL.md §5), with the outputs of
// `ponder run` (§8).
SmallVector<std::pair<StringRef, Type>> ModelBuilder::buildLoss(const Types &t,
                                                                bool scaled) {
  SmallVector<std::pair<StringRef, Type>> inputs = {
      {"ids", t.ids},
      {"lengths", t.lengths},
      {"target_weight", t.perPosition},
      {"advantage", t.perPosition}};
  bool useReference = desc.loss.referenceMix > 0.0;
  if (useReference)
    inputs.push_back({"reference_logits", t.logits});
  if (scaled)
    inputs.push_back({"loss_scales", floatTensor({3})});
  b.setLoc(at("loss"));
  beginFunction(scaled ? "loss_shard" : "loss", inputs,
                {{"loss", t.scalar},
                 {"loss.ce", t.scalar},
                 {"loss.ponder", t.scalar},
                 {"loss.policy", t.scalar},
                 {"logits", t.logits},
                 {"steps", t.steps},
                 {"remainder", t.perPosition}});
  Trunk trunk = buildTrunk(input("ids"), input("lengths"));
  SmallVector<Value> results = buildLossTerms(
      t, trunk, useReference, scaled ? input("loss_scales") : Value());
  b.setLoc(at("loss"));
  results.append({trunk.logits, trunk.steps, trunk.remainder});
  func::ReturnOp::create(b, results);
  return inputs;
}

SmallVector<Value> ModelBuilder::buildLossTerms(const Types &t,
                                                const Trunk &trunk,
                                                bool useReference,
                                                Value scales) {
  Value ids = input("ids"), lengths = input("lengths");
  bool perStep = static_cast<bool>(trunk.perStepLogits);
  b.setLoc(at("loss"));
  Value ce = VerbalXentOp::create(
      b, t.scalar, perStep ? trunk.perStepLogits : trunk.logits, ids, lengths,
      input("target_weight"),
      useReference ? input("reference_logits") : Value(),
      perStep ? trunk.probs : Value(), vocab,
      b.getF64FloatAttr(desc.loss.smoothing),
      b.getF64FloatAttr(desc.loss.referenceMix),
      b.getF64FloatAttr(desc.loss.referenceTemperature));
  b.setLoc(at("loss.policy_weight"));
  Value policy = PolicyLossOp::create(
      b, t.scalar, trunk.logits, ids, lengths, input("advantage"), vocab,
      /*grouped=*/desc.think.channel == Channel::Hidden);
  b.setLoc(at(ponderWeightKey(desc.depth.halting)));
  FloatAttr priorLambda = desc.depth.halting == Halting::PonderNet
                              ? b.getF64FloatAttr(desc.depth.priorLambda)
                              : FloatAttr();
  Value ponderCost = PonderCostOp::create(
      b, t.scalar,
      HaltingModeAttr::get(b.getContext(), toHaltingMode(desc.depth.halting)),
      trunk.steps, trunk.remainder, trunk.probs, lengths, priorLambda);
  // L = L_ce + w L_ponder + lambda_pg L_pg (MODEL.md §5); a shard's terms
  // are scaled (buildDataParallel).
  auto scaledTerm = [&](Value term, int64_t i) {
    if (!scales)
      return term;
    Value index = arith::ConstantIndexOp::create(b, i);
    Value s = tensor::ExtractOp::create(b, scales, ValueRange{index});
    return arith::MulFOp::create(b, term,
                                 tensor::FromElementsOp::create(b, t.scalar, s))
        .getResult();
  };
  Value ponderTerm = arith::MulFOp::create(b, scalar(desc.ponderWeight()),
                                           scaledTerm(ponderCost, 1));
  b.setLoc(at("loss"));
  Value total = arith::AddFOp::create(b, scaledTerm(ce, 0), ponderTerm);
  b.setLoc(at("loss.policy_weight"));
  Value policyTerm = arith::MulFOp::create(b, scalar(desc.loss.policyWeight),
                                           scaledTerm(policy, 2));
  b.setLoc(at("loss"));
  total = arith::AddFOp::create(b, total, policyTerm);
  return {total, ce, ponderCost, policy};
}

std::vector<std::pair<std::string, Type>>
ModelBuilder::gradOutputs(func::FuncOp loss) {
  std::vector<std::pair<std::string, Type>> outputs;
  for (unsigned i = 0; i < loss.getNumResults(); ++i)
    outputs.push_back(
        {loss.getResultAttrOfType<StringAttr>(i, "ponder.output").str(),
         loss.getResultTypes()[i]});
  for (const ParameterSpec &p : getParameters(desc))
    outputs.push_back({"grad." + p.name, floatTensor(p.shape)});
  return outputs;
}

// @grad: @loss's outputs and the gradient of the loss with respect to every
// parameter (`ponder run --grad`, MODEL.md §8), by ponder-autodiff.
void ModelBuilder::buildGrad(func::FuncOp loss,
                             ArrayRef<std::pair<StringRef, Type>> inputs,
                             StringRef name) {
  std::vector<std::pair<std::string, Type>> outputs = gradOutputs(loss);
  SmallVector<std::pair<StringRef, Type>> outs(outputs.begin(), outputs.end());
  b.setLoc(at("loss"));
  func::FuncOp grad = beginFunction(name, inputs, outs);
  SmallVector<Type> resultTypes;
  for (auto &[_, type] : outputs)
    resultTypes.push_back(type);
  auto g = GradientOp::create(b, resultTypes, loss.getSymName(),
                              grad.getArguments());
  func::ReturnOp::create(b, g.getResults());
}

// @train_step: one optimiser step (MODEL.md §7): the gradient of @loss,
// global-norm clipping at 1.0, and AdamW with decoupled weight decay on
// 2-D parameters except embed.*.
void ModelBuilder::buildTrainStep(const Types &t, func::FuncOp loss,
                                  ArrayRef<std::pair<StringRef, Type>> inputs) {
  std::vector<ParameterSpec> specs = getParameters(desc);
  std::vector<std::string> names;
  for (const char *prefix : {"adam.m.", "adam.v."})
    for (const ParameterSpec &p : specs)
      names.push_back(prefix + p.name);
  SmallVector<std::pair<StringRef, Type>> moments, stepInputs(inputs);
  for (auto [i, name] : llvm::enumerate(names))
    moments.push_back({name, floatTensor(specs[i % specs.size()].shape)});
  stepInputs.append({{"learning_rate", t.scalar},
                     {"step", idTensor({})},
                     {"weight_decay", t.scalar}});
  SmallVector<std::pair<StringRef, Type>> stepOutputs = {
      {"loss", t.scalar},        {"loss.ce", t.scalar},
      {"loss.ponder", t.scalar}, {"loss.policy", t.scalar},
      {"grad_norm", t.scalar},   {"steps", t.steps}};
  for (const ParameterSpec &p : specs)
    stepOutputs.push_back({p.name, floatTensor(p.shape)});
  stepOutputs.append(moments.begin(), moments.end());
  b.setLoc(at("loss"));
  beginFunction("train_step", stepInputs, stepOutputs, moments);
  func::ReturnOp::create(b, buildOptimizerStep(loss, inputs, names));
}

SmallVector<Value>
ModelBuilder::buildOptimizerStep(func::FuncOp loss,
                                 ArrayRef<std::pair<StringRef, Type>> inputs,
                                 ArrayRef<std::string> moments) {
  std::vector<ParameterSpec> specs = getParameters(desc);
  SmallVector<Value> lossArgs;
  for (auto &[name, _] : inputs)
    lossArgs.push_back(input(name));
  for (const ParameterSpec &p : specs)
    lossArgs.push_back(param(p.name));
  SmallVector<Type> resultTypes;
  for (auto &[_, type] : gradOutputs(loss))
    resultTypes.push_back(type);
  auto g = GradientOp::create(b, resultTypes, loss.getSymName(), lossArgs);
  SmallVector<Value> grads(g.getResults().drop_front(loss.getNumResults()));
  SmallVector<Value> results(g.getResults().take_front(4));
  SmallVector<Value> update = buildUpdate(grads, moments);
  results.push_back(update.front());
  results.push_back(g.getResult(5)); // steps
  results.append(update.begin() + 1, update.end());
  return results;
}

// MODEL.md §7: global-norm clipping at 1.0, and AdamW with decoupled weight
// decay on 2-D parameters except embed.*.
SmallVector<Value> ModelBuilder::buildUpdate(ValueRange grads,
                                             ArrayRef<std::string> moments) {
  std::vector<ParameterSpec> specs = getParameters(desc);
  auto clip = ClipGlobalNormOp::create(b, grads.getTypes(), floatTensor({}),
                                       grads, b.getF64FloatAttr(1.0));
  Value lr = tensor::ExtractOp::create(b, input("learning_rate"), ValueRange{});
  Value step = arith::ExtSIOp::create(
      b, b.getI64Type(),
      tensor::ExtractOp::create(b, input("step"), ValueRange{}));
  Value decay =
      tensor::ExtractOp::create(b, input("weight_decay"), ValueRange{});
  Value noDecay =
      arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f)).getResult();
  SmallVector<Value> results = {clip.getNorm()}, newM, newV;
  for (auto [i, p] : llvm::enumerate(specs)) {
    bool decays = p.shape.size() == 2 && p.name.rfind("embed.", 0) != 0;
    auto update =
        AdamWOp::create(b, param(p.name), clip.getClipped()[i],
                        input(moments[i]), input(moments[specs.size() + i]), lr,
                        step, decays ? decay : noDecay, b.getF64FloatAttr(0.9),
                        b.getF64FloatAttr(0.95), b.getF64FloatAttr(1e-8));
    results.push_back(update.getNewParam());
    newM.push_back(update.getNewM());
    newV.push_back(update.getNewV());
  }
  results.append(newM);
  results.append(newV);
  return results;
}

} // namespace

OwningOpRef<ModuleOp> buildModel(MLIRContext &context,
                                 const ModelDescription &desc,
                                 const BuildOptions &options) {
  context.loadDialect<PonderDialect, func::FuncDialect, arith::ArithDialect,
                      tensor::TensorDialect>();
  ImplicitLocOpBuilder b(UnknownLoc::get(&context), &context);
  ModelBuilder builder(b, desc, options);
  OwningOpRef<ModuleOp> module = ModuleOp::create(builder.at("model"));
  builder.buildModule(*module);
  return module;
}

} // namespace ponder

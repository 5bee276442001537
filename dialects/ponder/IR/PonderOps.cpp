//===- PonderOps.cpp - Ponder operations: verifiers, assembly, folds ------===//
//
// Verifier messages name the operand, the expected shape and what was found,
// so a user can fix the IR (or the model description) from the message alone.
// Dynamic dimensions are compatible with anything; they are checked at run
// time by the runtime.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::ponder;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// True when two dimensions are both static and differ.
static bool conflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static RankedTensorType rt(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Shortest readable form of an attribute value for messages ("0.25").
static std::string fmt(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

/// Checks that `v` has rank `rank`; `name` and `layout` (e.g. "[B, T]") make
/// the message.
static LogicalResult checkRank(Operation *op, Value v, StringRef name,
                               int64_t rank, StringRef layout) {
  if (rt(v).getRank() == rank)
    return success();
  return op->emitOpError() << name << " must have rank " << rank << " ("
                           << layout << "), got " << v.getType();
}

/// Checks dimension `dim` of `v` against `expected`; `what` names the
/// expected size (e.g. "the batch size of 'ids'").
static LogicalResult checkDim(Operation *op, Value v, StringRef name,
                              int64_t dim, int64_t expected, StringRef what) {
  int64_t found = rt(v).getDimSize(dim);
  if (!conflict(found, expected))
    return success();
  return op->emitOpError() << name << " dimension " << dim << " must be "
                           << what << " (" << dimStr(expected) << "), got "
                           << found << " in " << v.getType();
}

static LogicalResult checkUnitInterval(Operation *op, StringRef name,
                                       double value, bool closedAbove) {
  if (value >= 0.0 && (closedAbove ? value <= 1.0 : value < 1.0))
    return success();
  return op->emitOpError() << "attribute '" << name << "' must be in [0, 1"
                           << (closedAbove ? "]" : ")") << ", got "
                           << fmt(value);
}

/// Checks `ids` [B, T], `lengths` [B] and an optional per-position tensor
/// [B, T] (`perPosition`, named `perPositionName`).
static LogicalResult checkBatch(Operation *op, Value ids, Value lengths,
                                Value perPosition = {},
                                StringRef perPositionName = "") {
  if (failed(checkRank(op, ids, "'ids'", 2, "[B, T]")) ||
      failed(checkRank(op, lengths, "'lengths'", 1, "[B]")) ||
      failed(checkDim(op, lengths, "'lengths'", 0, rt(ids).getDimSize(0),
                      "the batch size of 'ids'")))
    return failure();
  if (!perPosition)
    return success();
  std::string name = ("'" + perPositionName + "'").str();
  if (failed(checkRank(op, perPosition, name, 2, "[B, T] like 'ids'")))
    return failure();
  for (int64_t d = 0; d < 2; ++d)
    if (failed(checkDim(op, perPosition, name, d, rt(ids).getDimSize(d),
                        d == 0 ? "the batch size of 'ids'"
                               : "the sequence length of 'ids'")))
      return failure();
  return success();
}

/// Checks logits [B, T, V] against ids [B, T] and the vocabulary.
static LogicalResult checkLogits(Operation *op, Value logits, Value ids,
                                 VocabAttr vocab, int64_t leadingDims = 0) {
  std::string layout = leadingDims ? "[N_max, B, T, V]" : "[B, T, V]";
  if (failed(checkRank(op, logits, "'logits'", 3 + leadingDims, layout)))
    return failure();
  for (int64_t d = 0; d < 2; ++d)
    if (failed(checkDim(op, logits, "'logits'", leadingDims + d,
                        rt(ids).getDimSize(d),
                        d == 0 ? "the batch size of 'ids'"
                               : "the sequence length of 'ids'")))
      return failure();
  int64_t v = rt(logits).getDimSize(leadingDims + 2);
  if (conflict(v, vocab.getSize()))
    return op->emitOpError()
           << "'logits' last dimension must be the vocabulary size V = "
           << vocab.getSize() << " (verbal " << vocab.getVerbal() << " + think "
           << vocab.getThink() << "), got " << v;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbedOp
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getIds(), "'ids'", 2, "[B, T]")) ||
      failed(checkRank(op, getToken(), "'token'", 2, "[V, d]")) ||
      failed(checkRank(op, getPosition(), "'position'", 2, "[max_seq, d]")) ||
      failed(checkRank(op, getResult(), "result", 3, "[B, T, d]")))
    return failure();
  int64_t v = getToken().getType().getDimSize(0);
  if (conflict(v, getVocab().getSize()))
    return emitOpError() << "'token' must have one row per id of the "
                            "vocabulary, V = "
                         << getVocab().getSize() << " (verbal "
                         << getVocab().getVerbal() << " + think "
                         << getVocab().getThink() << "), got " << v;
  int64_t d = getToken().getType().getDimSize(1);
  if (failed(checkDim(op, getPosition(), "'position'", 1, d,
                      "the model width d of 'token'")) ||
      failed(checkDim(op, getResult(), "result", 0,
                      getIds().getType().getDimSize(0),
                      "the batch size of 'ids'")) ||
      failed(checkDim(op, getResult(), "result", 1,
                      getIds().getType().getDimSize(1),
                      "the sequence length of 'ids'")) ||
      failed(checkDim(op, getResult(), "result", 2, d,
                      "the model width d of 'token'")))
    return failure();
  if (Value start = getStart())
    if (failed(checkRank(op, start, "'start'", 1, "[B]")) ||
        failed(checkDim(op, start, "'start'", 0,
                        getIds().getType().getDimSize(0),
                        "the batch size of 'ids'")))
      return failure();
  if (Value thoughts = getThoughts())
    if (thoughts.getType() != getResult().getType())
      return emitOpError() << "'thoughts' must have the result's type "
                           << getResult().getType() << " ([B, T, d]), got "
                           << thoughts.getType();
  int64_t t = getIds().getType().getDimSize(1);
  int64_t maxSeq = getPosition().getType().getDimSize(0);
  if (!ShapedType::isDynamic(t) && !ShapedType::isDynamic(maxSeq) && t > maxSeq)
    return emitOpError() << "sequence length " << t
                         << " of 'ids' exceeds max_seq = " << maxSeq
                         << " (rows of 'position')";
  return success();
}

//===----------------------------------------------------------------------===//
// StepEmbedOp
//===----------------------------------------------------------------------===//

LogicalResult StepEmbedOp::verify() {
  Operation *op = getOperation();
  if (getState().getType().getRank() < 1)
    return emitOpError() << "'state' must have rank >= 1 ([..., d]), got "
                         << getState().getType();
  if (failed(checkRank(op, getTable(), "'table'", 2, "[N_max, d]")))
    return failure();
  return checkDim(op, getTable(), "'table'", 1,
                  getState().getType().getShape().back(),
                  "the last dimension d of 'state'");
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  Operation *op = getOperation();
  if (getInput().getType().getRank() < 1)
    return emitOpError() << "'input' must have rank >= 1 ([..., d]), got "
                         << getInput().getType();
  if (failed(checkRank(op, getWeight(), "'weight'", 1, "[d]")) ||
      failed(checkDim(op, getWeight(), "'weight'", 0,
                      getInput().getType().getShape().back(),
                      "the last dimension d of 'input'")))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "attribute 'epsilon' must be > 0, got "
                         << fmt(getEpsilon().convertToDouble());
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  Operation *op = getOperation();
  RankedTensorType in = getInput().getType(), out = getResult().getType();
  if (in.getRank() < 1)
    return emitOpError() << "'input' must have rank >= 1 ([..., in]), got "
                         << in;
  if (failed(checkRank(op, getWeight(), "'weight'", 2, "[out, in]")) ||
      failed(checkDim(op, getWeight(), "'weight'", 1, in.getShape().back(),
                      "the last dimension (in-features) of 'input'")))
    return failure();
  if (out.getRank() != in.getRank())
    return emitOpError() << "result must have the rank of 'input' ("
                         << in.getRank() << "), got " << out;
  for (int64_t d = 0; d + 1 < in.getRank(); ++d)
    if (failed(checkDim(op, getResult(), "result", d, in.getDimSize(d),
                        "the matching dimension of 'input'")))
      return failure();
  return checkDim(op, getResult(), "result", out.getRank() - 1,
                  getWeight().getType().getDimSize(0),
                  "the out-features (dimension 0) of 'weight'");
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Checks `positions` ([M], i32) of a gathered op.
static LogicalResult checkPositions(Operation *op, Value positions) {
  return checkRank(op, positions, "'positions'", 1, "[M]");
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  // Gathered queries ([1, M, d]) have no batch dimension to check.
  if (failed(checkRank(op, getQuery(), "'query'", 3, "[B, T, d]")) ||
      failed(checkRank(op, getLengths(), "'lengths'", 1, "[B]")) ||
      failed(checkDim(op, getLengths(), "'lengths'", 0,
                      getPositions() ? ShapedType::kDynamic
                                     : getQuery().getType().getDimSize(0),
                      "the batch size of 'query'")) ||
      (getPositions() && failed(checkPositions(op, getPositions()))))
    return failure();
  int64_t d = getQuery().getType().getDimSize(2);
  if (!ShapedType::isDynamic(d) && d % getHeads() != 0)
    return emitOpError() << "model width d = " << d
                         << " must be divisible by heads = " << getHeads();
  return success();
}

//===----------------------------------------------------------------------===//
// GatherPositionsOp, ScatterPositionsOp
//===----------------------------------------------------------------------===//

LogicalResult GatherPositionsOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getInput(), "'input'", 3, "[B, T, d]")) ||
      failed(checkPositions(op, getPositions())))
    return failure();
  return success();
}

LogicalResult ScatterPositionsOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getDest(), "'dest'", 3, "[B, T, d]")) ||
      failed(checkPositions(op, getPositions())))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// CachedAttentionOp
//===----------------------------------------------------------------------===//

/// Checks a cache `[N_max, B, max_seq, d]` against new positions `[B, T, d]`.
static LogicalResult checkCache(Operation *op, Value cache, StringRef name,
                                Value perPosition) {
  if (failed(checkRank(op, cache, name, 4, "[N_max, B, max_seq, d]")) ||
      failed(checkDim(op, cache, name, 1, rt(perPosition).getDimSize(0),
                      "the batch size of the new positions")) ||
      failed(checkDim(op, cache, name, 3, rt(perPosition).getDimSize(2),
                      "the model width d of the new positions")))
    return failure();
  return success();
}

/// Checks per-row `start` and `lengths` ([B]) against a batch size.
static LogicalResult checkRows(Operation *op, Value start, Value lengths,
                               int64_t batch) {
  for (auto [v, name] :
       {std::pair(start, "'start'"), std::pair(lengths, "'lengths'")})
    if (failed(checkRank(op, v, name, 1, "[B]")) ||
        failed(checkDim(op, v, name, 0, batch, "the batch size")))
      return failure();
  return success();
}

LogicalResult CachedAttentionOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getQuery(), "'query'", 3, "[B, T, d]")) ||
      failed(checkCache(op, getKeyCache(), "'key_cache'", getQuery())) ||
      failed(checkRows(op, getStart(), getLengths(),
                       getQuery().getType().getDimSize(0))))
    return failure();
  int64_t d = getQuery().getType().getDimSize(2);
  if (!ShapedType::isDynamic(d) && d % getHeads() != 0)
    return emitOpError() << "model width d = " << d
                         << " must be divisible by heads = " << getHeads();
  return success();
}

//===----------------------------------------------------------------------===//
// HaltingLoopOp
//===----------------------------------------------------------------------===//

Value HaltingLoopOp::getYieldedState() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValues()[0];
}

void HaltingLoopOp::getAsmResultNames(
    function_ref<void(Value, StringRef)> setNameFn) {
  setNameFn(getState(), "state");
  setNameFn(getSteps(), "steps");
  setNameFn(getRemainder(), "remainder");
  setNameFn(getProbs(), "probs");
  if (getKvCache()) {
    setNameFn(getKeys(), "keys");
    setNameFn(getValues(), "values");
  }
  if (getTape())
    setNameFn(getTapeStates(), "tape");
}

void HaltingLoopOp::getAsmBlockArgumentNames(Region &region,
                                             OpAsmSetValueNameFn setNameFn) {
  unsigned count = region.empty() ? 0 : region.front().getNumArguments();
  if (count != 2 && count != 3)
    return;
  setNameFn(region.front().getArgument(0), "s");
  setNameFn(region.front().getArgument(1), "n");
  if (count == 3)
    setNameFn(region.front().getArgument(2), "positions");
}

LogicalResult HaltingLoopOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  Adaptor adaptor(operands, attributes, properties, regions);
  auto init = dyn_cast<RankedTensorType>(adaptor.getInit().getType());
  if (!init || init.getRank() != 3)
    return emitOptionalError(location,
                             "'ponder.halting_loop' op 'init' must "
                             "have rank 3 ([B, T, d]), got ",
                             adaptor.getInit().getType());
  int64_t b = init.getDimSize(0), t = init.getDimSize(1);
  int64_t n = adaptor.getMaxSteps();
  Type f32 = Float32Type::get(context), i32 = IntegerType::get(context, 32);
  Type state = init;
  if (adaptor.getMode() == HaltingMode::PonderNet)
    state = RankedTensorType::get({n, b, t, init.getDimSize(2)}, f32);
  inferredReturnTypes.assign({state, RankedTensorType::get({b, t}, i32),
                              RankedTensorType::get({b, t}, f32),
                              RankedTensorType::get({n, b, t}, f32)});
  if (adaptor.getKvCache())
    inferredReturnTypes.append(
        2, RankedTensorType::get({n, b, t, init.getDimSize(2)}, f32));
  if (adaptor.getTape())
    inferredReturnTypes.push_back(
        RankedTensorType::get({n + 1, b, t, init.getDimSize(2)}, f32));
  return success();
}

LogicalResult HaltingLoopOp::verify() {
  Operation *op = getOperation();
  RankedTensorType init = getInit().getType();
  if (failed(checkRank(op, getLengths(), "'lengths'", 1, "[B]")) ||
      failed(checkDim(op, getLengths(), "'lengths'", 0, init.getDimSize(0),
                      "the batch size of 'init'")))
    return failure();
  bool usesHalting = getMode() != HaltingMode::Fixed;
  StringRef mode = stringifyHaltingMode(getMode());
  if (usesHalting && (!getHaltWeight() || !getHaltBias()))
    return emitOpError() << "'" << mode
                         << "' halting needs halt(weight, bias) operands";
  if (!usesHalting && (getHaltWeight() || getHaltBias()))
    return emitOpError() << "'fixed' halting takes no halt(weight, bias) "
                            "operands; remove them or use 'act'/'pondernet'";
  if (usesHalting) {
    if (failed(checkRank(op, getHaltWeight(), "'halt_weight'", 2, "[1, d]")) ||
        failed(checkDim(op, getHaltWeight(), "'halt_weight'", 0, 1, "1")) ||
        failed(checkDim(op, getHaltWeight(), "'halt_weight'", 1,
                        init.getDimSize(2), "the model width d of 'init'")) ||
        failed(checkRank(op, getHaltBias(), "'halt_bias'", 1, "[1]")) ||
        failed(checkDim(op, getHaltBias(), "'halt_bias'", 0, 1, "1")))
      return failure();
  }
  bool isAct = getMode() == HaltingMode::Act;
  if (isAct && !getEpsilon())
    return emitOpError() << "'act' halting needs an 'epsilon' in [0, 1)";
  if (!isAct && getEpsilon())
    return emitOpError() << "'epsilon' is only meaningful for 'act' halting, "
                            "not '"
                         << mode << "'";
  if (isAct &&
      failed(checkUnitInterval(op, "epsilon", getEpsilon()->convertToDouble(),
                               /*closedAbove=*/false)))
    return failure();
  if (getCompact() && (!isAct || getKvCache()))
    return emitOpError() << "'compact' needs 'act' halting without 'kv_cache'";
  return success();
}

/// True when `v` is a ranked i32 tensor of rank 1: a list of positions.
static bool isPositionList(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == 1 && type.getElementType().isInteger(32);
}

/// Checks that a region of a halting loop takes (state, step) and yields
/// `count` values of the state's type, described by `what`.
static LogicalResult verifyLoopRegion(HaltingLoopOp op, Region &region,
                                      StringRef name, unsigned count,
                                      StringRef what) {
  Block &block = region.front();
  Type state = op.getInit().getType();
  bool compact = op.getCompact() && &region == &op.getBody();
  if (block.getNumArguments() != (compact ? 3u : 2u))
    return op.emitOpError()
           << name << " must have "
           << (compact ? "three arguments (state, step, positions)"
                       : "two arguments (state, step)")
           << ", got " << block.getNumArguments();
  if (compact && !isPositionList(block.getArgument(2)))
    return op.emitOpError() << name
                            << " positions argument must be a rank-1 i32 "
                               "tensor, got "
                            << block.getArgument(2).getType();
  if (block.getArgument(0).getType() != state)
    return op.emitOpError()
           << name << " state argument must have the type of 'init' " << state
           << ", got " << block.getArgument(0).getType();
  if (!block.getArgument(1).getType().isIndex())
    return op.emitOpError() << name << " step argument must be 'index', got "
                            << block.getArgument(1).getType();
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op.emitOpError() << name << " must end with 'ponder.yield'";
  if (yield.getValues().size() != count ||
      llvm::any_of(yield.getValues().getTypes(),
                   [&](Type t) { return t != state; }))
    return yield.emitOpError()
           << "must yield " << what << ", each with the type of 'init' "
           << state << ", got (" << yield.getValues().getTypes() << ")";
  return success();
}

LogicalResult HaltingLoopOp::verifyRegions() {
  bool kv = getKvCache();
  if (failed(verifyLoopRegion(*this, getBody(), "body", kv ? 3 : 1,
                              kv ? "the next state, keys and values"
                                 : "the next state")))
    return failure();
  if (!kv)
    return getFrozen().empty()
               ? success()
               : emitOpError() << "a 'frozen' region needs 'kv_cache'";
  if (getFrozen().empty())
    return emitOpError() << "'kv_cache' needs a 'frozen' region that yields "
                            "the keys and values of a state";
  return verifyLoopRegion(*this, getFrozen(), "'frozen' region", 2,
                          "keys and values");
}

// Custom form:
//   ponder.halting_loop act max_steps 8 epsilon 1.0e-02
//       lengths(%len : type) halt(%w, %b : type, type)
//       iter_state(%s = %init : type) step(%n) attributes {...} { body }
void HaltingLoopOp::print(OpAsmPrinter &p) {
  p << " " << stringifyHaltingMode(getMode()) << " max_steps " << getMaxSteps();
  if (auto eps = getEpsilon()) {
    p << " epsilon ";
    p.printFloat(*eps);
  }
  p << " lengths(" << getLengths() << " : " << getLengths().getType() << ")";
  if (getHaltWeight())
    p << " halt(" << getHaltWeight() << ", " << getHaltBias() << " : "
      << getHaltWeight().getType() << ", " << getHaltBias().getType() << ")";
  p << " iter_state(" << getStateArgument() << " = " << getInit() << " : "
    << getInit().getType() << ") step(" << getStepArgument() << ")";
  if (getCompact())
    p << " positions(" << getPositionsArgument() << " : "
      << getPositionsArgument().getType() << ")";
  if (getKvCache())
    p << " kv_cache";
  if (getTape())
    p << " tape";
  p.printOptionalAttrDictWithKeyword(
      (*this)->getAttrs(), {"mode", "max_steps", "epsilon", "kv_cache", "tape",
                            "compact", "operandSegmentSizes"});
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false);
  if (!getFrozen().empty()) {
    p << " frozen ";
    p.printRegion(getFrozen(), /*printEntryBlockArgs=*/true);
  }
}

ParseResult HaltingLoopOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  Builder &b = parser.getBuilder();
  auto &props = result.getOrAddProperties<Properties>();

  StringRef modeName;
  SMLoc modeLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&modeName))
    return failure();
  std::optional<HaltingMode> mode = symbolizeHaltingMode(modeName);
  if (!mode)
    return parser.emitError(modeLoc)
           << "expected halting mode 'fixed', 'act' or 'pondernet', got '"
           << modeName << "'";
  props.setMode(HaltingModeAttr::get(ctx, *mode));

  int64_t maxSteps;
  if (parser.parseKeyword("max_steps") || parser.parseInteger(maxSteps))
    return failure();
  props.setMaxSteps(b.getI64IntegerAttr(maxSteps));

  if (succeeded(parser.parseOptionalKeyword("epsilon"))) {
    double eps;
    if (parser.parseFloat(eps))
      return failure();
    props.setEpsilon(b.getF64FloatAttr(eps));
  }

  OpAsmParser::UnresolvedOperand lengths, init, haltW, haltB;
  Type lengthsType, initType, haltWType, haltBType;
  if (parser.parseKeyword("lengths") || parser.parseLParen() ||
      parser.parseOperand(lengths) || parser.parseColonType(lengthsType) ||
      parser.parseRParen())
    return failure();
  bool hasHalt = succeeded(parser.parseOptionalKeyword("halt"));
  if (hasHalt && (parser.parseLParen() || parser.parseOperand(haltW) ||
                  parser.parseComma() || parser.parseOperand(haltB) ||
                  parser.parseColon() || parser.parseType(haltWType) ||
                  parser.parseComma() || parser.parseType(haltBType) ||
                  parser.parseRParen()))
    return failure();

  OpAsmParser::Argument stateArg, stepArg;
  if (parser.parseKeyword("iter_state") || parser.parseLParen() ||
      parser.parseArgument(stateArg) || parser.parseEqual() ||
      parser.parseOperand(init) || parser.parseColonType(initType) ||
      parser.parseRParen() || parser.parseKeyword("step") ||
      parser.parseLParen() || parser.parseArgument(stepArg) ||
      parser.parseRParen())
    return failure();
  stateArg.type = initType;
  stepArg.type = b.getIndexType();
  SmallVector<OpAsmParser::Argument> args = {stateArg, stepArg};
  if (succeeded(parser.parseOptionalKeyword("positions"))) {
    OpAsmParser::Argument positionsArg;
    if (parser.parseLParen() || parser.parseArgument(positionsArg) ||
        parser.parseColonType(positionsArg.type) || parser.parseRParen())
      return failure();
    args.push_back(positionsArg);
    props.setCompact(b.getUnitAttr());
  }
  if (succeeded(parser.parseOptionalKeyword("kv_cache")))
    props.setKvCache(b.getUnitAttr());
  if (succeeded(parser.parseOptionalKeyword("tape")))
    props.setTape(b.getUnitAttr());

  if (parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, args))
    return failure();
  Region *frozen = result.addRegion();
  if (succeeded(parser.parseOptionalKeyword("frozen")) &&
      parser.parseRegion(*frozen))
    return failure();

  if (parser.resolveOperand(init, initType, result.operands) ||
      parser.resolveOperand(lengths, lengthsType, result.operands))
    return failure();
  if (hasHalt && (parser.resolveOperand(haltW, haltWType, result.operands) ||
                  parser.resolveOperand(haltB, haltBType, result.operands)))
    return failure();
  int32_t haltCount = hasHalt ? 1 : 0;
  props.operandSegmentSizes = {1, 1, haltCount, haltCount};

  SmallVector<Type> resultTypes;
  if (failed(inferReturnTypes(ctx, result.location, result.operands,
                              result.attributes.getDictionary(ctx),
                              result.getRawProperties(), result.regions,
                              resultTypes)))
    return failure();
  result.addTypes(resultTypes);
  return success();
}

//===----------------------------------------------------------------------===//
// SelectStepOp
//===----------------------------------------------------------------------===//

LogicalResult SelectStepOp::verify() {
  Operation *op = getOperation();
  RankedTensorType in = getInput().getType(), out = getResult().getType();
  if (in.getRank() < 3)
    return emitOpError() << "'input' must have rank >= 3 ([N_max, B, T, ...]), "
                            "got "
                         << in;
  if (failed(checkRank(op, getSteps(), "'steps'", 2, "[B, T]")))
    return failure();
  for (int64_t d = 0; d < 2; ++d)
    if (failed(checkDim(op, getSteps(), "'steps'", d, in.getDimSize(d + 1),
                        "the matching dimension of 'input'")))
      return failure();
  if (out.getRank() != in.getRank() - 1)
    return emitOpError() << "result must drop the leading step dimension of "
                            "'input' (rank "
                         << in.getRank() - 1 << "), got " << out;
  for (int64_t d = 0; d < out.getRank(); ++d)
    if (failed(checkDim(op, getResult(), "result", d, in.getDimSize(d + 1),
                        "the matching dimension of 'input'")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// VerbalXentOp
//===----------------------------------------------------------------------===//

LogicalResult VerbalXentOp::verify() {
  Operation *op = getOperation();
  int64_t stepDims = getStepProbs() ? 1 : 0;
  if (!getStepProbs() && getLogits().getType().getRank() == 4)
    return emitOpError() << "per-step 'logits' [N_max, B, T, V] need "
                            "'step_probs' [N_max, B, T]";
  if (failed(checkBatch(op, getIds(), getLengths(), getTargetWeight(),
                        "target_weight")) ||
      failed(checkLogits(op, getLogits(), getIds(), getVocab(), stepDims)))
    return failure();
  if (Value probs = getStepProbs()) {
    RankedTensorType logits = getLogits().getType();
    if (failed(checkRank(op, probs, "'step_probs'", 3, "[N_max, B, T]")))
      return failure();
    for (int64_t d = 0; d < 3; ++d)
      if (failed(checkDim(op, probs, "'step_probs'", d, logits.getDimSize(d),
                          "the matching dimension of 'logits'")))
        return failure();
  }
  double alpha = getSmoothing().convertToDouble();
  double mu = getReferenceMix().convertToDouble();
  if (failed(checkUnitInterval(op, "smoothing", alpha, true)) ||
      failed(checkUnitInterval(op, "reference_mix", mu, true)))
    return failure();
  if (alpha + mu > 1.0)
    return emitOpError() << "'smoothing' + 'reference_mix' must be <= 1 (the "
                            "one-hot weight is 1 - both), got "
                         << fmt(alpha + mu);
  if (!(getReferenceTemperature().convertToDouble() > 0.0))
    return emitOpError() << "attribute 'reference_temperature' must be > 0, "
                            "got "
                         << fmt(getReferenceTemperature().convertToDouble());
  if (mu > 0.0 && !getReference())
    return emitOpError() << "'reference_mix' = " << fmt(mu)
                         << " needs reference(logits) of a frozen reference "
                            "model";
  if (mu == 0.0 && getReference())
    return emitOpError() << "reference(logits) given but 'reference_mix' is "
                            "0; set it or drop the operand";
  if (Value ref = getReference()) {
    if (failed(checkLogits(op, ref, getIds(), getVocab())))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PolicyLossOp
//===----------------------------------------------------------------------===//

LogicalResult PolicyLossOp::verify() {
  Operation *op = getOperation();
  if (failed(
          checkBatch(op, getIds(), getLengths(), getAdvantage(), "advantage")))
    return failure();
  return checkLogits(op, getLogits(), getIds(), getVocab());
}

//===----------------------------------------------------------------------===//
// PonderCostOp
//===----------------------------------------------------------------------===//

LogicalResult PonderCostOp::verify() {
  Operation *op = getOperation();
  Value steps = getSteps();
  if (failed(checkBatch(op, steps, getLengths())) ||
      failed(checkRank(op, getRemainder(), "'remainder'", 2, "[B, T]")) ||
      failed(checkRank(op, getProbs(), "'probs'", 3, "[N_max, B, T]")))
    return failure();
  for (int64_t d = 0; d < 2; ++d) {
    int64_t expected = rt(steps).getDimSize(d);
    StringRef what =
        d == 0 ? "the batch size of 'steps'" : "the sequence length of 'steps'";
    if (failed(
            checkDim(op, getRemainder(), "'remainder'", d, expected, what)) ||
        failed(checkDim(op, getProbs(), "'probs'", d + 1, expected, what)))
      return failure();
  }
  bool isPonderNet = getMode() == HaltingMode::PonderNet;
  if (isPonderNet && !getPriorLambda())
    return emitOpError() << "'pondernet' ponder cost needs 'prior_lambda' in "
                            "(0, 1]";
  if (!isPonderNet && getPriorLambda())
    return emitOpError() << "'prior_lambda' is only meaningful for "
                            "'pondernet', not '"
                         << stringifyHaltingMode(getMode()) << "'";
  if (isPonderNet) {
    double lambda = getPriorLambda()->convertToDouble();
    if (!(lambda > 0.0 && lambda <= 1.0))
      return emitOpError() << "attribute 'prior_lambda' must be in (0, 1], "
                              "got "
                           << fmt(lambda);
  }
  return success();
}

OpFoldResult PonderCostOp::fold(FoldAdaptor) {
  // MODEL.md §5: fixed depth has no ponder cost.
  if (getMode() != HaltingMode::Fixed)
    return {};
  return DenseElementsAttr::get(getType(), APFloat(0.0f));
}

//===----------------------------------------------------------------------===//
// AdamWOp
//===----------------------------------------------------------------------===//

LogicalResult AdamWOp::verify() {
  Operation *op = getOperation();
  if (failed(checkUnitInterval(op, "beta1", getBeta1().convertToDouble(),
                               false)) ||
      failed(
          checkUnitInterval(op, "beta2", getBeta2().convertToDouble(), false)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "attribute 'epsilon' must be > 0, got "
                         << fmt(getEpsilon().convertToDouble());
  return success();
}

//===----------------------------------------------------------------------===//
// ClipGlobalNormOp
//===----------------------------------------------------------------------===//

LogicalResult ClipGlobalNormOp::verify() {
  if (getGrads().empty())
    return emitOpError() << "needs at least one gradient";
  if (!(getMaxNorm().convertToDouble() > 0.0))
    return emitOpError() << "attribute 'max_norm' must be > 0, got "
                         << fmt(getMaxNorm().convertToDouble());
  return success();
}

#include "dialects/ponder/IR/PonderInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/ponder/IR/PonderOps.cpp.inc"

//===----------------------------------------------------------------------===//
// HaltingLoopGradOp
//===----------------------------------------------------------------------===//

LogicalResult HaltingLoopGradOp::verifyRegions() {
  Block &body = getBackward().front();
  Type state = getInitGrad().getType();
  unsigned extra = getCompact() ? 1 : 0;
  if (body.getNumArguments() != 3 + extra ||
      body.getArgument(0).getType() != state ||
      !body.getArgument(1).getType().isIndex() ||
      body.getArgument(2).getType() != state ||
      (extra && !isPositionList(body.getArgument(3))))
    return emitOpError() << "backward region must take (state, step, "
                            "cotangent"
                         << (extra ? ", positions" : "") << ") of types ("
                         << state << ", index, " << state
                         << (extra ? ", tensor<?xi32>" : "") << ")";
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().empty() ||
      yield.getValues()[0].getType() != state)
    return emitOpError() << "backward region must yield the state's "
                            "cotangent first";
  if (!llvm::equal(yield.getValues().drop_front().getTypes(),
                   getCapturedGrads().getTypes()))
    return emitOpError() << "'captured' results must have the types of the "
                            "backward region's yields after the first";
  if (static_cast<bool>(getTape()) == !getForward().empty())
    return emitOpError() << "needs either a tape or a forward region that "
                            "recomputes the states, not both";
  if (!getForward().empty()) {
    Block &forward = getForward().front();
    auto yield = dyn_cast<YieldOp>(forward.getTerminator());
    if (forward.getNumArguments() != 2 + extra ||
        forward.getArgument(0).getType() != state ||
        !forward.getArgument(1).getType().isIndex() ||
        (extra && !isPositionList(forward.getArgument(2))) || !yield ||
        yield.getValues().size() != 1 ||
        yield.getValues()[0].getType() != state)
      return emitOpError() << "forward region must map (state, step"
                           << (extra ? ", positions" : "")
                           << ") to the next state, " << state;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ThoughtChainOp, ThoughtChainGradOp
//===----------------------------------------------------------------------===//

Value ThoughtChainOp::getYieldedState() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValues()[0];
}

void ThoughtChainOp::getAsmBlockArgumentNames(Region &region,
                                              OpAsmSetValueNameFn setNameFn) {
  if (region.empty() || region.front().getNumArguments() != 1)
    return;
  setNameFn(region.front().getArgument(0), "h");
}

LogicalResult ThoughtChainOp::verifyRegions() {
  Operation *op = getOperation();
  if (failed(checkRank(op, getIds(), "'ids'", 2, "[B, T]")) ||
      failed(checkRank(op, getLengths(), "'lengths'", 1, "[B]")))
    return failure();
  Block &body = getBody().front();
  Type thoughts = getThoughts().getType();
  if (body.getNumArguments() != 1 || body.getArgument(0).getType() != thoughts)
    return emitOpError() << "body must take the thought inputs h, of the "
                            "type of 'thoughts' "
                         << thoughts;
  if (failed(checkRank(op, getThoughts(), "'thoughts'", 3, "[B, T, d]")))
    return failure();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().empty() ||
      yield.getValues()[0].getType() != thoughts)
    return emitOpError() << "body must yield the final normed state z ("
                         << thoughts << ") first";
  if (!llvm::equal(yield.getValues().getTypes(), getYielded().getTypes()))
    return emitOpError() << "results must have the types of the body's "
                            "yields, ("
                         << yield.getValues().getTypes() << "), got ("
                         << getYielded().getTypes() << ")";
  if (Value carry = getCarry())
    if (failed(checkRank(op, carry, "'carry'", 2, "[B, d]")) ||
        failed(checkDim(op, carry, "'carry'", 1,
                        rt(getThoughts()).getDimSize(2),
                        "the model width d of 'thoughts'")))
      return failure();
  return success();
}

LogicalResult ThoughtChainGradOp::verifyRegions() {
  Block &body = getBackward().front();
  Type thoughts = getThoughts().getType();
  if (!llvm::equal(body.getArgumentTypes(), getYieldGrads().getTypes()))
    return emitOpError() << "backward region must take the yields' "
                            "cotangents, of types ("
                         << getYieldGrads().getTypes() << ")";
  if (getYieldGrads().empty() || getYieldGrads()[0].getType() != thoughts)
    return emitOpError() << "the first yield cotangent must be that of z, "
                         << thoughts;
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().empty() ||
      yield.getValues()[0].getType() != thoughts)
    return emitOpError() << "backward region must yield the cotangent of h "
                            "first";
  if (!llvm::equal(yield.getValues().drop_front().getTypes(),
                   getCapturedGrads().getTypes()))
    return emitOpError() << "results must have the types of the backward "
                            "region's yields after the first";
  return success();
}

//===----------------------------------------------------------------------===//
// GradientOp
//===----------------------------------------------------------------------===//

LogicalResult GradientOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto callee = symbolTable.lookupNearestSymbolFrom<FunctionOpInterface>(
      *this, getCalleeAttr());
  if (!callee)
    return emitOpError() << "no function named '" << getCallee() << "'";
  auto type = cast<FunctionType>(callee.getFunctionType());
  if (!llvm::equal(type.getInputs(), getOperands().getTypes()))
    return emitOpError() << "operands must match the inputs of @" << getCallee()
                         << " " << type;
  SmallVector<Type> expected(type.getResults());
  for (unsigned i = 0; i < type.getNumInputs(); ++i)
    if (callee.getArgAttr(i, "ponder.param"))
      expected.push_back(type.getInput(i));
  if (TypeRange(expected) != getResults().getTypes())
    return emitOpError() << "results must be @" << getCallee()
                         << "'s results followed by one gradient per "
                            "'ponder.param' argument";
  return success();
}

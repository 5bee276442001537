//===- PonderVJP.cpp - Vector-Jacobian products of the ponder ops ---------===//
//
// Each differentiable op maps its results' cotangents to its operands' by
// emitting the matching gradient op (PonderGradOps.td). Arithmetic on tensors
// (the residual adds, the weighted sum of the losses) is differentiated
// through external models on the arith ops.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderVJP.h"
#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::ponder;

SmallVector<Value> EmbedOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  // Cached decoding (a `start` offset) is never differentiated.
  if (getStart())
    return SmallVector<Value>(getNumOperands());
  Value thoughts = getThoughts();
  auto g = EmbedGradOp::create(
      b, getLoc(), getToken().getType(), getPosition().getType(),
      thoughts ? thoughts.getType() : Type(), grads[0], getIds(), getVocab(),
      static_cast<bool>(thoughts));
  // Operands: ids, token, position, (start), (thoughts).
  SmallVector<Value> result = {Value(), g.getTokenGrad(), g.getPositionGrad()};
  if (thoughts)
    result.push_back(g.getThoughtsGrad());
  return result;
}

SmallVector<Value> StepEmbedOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  Value table = StepEmbedGradOp::create(b, getLoc(), getTable().getType(),
                                        grads[0], getStep());
  return {grads[0], table, Value()};
}

SmallVector<Value> RMSNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  auto g = RMSNormGradOp::create(b, getLoc(), grads[0], getInput(), getWeight(),
                                 getEpsilonAttr());
  return {g.getInputGrad(), g.getWeightGrad()};
}

SmallVector<Value> LinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  auto g = LinearGradOp::create(b, getLoc(), grads[0], getInput(), getWeight());
  return {g.getInputGrad(), g.getWeightGrad()};
}

SmallVector<Value> GeluOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  return {GeluGradOp::create(b, getLoc(), grads[0], getInput())};
}

SmallVector<Value> AttentionOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  auto g = AttentionGradOp::create(b, getLoc(), grads[0], getQuery(), getKey(),
                                   getValue(), getLengths(), getPositions(),
                                   getHeadsAttr());
  SmallVector<Value> result = {g.getQueryGrad(), g.getKeyGrad(),
                               g.getValueGrad(), Value()};
  if (getPositions())
    result.push_back(Value());
  return result;
}

Value mlir::ponder::zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  Value empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, like), type.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value filled = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  return filled.getType() == type
             ? filled
             : tensor::CastOp::create(b, loc, type, filled).getResult();
}

// Gathering and scattering are each other's transposes (positions are
// distinct): the gather's cotangent lands in the listed rows of zeros.
SmallVector<Value> GatherPositionsOp::buildVJP(OpBuilder &b,
                                               ArrayRef<Value> grads) {
  Location loc = getLoc();
  Value rows = ScatterPositionsOp::create(
      b, loc, grads[0], zerosLike(b, loc, getInput()), getPositions());
  return {rows, Value()};
}

SmallVector<Value> ScatterPositionsOp::buildVJP(OpBuilder &b,
                                                ArrayRef<Value> grads) {
  Location loc = getLoc();
  Value source = GatherPositionsOp::create(b, loc, grads[0], getPositions());
  // The listed rows of `dest` were overwritten: they get no cotangent.
  Value dest = ScatterPositionsOp::create(
      b, loc, zerosLike(b, loc, getSource()), grads[0], getPositions());
  return {source, dest, Value()};
}

SmallVector<Value> SelectStepOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  return {SelectStepGradOp::create(b, getLoc(), getInput().getType(), grads[0],
                                   getSteps()),
          Value()};
}

SmallVector<Value> VerbalXentOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  Value probs = getStepProbs();
  Type probsGrad = probs ? probs.getType() : Type();
  auto g = VerbalXentGradOp::create(
      b, getLoc(), getLogits().getType(), probsGrad, grads[0], getLogits(),
      getIds(), getLengths(), getTargetWeight(), getReference(), probs,
      getVocabAttr(), getSmoothingAttr(), getReferenceMixAttr(),
      getReferenceTemperatureAttr());
  // Operands: logits, ids, lengths, target_weight, [reference], [step_probs].
  SmallVector<Value> result = {g.getLogitsGrad(), Value(), Value(), Value()};
  if (getReference())
    result.push_back(Value());
  if (probs)
    result.push_back(g.getStepProbsGrad());
  return result;
}

SmallVector<Value> PolicyLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  return {PolicyLossGradOp::create(b, getLoc(), grads[0], getLogits(), getIds(),
                                   getLengths(), getAdvantage(), getVocabAttr(),
                                   getGrouped()),
          Value(), Value(), Value()};
}

SmallVector<Value> PonderCostOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads) {
  auto g = PonderCostGradOp::create(b, getLoc(), grads[0], getModeAttr(),
                                    getSteps(), getRemainder(), getProbs(),
                                    getLengths(), getPriorLambdaAttr());
  return {Value(), g.getRemainderGrad(), g.getProbsGrad(), Value()};
}

//===----------------------------------------------------------------------===//
// arith on tensors
//===----------------------------------------------------------------------===//

namespace {

template <typename Op>
struct ArithVJP : DifferentiableOpInterface::ExternalModel<ArithVJP<Op>, Op> {
  SmallVector<Value> buildVJP(Operation *op, OpBuilder &b,
                              ArrayRef<Value> grads) const {
    Location loc = op->getLoc();
    Value g = grads[0], lhs = op->getOperand(0), rhs = op->getOperand(1);
    if constexpr (std::is_same_v<Op, arith::AddFOp>)
      return {g, g};
    else if constexpr (std::is_same_v<Op, arith::SubFOp>)
      return {g, arith::NegFOp::create(b, loc, g)};
    else
      return {arith::MulFOp::create(b, loc, g, rhs),
              arith::MulFOp::create(b, loc, g, lhs)};
  }
};

} // namespace

void mlir::ponder::registerDifferentiableArithModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<ArithVJP<arith::AddFOp>>(*ctx);
    arith::SubFOp::attachInterface<ArithVJP<arith::SubFOp>>(*ctx);
    arith::MulFOp::attachInterface<ArithVJP<arith::MulFOp>>(*ctx);
  });
}

//===- ContractionEnds.cpp - A product's fill and epilogue ----------------===//

#include "passes/transforms/ContractionEnds.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::ponder;

namespace {

/// Whether `op` computes each result lane from the same lanes of its
/// operands, so that it may be replayed on vectors.
bool isLanewise(Operation &op) {
  return op.hasTrait<OpTrait::Elementwise>() && op.getNumRegions() == 0 &&
         op.getNumResults() == 1;
}

/// An element-wise generic over the product's output points that reads the
/// product once, through the same map as the product writes it, and does
/// not read its own output.
OpOperand *readsProductOnce(linalg::GenericOp epilogue, Value buffer,
                            AffineMap productMap) {
  if (!epilogue.hasPureBufferSemantics() ||
      epilogue.getNumReductionLoops() != 0 || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumLoops() != productMap.getNumResults())
    return nullptr;
  OpOperand *init = epilogue.getDpsInitOperand(0);
  if (epilogue.payloadUsesValueFromOperand(init) ||
      !epilogue.getMatchingIndexingMap(init).isIdentity() ||
      init->get().getType() != buffer.getType())
    return nullptr;
  OpOperand *product = nullptr;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    if (input->get() != buffer)
      continue;
    if (product || !epilogue.getMatchingIndexingMap(input).isIdentity())
      return nullptr;
    product = input;
  }
  Block &body = epilogue.getRegion().front();
  for (Operation &op : body.without_terminator())
    if (!isLanewise(op))
      return nullptr;
  return product;
}

/// Whether the epilogue can run where the product is: nothing between them
/// writes memory (allocations and deallocations aside) or defines an
/// operand of the epilogue, but for an allocation of its output, which is
/// moved before the product.
bool canRunAtProduct(linalg::GenericOp contraction,
                     linalg::GenericOp epilogue) {
  memref::AllocOp outputAlloc;
  for (Operation *op = contraction->getNextNode(); op != epilogue;
       op = op->getNextNode()) {
    if (!isMemoryEffectFree(op) && !isa<memref::AllocOp, memref::DeallocOp>(op))
      return false;
    for (Value result : op->getResults()) {
      if (!llvm::is_contained(epilogue->getOperands(), result))
        continue;
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc || result != epilogue.getDpsInits()[0])
        return false;
      outputAlloc = alloc;
    }
  }
  if (outputAlloc) {
    for (Value size : outputAlloc->getOperands())
      if (Operation *def = size.getDefiningOp();
          def && def->getBlock() == contraction->getBlock() &&
          !def->isBeforeInBlock(contraction))
        return false;
    outputAlloc->moveBefore(contraction);
  }
  return true;
}

/// The ops of `op`'s block that read or write `buffer` (directly or in
/// their regions) in order, deallocations aside, when it is an allocation
/// in that block; empty otherwise.
SmallVector<Operation *> usersInOrder(Value buffer, Operation *op) {
  auto alloc = buffer.getDefiningOp<memref::AllocOp>();
  Block *block = op->getBlock();
  if (!alloc || alloc->getBlock() != block)
    return {};
  SetVector<Operation *> users;
  for (Operation *user : buffer.getUsers()) {
    if (isa<memref::DeallocOp>(user))
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock)
      return {};
    users.insert(inBlock);
  }
  SmallVector<Operation *> ordered = users.takeVector();
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

} // namespace

linalg::FillOp mlir::ponder::fillBefore(Operation *op, Value buffer) {
  SmallVector<Operation *> users = usersInOrder(buffer, op);
  if (users.size() < 2 || users[1] != op)
    return nullptr;
  auto fill = dyn_cast<linalg::FillOp>(users[0]);
  return fill && fill.getOutputs()[0] == buffer ? fill : nullptr;
}

Value ContractionEnds::initial() const {
  linalg::FillOp op = fill;
  return op ? op.getInputs()[0] : Value();
}

Value ContractionEnds::output(linalg::GenericOp contraction) const {
  linalg::GenericOp writer = epilogue ? epilogue : contraction;
  return writer.getDpsInits()[0];
}

AffineMap ContractionEnds::outputMap(linalg::GenericOp contraction) const {
  return contraction.getMatchingIndexingMap(contraction.getDpsInitOperand(0));
}

AffineMap ContractionEnds::mapOf(linalg::GenericOp contraction,
                                 OpOperand &operand) const {
  // The epilogue's loops are the product's output dimensions in order.
  linalg::GenericOp op = epilogue;
  return op.getMatchingIndexingMap(&operand).compose(outputMap(contraction));
}

SmallVector<OpOperand *> ContractionEnds::otherInputs() const {
  SmallVector<OpOperand *> inputs;
  if (linalg::GenericOp op = epilogue)
    for (OpOperand *input : op.getDpsInputOperands())
      if (input != product)
        inputs.push_back(input);
  return inputs;
}

ContractionEnds
mlir::ponder::matchContractionEnds(linalg::GenericOp contraction,
                                   function_ref<bool(AffineMap)> acceptInput) {
  ContractionEnds ends;
  Value buffer = contraction.getDpsInits()[0];
  SmallVector<Operation *> users = usersInOrder(buffer, contraction);
  if (users.empty())
    return ends;
  auto at = llvm::find(users, contraction.getOperation());
  ends.fill = fillBefore(contraction, buffer);
  // The epilogue must be the last use, with every earlier one ours.
  if (std::next(at) == std::prev(users.end()) &&
      (ends.fill || at == users.begin())) {
    auto epilogue = dyn_cast<linalg::GenericOp>(users.back());
    AffineMap productMap = ends.outputMap(contraction);
    if (epilogue)
      if (OpOperand *product = readsProductOnce(epilogue, buffer, productMap);
          product && canRunAtProduct(contraction, epilogue)) {
        ends.epilogue = epilogue;
        ends.product = product;
        // An input that is also the output (an accumulator updated in
        // place, acc += grad) is read at the point written, once.
        // Its output must not be an operand of the product, which other
        // tiles still read while this one stores.
        if (llvm::is_contained(contraction.getDpsInputs(),
                               epilogue.getDpsInits()[0]))
          ends.epilogue = nullptr;
        for (OpOperand *input : ends.otherInputs())
          if ((input->get() == epilogue.getDpsInits()[0] &&
               !epilogue.getMatchingIndexingMap(input).isIdentity()) ||
              !acceptInput(ends.mapOf(contraction, *input)))
            ends.epilogue = nullptr;
        if (!ends.epilogue)
          ends.product = nullptr;
      }
  }
  return ends;
}

Value mlir::ponder::applyEpilogue(OpBuilder &b, Location loc,
                                  const ContractionEnds &ends, Value product,
                                  ArrayRef<Value> inputs) {
  linalg::GenericOp epilogue = ends.epilogue;
  Block &body = epilogue.getRegion().front();
  auto vectorType = dyn_cast<VectorType>(product.getType());
  IRMapping mapping;
  mapping.map(body.getArgument(ends.product->getOperandNumber()), product);
  for (auto [input, given] : llvm::zip(ends.otherInputs(), inputs)) {
    Value value = given;
    if (vectorType && !isa<VectorType>(value.getType()))
      value = vector::BroadcastOp::create(
          b, loc, VectorType::get(vectorType.getShape(), value.getType()),
          value);
    mapping.map(body.getArgument(input->getOperandNumber()), value);
  }
  for (Operation &op : body.without_terminator()) {
    for (Value operand : op.getOperands())
      if (!mapping.contains(operand) && vectorType)
        mapping.map(operand, vector::BroadcastOp::create(
                                 b, loc,
                                 VectorType::get(vectorType.getShape(),
                                                 operand.getType()),
                                 operand));
    Operation *copy = b.clone(op, mapping);
    if (vectorType)
      for (OpResult result : copy->getResults())
        result.setType(
            VectorType::get(vectorType.getShape(), result.getType()));
  }
  return mapping.lookup(body.getTerminator()->getOperand(0));
}

void mlir::ponder::eraseContractionEnds(ContractionEnds &ends) {
  if (ends.fill)
    ends.fill.erase();
  if (ends.epilogue)
    ends.epilogue.erase();
  ends = {};
}

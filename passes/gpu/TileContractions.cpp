//===- TileContractions.cpp - matrix products through shared memory ------===//
//
// Each bufferized `linalg.generic` that is a matrix product (out += a * b
// with m, n and k dimensions and no batch dimensions: the linear layers and
// their gradients) becomes a `gpu.launch` of 64x64 output tiles. A block of
// 16x16 threads walks k in steps of 16: the threads stage the A and B tiles
// in workgroup memory with coalesced loads, wait at a barrier, and each
// accumulates a 4x4 block of outputs in registers from the staged tiles, so
// every element loaded from global memory is used 64 times. Several m (n,
// k) dimensions are flattened into one; partial tiles read zeros and store
// nothing outside the bounds.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/gpu/KernelIndexing.h"
#include "passes/transforms/ContractionEnds.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_TILECONTRACTIONSFORGPU
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;
using mlir::ponder::applyEpilogue;
using mlir::ponder::ContractionEnds;
using mlir::ponder::delinearize;
using mlir::ponder::eraseContractionEnds;
using mlir::ponder::loopExtents;
using mlir::ponder::matchContractionEnds;
using mlir::ponder::product;

namespace {

constexpr int64_t kTile = 64;                    // output tile edge (m and n)
constexpr int64_t kDepth = 16;                   // k per stage
constexpr int64_t kThreads = 16;                 // block edge: 16 x 16 threads
constexpr int64_t kPerThread = kTile / kThreads; // 4 x 4 outputs each
constexpr int64_t kPad = 1; // tile rows of 65 floats: no bank conflicts

/// True if the body is `yield out + a * b` (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value out = body.getArgument(2);
  Value product = add.getLhs() == out ? add.getRhs() : add.getLhs();
  if (add.getLhs() != out && add.getRhs() != out)
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

Value constant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

struct Contraction {
  linalg::GenericOp op;
  SmallVector<unsigned, 2> m, n, k;
};

std::optional<Contraction> matchContraction(linalg::GenericOp op) {
  // Products inside ponder-fuse-rows' loops run in their row's thread.
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op) ||
      op->getParentOfType<scf::ParallelOp>())
    return std::nullopt;
  for (Value operand : op->getOperands())
    if (!cast<MemRefType>(operand.getType()).getElementType().isF32())
      return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || !dims->batch.empty() || dims->m.empty() ||
      dims->n.empty() || dims->k.empty())
    return std::nullopt;
  // Every loop is one of m, n, k (inferContractionDims may leave others).
  if (dims->m.size() + dims->n.size() + dims->k.size() != op.getNumLoops())
    return std::nullopt;
  return Contraction{op, dims->m, dims->n, dims->k};
}

/// A flat index over several loop dimensions: `flat` in the row-major
/// flattening of `sizes`, the extents of the loop dimensions `dims`.
struct FlatIndex {
  ArrayRef<unsigned> dims;
  Value flat;
  ArrayRef<Value> sizes;
};

/// The indices into an operand indexed by `map` (a projection of the loop
/// dimensions) at the loop dimensions covered by `first` and `second`.
SmallVector<Value> operandIndices(OpBuilder &b, Location l, AffineMap map,
                                  const FlatIndex &first,
                                  const FlatIndex &second) {
  DenseMap<unsigned, Value> at;
  for (const FlatIndex *index : {&first, &second})
    for (auto [d, v] :
         llvm::zip(index->dims, delinearize(b, l, index->flat, index->sizes)))
      at[d] = v;
  SmallVector<Value> indices;
  for (AffineExpr expr : map.getResults())
    indices.push_back(at.lookup(cast<AffineDimExpr>(expr).getPosition()));
  return indices;
}

/// Replaces one contraction by its tiled kernel (see the file header).
class ContractionTiler {
public:
  ContractionTiler(const Contraction &c, bool fuseEnds)
      : c(c), op(c.op), fuseEnds(fuseEnds) {}

  void tile();

private:
  void computeExtents(OpBuilder &b, Location loc);
  gpu::LaunchOp createLaunch(OpBuilder &b, Location loc);
  void stage(OpBuilder &b, Location l, unsigned which, Value rowBase,
             Value rows, ArrayRef<unsigned> rowDims, ArrayRef<Value> rowSizes,
             Value k0, Value tileBuffer);
  scf::ForOp accumulate(OpBuilder &b, Location loc);
  void store(OpBuilder &b, Location loc, scf::ForOp outer);
  Value epilogue(OpBuilder &b, Location loc, Value sum, Value gm, Value gn);

  const Contraction &c;
  linalg::GenericOp op;
  // The fill and element-wise op the kernel takes over (ContractionEnds.h).
  bool fuseEnds;
  ContractionEnds ends;
  SmallVector<Value> mSizes, nSizes, kSizes; // extents of c.m, c.n, c.k
  Value m, n, k;                             // and their products
  Value block;                               // kThreads
  // In the launch: the staged tiles, thread and tile coordinates.
  Value aTile, bTile, tx, ty, tid, m0, n0, zeroF;
};

void ContractionTiler::tile() {
  if (fuseEnds)
    ends = matchContractionEnds(op, [](AffineMap) { return true; });
  OpBuilder b(op);
  Location loc = op.getLoc();
  computeExtents(b, loc);
  gpu::LaunchOp launch = createLaunch(b, loc);

  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&body);
  tx = launch.getThreadIds().x;
  ty = launch.getThreadIds().y;
  m0 = arith::MulIOp::create(b, loc, launch.getBlockIds().y,
                             constant(b, loc, kTile));
  n0 = arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                             constant(b, loc, kTile));
  tid = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, ty, block),
                              tx);
  zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  scf::ForOp outer = accumulate(b, loc);
  store(b, loc, outer);
  op.erase();
  eraseContractionEnds(ends);
}

/// The extents of the loop dimensions and the flattened m, n and k.
void ContractionTiler::computeExtents(OpBuilder &b, Location loc) {
  SmallVector<Value> sizes = loopExtents(b, loc, op);
  auto sizesOf = [&](ArrayRef<unsigned> dims) {
    SmallVector<Value> out;
    for (unsigned d : dims)
      out.push_back(sizes[d]);
    return out;
  };
  mSizes = sizesOf(c.m);
  nSizes = sizesOf(c.n);
  kSizes = sizesOf(c.k);
  m = product(b, loc, mSizes);
  n = product(b, loc, nSizes);
  k = product(b, loc, kSizes);
}

/// A launch of ceil(n / 64) x ceil(m / 64) blocks of 16 x 16 threads with
/// the two staged tiles in workgroup memory.
gpu::LaunchOp ContractionTiler::createLaunch(OpBuilder &b, Location loc) {
  Value one = constant(b, loc, 1);
  auto tiles = [&](Value extent) {
    return arith::CeilDivUIOp::create(b, loc, extent, constant(b, loc, kTile));
  };
  block = constant(b, loc, kThreads);
  auto launch =
      gpu::LaunchOp::create(b, loc, tiles(n), tiles(m), one, block, block, one);
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({kDepth, kTile + kPad}, b.getF32Type(),
                                  MemRefLayoutAttrInterface(), workgroup);
  aTile = launch.addWorkgroupAttribution(tileType, loc);
  bTile = launch.addWorkgroupAttribution(tileType, loc);
  return launch;
}

/// Loads operand `which` at flat (row, depth) = (m or n, k) into the staged
/// tile, zero outside the bounds.
void ContractionTiler::stage(OpBuilder &b, Location l, unsigned which,
                             Value rowBase, Value rows,
                             ArrayRef<unsigned> rowDims,
                             ArrayRef<Value> rowSizes, Value k0,
                             Value tileBuffer) {
  OpOperand *operand = op.getDpsInputOperand(which);
  AffineMap map = op.getMatchingIndexingMap(operand);
  // Threads with consecutive ids read consecutive addresses: along k when
  // the operand's innermost index is a k dimension, else along the row
  // dimension.
  auto lastDim = cast<AffineDimExpr>(map.getResults().back()).getPosition();
  bool depthFastest = llvm::is_contained(c.k, lastDim);
  for (int64_t r = 0; r < kTile * kDepth / (kThreads * kThreads); ++r) {
    Value e = arith::AddIOp::create(b, l, tid,
                                    constant(b, l, r * kThreads * kThreads));
    Value row, depth;
    if (depthFastest) {
      row = arith::DivUIOp::create(b, l, e, constant(b, l, kDepth));
      depth = arith::RemUIOp::create(b, l, e, constant(b, l, kDepth));
    } else {
      depth = arith::DivUIOp::create(b, l, e, constant(b, l, kTile));
      row = arith::RemUIOp::create(b, l, e, constant(b, l, kTile));
    }
    Value gRow = arith::AddIOp::create(b, l, rowBase, row);
    Value gDepth = arith::AddIOp::create(b, l, k0, depth);
    Value inBounds = arith::AndIOp::create(
        b, l,
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, gRow, rows),
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, gDepth, k));
    auto ifOp = scf::IfOp::create(
        b, l, inBounds,
        [&](OpBuilder &tb, Location tl) {
          SmallVector<Value> indices = operandIndices(
              tb, tl, map, {rowDims, gRow, rowSizes}, {c.k, gDepth, kSizes});
          Value v = memref::LoadOp::create(tb, tl, operand->get(), indices);
          scf::YieldOp::create(tb, tl, v);
        },
        [&](OpBuilder &eb, Location el) {
          scf::YieldOp::create(eb, el, zeroF);
        });
    memref::StoreOp::create(b, l, ifOp.getResult(0), tileBuffer, {depth, row});
  }
}

/// The loop over k in steps of kDepth: stage both tiles, then each thread
/// accumulates its 4 x 4 outputs (the loop's results) from them.
scf::ForOp ContractionTiler::accumulate(OpBuilder &b, Location loc) {
  constexpr int64_t kAcc = kPerThread * kPerThread;
  SmallVector<Value> init(kAcc, zeroF);
  return scf::ForOp::create(
      b, loc, constant(b, loc, 0), k, constant(b, loc, kDepth), init,
      [&](OpBuilder &bb, Location l, Value k0, ValueRange acc) {
        stage(bb, l, 0, m0, m, c.m, mSizes, k0, aTile);
        stage(bb, l, 1, n0, n, c.n, nSizes, k0, bTile);
        gpu::BarrierOp::create(bb, l);
        auto inner = scf::ForOp::create(
            bb, l, constant(bb, l, 0), constant(bb, l, kDepth),
            constant(bb, l, 1), acc,
            [&](OpBuilder &ib, Location il, Value d, ValueRange sums) {
              SmallVector<Value> as, bs;
              for (int64_t i = 0; i < kPerThread; ++i) {
                as.push_back(memref::LoadOp::create(
                    ib, il, aTile,
                    {d, arith::AddIOp::create(
                            ib, il, ty, constant(ib, il, i * kThreads))}));
                bs.push_back(memref::LoadOp::create(
                    ib, il, bTile,
                    {d, arith::AddIOp::create(
                            ib, il, tx, constant(ib, il, i * kThreads))}));
              }
              SmallVector<Value> next;
              for (int64_t i = 0; i < kPerThread; ++i)
                for (int64_t j = 0; j < kPerThread; ++j)
                  next.push_back(arith::AddFOp::create(
                      ib, il, sums[i * kPerThread + j],
                      arith::MulFOp::create(ib, il, as[i], bs[j])));
              scf::YieldOp::create(ib, il, next);
            });
        // Nobody restages the tiles while others still read them.
        gpu::BarrierOp::create(bb, l);
        scf::YieldOp::create(bb, l, inner.getResults());
      });
}

/// out[m, n] += acc where in bounds.
void ContractionTiler::store(OpBuilder &b, Location loc, scf::ForOp outer) {
  OpOperand *init0 = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(init0);
  for (int64_t i = 0; i < kPerThread; ++i) {
    for (int64_t j = 0; j < kPerThread; ++j) {
      Value gm = arith::AddIOp::create(
          b, loc, m0,
          arith::AddIOp::create(b, loc, ty, constant(b, loc, i * kThreads)));
      Value gn = arith::AddIOp::create(
          b, loc, n0,
          arith::AddIOp::create(b, loc, tx, constant(b, loc, j * kThreads)));
      Value inBounds = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, gm, m),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, gn, n));
      auto ifOp = scf::IfOp::create(b, loc, inBounds, /*else=*/false);
      OpBuilder tb = OpBuilder::atBlockBegin(ifOp.thenBlock());
      SmallVector<Value> indices =
          operandIndices(tb, loc, outMap, {c.m, gm, mSizes}, {c.n, gn, nSizes});
      Value old = ends.fill
                      ? ends.initial()
                      : memref::LoadOp::create(tb, loc, init0->get(), indices)
                            .getResult();
      Value sum = arith::AddFOp::create(tb, loc, old,
                                        outer.getResult(i * kPerThread + j));
      memref::StoreOp::create(tb, loc, epilogue(tb, loc, sum, gm, gn),
                              ends.output(op), indices);
    }
  }
}

/// The epilogue's value at output (gm, gn), or `sum` without one.
Value ContractionTiler::epilogue(OpBuilder &b, Location loc, Value sum,
                                 Value gm, Value gn) {
  if (!ends.epilogue)
    return sum;
  SmallVector<Value> inputs;
  for (OpOperand *input : ends.otherInputs())
    inputs.push_back(memref::LoadOp::create(
        b, loc, input->get(),
        operandIndices(b, loc, ends.mapOf(op, *input), {c.m, gm, mSizes},
                       {c.n, gn, nSizes})));
  return applyEpilogue(b, loc, ends, sum, inputs);
}

struct TileContractionsForGPUPass
    : mlir::ponder::impl::TileContractionsForGPUBase<
          TileContractionsForGPUPass> {
  using TileContractionsForGPUBase::TileContractionsForGPUBase;

  void runOnOperation() final {
    SmallVector<Contraction> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> c = matchContraction(op))
        found.push_back(*c);
    });
    for (Contraction &c : found)
      ContractionTiler(c, fuseEnds).tile();
  }
};

} // namespace

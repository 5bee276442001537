//===- VectorizeContractions.cpp - Register-tiled contraction kernels -----===//
//
// Rewrites every f32 `linalg.generic` on buffers that is a contraction
// (C += A * B over projected permutations, found by inferContractionDims)
// into scf loops around a register-tiled vector micro-kernel. Two shapes:
//
//  - outer product, when the output and one operand are contiguous along the
//    same output dimension n: an MR x (NV vectors) tile of C stays in
//    registers while the reduction walks k, each step one broadcast of A
//    times NV vectors of B (rank-1 updates, the BLAS micro-kernel);
//  - dot product, when both operands are contiguous along the same reduced
//    dimension k (y = x W^T, attention scores): an MR x NR tile of lane-wise
//    partial sums over k, reduced horizontally once at the end.
//
// Ragged edges are handled by remainder loops: one row at a time along m,
// masked vectors along the vectorised dimension. Contractions that fit
// neither shape are left to linalg-to-loops.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/transforms/ContractionEnds.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_VECTORIZECONTRACTIONS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;
using namespace mlir::ponder;

namespace {

/// A contraction C[...] += A[...] * B[...] and how its loops are assigned.
struct Contraction {
  Value a, b, c;
  AffineMap aMap, bMap, cMap;
  /// Where results go: `c`, or the epilogue's output (same map).
  Value out;
  /// Loop sizes, one per loop dimension.
  SmallVector<Value> sizes;
  /// The register-tiled row dimension (of A and C).
  unsigned m;
  /// The register-tiled column dimension (of B and C).
  unsigned n;
  /// The innermost reduction dimension.
  unsigned k;
  /// Loops outside the tile, and reductions outside the innermost one.
  SmallVector<unsigned> outer, outerK;
  /// The fill before and the element-wise op after, taken over by the
  /// kernel (ContractionEnds.h).
  ContractionEnds ends;
  /// The epilogue's other inputs and their maps over the loops.
  SmallVector<Value> epilogueInputs;
  SmallVector<AffineMap> epilogueMaps;
};

/// The loop dimension of `map`'s last result.
unsigned innermost(AffineMap map) {
  return map.getDimPosition(map.getNumResults() - 1);
}

bool unitStride(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  return type.getRank() > 0 && type.isLastDimUnitStride();
}

/// The last of `candidates` in the order they index `map`'s results.
std::optional<unsigned> lastIn(AffineMap map, ArrayRef<unsigned> candidates) {
  std::optional<unsigned> last;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (llvm::is_contained(candidates, map.getDimPosition(r)))
      last = map.getDimPosition(r);
  return last;
}

enum class Shape { OuterProduct, DotProduct };

/// Takes over the product's fill and epilogue when every result is written
/// once, by one tile: not with reductions outside the tiles. The outer
/// product's vectors read the epilogue's inputs along n with unit stride,
/// or one scalar per row.
void matchEnds(linalg::GenericOp op, Shape shape, Contraction &c) {
  if (!c.outerK.empty())
    return;
  c.ends = matchContractionEnds(op, [&](AffineMap map) {
    if (shape == Shape::DotProduct)
      return true;
    return !map.isFunctionOfDim(c.n) ||
           (map.getNumResults() && innermost(map) == c.n);
  });
  if (!c.ends.epilogue)
    return;
  for (OpOperand *input : c.ends.otherInputs()) {
    c.epilogueInputs.push_back(input->get());
    c.epilogueMaps.push_back(c.ends.mapOf(op, *input));
  }
  bool vectorReads = llvm::all_of_zip(
      c.epilogueInputs, c.epilogueMaps, [&](Value input, AffineMap map) {
        return !map.isFunctionOfDim(c.n) || unitStride(input);
      });
  if (!vectorReads || !unitStride(c.ends.output(op))) {
    c.ends.epilogue = nullptr;
    c.ends.product = nullptr;
    c.epilogueInputs.clear();
    c.epilogueMaps.clear();
    return;
  }
  c.out = c.ends.output(op);
}

/// Matches `op` against the two kernel shapes; fills `c` on success.
std::optional<Shape> match(linalg::GenericOp op, OpBuilder &b, Contraction &c,
                           bool fuseEnds) {
  auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
  // Dot products inside ponder-fuse-rows' loops stay in their rows.
  if (!op.hasPureBufferSemantics() || !linalg::isaContractionOpInterface(op) ||
      op->getParentOfType<scf::ParallelOp>())
    return std::nullopt;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isProjectedPermutation(); }))
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!cast<MemRefType>(v.getType()).getElementType().isF32())
      return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(linalgOp);
  if (failed(dims) || dims->k.empty() || dims->n.empty() || dims->m.empty())
    return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  c.a = op.getDpsInputs()[0];
  c.b = op.getDpsInputs()[1];
  c.c = op.getDpsInits()[0];
  c.aMap = maps[0];
  c.bMap = maps[1];
  c.cMap = maps[2];
  SmallVector<unsigned, 2> mDims = dims->m, nDims = dims->n;
  if (c.cMap.getNumResults() == 0)
    return std::nullopt;
  // The product commutes: make B the operand that shares C's innermost dim.
  if (llvm::is_contained(mDims, innermost(c.cMap))) {
    std::swap(c.a, c.b);
    std::swap(c.aMap, c.bMap);
    std::swap(mDims, nDims);
  }

  std::optional<Shape> shape;
  if (llvm::is_contained(nDims, innermost(c.cMap)) &&
      innermost(c.bMap) == innermost(c.cMap) && unitStride(c.b) &&
      unitStride(c.c)) {
    shape = Shape::OuterProduct;
    c.n = innermost(c.cMap);
    c.k = dims->k.back();
  } else if (c.aMap.getNumResults() && c.bMap.getNumResults() &&
             innermost(c.aMap) == innermost(c.bMap) &&
             llvm::is_contained(dims->k, innermost(c.aMap)) &&
             unitStride(c.a) && unitStride(c.b)) {
    shape = Shape::DotProduct;
    c.n = *lastIn(c.cMap, nDims);
    c.k = innermost(c.aMap);
  } else {
    return std::nullopt;
  }
  c.m = *lastIn(c.cMap, mDims);

  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    if (d == c.n || d == c.k || d == c.m)
      continue;
    if (llvm::is_contained(dims->k, d))
      c.outerK.push_back(d);
    else
      c.outer.push_back(d);
  }
  for (Range range : linalgOp.createLoopRanges(b, op.getLoc()))
    c.sizes.push_back(
        getValueOrCreateConstantIndexOp(b, op.getLoc(), range.size));
  c.out = c.c;
  if (fuseEnds)
    matchEnds(op, *shape, c);
  return shape;
}

/// Emits the kernels for one matched contraction.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const Contraction &c, int64_t lanes)
      : b(b), loc(loc), c(c), lanes(lanes),
        vectorType(VectorType::get({lanes}, b.getF32Type())),
        maskType(VectorType::get({lanes}, b.getI1Type())), ivs(c.sizes.size()),
        reduceDims(c.outerK) {}

  void outerProduct(int64_t rows, int64_t vectors) {
    // With reductions outside the innermost one (a weight gradient's sum
    // over rows b, then positions t), the outermost runs outside the tiles:
    // each of its steps streams one panel of A and B, which stays in cache
    // across all the tiles, instead of every tile streaming all of A and B.
    // Each element of C still sums its products in the same order.
    if (!reduceDims.empty()) {
      unsigned outermost = reduceDims.front();
      reduceDims.erase(reduceDims.begin());
      forLoop(index(0), c.sizes[outermost], index(1), [&](Value iv) {
        ivs[outermost] = iv;
        outerProductTiles(rows, vectors);
      });
      return;
    }
    outerProductTiles(rows, vectors);
  }

  void dotProduct(int64_t rows, int64_t cols) {
    forTiles(rows, [&](Value m0, int64_t mr) {
      Value n = c.sizes[c.n];
      Value main = roundDown(n, index(cols));
      forLoop(index(0), main, index(cols),
              [&](Value n0) { dotProductTile(m0, mr, n0, cols); });
      forLoop(main, n, index(1),
              [&](Value n0) { dotProductTile(m0, mr, n0, 1); });
    });
  }

private:
  void outerProductTiles(int64_t rows, int64_t vectors) {
    forTiles(rows, [&](Value m0, int64_t mr) {
      Value n = c.sizes[c.n];
      Value step = index(lanes * vectors);
      Value main = roundDown(n, step);
      forLoop(index(0), main, step, [&](Value n0) {
        outerProductTile(m0, mr, n0, vectors, nullptr);
      });
      forLoop(main, n, index(lanes), [&](Value n0) {
        outerProductTile(m0, mr, n0, 1, maskFrom(n0, n));
      });
    });
  }

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, loc, vectorType, scalar);
  }

  /// The epilogue's value at the current point (a vector of points along
  /// n when `result` is a vector): its inputs along n as vectors, the
  /// others one scalar per row.
  Value epilogue(Value result, Value mask) {
    if (!c.ends.epilogue)
      return result;
    bool vector = isa<VectorType>(result.getType());
    SmallVector<Value> inputs;
    for (auto [input, map] : llvm::zip(c.epilogueInputs, c.epilogueMaps)) {
      if (vector && map.isFunctionOfDim(c.n))
        inputs.push_back(load(input, map, mask));
      else
        inputs.push_back(memref::LoadOp::create(b, loc, input, at(map)));
    }
    return applyEpilogue(b, loc, c.ends, result, inputs);
  }

  Value zeros() {
    return arith::ConstantOp::create(
        b, loc, vectorType,
        DenseElementsAttr::get(vectorType, b.getF32FloatAttr(0.0f)));
  }

  /// Appends the bounds of full loops (0 to size, step 1) over `dims`.
  void appendLoops(ArrayRef<unsigned> dims, SmallVectorImpl<Value> &lbs,
                   SmallVectorImpl<Value> &ubs, SmallVectorImpl<Value> &steps) {
    for (unsigned d : dims) {
      lbs.push_back(index(0));
      ubs.push_back(c.sizes[d]);
      steps.push_back(index(1));
    }
  }

  Value roundDown(Value size, Value step) {
    Value rem = b.createOrFold<arith::RemUIOp>(loc, size, step);
    return b.createOrFold<arith::SubIOp>(loc, size, rem);
  }

  /// The mask of the lanes of the vector at `start` that lie before `end`.
  Value maskFrom(Value start, Value end) {
    Value left = arith::SubIOp::create(b, loc, end, start);
    Value len = arith::MinUIOp::create(b, loc, left, index(lanes));
    return vector::CreateMaskOp::create(b, loc, maskType, ValueRange{len});
  }

  void forLoop(Value lb, Value ub, Value step, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, step);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// One parallel loop over the dimensions outside the tile and the tiles
  /// of `rows` rows: a full tile runs `body(m0, rows)`, the last, partial
  /// one runs its rows one at a time. Tiles write disjoint outputs, so the
  /// result does not depend on the number of threads.
  void forTiles(int64_t rows, function_ref<void(Value, int64_t)> body) {
    SmallVector<Value> lbs, ubs, steps;
    appendLoops(c.outer, lbs, ubs, steps);
    Value m = c.sizes[c.m];
    lbs.push_back(index(0));
    ubs.push_back(b.createOrFold<arith::CeilDivUIOp>(loc, m, index(rows)));
    steps.push_back(index(1));
    OpBuilder::InsertionGuard guard(b);
    scf::ParallelOp::create(
        b, loc, lbs, ubs, steps, [&](OpBuilder &, Location, ValueRange iv) {
          for (auto [d, v] : llvm::zip(c.outer, iv))
            ivs[d] = v;
          Value m0 = arith::MulIOp::create(b, loc, iv.back(), index(rows));
          Value end = arith::AddIOp::create(b, loc, m0, index(rows));
          Value full =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, end, m);
          auto ifOp = scf::IfOp::create(b, loc, full, /*withElse=*/true);
          b.setInsertionPointToStart(ifOp.thenBlock());
          body(m0, rows);
          b.setInsertionPointToStart(ifOp.elseBlock());
          forLoop(m0, m, index(1), [&](Value row) { body(row, 1); });
        });
  }

  /// Sets the row index to m0 + i.
  void setRow(Value m0, int64_t i) {
    ivs[c.m] = i ? arith::AddIOp::create(b, loc, m0, index(i)) : m0;
  }

  SmallVector<Value> at(AffineMap map) {
    SmallVector<Value> indices;
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      indices.push_back(ivs[map.getDimPosition(r)]);
    return indices;
  }

  Value load(Value memref, AffineMap map, Value mask) {
    if (!mask)
      return vector::LoadOp::create(b, loc, vectorType, memref, at(map));
    return vector::MaskedLoadOp::create(b, loc, vectorType, memref, at(map),
                                        mask, zeros());
  }

  void store(Value value, Value memref, AffineMap map, Value mask) {
    if (!mask)
      vector::StoreOp::create(b, loc, value, memref, at(map));
    else
      vector::MaskedStoreOp::create(b, loc, memref, at(map), mask, value);
  }

  /// Runs `step` over the reduction loops, carrying `acc`; returns the
  /// final accumulators. `step` gets the innermost reduction index.
  SmallVector<Value>
  reduce(ValueRange acc, Value lb, Value ub, Value stepSize,
         function_ref<SmallVector<Value>(Value, ValueRange)> step) {
    SmallVector<Value> lbs, ubs, steps;
    appendLoops(reduceDims, lbs, ubs, steps);
    lbs.push_back(lb);
    ubs.push_back(ub);
    steps.push_back(stepSize);
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, lbs, ubs, steps, acc,
        [&](OpBuilder &, Location, ValueRange iv, ValueRange carried) {
          for (auto [d, v] : llvm::zip(reduceDims, iv))
            ivs[d] = v;
          SmallVector<Value> next = step(iv.back(), carried);
          return scf::ValueVector(next.begin(), next.end());
        });
    return SmallVector<Value>(nest.results);
  }

  // C[m0 + i, n0 + j * lanes ...] += sum_k A[m0 + i, k] * B[k, n0 + ...].
  void outerProductTile(Value m0, int64_t rows, Value n0, int64_t vectors,
                        Value mask) {
    auto column = [&](int64_t j) {
      ivs[c.n] = j ? arith::AddIOp::create(b, loc, n0, index(j * lanes)) : n0;
    };
    SmallVector<Value> acc;
    for (int64_t i = 0; i < rows; ++i) {
      setRow(m0, i);
      for (int64_t j = 0; j < vectors; ++j) {
        column(j);
        acc.push_back(c.ends.fill ? splat(c.ends.initial())
                                  : load(c.c, c.cMap, mask));
      }
    }
    SmallVector<Value> result = reduce(
        acc, index(0), c.sizes[c.k], index(1),
        [&](Value k, ValueRange carried) {
          ivs[c.k] = k;
          SmallVector<Value> bs, next;
          for (int64_t j = 0; j < vectors; ++j) {
            column(j);
            bs.push_back(load(c.b, c.bMap, mask));
          }
          for (int64_t i = 0; i < rows; ++i) {
            setRow(m0, i);
            Value a = memref::LoadOp::create(b, loc, c.a, at(c.aMap));
            Value splat = vector::BroadcastOp::create(b, loc, vectorType, a);
            for (int64_t j = 0; j < vectors; ++j)
              next.push_back(vector::FMAOp::create(b, loc, splat, bs[j],
                                                   carried[i * vectors + j]));
          }
          return next;
        });
    for (int64_t i = 0; i < rows; ++i) {
      setRow(m0, i);
      for (int64_t j = 0; j < vectors; ++j) {
        column(j);
        store(epilogue(result[i * vectors + j], mask), c.out, c.cMap, mask);
      }
    }
  }

  // C[m0 + i, n0 + j] += sum_k A[m0 + i, k] * B[n0 + j, k], k in vectors.
  void dotProductTile(Value m0, int64_t rows, Value n0, int64_t cols) {
    auto column = [&](int64_t j) {
      ivs[c.n] = j ? arith::AddIOp::create(b, loc, n0, index(j)) : n0;
    };
    SmallVector<Value> acc(rows * cols, zeros());
    auto step = [&](Value k, ValueRange carried, Value mask) {
      ivs[c.k] = k;
      SmallVector<Value> as, bs, next;
      for (int64_t i = 0; i < rows; ++i) {
        setRow(m0, i);
        as.push_back(load(c.a, c.aMap, mask));
      }
      for (int64_t j = 0; j < cols; ++j) {
        column(j);
        bs.push_back(load(c.b, c.bMap, mask));
      }
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          next.push_back(vector::FMAOp::create(b, loc, as[i], bs[j],
                                               carried[i * cols + j]));
      return next;
    };
    Value size = c.sizes[c.k];
    Value main = roundDown(size, index(lanes));
    acc = reduce(
        acc, index(0), main, index(lanes),
        [&](Value k, ValueRange carried) { return step(k, carried, nullptr); });
    acc =
        reduce(acc, main, size, index(lanes), [&](Value k, ValueRange carried) {
          return step(k, carried, maskFrom(k, size));
        });
    for (int64_t i = 0; i < rows; ++i) {
      setRow(m0, i);
      for (int64_t j = 0; j < cols; ++j) {
        column(j);
        Value sum = vector::ReductionOp::create(
            b, loc, vector::CombiningKind::ADD, acc[i * cols + j],
            arith::FastMathFlags::reassoc);
        SmallVector<Value> indices = at(c.cMap);
        Value old = c.ends.fill ? c.ends.initial()
                                : memref::LoadOp::create(b, loc, c.c, indices);
        Value updated = arith::AddFOp::create(b, loc, old, sum);
        memref::StoreOp::create(b, loc, epilogue(updated, nullptr), c.out,
                                indices);
      }
    }
  }

  OpBuilder &b;
  Location loc;
  const Contraction &c;
  int64_t lanes;
  VectorType vectorType, maskType;
  /// The current index of every loop dimension.
  SmallVector<Value> ivs;
  /// The reductions outside the innermost one that the tiles loop over.
  SmallVector<unsigned> reduceDims;
};

struct VectorizeContractionsPass
    : mlir::ponder::impl::VectorizeContractionsBase<VectorizeContractionsPass> {
  using VectorizeContractionsBase::VectorizeContractionsBase;

  void runOnOperation() final {
    for (int64_t option : {int64_t(lanes), int64_t(rows), int64_t(vectors),
                           int64_t(dotRows), int64_t(dotCols)})
      if (option < 1) {
        getOperation()->emitError(
            "ponder-vectorize-contractions: tile sizes and lanes must be >= 1");
        return signalPassFailure();
      }
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    for (linalg::GenericOp op : ops) {
      OpBuilder b(op);
      Contraction c;
      std::optional<Shape> shape = match(op, b, c, fuseEnds);
      if (!shape)
        continue;
      KernelBuilder kernel(b, op.getLoc(), c, lanes);
      if (*shape == Shape::OuterProduct)
        kernel.outerProduct(rows, vectors);
      else
        kernel.dotProduct(dotRows, dotCols);
      op.erase();
      eraseContractionEnds(c.ends);
    }
  }
};

} // namespace

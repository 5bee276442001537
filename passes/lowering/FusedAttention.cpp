//===- FusedAttention.cpp - attention as online-softmax loops -------------===//
//
// The lowering of `ponder.attention`, `ponder.cached_attention` and
// `ponder.attention_grad` that `convert-ponder-to-linalg{fused-attention}`
// selects (the CUDA target), and that every target takes for attention over
// the gathered queries of a compacted halting loop: one parallel loop over
// (row, head, query) whose thread scans the visible keys once with an online
// softmax (running max, rescaled sum and output accumulator in registers), so
// no [B, H, T, Tk] buffer exists. The gradient recomputes the probabilities in
// two such loops, FlashAttention-2 style: one per query (dQ, and the row
// statistics max, sum and dO.O), one per key (dK and dV). Head dimensions are
// static, so each row lives in `d / heads` scalars.
//
// The loops work on memrefs taken from the operand tensors with
// `bufferization.to_buffer read_only` and write fresh allocations returned
// through `bufferization.to_tensor restrict writable`, which one-shot
// bufferization takes as they are.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace mlir::ponder;
using lowering::asTensor;
using lowering::bufferOf;
using lowering::rowsBufferOf;

namespace {

using Row = SmallVector<Value>;

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value loadIndex(OpBuilder &b, Location loc, Value buffer, Value row) {
  return arith::IndexCastOp::create(
      b, loc, b.getIndexType(), memref::LoadOp::create(b, loc, buffer, row));
}

// A head's row is held as `width / lanes` values: f32 scalars (lanes 1, the
// GPU's threads), or vector<lanes x f32> chunks (the CPU's vector
// registers). The helpers below follow the type of the values they get.

/// The lanes of a row value: 1 for an f32 scalar.
int64_t lanesOf(Value v) {
  auto type = dyn_cast<VectorType>(v.getType());
  return type ? type.getNumElements() : 1;
}

/// `x` as a value of `like`'s type: a scalar broadcast to a chunk.
Value splatLike(OpBuilder &b, Location loc, Value x, Value like) {
  if (x.getType() == like.getType())
    return x;
  return vector::BroadcastOp::create(b, loc, like.getType(), x);
}

/// Loads the `lanes` elements of `buffer` at `indices` (the last one the
/// first channel): a scalar load or a vector load.
Value loadChunk(OpBuilder &b, Location loc, Value buffer, ValueRange indices,
                int64_t lanes) {
  if (lanes == 1)
    return memref::LoadOp::create(b, loc, buffer, indices);
  return vector::LoadOp::create(
      b, loc, VectorType::get({lanes}, b.getF32Type()), buffer, indices);
}

/// Loads the chunk of a model-width vector starting at channel `c`.
using ChunkLoad = function_ref<Value(OpBuilder &, Location, Value c)>;

/// The head's `width` elements starting at channel `base`, in chunks of
/// `lanes`.
Row loadHead(OpBuilder &b, Location loc, Value base, int64_t width,
             int64_t lanes, ChunkLoad load) {
  Row row;
  for (int64_t e = 0; e < width; e += lanes)
    row.push_back(load(
        b, loc, arith::AddIOp::create(b, loc, base, indexConst(b, loc, e))));
  return row;
}

void storeHead(OpBuilder &b, Location loc, ArrayRef<Value> row, Value buffer,
               Value batch, Value pos, Value base) {
  for (auto [k, v] : llvm::enumerate(row)) {
    int64_t lanes = lanesOf(v);
    Value c = arith::AddIOp::create(b, loc, base,
                                    indexConst(b, loc, int64_t(k) * lanes));
    if (lanes == 1)
      memref::StoreOp::create(b, loc, v, buffer, {batch, pos, c});
    else
      vector::StoreOp::create(b, loc, v, buffer, {batch, pos, c});
  }
}

/// Each value of `row` divided by the scalar `d`.
Row divide(OpBuilder &b, Location loc, ArrayRef<Value> row, Value d) {
  Row out;
  for (Value v : row)
    out.push_back(arith::DivFOp::create(b, loc, v, splatLike(b, loc, d, v)));
  return out;
}

/// x . y as an f32 scalar: a chain of products (scalars), or lane-wise
/// fused multiply-adds reduced across the lanes once (chunks).
Value dot(OpBuilder &b, Location loc, ArrayRef<Value> x, ArrayRef<Value> y) {
  Value sum = arith::MulFOp::create(b, loc, x[0], y[0]);
  for (size_t e = 1; e < x.size(); ++e)
    sum = lanesOf(sum) == 1
              ? arith::AddFOp::create(b, loc, sum,
                                      arith::MulFOp::create(b, loc, x[e], y[e]))
                    .getResult()
              : vector::FMAOp::create(b, loc, x[e], y[e], sum).getResult();
  if (lanesOf(sum) == 1)
    return sum;
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sum);
}

/// acc * scale + weight * row, elementwise (`scale`, `weight` scalars).
Row scaleAdd(OpBuilder &b, Location loc, ArrayRef<Value> acc, Value scale,
             Value weight, ArrayRef<Value> row) {
  Row out;
  for (auto [a, r] : llvm::zip(acc, row)) {
    Value scaled =
        scale ? arith::MulFOp::create(b, loc, a, splatLike(b, loc, scale, a))
              : a;
    out.push_back(arith::AddFOp::create(
        b, loc, scaled,
        arith::MulFOp::create(b, loc, splatLike(b, loc, weight, r), r)));
  }
  return out;
}

Value f32Const(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// scf.for over [lb, ub) carrying `init`; `body` maps the loop index and the
/// carried values to the next ones.
using LoopBody =
    function_ref<Row(OpBuilder &, Location, Value, ArrayRef<Value>)>;
Row loop(OpBuilder &b, Location loc, Value lb, Value ub, ArrayRef<Value> init,
         LoopBody body) {
  auto forOp = scf::ForOp::create(
      b, loc, lb, ub, indexConst(b, loc, 1), init,
      [&](OpBuilder &nb, Location nl, Value iv, ValueRange args) {
        SmallVector<Value> carried(args);
        scf::YieldOp::create(nb, nl, body(nb, nl, iv, carried));
      });
  return Row(forOp.getResults());
}

/// scf.parallel over [0, sizes) with the body given the induction values.
void parallel(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<Value> zeros(sizes.size(), indexConst(b, loc, 0));
  SmallVector<Value> ones(sizes.size(), indexConst(b, loc, 1));
  scf::ParallelOp::create(b, loc, zeros, sizes, ones, body);
}

/// The online softmax of one query over keys [0, end): the running max, the
/// sum of exp(s - max) and the weighted sum of values, as `2 + width` scalars.
/// `keyAt(j)` / `valueAt(j)` load key / value row j of the query's head.
struct OnlineSoftmax {
  Value max, sum;
  Row acc;
};
OnlineSoftmax
scanKeys(OpBuilder &b, Location loc, ArrayRef<Value> q, Value scale, Value end,
         function_ref<Row(OpBuilder &, Location, Value)> keyAt,
         function_ref<Row(OpBuilder &, Location, Value)> valueAt) {
  Row init = {f32Const(b, loc, -INFINITY), f32Const(b, loc, 0.0f)};
  for (Value chunk : q)
    init.push_back(
        arith::ConstantOp::create(b, loc, b.getZeroAttr(chunk.getType())));
  Row out = loop(
      b, loc, indexConst(b, loc, 0), end, init,
      [&](OpBuilder &nb, Location l, Value j, ArrayRef<Value> s) -> Row {
        Value score =
            arith::MulFOp::create(nb, l, dot(nb, l, q, keyAt(nb, l, j)), scale);
        Value max = arith::MaximumFOp::create(nb, l, s[0], score);
        Value rescale =
            math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, s[0], max));
        Value p = math::ExpOp::create(nb, l,
                                      arith::SubFOp::create(nb, l, score, max));
        Row next = {max,
                    arith::AddFOp::create(
                        nb, l, arith::MulFOp::create(nb, l, s[1], rescale), p)};
        next.append(
            scaleAdd(nb, l, s.drop_front(2), rescale, p, valueAt(nb, l, j)));
        return next;
      });
  return {out[0], out[1], Row(ArrayRef(out).drop_front(2))};
}

/// exp(scale q.k - max) / sum: the attention probability of a visible key.
Value probability(OpBuilder &b, Location loc, ArrayRef<Value> q,
                  ArrayRef<Value> k, Value scale, Value max, Value sum) {
  Value score = arith::MulFOp::create(b, loc, dot(b, loc, q, k), scale);
  Value e =
      math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, max));
  return arith::DivFOp::create(b, loc, e, sum);
}

/// Shapes and views shared by the three lowerings.
struct Heads {
  int64_t count, width;
  int64_t lanes; // of each chunk of a row: the largest of `maxLanes`,
                 // halved, that divides the head width
  Value scale;
  Value batch, length; // index sizes of the query's [B, T, d]

  Heads(OpBuilder &b, Location loc, RankedTensorType type, int64_t heads,
        Value query, int64_t maxLanes)
      : count(heads), width(type.getDimSize(2) / heads), lanes(maxLanes) {
    while (lanes > 1 && width % lanes)
      lanes /= 2;
    scale = f32Const(b, loc, 1.0f / std::sqrt(static_cast<float>(width)));
    batch = tensor::DimOp::create(b, loc, query, 0);
    length = tensor::DimOp::create(b, loc, query, 1);
  }
  /// A row of `rows` heads' zeros.
  Row zeros(OpBuilder &b, Location loc, int64_t rows = 1) const {
    Type type = lanes == 1 ? Type(b.getF32Type())
                           : VectorType::get({lanes}, b.getF32Type());
    return Row(rows * width / lanes,
               arith::ConstantOp::create(b, loc, b.getZeroAttr(type)));
  }
  /// The number of values of one head's row.
  int64_t chunks() const { return width / lanes; }
  /// The first channel of head h.
  Value base(OpBuilder &b, Location loc, Value h) const {
    return arith::MulIOp::create(b, loc, h, indexConst(b, loc, width));
  }
  /// Loads of buffer[batch, pos, c] ([B, T, d] layout).
  Row rowOf(OpBuilder &b, Location loc, Value buffer, Value batch, Value pos,
            Value base) const {
    return loadHead(b, loc, base, width, lanes,
                    [&](OpBuilder &nb, Location l, Value c) -> Value {
                      return loadChunk(nb, l, buffer, {batch, pos, c}, lanes);
                    });
  }
  /// A buffer of `shape`, where `sizes[i]` gives each dynamic extent.
  static Value alloc(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                     ArrayRef<Value> sizes) {
    SmallVector<Value> dynamic;
    for (auto [extent, size] : llvm::zip(shape, sizes))
      if (ShapedType::isDynamic(extent))
        dynamic.push_back(size);
    return memref::AllocOp::create(
        b, loc, MemRefType::get(shape, b.getF32Type()), dynamic);
  }
  Value allocLike(OpBuilder &b, Location loc, RankedTensorType type) const {
    return alloc(b, loc, type.getShape(), {batch, length, Value()});
  }
};

/// Keys visible to query i of a row that starts at `first` with `len` new
/// positions: [0, min(first + i + 1, first + len)).
Value visibleEnd(OpBuilder &b, Location loc, Value first, Value i, Value len) {
  Value one = indexConst(b, loc, 1);
  Value self = arith::AddIOp::create(
      b, loc, arith::AddIOp::create(b, loc, first, i), one);
  return arith::MinSIOp::create(b, loc, self,
                                arith::AddIOp::create(b, loc, first, len));
}

/// The first index in [0, count) whose position (`positions`, ascending)
/// is at least `target`: a binary search.
Value lowerBound(OpBuilder &b, Location loc, Value positions, Value count,
                 Value target) {
  auto search = scf::WhileOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType()},
      ValueRange{indexConst(b, loc, 0), count},
      [&](OpBuilder &nb, Location l, ValueRange range) {
        Value open = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult,
                                           range[0], range[1]);
        scf::ConditionOp::create(nb, l, open, range);
      },
      [&](OpBuilder &nb, Location l, ValueRange range) {
        Value mid = arith::AddIOp::create(
            nb, l, range[0],
            arith::ShRUIOp::create(
                nb, l, arith::SubIOp::create(nb, l, range[1], range[0]),
                indexConst(nb, l, 1)));
        Value below =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult,
                                  loadIndex(nb, l, positions, mid), target);
        Value next = arith::AddIOp::create(nb, l, mid, indexConst(nb, l, 1));
        scf::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, below, next, range[0]),
                       arith::SelectOp::create(nb, l, below, range[1], mid)});
      });
  return search.getResult(0);
}

/// Where a fused attention's queries live. Without `positions` they are
/// every position of [B, T, d] operands, query (b, i) in slot (b, i); with
/// them, packed rows [1, M, d]: query m sits at flat position
/// positions[m] = b * T + i of the keys' [B, T, d] and in slot (0, m). The
/// per-query statistics of the gradient use the same slots, [B|1, H, T|M].
struct Queries {
  Value positions;       // index-loadable i32 buffer [M], or null
  Value slots, slotRows; // sizes of the slot dimensions: T or M, B or 1
  Value keyBatch, keyLength;

  Queries(OpBuilder &b, Location loc, Value query, Value key,
          Value positionsTensor) {
    slotRows = tensor::DimOp::create(b, loc, query, 0);
    slots = tensor::DimOp::create(b, loc, query, 1);
    keyBatch = tensor::DimOp::create(b, loc, key, 0);
    keyLength = tensor::DimOp::create(b, loc, key, 1);
    if (positionsTensor)
      positions = bufferOf(b, loc, positionsTensor);
  }

  /// body(row, i, slotRow, slot, h) for every query and head, in parallel.
  using Body = function_ref<void(OpBuilder &, Location, Value row, Value i,
                                 Value slotRow, Value slot, Value h)>;
  void forEach(OpBuilder &b, Location loc, int64_t heads, Body body) const {
    Value numHeads = indexConst(b, loc, heads);
    if (!positions) {
      parallel(b, loc, {slotRows, numHeads, slots},
               [&](OpBuilder &nb, Location l, ValueRange ivs) {
                 body(nb, l, ivs[0], ivs[2], ivs[0], ivs[2], ivs[1]);
               });
      return;
    }
    parallel(b, loc, {slots, numHeads},
             [&](OpBuilder &nb, Location l, ValueRange ivs) {
               Value p = loadIndex(nb, l, positions, ivs[0]);
               body(nb, l, arith::DivUIOp::create(nb, l, p, keyLength),
                    arith::RemUIOp::create(nb, l, p, keyLength),
                    indexConst(nb, l, 0), ivs[0], ivs[1]);
             });
  }

  /// The slots [lo, hi) in slot row `slotRow` of the queries that see key
  /// j of row `row` (those at i >= j; none when j >= `length`).
  std::tuple<Value, Value, Value> seeing(OpBuilder &b, Location loc, Value row,
                                         Value j, Value length) const {
    Value visible =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j, length);
    if (!positions)
      return {row, arith::SelectOp::create(b, loc, visible, j, keyLength),
              keyLength};
    Value rowStart = arith::MulIOp::create(b, loc, row, keyLength);
    Value hi = lowerBound(b, loc, positions, slots,
                          arith::AddIOp::create(b, loc, rowStart, keyLength));
    Value lo = lowerBound(b, loc, positions, slots,
                          arith::AddIOp::create(b, loc, rowStart, j));
    return {indexConst(b, loc, 0),
            arith::SelectOp::create(b, loc, visible, lo, hi), hi};
  }
};

/// Loads the head row [base, base + E) of key or value j of a batch row
/// whose new positions start at `first`.
using HeadLoad = std::function<Row(OpBuilder &, Location, Value row,
                                   Value first, Value j, Value base)>;

/// out[b, i, h*E + e] = sum over visible j of softmax_j(scale q.k_j) v_j[e]
/// for each of `queries`. `start` is null when every row starts at 0.
Value buildFusedAttention(OpBuilder &b, Location loc, RankedTensorType type,
                          const Heads &heads, const Queries &queries,
                          Value query, Value start, Value lengths,
                          const HeadLoad &keyAt, const HeadLoad &valueAt) {
  Value q = rowsBufferOf(b, loc, query);
  Value lens = bufferOf(b, loc, lengths);
  Value starts = start ? bufferOf(b, loc, start) : Value();
  Value out = heads.allocLike(b, loc, type);
  queries.forEach(
      b, loc, heads.count,
      [&](OpBuilder &nb, Location l, Value row, Value i, Value slotRow,
          Value slot, Value h) {
        Value base = heads.base(nb, l, h);
        Value first =
            starts ? loadIndex(nb, l, starts, row) : indexConst(nb, l, 0);
        Value end = visibleEnd(nb, l, first, i, loadIndex(nb, l, lens, row));
        auto at = [&](const HeadLoad &load) {
          return [&](OpBuilder &bb, Location ll, Value j) -> Row {
            return load(bb, ll, row, first, j, base);
          };
        };
        OnlineSoftmax s =
            scanKeys(nb, l, heads.rowOf(nb, l, q, slotRow, slot, base),
                     heads.scale, end, at(keyAt), at(valueAt));
        storeHead(nb, l, divide(nb, l, s.acc, s.sum), out, slotRow, slot, base);
      });
  return asTensor(b, loc, type, out);
}

struct FusedAttentionLowering : OpConversionPattern<AttentionOp> {
  FusedAttentionLowering(MLIRContext *ctx, int64_t lanes,
                         PatternBenefit benefit)
      : OpConversionPattern(ctx, benefit), lanes(lanes) {}
  int64_t lanes; // of a head row's chunks (Heads)

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (ShapedType::isDynamic(op.getType().getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "model width must be static");
    rewriter.replaceOp(op, lower(op, adaptor, rewriter));
    return success();
  }

  SmallVector<Value> lower(AttentionOp op, OpAdaptor adaptor,
                           OpBuilder &rewriter) const {
    RankedTensorType type = op.getType();
    Location loc = op.getLoc();
    Heads heads(rewriter, loc, type, op.getHeads(), adaptor.getQuery(), lanes);
    Queries queries(rewriter, loc, adaptor.getQuery(), adaptor.getKey(),
                    adaptor.getPositions());
    Value k = rowsBufferOf(rewriter, loc, adaptor.getKey());
    Value v = rowsBufferOf(rewriter, loc, adaptor.getValue());
    auto rowsOf = [&](Value buffer) -> HeadLoad {
      return [&heads, buffer](OpBuilder &b, Location l, Value row, Value,
                              Value j, Value base) {
        return heads.rowOf(b, l, buffer, row, j, base);
      };
    };
    return {buildFusedAttention(rewriter, loc, type, heads, queries,
                                adaptor.getQuery(), Value(),
                                adaptor.getLengths(), rowsOf(k), rowsOf(v))};
  }
};

/// Key j of row b at decode step n: cache[n, b, j] for the start[b] cached
/// positions, then the new positions' own (MODEL.md §4, docs/decoding.md).
struct FusedCachedAttentionLowering : OpConversionPattern<CachedAttentionOp> {
  FusedCachedAttentionLowering(MLIRContext *ctx, int64_t lanes,
                               PatternBenefit benefit)
      : OpConversionPattern(ctx, benefit), lanes(lanes) {}
  int64_t lanes; // of a head row's chunks (Heads)

  LogicalResult
  matchAndRewrite(CachedAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    if (ShapedType::isDynamic(type.getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "model width must be static");
    Location loc = op.getLoc();
    Heads heads(rewriter, loc, type, op.getHeads(), adaptor.getQuery(), lanes);
    Value step = adaptor.getStep();
    auto cachedOr = [&](Value cache, Value fresh) -> HeadLoad {
      return [&heads, cache, fresh, step](OpBuilder &b, Location l, Value row,
                                          Value first, Value j, Value base) {
        Value isCached =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, first);
        SmallVector<Type> types;
        for (Value chunk : heads.zeros(b, l))
          types.push_back(chunk.getType());
        auto ifOp = scf::IfOp::create(b, l, types, isCached,
                                      /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(
            b, l,
            loadHead(b, l, base, heads.width, heads.lanes,
                     [&](OpBuilder &nb, Location nl, Value c) -> Value {
                       return loadChunk(nb, nl, cache, {step, row, j, c},
                                        heads.lanes);
                     }));
        b.setInsertionPointToStart(ifOp.elseBlock());
        // Past start[b], key j is new position j - start[b] (j < end).
        Value jn = arith::SubIOp::create(b, l, j, first);
        scf::YieldOp::create(b, l, heads.rowOf(b, l, fresh, row, jn, base));
        return Row(ifOp.getResults());
      };
    };
    Value keyCache = rowsBufferOf(rewriter, loc, adaptor.getKeyCache());
    Value valueCache = rowsBufferOf(rewriter, loc, adaptor.getValueCache());
    Value k = rowsBufferOf(rewriter, loc, adaptor.getKey());
    Value v = rowsBufferOf(rewriter, loc, adaptor.getValue());
    Queries queries(rewriter, loc, adaptor.getQuery(), adaptor.getQuery(),
                    Value());
    rewriter.replaceOp(
        op, buildFusedAttention(rewriter, loc, type, heads, queries,
                                adaptor.getQuery(), adaptor.getStart(),
                                adaptor.getLengths(), cachedOr(keyCache, k),
                                cachedOr(valueCache, v)));
    return success();
  }
};

/// The attention's VJP without score matrices. With P[i, j] = exp(scale
/// q_i.k_j - max_i) / sum_i and D_i = dO_i.O_i (= sum_j P dP):
///   per query i: max_i, sum_i and O_i by the online scan, then
///     dQ_i = scale sum_j P (dO_i.v_j - D_i) k_j;
///   per key j:   dV_j = sum_i P dO_i,
///                dK_j = scale sum_i P (dO_i.v_j - D_i) q_i
/// over the queries i >= j that see it (none when j >= lengths[b]).
struct FusedAttentionGradLowering : OpConversionPattern<AttentionGradOp> {
  FusedAttentionGradLowering(MLIRContext *ctx, int64_t lanes,
                             PatternBenefit benefit)
      : OpConversionPattern(ctx, benefit), lanes(lanes) {}
  int64_t lanes; // of a head row's chunks (Heads)

  LogicalResult
  matchAndRewrite(AttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (ShapedType::isDynamic(op.getQuery().getType().getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "model width must be static");
    rewriter.replaceOp(op, lower(op, adaptor, rewriter));
    return success();
  }

  SmallVector<Value> lower(AttentionGradOp op, OpAdaptor adaptor,
                           OpBuilder &b) const {
    RankedTensorType type = op.getQuery().getType();
    Location loc = op.getLoc();
    Heads heads(b, loc, type, op.getHeads(), adaptor.getQuery(), lanes);
    Queries queries(b, loc, adaptor.getQuery(), adaptor.getKey(),
                    adaptor.getPositions());
    Buffers g;
    g.q = rowsBufferOf(b, loc, adaptor.getQuery());
    g.k = rowsBufferOf(b, loc, adaptor.getKey());
    g.v = rowsBufferOf(b, loc, adaptor.getValue());
    g.dOut = rowsBufferOf(b, loc, adaptor.getResultGrad());
    g.lens = bufferOf(b, loc, adaptor.getLengths());
    g.dQ = heads.allocLike(b, loc, type);
    auto keyType = cast<RankedTensorType>(adaptor.getKey().getType());
    SmallVector<Value> keySizes = {queries.keyBatch, queries.keyLength,
                                   Value()};
    g.dK = Heads::alloc(b, loc, keyType.getShape(), keySizes);
    g.dV = Heads::alloc(b, loc, keyType.getShape(), keySizes);
    int64_t statShape[] = {ShapedType::kDynamic, heads.count,
                           ShapedType::kDynamic};
    for (int s = 0; s < 3; ++s)
      g.stats.push_back(Heads::alloc(
          b, loc, statShape, {queries.slotRows, Value(), queries.slots}));
    g.numHeads = indexConst(b, loc, heads.count);
    g.zero = indexConst(b, loc, 0);
    buildQueryPass(b, loc, heads, queries, g);
    buildKeyPass(b, loc, heads, queries, g);
    return {asTensor(b, loc, type, g.dQ), asTensor(b, loc, keyType, g.dK),
            asTensor(b, loc, keyType, g.dV)};
  }

private:
  /// The operands' views and the results' buffers of both passes.
  struct Buffers {
    Value q, k, v, dOut, lens;
    Value dQ, dK, dV;
    SmallVector<Value> stats; // per row [B, H, T]: max, sum, dO.O
    Value numHeads, zero;
  };

  /// Per query: the row statistics and dQ.
  static void buildQueryPass(OpBuilder &b, Location loc, const Heads &heads,
                             const Queries &queries, const Buffers &g) {
    queries.forEach(
        b, loc, heads.count,
        [&](OpBuilder &nb, Location l, Value row, Value i, Value slotRow,
            Value slot, Value h) {
          Value base = heads.base(nb, l, h);
          Value end =
              visibleEnd(nb, l, g.zero, i, loadIndex(nb, l, g.lens, row));
          auto at = [&](Value buffer) {
            return [&, buffer](OpBuilder &bb, Location ll, Value j) -> Row {
              return heads.rowOf(bb, ll, buffer, row, j, base);
            };
          };
          Row qi = heads.rowOf(nb, l, g.q, slotRow, slot, base);
          Row dOi = heads.rowOf(nb, l, g.dOut, slotRow, slot, base);
          OnlineSoftmax s =
              scanKeys(nb, l, qi, heads.scale, end, at(g.k), at(g.v));
          Value d = dot(nb, l, dOi, divide(nb, l, s.acc, s.sum));
          Row init = heads.zeros(nb, l);
          Row dq =
              loop(nb, l, g.zero, end, init,
                   [&](OpBuilder &bb, Location ll, Value j,
                       ArrayRef<Value> acc) -> Row {
                     Row kj = at(g.k)(bb, ll, j);
                     Value p =
                         probability(bb, ll, qi, kj, heads.scale, s.max, s.sum);
                     Value ds =
                         scoreGrad(bb, ll, heads.scale, p,
                                   dot(bb, ll, dOi, at(g.v)(bb, ll, j)), d);
                     return scaleAdd(bb, ll, acc, Value(), ds, kj);
                   });
          storeHead(nb, l, dq, g.dQ, slotRow, slot, base);
          Value values[] = {s.max, s.sum, d};
          for (auto [buffer, value] : llvm::zip(g.stats, values))
            memref::StoreOp::create(nb, l, value, buffer, {slotRow, h, slot});
        });
  }

  /// Per key: dK and dV over the queries that see it.
  static void buildKeyPass(OpBuilder &b, Location loc, const Heads &heads,
                           const Queries &queries, const Buffers &g) {
    parallel(
        b, loc, {queries.keyBatch, g.numHeads, queries.keyLength},
        [&](OpBuilder &nb, Location l, ValueRange ivs) {
          Value row = ivs[0], h = ivs[1], j = ivs[2];
          Value base = heads.base(nb, l, h);
          Value slotRow, first, end;
          std::tie(slotRow, first, end) =
              queries.seeing(nb, l, row, j, loadIndex(nb, l, g.lens, row));
          Row kj = heads.rowOf(nb, l, g.k, row, j, base);
          Row vj = heads.rowOf(nb, l, g.v, row, j, base);
          Row init = heads.zeros(nb, l, 2);
          Row grads = loop(
              nb, l, first, end, init,
              [&](OpBuilder &bb, Location ll, Value slot,
                  ArrayRef<Value> acc) -> Row {
                Row qi = heads.rowOf(bb, ll, g.q, slotRow, slot, base);
                Row dOi = heads.rowOf(bb, ll, g.dOut, slotRow, slot, base);
                auto stat = [&](int s) -> Value {
                  return memref::LoadOp::create(bb, ll, g.stats[s],
                                                {slotRow, h, slot});
                };
                Value p =
                    probability(bb, ll, qi, kj, heads.scale, stat(0), stat(1));
                Value ds = scoreGrad(bb, ll, heads.scale, p,
                                     dot(bb, ll, dOi, vj), stat(2));
                Row next = scaleAdd(bb, ll, acc.take_front(heads.chunks()),
                                    Value(), ds, qi);
                next.append(scaleAdd(bb, ll, acc.drop_front(heads.chunks()),
                                     Value(), p, dOi));
                return next;
              });
          ArrayRef<Value> all(grads);
          storeHead(nb, l, all.take_front(heads.chunks()), g.dK, row, j, base);
          storeHead(nb, l, all.drop_front(heads.chunks()), g.dV, row, j, base);
        });
  }

  /// dS = scale P (dP - D).
  static Value scoreGrad(OpBuilder &b, Location loc, Value scale, Value p,
                         Value dp, Value d) {
    Value diff = arith::SubFOp::create(b, loc, dp, d);
    return arith::MulFOp::create(b, loc, scale,
                                 arith::MulFOp::create(b, loc, p, diff));
  }
};

/// `rows` ([1, M, d]) scattered into zeros shaped like `like` ([B, T, d]).
Value scatterIntoZeros(OpBuilder &b, Location l, Value rows, Value like,
                       Value positions) {
  Value zeros = tensor::CastOp::create(
      b, l, like.getType(),
      lowering::filled(b, l, tensor::getMixedSizes(b, l, like), 0.0));
  return ScatterPositionsOp::create(b, l, rows, zeros, positions);
}

/// Gathered attention as the attention of every query, the gathered ones
/// scattered into zeros: the score-matrix form, faster on the CPU when
/// most positions run. A zero query row only adds exact zeros to the keys'
/// gradients.
SmallVector<Value> everyQuery(AttentionOp op, AttentionOp::Adaptor adaptor,
                              OpBuilder &b) {
  Location loc = op.getLoc();
  Value positions = adaptor.getPositions(), key = adaptor.getKey();
  Value out = AttentionOp::create(
      b, loc, op.getType(),
      scatterIntoZeros(b, loc, adaptor.getQuery(), key, positions), key,
      adaptor.getValue(), adaptor.getLengths(), Value(), op.getHeadsAttr());
  return {GatherPositionsOp::create(b, loc, out, positions)};
}

SmallVector<Value> everyQuery(AttentionGradOp op,
                              AttentionGradOp::Adaptor adaptor, OpBuilder &b) {
  Location loc = op.getLoc();
  Value positions = adaptor.getPositions(), key = adaptor.getKey();
  auto grad = AttentionGradOp::create(
      b, loc, scatterIntoZeros(b, loc, adaptor.getResultGrad(), key, positions),
      scatterIntoZeros(b, loc, adaptor.getQuery(), key, positions), key,
      adaptor.getValue(), adaptor.getLengths(), Value(), op.getHeadsAttr());
  return {GatherPositionsOp::create(b, loc, grad.getQueryGrad(), positions),
          grad.getKeyGrad(), grad.getValueGrad()};
}

/// Attention over gathered queries (a compacted halting loop's) takes the
/// fused loops, whose work is proportional to the queries. With
/// `everyQueryWhenMostRun` (the CPU, where the score-matrix form vectorises
/// and the fused loops do not), a step where at least half of the positions
/// run takes the score-matrix form of every query instead.
template <typename Fused, typename Op> struct Gathered : Fused {
  Gathered(MLIRContext *ctx, int64_t lanes, bool everyQueryWhenMostRun)
      : Fused(ctx, lanes, /*benefit=*/3),
        everyQueryWhenMostRun(everyQueryWhenMostRun) {}

  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getPositions())
      return rewriter.notifyMatchFailure(op, "every query: not gathered");
    if (!everyQueryWhenMostRun) {
      rewriter.replaceOp(op, this->lower(op, adaptor, rewriter));
      return success();
    }
    Location loc = op.getLoc();
    Value key = adaptor.getKey();
    Value running = arith::MulIOp::create(
        rewriter, loc,
        tensor::DimOp::create(rewriter, loc, adaptor.getQuery(), 1),
        indexConst(rewriter, loc, 2));
    Value positions = arith::MulIOp::create(
        rewriter, loc, tensor::DimOp::create(rewriter, loc, key, 0),
        tensor::DimOp::create(rewriter, loc, key, 1));
    Value most = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::uge,
                                       running, positions);
    auto branch = scf::IfOp::create(
        rewriter, loc, most,
        [&](OpBuilder &b, Location l) {
          scf::YieldOp::create(b, l, everyQuery(op, adaptor, b));
        },
        [&](OpBuilder &b, Location l) {
          scf::YieldOp::create(b, l, this->lower(op, adaptor, b));
        });
    rewriter.replaceOp(op, branch.getResults());
    return success();
  }

  bool everyQueryWhenMostRun;
};
using GatheredAttentionLowering = Gathered<FusedAttentionLowering, AttentionOp>;
using GatheredAttentionGradLowering =
    Gathered<FusedAttentionGradLowering, AttentionGradOp>;

} // namespace

void mlir::ponder::populateFusedAttentionPatterns(RewritePatternSet &patterns,
                                                  int64_t lanes) {
  // Preferred over the score-matrix lowerings of PonderToLinalg.cpp.
  patterns.add<FusedAttentionLowering, FusedCachedAttentionLowering,
               FusedAttentionGradLowering>(patterns.getContext(), lanes,
                                           /*benefit=*/2);
}

void mlir::ponder::populateGatheredAttentionPatterns(
    RewritePatternSet &patterns, int64_t lanes, bool everyQueryWhenMostRun) {
  patterns.add<GatheredAttentionLowering, GatheredAttentionGradLowering>(
      patterns.getContext(), lanes, everyQueryWhenMostRun);
}

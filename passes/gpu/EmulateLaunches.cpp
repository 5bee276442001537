//===- EmulateLaunches.cpp - run gpu.launch bodies on the host ------------===//
//
// A kernel without barriers runs as sequential loops over its blocks and
// threads. A kernel with barriers or workgroup memory runs each block as an
// OpenMP team of exactly blockDim threads, so `gpu.barrier` is a real
// barrier (`omp.barrier`) and every thread keeps its own registers across
// it; the block's workgroup buffers are shared by the team.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_EMULATEGPULAUNCHES
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

constexpr StringLiteral kThreadNum = "omp_get_thread_num";
constexpr StringLiteral kNumThreads = "omp_get_num_threads";

/// Host memory for GPU memory spaces: workgroup and private buffers become
/// plain memrefs.
void stripGPUMemorySpaces(Operation *op) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([](MemRefType type) -> std::optional<Type> {
    if (!isa_and_nonnull<gpu::AddressSpaceAttr>(type.getMemorySpace()))
      return std::nullopt;
    return MemRefType::get(type.getShape(), type.getElementType(),
                           type.getLayout());
  });
  replacer.recursivelyReplaceElementsIn(op, /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
}

struct EmulateGPULaunchesPass
    : mlir::ponder::impl::EmulateGPULaunchesBase<EmulateGPULaunchesPass> {
  void runOnOperation() final {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches)
      if (failed(emulate(launch)))
        return signalPassFailure();
  }

  LogicalResult emulate(gpu::LaunchOp launch) {
    Region &body = launch.getBody();
    if (!body.hasOneBlock() || !launch.getPrivateAttributions().empty() ||
        launch.getAsyncToken() || launch.getClusterSizeX() ||
        launch.getDynamicSharedMemorySize())
      return launch.emitError("only synchronous launches of one block "
                              "without private attributions or dynamic "
                              "shared memory are emulated");
    bool cooperative =
        !launch.getWorkgroupAttributions().empty() ||
        body.walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
            .wasInterrupted();
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    IRMapping map;
    // Workgroup buffers, allocated once: blocks run one after another.
    SmallVector<Value> shared;
    for (BlockArgument arg : launch.getWorkgroupAttributions()) {
      auto type = cast<MemRefType>(arg.getType());
      Value buffer = memref::AllocOp::create(
          b, loc,
          MemRefType::get(type.getShape(), type.getElementType(),
                          type.getLayout()));
      map.map(arg, buffer);
      shared.push_back(buffer);
    }
    Value blockIds[3], threadIds[3];
    auto nest = [&](ArrayRef<Value> bounds, Value *ivs) {
      for (auto [i, bound] : llvm::enumerate(bounds)) {
        auto loop = scf::ForOp::create(b, loc, zero, bound, one);
        ivs[2 - i] = loop.getInductionVar();
        b.setInsertionPoint(loop.getBody()->getTerminator());
      }
    };
    OpBuilder::InsertPoint after = b.saveInsertionPoint();
    nest({grid.z, grid.y, grid.x}, blockIds);
    if (cooperative)
      threadsOfTeam(b, loc, block, threadIds);
    else
      nest({block.z, block.y, block.x}, threadIds);
    auto bind = [&](gpu::KernelDim3 args, ArrayRef<Value> xyz) {
      map.map(args.x, xyz[0]);
      map.map(args.y, xyz[1]);
      map.map(args.z, xyz[2]);
    };
    bind(launch.getBlockIds(), blockIds);
    bind(launch.getThreadIds(), threadIds);
    bind(launch.getGridSize(), {grid.x, grid.y, grid.z});
    bind(launch.getBlockSize(), {block.x, block.y, block.z});
    for (Operation &op : body.front().without_terminator()) {
      Operation *copy = b.clone(op, map);
      copy->walk([&](gpu::BarrierOp barrier) {
        OpBuilder nb(barrier);
        omp::BarrierOp::create(nb, barrier.getLoc());
        barrier.erase();
      });
      stripGPUMemorySpaces(copy);
    }
    b.restoreInsertionPoint(after);
    for (Value buffer : shared)
      memref::DeallocOp::create(b, loc, buffer);
    launch.erase();
    return success();
  }

  /// Opens an OpenMP team of blockDim threads and sets `ids` (x, y, z) to
  /// the calling thread's position in the block; the builder is left inside
  /// the team's region. A team that did not get every thread aborts, since
  /// its barriers would not be the block's.
  void threadsOfTeam(OpBuilder &b, Location loc, gpu::KernelDim3 block,
                     Value *ids) {
    Type i32 = b.getI32Type();
    Value count = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, block.x, block.y), block.z);
    omp::ParallelOperands clauses;
    clauses.numThreads = arith::IndexCastOp::create(b, loc, i32, count);
    auto team = omp::ParallelOp::create(b, loc, clauses);
    b.setInsertionPointToStart(&team.getRegion().emplaceBlock());
    auto terminator = omp::TerminatorOp::create(b, loc);
    b.setInsertionPoint(terminator);
    auto call = [&](StringRef name) -> Value {
      Value v =
          func::CallOp::create(b, loc, runtimeFunction(name), ValueRange{})
              .getResult(0);
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    Value size = call(kNumThreads);
    cf::AssertOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, count),
        "an emulated GPU block did not get all of its threads");
    Value tid = call(kThreadNum);
    ids[0] = arith::RemUIOp::create(b, loc, tid, block.x);
    Value rest = arith::DivUIOp::create(b, loc, tid, block.x);
    ids[1] = arith::RemUIOp::create(b, loc, rest, block.y);
    ids[2] = arith::DivUIOp::create(b, loc, rest, block.y);
  }

  /// `i32 name()` from libomp, declared once in the module.
  func::FuncOp runtimeFunction(StringRef name) {
    ModuleOp module = getOperation();
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto type = b.getFunctionType({}, {b.getI32Type()});
    auto f = func::FuncOp::create(b, module.getLoc(), name, type);
    f.setPrivate();
    return f;
  }
};

} // namespace

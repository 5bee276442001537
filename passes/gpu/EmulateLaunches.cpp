//===- EmulateLaunches.cpp - run gpu.launch bodies as host loops ----------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_EMULATEGPULAUNCHES
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

struct EmulateGPULaunchesPass
    : mlir::ponder::impl::EmulateGPULaunchesBase<EmulateGPULaunchesPass> {
  void runOnOperation() final {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches)
      if (failed(emulate(launch)))
        return signalPassFailure();
  }

  /// for bz, by, bx, tz, ty, tx: body. Valid for kernels without
  /// workgroup memory or barriers, which is every kernel the mapping makes.
  LogicalResult emulate(gpu::LaunchOp launch) {
    Region &body = launch.getBody();
    if (!body.hasOneBlock() || !launch.getWorkgroupAttributions().empty() ||
        !launch.getPrivateAttributions().empty() || launch.getAsyncToken() ||
        launch.getClusterSizeX())
      return launch.emitError("only synchronous launches of one block "
                              "without attributions are emulated");
    if (body.walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
            .wasInterrupted())
      return launch.emitError("a kernel with barriers cannot be emulated "
                              "by sequential threads");
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    Value bounds[] = {grid.z, grid.y, grid.x, block.z, block.y, block.x};
    SmallVector<Value, 6> ivs;
    for (Value bound : bounds) {
      auto loop = scf::ForOp::create(b, loc, zero, bound, one);
      ivs.push_back(loop.getInductionVar());
      b.setInsertionPoint(loop.getBody()->getTerminator());
    }
    IRMapping map;
    auto bind = [&](gpu::KernelDim3 args, Value x, Value y, Value z) {
      map.map(args.x, x);
      map.map(args.y, y);
      map.map(args.z, z);
    };
    bind(launch.getBlockIds(), ivs[2], ivs[1], ivs[0]);
    bind(launch.getThreadIds(), ivs[5], ivs[4], ivs[3]);
    bind(launch.getGridSize(), grid.x, grid.y, grid.z);
    bind(launch.getBlockSize(), block.x, block.y, block.z);
    Block &entry = body.front();
    for (Operation &op : entry.without_terminator())
      b.clone(op, map);
    launch.erase();
    return success();
  }
};

} // namespace

//===- SinkGlobalsIntoKernels.cpp - constants kernels can read ------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_SINKGLOBALSINTOKERNELS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

struct SinkGlobalsIntoKernelsPass
    : mlir::ponder::impl::SinkGlobalsIntoKernelsBase<
          SinkGlobalsIntoKernelsPass> {
  void runOnOperation() final {
    getOperation().walk([](gpu::LaunchOp launch) {
      Region &body = launch.getBody();
      DenseMap<Value, Value> inside;
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      body.walk([&](Operation *op) {
        for (OpOperand &use : op->getOpOperands()) {
          auto global = use.get().getDefiningOp<memref::GetGlobalOp>();
          if (!global || body.isAncestor(global->getParentRegion()))
            continue;
          Value &copy = inside[use.get()];
          if (!copy)
            copy = b.clone(*global)->getResult(0);
          use.set(copy);
        }
      });
    });
  }
};

} // namespace

//===- MergeKernelModules.cpp - one gpu.module for every kernel -----------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_MERGEKERNELMODULES
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

struct MergeKernelModulesPass
    : mlir::ponder::impl::MergeKernelModulesBase<MergeKernelModulesPass> {
  using MergeKernelModulesBase::MergeKernelModulesBase;

  void runOnOperation() final {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.empty())
      return;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), "kernels_tmp");
    SymbolTable mergedSymbols(merged);

    // (old module, old function) -> new function name.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : sources) {
      StringAttr moduleName = source.getSymNameAttr();
      for (Operation &op : llvm::make_early_inc_range(*source.getBody())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol)
          return (void)(op.emitError("unexpected op in a kernel module"),
                        signalPassFailure());
        StringAttr oldName = symbol.getNameAttr();
        // Outlining copies each global a kernel reads into its module:
        // keep one copy of each.
        if (Operation *existing = mergedSymbols.lookup(oldName);
            existing && isa<memref::GlobalOp>(op) &&
            OperationEquivalence::isEquivalentTo(
                existing, &op, OperationEquivalence::IgnoreLocations)) {
          renamed[{moduleName, oldName}] = oldName;
          op.erase();
          continue;
        }
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        // Outlining names each module after its kernel; keep that name.
        if (auto func = dyn_cast<gpu::GPUFuncOp>(op);
            func && func.isKernel() && !mergedSymbols.lookup(moduleName))
          symbol.setName(moduleName);
        StringAttr newName = mergedSymbols.insert(&op);
        if (newName != symbol.getNameAttr() ||
            (newName != oldName && newName != moduleName))
          return (void)(op.emitError("symbol collides with another kernel "
                                     "module's: ")
                            << oldName,
                        signalPassFailure());
        renamed[{moduleName, oldName}] = newName;
      }
      source.erase();
    }
    merged.setSymName(moduleName);
    auto mergedName = StringAttr::get(&getContext(), moduleName);

    WalkResult hostGlobal = module.walk([&](gpu::LaunchFuncOp launch) {
      for (Value operand : launch.getKernelOperands())
        if (operand.getDefiningOp<memref::GetGlobalOp>()) {
          launch.emitError("a kernel argument is a host global; kernels "
                           "read only device-visible memory");
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (hostGlobal.wasInterrupted())
      return signalPassFailure();

    module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      StringAttr newName = renamed.lookup(
          {kernel.getRootReference(), kernel.getLeafReference()});
      launch.setKernelAttr(
          SymbolRefAttr::get(mergedName, FlatSymbolRefAttr::get(newName)));
    });
  }
};

} // namespace

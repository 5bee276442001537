//===- GenerateEntryPoints.cpp - uniform entry points for the runtime -----===//

#include "passes/Passes.h"
#include "runtime/ArtifactContract.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_GENERATEENTRYPOINTS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

constexpr StringLiteral kCInterfacePrefix = "_mlir_ciface_";
constexpr StringLiteral kEntryPrefix = PONDER_ENTRY_SYMBOL_PREFIX;

struct GenerateEntryPointsPass
    : mlir::ponder::impl::GenerateEntryPointsBase<GenerateEntryPointsPass> {
  void runOnOperation() final {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> interfaces;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func.getName().starts_with(kCInterfacePrefix) && !func.isExternal())
        interfaces.push_back(func);
    for (LLVM::LLVMFuncOp callee : interfaces)
      if (failed(generate(module, callee)))
        return signalPassFailure();
  }

  // ponder_entry_NAME(void **args) { _mlir_ciface_NAME(args[0], args[1], ...) }
  LogicalResult generate(ModuleOp module, LLVM::LLVMFuncOp callee) {
    LLVM::LLVMFunctionType type = callee.getFunctionType();
    if (!isa<LLVM::LLVMVoidType>(type.getReturnType()) ||
        llvm::any_of(type.getParams(),
                     [](Type t) { return !isa<LLVM::LLVMPointerType>(t); }))
      return callee.emitError("expected a C interface taking only pointers");
    MLIRContext *ctx = module.getContext();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = callee.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    std::string name =
        (kEntryPrefix + callee.getName().drop_front(kCInterfacePrefix.size()))
            .str();
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, name,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
    Block *body = entry.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args;
    for (unsigned i = 0; i < type.getNumParams(); ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{int32_t(i)});
      args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    LLVM::CallOp::create(b, loc, callee, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return success();
  }
};

} // namespace

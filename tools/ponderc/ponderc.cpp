//===- ponderc.cpp - The Ponder compiler driver ---------------------------===//
//
// ponderc MODEL.toml --emit=ponder|linalg|llvm [-o OUT]
//
// Reads a model description (MODEL.md §2), builds its forward and loss graphs
// as ponder IR, lowers them as far as the requested stage and prints it. Errors
// in the description are one line `FILE:LINE: ...` and exit code 1; nothing is
// written then.
//
//===----------------------------------------------------------------------===//

#include "frontend/BuildModel.h"
#include "frontend/ModelDescription.h"
#include "passes/Pipelines.h"
#include "tools/registration/Registration.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
enum class Emit { Ponder, Linalg, LLVM };
} // namespace

static cl::opt<std::string>
    inputFilename(cl::Positional, cl::desc("<model.toml>"), cl::Required);
static cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                           cl::value_desc("filename"),
                                           cl::init("-"));
static cl::opt<Emit> emitAction(
    "emit", cl::desc("Stage to emit"), cl::init(Emit::Ponder),
    cl::values(clEnumValN(Emit::Ponder, "ponder",
                          "ponder dialect: forward and loss graphs"),
               clEnumValN(Emit::Linalg, "linalg",
                          "linalg/tensor/scf on tensors"),
               clEnumValN(Emit::LLVM, "llvm", "LLVM IR for the host CPU")));

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "Ponder compiler driver\n");

  ponder::ParsedDescription parsed =
      ponder::parseModelDescriptionFile(inputFilename);
  if (!parsed.description) {
    llvm::errs() << parsed.error << "\n";
    return 1;
  }

  mlir::DialectRegistry registry;
  ponder::registerPonderDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      ponder::buildModel(context, *parsed.description);
  // A description that parsed must give valid IR: failing here is a bug in
  // the front end, reported with the verifier's diagnostic.
  if (mlir::failed(mlir::verify(*module))) {
    llvm::errs() << inputFilename
                 << ": internal error: the generated IR does not verify\n";
    return 2;
  }

  if (emitAction != Emit::Ponder) {
    mlir::PassManager pm(&context);
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::ponder::buildLowerToLinalgPipeline(pm);
    if (emitAction == Emit::LLVM)
      mlir::ponder::buildLinalgToLLVMPipeline(pm);
    if (mlir::failed(pm.run(*module))) {
      llvm::errs() << inputFilename
                   << ": internal error: lowering failed (see above)\n";
      return 2;
    }
  }
  // The context must outlive the module.
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  if (emitAction == Emit::LLVM) {
    llvmModule = mlir::translateModuleToLLVMIR(*module, llvmContext);
    if (!llvmModule) {
      llvm::errs() << inputFilename
                   << ": internal error: translation to LLVM IR failed\n";
      return 2;
    }
  }

  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << outputFilename << ": " << errorMessage << "\n";
    return 1;
  }
  switch (emitAction) {
  case Emit::Ponder:
  case Emit::Linalg:
    module->print(output->os());
    output->os() << "\n";
    break;
  case Emit::LLVM:
    llvmModule->print(output->os(), nullptr);
    break;
  }
  output->keep();
  return 0;
}

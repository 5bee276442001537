//===- ponderc.cpp - The Ponder compiler driver ---------------------------===//
//
// ponderc MODEL.toml [--target=cpu|cuda] --emit=ponder|linalg|llvm|ptx|artifact
//         [-o OUT]
//
// Reads a model description (MODEL.md §2), builds its forward and loss graphs
// as ponder IR, lowers them as far as the requested stage for the host CPU or
// for NVIDIA GPUs (docs/gpu.md) and prints it. Errors
// in the description are one line `FILE:LINE: ...` and exit code 1; nothing is
// written then.
//
//===----------------------------------------------------------------------===//

#include "frontend/BuildModel.h"
#include "frontend/ModelDescription.h"
#include "frontend/ModelKey.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "runtime/Hash.h"
#include "tools/ponderc/ArtifactWriter.h"
#include "tools/ponderc/CudaTarget.h"
#include "tools/registration/Registration.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
enum class Emit { Ponder, Linalg, LLVM, PTX, Artifact, ModelKey };
enum class Target { CPU, CUDA };
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
               clEnumValN(Emit::LLVM, "llvm",
                          "LLVM IR for the host (kernels embedded for cuda)"),
               clEnumValN(Emit::PTX, "ptx", "PTX of every kernel (cuda)"),
               clEnumValN(Emit::Artifact, "artifact",
                          "shared object for the runtime (-o required)"),
               clEnumValN(Emit::ModelKey, "model-key",
                          "the key of the parsed description (ponder's "
                          "artifact cache)")));
static cl::opt<Target>
    target("target", cl::desc("Where the compiled model runs"),
           cl::init(Target::CPU),
           cl::values(clEnumValN(Target::CPU, "cpu", "the host CPU"),
                      clEnumValN(Target::CUDA, "cuda", "NVIDIA GPUs")));
static cl::opt<std::string>
    cudaArch("cuda-arch",
             cl::desc("Architecture of the PTX (--emit=ptx|llvm); artifacts "
                      "embed PTX for sm_80 and cubins for sm_80 and sm_90"),
             cl::init("sm_80"));

/// Writes `text` to -o (stdout by default).
static int emitText(llvm::StringRef text) {
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << outputFilename << ": " << errorMessage << "\n";
    return 1;
  }
  output->os() << text;
  output->keep();
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "Ponder compiler driver\n");
  bool cuda = target == Target::CUDA;
  if (emitAction == Emit::PTX && !cuda) {
    llvm::errs() << "ponderc: --emit=ptx needs --target=cuda\n";
    return 1;
  }
  if (!llvm::StringRef(cudaArch).starts_with("sm_") ||
      !llvm::all_of(llvm::StringRef(cudaArch).drop_front(3), llvm::isDigit) ||
      cudaArch.size() == 3) {
    llvm::errs() << "ponderc: --cuda-arch must be sm_NN, not '" << cudaArch
                 << "'\n";
    return 1;
  }

  ponder::ParsedDescription parsed =
      ponder::parseModelDescriptionFile(inputFilename);
  if (!parsed.description) {
    llvm::errs() << parsed.error << "\n";
    return 1;
  }
  if (emitAction == Emit::ModelKey)
    return emitText(ponder::modelKey(*parsed.description) + "\n");

  mlir::DialectRegistry registry;
  ponder::registerPonderDialects(registry);
  ponder::registerPonderPasses(); // the GPU pipeline is written as text
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

  std::string descriptor;
  if (emitAction == Emit::Artifact) {
    if (outputFilename == "-") {
      llvm::errs() << "ponderc: --emit=artifact needs -o FILE.so\n";
      return 1;
    }
    descriptor =
        ponder::describeArtifact(*module, ponder::modelKey(*parsed.description),
                                 cuda ? PONDER_TARGET_CUDA : PONDER_TARGET_CPU);
    ponder::prepareEntryPoints(*module);
  }
  if (emitAction != Emit::Ponder) {
    mlir::PassManager pm(&context);
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    // GPU kernels compute attention with an online softmax (no score
    // matrices); the CPU keeps the vectorised score generics.
    mlir::ponder::LowerToLinalgOptions lowering;
    lowering.fusedAttention = cuda;
    mlir::ponder::buildLowerToLinalgPipeline(pm, lowering);
    if (emitAction != Emit::Linalg) {
      if (cuda) {
        mlir::ponder::GPUPipelineOptions options;
        // Artifacts carry sm_80 PTX, which every newer GPU can JIT.
        options.chip =
            emitAction == Emit::Artifact ? std::string("sm_80") : cudaArch;
        mlir::ponder::buildLinalgToGPUPipeline(pm, options);
      } else {
        // Artifacts allocate through the runtime, which reuses buffers.
        mlir::ponder::CPUPipelineOptions options;
        options.runtimeAllocator = true;
        mlir::ponder::buildLinalgToLLVMPipeline(pm, options);
      }
    }
    if (emitAction == Emit::Artifact)
      pm.addPass(mlir::ponder::createGenerateEntryPoints());
    if (mlir::failed(pm.run(*module))) {
      llvm::errs() << inputFilename
                   << ": internal error: lowering failed (see above)\n";
      return 2;
    }
  }
  std::string toolkit = ponder::findCudaToolkit();
  if (cuda && emitAction != Emit::Ponder && emitAction != Emit::Linalg &&
      mlir::failed(ponder::serializeKernelsToPTX(*module, toolkit))) {
    llvm::errs() << inputFilename
                 << ": internal error: PTX generation failed (see above)\n";
    return 2;
  }
  if (emitAction == Emit::Artifact) {
    std::string error;
    // Without the toolkit the artifact carries PTX only, which the driver
    // compiles when it loads the artifact.
    if (cuda && !toolkit.empty() &&
        !ponder::embedCubins(*module, toolkit, {"sm_80", "sm_90"}, error)) {
      llvm::errs() << inputFilename << ": " << error << "\n";
      return 1;
    }
    if (!ponder::writeArtifact(*module, descriptor, outputFilename, cuda,
                               error)) {
      llvm::errs() << outputFilename << ": " << error << "\n";
      return 1;
    }
    return 0;
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
  case Emit::PTX:
    output->os() << ponder::kernelPTX(*module);
    break;
  case Emit::Artifact:
  case Emit::ModelKey: // emitted before the IR is built
    break;
  }
  output->keep();
  return 0;
}

//===- ponderc.cpp - The Ponder compiler driver ---------------------------===//
//
// ponderc MODEL.toml [--target=cpu|cuda] --emit=ponder|linalg|llvm|ptx|artifact
//         [--target-cpu=CPU] [--target-features=+F,-G] [-o OUT]
//
// Reads a model description (MODEL.md §2), builds its forward and loss graphs
// as ponder IR, lowers them as far as the requested stage for the host CPU or
// for NVIDIA GPUs (docs/gpu.md) and prints it. Errors in the description are
// one line `FILE:LINE: ...` and exit code 1; nothing is written then. --help
// lists ponderc's options and MLIR's --mlir-* ones (IR printing, debug
// locations, per-pass dumps).
//
//===----------------------------------------------------------------------===//

#include "frontend/BuildModel.h"
#include "frontend/ModelDescription.h"
#include "frontend/ModelKey.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "runtime/ArtifactContract.h"
#include "tools/ponderc/ArtifactWriter.h"
#include "tools/ponderc/CpuTarget.h"
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
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
enum class Emit { Ponder, Linalg, LLVM, PTX, Artifact, ModelKey };
enum class Target { CPU, CUDA };
} // namespace

/// ponderc's own options. --help sorts categories by name: this one comes
/// before LLVM's "Generic Options" (--help, --version) and MLIR's.
static cl::OptionCategory pondercCategory("Compiler options");
/// MLIR's general options (--mlir-*): printing the IR, its locations and the
/// passes. Every other option linked in (LLVM's backends) stays accepted but
/// is left out of --help.
static cl::OptionCategory mlirCategory("MLIR options");

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<model.toml>"),
                                          cl::Required,
                                          cl::cat(pondercCategory));
static cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                           cl::value_desc("filename"),
                                           cl::init("-"),
                                           cl::cat(pondercCategory));
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
                          "artifact cache)")),
    cl::cat(pondercCategory));
static cl::opt<Target>
    target("target", cl::desc("Where the compiled model runs"),
           cl::init(Target::CPU),
           cl::values(clEnumValN(Target::CPU, "cpu", "the host CPU"),
                      clEnumValN(Target::CUDA, "cuda", "NVIDIA GPUs")),
           cl::cat(pondercCategory));
static cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("The CPU to compile for, as llc -mcpu names it (default: the "
             "host); decides the vector width and register tile"),
    cl::value_desc("cpu"), cl::init(""), cl::cat(pondercCategory));
static cl::opt<std::string> targetFeatures(
    "target-features",
    cl::desc("Features added to or removed from the CPU's, as llc -mattr "
             "spells them: +avx2,-avx512f"),
    cl::value_desc("features"), cl::init(""), cl::cat(pondercCategory));
static cl::opt<bool> denseHalting(
    "dense-halting",
    cl::desc("Run an ACT loop's whole block on every position until the "
             "deepest halts, as before compaction (for comparison)"),
    cl::init(false), cl::cat(pondercCategory));
static cl::opt<bool> unfused(
    "unfused",
    cl::desc("One kernel per linalg op: no fusion of norms, softmaxes and "
             "losses over rows or of matrix products with their fills and "
             "element-wise epilogues (for comparison)"),
    cl::init(false), cl::cat(pondercCategory));
static cl::opt<bool> scoreAttention(
    "score-attention",
    cl::desc("CPU: attention through [B, H, T, T] score matrices instead of "
             "the vectorised online-softmax loops (for comparison)"),
    cl::init(false), cl::cat(pondercCategory));
static cl::opt<bool> dataParallel(
    "data-parallel",
    cl::desc("Also @loss_shard, @grad_shard and @apply_gradients: the "
             "training step split at the gradient for data-parallel "
             "training (docs/distributed.md)"),
    cl::init(false), cl::cat(pondercCategory));
static cl::opt<std::string>
    cudaArch("cuda-arch",
             cl::desc("Architecture of the PTX (--emit=ptx|llvm); artifacts "
                      "embed PTX for sm_80 and cubins for sm_80 and sm_90"),
             cl::init("sm_80"), cl::cat(pondercCategory));

/// Registers the passes and MLIR's general options, and hides the options
/// of neither category from --help. Passes come first: the parser of
/// --mlir-print-ir-after=PASS lists them when it is created.
static void registerOptions() {
  ponder::registerPonderPasses(); // the GPU pipeline is written as text too
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name.starts_with("mlir-"))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&pondercCategory, &mlirCategory});
}

/// Checks the options that do not depend on the description; false after
/// printing the problem.
static bool checkOptions() {
  if (emitAction == Emit::PTX && target != Target::CUDA) {
    llvm::errs() << "ponderc: --emit=ptx needs --target=cuda\n";
    return false;
  }
  if (target == Target::CUDA &&
      (!targetCpu.empty() || !targetFeatures.empty())) {
    llvm::errs() << "ponderc: --target-cpu and --target-features need "
                    "--target=cpu\n";
    return false;
  }
  llvm::StringRef arch(cudaArch);
  if (!arch.starts_with("sm_") || arch.size() == 3 ||
      !llvm::all_of(arch.drop_front(3), llvm::isDigit)) {
    llvm::errs() << "ponderc: --cuda-arch must be sm_NN, not '" << cudaArch
                 << "'\n";
    return false;
  }
  return true;
}

/// The passes from ponder IR to the --emit stage (after --emit=ponder); CPU
/// code for `cpu`.
static void addLoweringPasses(mlir::PassManager &pm, bool cuda,
                              const ponder::CpuTarget &cpu) {
  // Attention is an online softmax (no score matrices), in vectors of the
  // CPU's width on the CPU (faster there since session 12,
  // docs/performance.md).
  mlir::ponder::CPUPipelineOptions cpuOptions;
  cpuOptions.runtimeAllocator = true; // reuses buffers
  ponder::chooseContractionTile(cpu, cpuOptions);
  mlir::ponder::LowerToLinalgOptions lowering;
  lowering.fusedAttention = cuda || !scoreAttention;
  lowering.attentionLanes = cuda ? 1 : int64_t(cpuOptions.lanes);
  lowering.compactHalting = !denseHalting;
  lowering.fuseKernels = !unfused;
  cpuOptions.fuseEnds = !unfused;
  mlir::ponder::buildLowerToLinalgPipeline(pm, lowering);
  if (emitAction != Emit::Linalg) {
    if (cuda) {
      mlir::ponder::GPUPipelineOptions options;
      // Artifacts carry sm_80 PTX, which every newer GPU can JIT.
      options.chip =
          emitAction == Emit::Artifact ? std::string("sm_80") : cudaArch;
      options.fuseEnds = !unfused;
      mlir::ponder::buildLinalgToGPUPipeline(pm, options);
    } else {
      mlir::ponder::buildLinalgToLLVMPipeline(pm, cpuOptions);
    }
  }
  if (emitAction == Emit::Artifact)
    pm.addPass(mlir::ponder::createGenerateEntryPoints());
}

/// Lowers `module` to the --emit stage, kernels to PTX for cuda (with the
/// CUDA toolkit at `toolkit`, if any). Returns the exit code: 0, or 1 or 2
/// after printing the problem.
static int lower(mlir::ModuleOp module, mlir::MLIRContext &context,
                 llvm::StringRef toolkit, const ponder::CpuTarget &cpu) {
  bool cuda = target == Target::CUDA;
  if (emitAction == Emit::Ponder)
    return 0;
  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return 1;
  addLoweringPasses(pm, cuda, cpu);
  if (mlir::failed(pm.run(module))) {
    llvm::errs() << inputFilename
                 << ": internal error: lowering failed (see above)\n";
    return 2;
  }
  if (cuda && emitAction != Emit::Linalg &&
      mlir::failed(ponder::serializeKernelsToPTX(module, toolkit))) {
    llvm::errs() << inputFilename
                 << ": internal error: PTX generation failed (see above)\n";
    return 2;
  }
  return 0;
}

/// --emit=artifact: compiles `module` into the shared object -o names.
/// Returns the exit code.
static int compileArtifact(mlir::ModuleOp module, mlir::MLIRContext &context,
                           llvm::StringRef modelKey,
                           const ponder::CpuTarget &cpu) {
  if (outputFilename == "-") {
    llvm::errs() << "ponderc: --emit=artifact needs -o FILE.so\n";
    return 1;
  }
  bool cuda = target == Target::CUDA;
  std::string descriptor =
      cuda ? ponder::describeArtifact(module, modelKey, PONDER_TARGET_CUDA)
           : ponder::describeArtifact(module, modelKey, PONDER_TARGET_CPU,
                                      cpu.machine.getCPU(), cpu.isa);
  ponder::prepareEntryPoints(module);
  std::string toolkit = cuda ? ponder::findCudaToolkit() : "";
  if (int status = lower(module, context, toolkit, cpu))
    return status;
  std::string error;
  // Without the toolkit the artifact carries PTX only, which the driver
  // compiles when it loads the artifact.
  if (cuda && !toolkit.empty() &&
      !ponder::embedCubins(module, toolkit, {"sm_80", "sm_90"}, error)) {
    llvm::errs() << inputFilename << ": " << error << "\n";
    return 1;
  }
  if (!ponder::writeArtifact(module, descriptor, outputFilename, cuda,
                             cpu.machine, error)) {
    llvm::errs() << outputFilename << ": " << error << "\n";
    return 1;
  }
  return 0;
}

/// Writes what `write` prints to -o (stdout by default). Returns the exit
/// code.
static int emitText(llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << outputFilename << ": " << errorMessage << "\n";
    return 1;
  }
  write(output->os());
  output->keep();
  return 0;
}

/// Writes the lowered `module` as the --emit stage's text to -o. Returns the
/// exit code.
static int printOutput(mlir::ModuleOp module) {
  // The context must outlive the module.
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  if (emitAction == Emit::LLVM) {
    llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext);
    if (!llvmModule) {
      llvm::errs() << inputFilename
                   << ": internal error: translation to LLVM IR failed\n";
      return 2;
    }
  }
  return emitText([&](llvm::raw_ostream &os) {
    switch (emitAction) {
    case Emit::Ponder:
    case Emit::Linalg:
      module->print(os);
      os << "\n";
      break;
    case Emit::LLVM:
      llvmModule->print(os, nullptr);
      break;
    case Emit::PTX:
      os << ponder::kernelPTX(module);
      break;
    case Emit::Artifact:
    case Emit::ModelKey:
      llvm_unreachable("written by compileArtifact and main");
    }
  });
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerOptions();
  cl::ParseCommandLineOptions(argc, argv, "Ponder compiler driver\n");
  if (!checkOptions())
    return 1;

  ponder::ParsedDescription parsed =
      ponder::parseModelDescriptionFile(inputFilename);
  if (!parsed.description) {
    llvm::errs() << parsed.error << "\n";
    return 1;
  }
  std::string key = ponder::modelKey(*parsed.description);
  if (emitAction == Emit::ModelKey)
    return emitText([&](llvm::raw_ostream &os) { os << key << "\n"; });
  mlir::DialectRegistry registry;
  ponder::registerPonderDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      ponder::buildModel(context, *parsed.description, {dataParallel});
  // A description that parsed must give valid IR: failing here is a bug in
  // the front end, reported with the verifier's diagnostic.
  if (mlir::failed(mlir::verify(*module))) {
    llvm::errs() << inputFilename
                 << ": internal error: the generated IR does not verify\n";
    return 2;
  }

  // CUDA artifacts' host code runs on the host.
  llvm::Expected<ponder::CpuTarget> cpu =
      ponder::resolveCpuTarget(targetCpu, targetFeatures);
  if (!cpu) {
    llvm::errs() << "ponderc: " << llvm::toString(cpu.takeError()) << "\n";
    return 1;
  }
  if (emitAction == Emit::Artifact)
    return compileArtifact(*module, context, key, *cpu);
  std::string toolkit = target == Target::CUDA ? ponder::findCudaToolkit() : "";
  if (int status = lower(*module, context, toolkit, *cpu))
    return status;
  return printOutput(*module);
}

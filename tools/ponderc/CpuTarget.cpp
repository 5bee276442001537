//===- CpuTarget.cpp - The CPU an artifact is compiled for ----------------===//

#include "tools/ponderc/CpuTarget.h"

#include "runtime/ArtifactContract.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>

namespace ponder {

namespace {

/// An error for `message`, as ponderc prints them.
llvm::Error failure(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Checks every "+name" or "-name" of the comma-separated `features` against
/// the features `info` knows.
llvm::Error checkFeatureNames(const llvm::MCSubtargetInfo &info,
                              llvm::StringRef features) {
  llvm::SmallVector<llvm::StringRef> names;
  llvm::SplitString(features, names, ",");
  for (llvm::StringRef feature : names) {
    llvm::StringRef name = feature.drop_front();
    bool known = llvm::any_of(
        info.getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if (!(feature.starts_with("+") || feature.starts_with("-")) || !known)
      return failure("--target-features: unknown feature '" + feature +
                     "' (expected +NAME or -NAME; llc -mattr=help lists them)");
  }
  return llvm::Error::success();
}

} // namespace

std::string CpuTarget::summary() const {
  std::string name = machine.getCPU().empty() ? "generic" : machine.getCPU();
  std::string vector = isa.empty() ? std::to_string(vectorBits) + "-bit" : isa;
  return name + " (" + vector + ": " + std::to_string(vectorBits / 32) +
         " lanes, " + std::to_string(registers) + " registers)";
}

llvm::Expected<CpuTarget> resolveCpuTarget(llvm::StringRef cpu,
                                           llvm::StringRef features) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  bool host = cpu.empty() || cpu == "native";
  auto builder = host ? llvm::orc::JITTargetMachineBuilder::detectHost()
                      : llvm::orc::JITTargetMachineBuilder(
                            llvm::Triple(llvm::sys::getProcessTriple()));
  if (!builder)
    return builder.takeError();
  if (!host)
    builder->setCPU(cpu.str());
  builder->setRelocationModel(llvm::Reloc::PIC_);
  llvm::SmallVector<llvm::StringRef> extra;
  llvm::SplitString(features, extra, ",");
  builder->addFeatures(std::vector<std::string>(extra.begin(), extra.end()));

  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(builder->getTargetTriple(), error);
  if (!target)
    return failure(error);
  // Names are checked against the generic subtarget first: LLVM would warn
  // about an unknown one on stderr and go on.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(builder->getTargetTriple(), "", ""));
  if (!host && !generic->isCPUStringValid(cpu))
    return failure("--target-cpu: unknown CPU '" + cpu +
                   "' (llc -mcpu=help lists them)");
  if (llvm::Error e = checkFeatureNames(*generic, features))
    return std::move(e);
  // The subtarget as the backend will see it: the CPU's own features with
  // the explicit ones applied in order.
  std::unique_ptr<llvm::MCSubtargetInfo> info(target->createMCSubtargetInfo(
      builder->getTargetTriple(), builder->getCPU(),
      builder->getFeatures().getString()));

  CpuTarget result{std::move(*builder), 128, 16, ""};
  if (result.machine.getTargetTriple().isX86()) {
    // EVEX doubles the registers; AVX and SSE have 16.
    bool avx512 = info->checkFeatures("+avx512f");
    bool avx = info->checkFeatures("+avx");
    result.vectorBits = avx512 ? 512 : avx ? 256 : 128;
    result.registers = avx512 ? 32 : 16;
    result.isa = avx512                         ? PONDER_CPU_ISA_AVX512
                 : info->checkFeatures("+avx2") ? PONDER_CPU_ISA_AVX2
                 : avx                          ? PONDER_CPU_ISA_AVX
                                                : PONDER_CPU_ISA_SSE;
  } else if (result.machine.getTargetTriple().isAArch64()) {
    result.vectorBits = 128; // NEON: 32 registers of 4 f32
    result.registers = 32;
  }
  return result;
}

void chooseContractionTile(const CpuTarget &target,
                           mlir::ponder::CPUPipelineOptions &options) {
  int64_t registers = target.registers;
  options.lanes = target.vectorBits / 32;
  // Outer product: rows x vectors accumulators, the vectors of the streamed
  // operand and one broadcast must all stay in registers.
  options.vectors = 2;
  options.rows = std::min<int64_t>(8, (registers - 3) / 2);
  // Dot product: dotRows x dotCols partial sums plus one load per row and
  // column; 4 x 4 needs 24 registers, 4 x 2 fits in 16.
  options.dotRows = 4;
  options.dotCols = registers >= 24 ? 4 : 2;
}

} // namespace ponder

//===- CpuTarget.h - The CPU an artifact is compiled for --------*- C++ -*-===//
//
// `ponderc --target=cpu` compiles for the host by default, or for the CPU
// that --target-cpu and --target-features name (spelt as for llc and clang),
// so that code for another machine can be built and timed on this one. The
// target decides the register tile of ponder-vectorize-contractions: with
// AVX-512, 16 f32 lanes and 32 vector registers; with AVX2, 8 lanes and 16
// registers, where the AVX-512 tile would spill (docs/performance.md).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDERC_CPUTARGET_H
#define PONDER_TOOLS_PONDERC_CPUTARGET_H

#include "passes/Pipelines.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/Error.h"

#include <string>

namespace ponder {

struct CpuTarget {
  llvm::orc::JITTargetMachineBuilder machine; // triple, CPU and features
  /// The widest f32 vector the target has, in bits, and how many vector
  /// registers it has.
  unsigned vectorBits = 128;
  unsigned registers = 16;

  /// "avx512", "avx2", "avx" or "sse" on x86, "" elsewhere: the vector
  /// instructions the code needs from the CPU that runs it (the artifact
  /// descriptor's `cpu_isa`).
  std::string isa;
  /// "rocketlake (avx512: 16 lanes, 32 registers)", for messages.
  std::string summary() const;
};

/// The host CPU when `cpu` is "" or "native" (with its features, to which
/// `features` adds), else the CPU `cpu` of the host's triple. An unknown CPU
/// or feature is an error naming it.
llvm::Expected<CpuTarget> resolveCpuTarget(llvm::StringRef cpu,
                                           llvm::StringRef features);

/// Sets the register tile of `options` for `target`.
void chooseContractionTile(const CpuTarget &target,
                           mlir::ponder::CPUPipelineOptions &options);

} // namespace ponder

#endif // PONDER_TOOLS_PONDERC_CPUTARGET_H

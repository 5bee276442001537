//===- ArtifactWriter.h - Compile a model to a shared object ----*- C++ -*-===//
//
// `ponderc --emit=artifact`: the model's @forward and @loss compiled for the
// host CPU into a shared object with the versioned C ABI of
// docs/artifact-abi.md.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDERC_ARTIFACTWRITER_H
#define PONDER_TOOLS_PONDERC_ARTIFACTWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"

#include "runtime/ArtifactContract.h"

#include <string>

namespace ponder {

/// The descriptor JSON of a ponder-level module built by buildModel:
/// parameters and entry points with argument names, dtypes and shapes.
/// `modelHash` identifies the description and compiler; `target` is "cpu"
/// or "cuda". For "cpu", `cpu` names the CPU the code is for and `cpuIsa`
/// the vector instructions it needs (CpuTarget.h).
std::string describeArtifact(mlir::ModuleOp module, llvm::StringRef modelHash,
                             llvm::StringRef target, llvm::StringRef cpu = "",
                             llvm::StringRef cpuIsa = "");

/// Marks the entry functions for C interfaces; call before lowering.
void prepareEntryPoints(mlir::ModuleOp module);

/// Translates a module in the LLVM dialect (after the CPU or GPU pipeline and
/// ponder-generate-entry-points) to a shared object at `outputPath` for the
/// CPU of `machine`, embedding `descriptor`. A `cuda` artifact's host code
/// reaches the runtime's launch layer through pointers the runtime binds when
/// it loads it (docs/artifact-abi.md). Writes through a temporary file: on
/// failure nothing is left at `outputPath` and `error` says why.
bool writeArtifact(mlir::ModuleOp module, llvm::StringRef descriptor,
                   llvm::StringRef outputPath, bool cuda,
                   const llvm::orc::JITTargetMachineBuilder &machine,
                   std::string &error);

} // namespace ponder

#endif // PONDER_TOOLS_PONDERC_ARTIFACTWRITER_H

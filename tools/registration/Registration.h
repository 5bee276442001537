//===- Registration.h - Dialects and passes of the tools --------*- C++ -*-===//
//
// One registration point shared by ponder-opt and ponderc so the tools cannot
// drift apart. The heavy upstream registration headers are included only in
// Registration.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_REGISTRATION_H
#define PONDER_TOOLS_REGISTRATION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace ponder {

/// Registers the ponder dialect and the upstream dialects the pipeline uses
/// (func, arith, math, scf, cf, tensor, linalg, memref, bufferization, vector,
/// gpu, nvvm, llvm, affine), with their interface extensions.
void registerPonderDialects(mlir::DialectRegistry &registry);

/// Registers the upstream passes and Ponder's own passes with the global
/// pass registry (for --pass-pipeline and the per-pass flags).
void registerPonderPasses();

} // namespace ponder

#endif // PONDER_TOOLS_REGISTRATION_H

//===- Passes.td - Ponder passes ---------------------------*- tablegen -*-===//

#ifndef PONDER_PASSES_TD
#define PONDER_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertPonderToLinalg : Pass<"convert-ponder-to-linalg", "ModuleOp"> {
  let summary = "Lower ponder layers and halting loops to linalg and scf";
  let description = [{
    Rewrites the layer operations of the ponder dialect (`embed`,
    `step_embed`, `rms_norm`, `linear`, `gelu`, `attention`, `select_step`)
    into `linalg.generic` ops on tensors, with the numerics of MODEL.md §4.
    Every result stays a tensor, so bufferization, tiling, vectorisation and
    fusion apply afterwards. Ops this pass does not lower yet (the halting
    loop and the losses) are left in place.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // PONDER_PASSES_TD

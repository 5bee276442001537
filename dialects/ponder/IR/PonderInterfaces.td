//===- PonderInterfaces.td - Ponder op interfaces ----------*- tablegen -*-===//
//
// Reverse-mode differentiation: every differentiable op states its
// vector-Jacobian product, and the ponder-autodiff pass composes them.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_DIALECT_PONDERINTERFACES_TD
#define PONDER_DIALECT_PONDERINTERFACES_TD

include "mlir/IR/OpBase.td"

def Ponder_DifferentiableOpInterface
    : OpInterface<"DifferentiableOpInterface"> {
  let description = [{
    An op whose reverse-mode derivative the `ponder-autodiff` pass can build.
    `buildVJP` receives one cotangent per result (a null Value where the
    result does not reach the differentiated output, and always for integer
    results) and returns one cotangent per operand (null where the operand
    is not differentiable, e.g. token ids, or receives nothing). Ops with
    regions (the halting loop) are differentiated by the pass itself.
  }];
  let cppNamespace = "::mlir::ponder";
  let methods = [
    InterfaceMethod<
      "Emits the vector-Jacobian product at `builder`'s insertion point.",
      "::llvm::SmallVector<::mlir::Value>", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ArrayRef<::mlir::Value>":$resultGrads)>,
  ];
}

#endif // PONDER_DIALECT_PONDERINTERFACES_TD

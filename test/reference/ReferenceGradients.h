//===- ReferenceGradients.h - Gradients of the reference's loss -*- C++ -*-===//
//
// The gradient of the contract's total loss L (MODEL.md §5) with respect to
// every parameter, by central differences of the double-precision reference:
// an oracle for the compiler's reverse mode that shares no code with it.
//
// L is differentiable wherever no halting decision changes: ACT's N is
// piecewise constant and the gradient flows through R only (§5); under the
// hidden channel (§9) PonderNet's N also picks the state that feeds the next
// thought. Each perturbation's halting steps are compared with the unperturbed
// ones, and a change is reported as an error rather than returned as a
// gradient. Under Hidden the differences include every path through thought
// inputs, as §9 asks of the training step.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TEST_REFERENCE_REFERENCEGRADIENTS_H
#define PONDER_TEST_REFERENCE_REFERENCEGRADIENTS_H

#include "test/reference/ContractReference.h"

namespace ponder::reference {

struct Gradients {
  /// Non-empty when the inputs were rejected or a perturbation changed a
  /// halting decision; then `grads` is incomplete.
  std::string error;
  std::map<std::string, Tensor> grads; // dL/dparam, the parameter's layout
  Outputs outputs;                     // the unperturbed run
};

/// dL/dparam for every parameter by (L(p + h) - L(p - h)) / 2h.
Gradients finiteDifferenceGradients(const Config &config,
                                    const Weights &weights, const Batch &batch,
                                    double h = 1e-6);

} // namespace ponder::reference

#endif // PONDER_TEST_REFERENCE_REFERENCEGRADIENTS_H

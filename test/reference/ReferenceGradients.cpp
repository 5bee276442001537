//===- ReferenceGradients.cpp - Gradients of the reference's loss ---------===//

#include "test/reference/ReferenceGradients.h"

namespace ponder::reference {

Gradients finiteDifferenceGradients(const Config &config,
                                    const Weights &weights, const Batch &batch,
                                    double h) {
  Gradients g;
  g.outputs = run(config, weights, batch);
  if (!g.outputs.error.empty()) {
    g.error = g.outputs.error;
    return g;
  }
  Weights perturbed = weights;
  for (const auto &[name, shape] : parameterShapes(config)) {
    Tensor &param = perturbed.tensors.at(name);
    Tensor &grad = g.grads[name];
    grad.assign(param.size(), 0.0);
    for (size_t i = 0; i < param.size(); ++i) {
      double saved = param[i];
      double loss[2];
      for (int side = 0; side < 2; ++side) {
        param[i] = saved + (side == 0 ? h : -h);
        Outputs o = run(config, perturbed, batch);
        if (o.steps != g.outputs.steps) {
          g.error = "perturbing " + name + "[" + std::to_string(i) +
                    "] changes a halting decision";
          return g;
        }
        loss[side] = o.loss;
      }
      param[i] = saved;
      grad[i] = (loss[0] - loss[1]) / (2 * h);
    }
  }
  return g;
}

} // namespace ponder::reference

//===- JitModel.cpp - Run a compiled model in-process (tests only) --------===//

#include "unittests/compiler/JitModel.h"

#include "frontend/BuildModel.h"
#include "passes/Pipelines.h"
#include "tools/registration/Registration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <cstring>

using namespace ponder;
using namespace ponder::testing;

namespace {

/// A memref descriptor of rank N as the C interface passes it.
template <typename T, int N> struct Desc {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};
template <typename T> struct Desc<T, 0> {
  T *allocated;
  T *aligned;
  int64_t offset;
};

template <typename T, int N>
Desc<T, N> view(const T *data, const std::vector<int64_t> &shape) {
  Desc<T, N> d;
  d.allocated = d.aligned = const_cast<T *>(data);
  d.offset = 0;
  if constexpr (N > 0) {
    int64_t stride = 1;
    for (int i = N - 1; i >= 0; --i) {
      d.sizes[i] = shape[i];
      d.strides[i] = stride;
      stride *= shape[i];
    }
  }
  return d;
}

/// Copies a returned (malloc'd) buffer out and frees it.
template <typename T, int N> std::vector<T> take(Desc<T, N> &d) {
  int64_t count = 1;
  if constexpr (N > 0)
    for (int i = 0; i < N; ++i)
      count *= d.sizes[i];
  std::vector<T> out(d.aligned + d.offset, d.aligned + d.offset + count);
  // Constants come back as views of globals, marked by this sentinel.
  if (reinterpret_cast<uintptr_t>(d.allocated) != 0xdeadbeef)
    std::free(d.allocated);
  return out;
}

struct ForwardResults {
  Desc<float, 3> logits;
  Desc<int32_t, 2> steps;
  Desc<float, 2> remainder;
};

struct LossResults {
  Desc<float, 0> loss, ce, ponder, policy;
  Desc<float, 3> logits;
  Desc<int32_t, 2> steps;
  Desc<float, 2> remainder;
};

} // namespace

JitModel::~JitModel() = default;

std::unique_ptr<JitModel> JitModel::compile(const ModelDescription &desc,
                                            std::string &error,
                                            Backend backend) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::unique_ptr<JitModel> model(new JitModel());
  model->desc = desc;
  mlir::DialectRegistry registry;
  registerPonderDialects(registry);
  model->context = std::make_unique<mlir::MLIRContext>(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module = buildModel(*model->context, desc);
  // C interfaces take descriptors by pointer: one calling convention for any
  // rank.
  module->walk([](mlir::func::FuncOp f) {
    f->setAttr("llvm.emit_c_interface", mlir::UnitAttr::get(f->getContext()));
  });
  mlir::PassManager pm(model->context.get());
  mlir::ponder::LowerToLinalgOptions lowering;
  lowering.fusedAttention = backend != Backend::CpuScoreMatrices;
  // The CPU's attention loops in 8-lane vectors (AVX2's), which every
  // x86-64 host runs; the GPU's in scalars.
  bool cpu = backend != Backend::EmulatedGpu;
  lowering.attentionLanes = cpu ? 8 : 1;
  mlir::ponder::buildLowerToLinalgPipeline(pm, lowering);
  if (cpu)
    mlir::ponder::buildLinalgToLLVMPipeline(pm);
  else
    mlir::ponder::buildLinalgToGPUEmulatedPipeline(pm);
  if (mlir::failed(pm.run(*module))) {
    error = "lowering failed";
    return nullptr;
  }
  mlir::ExecutionEngineOptions options;
  llvm::SmallVector<llvm::StringRef> libraries = {PONDER_MLIR_C_RUNNER_UTILS,
                                                  PONDER_LIBOMP};
  options.sharedLibPaths = libraries;
  auto engine = mlir::ExecutionEngine::create(*module, options);
  if (!engine) {
    error = llvm::toString(engine.takeError());
    return nullptr;
  }
  model->engine = std::move(*engine);
  return model;
}

ModelOutputs JitModel::forward(const WeightMap &weights,
                               const BatchInput &batch) {
  return run(false, weights, batch);
}

ModelOutputs JitModel::loss(const WeightMap &weights, const BatchInput &batch) {
  return run(true, weights, batch);
}

ModelOutputs JitModel::run(bool withLoss, const WeightMap &weights,
                           const BatchInput &batch) {
  int64_t b = batch.batch, t = batch.length, v = desc.model.vocabSize();
  // Descriptors must outlive the call: keep them in stable storage.
  std::vector<Desc<int32_t, 2>> ids2;
  std::vector<Desc<int32_t, 1>> ids1;
  std::vector<Desc<float, 1>> f1;
  std::vector<Desc<float, 2>> f2;
  std::vector<Desc<float, 3>> f3;
  ids2.reserve(2);
  f1.reserve(32);
  f2.reserve(32);
  f3.reserve(2);
  std::vector<void *> descriptors;
  ids2.push_back(view<int32_t, 2>(batch.ids.data(), {b, t}));
  descriptors.push_back(&ids2.back());
  ids1.push_back(view<int32_t, 1>(batch.lengths.data(), {b}));
  descriptors.push_back(&ids1.back());
  if (withLoss) {
    f2.push_back(view<float, 2>(batch.targetWeight.data(), {b, t}));
    descriptors.push_back(&f2.back());
    f2.push_back(view<float, 2>(batch.advantage.data(), {b, t}));
    descriptors.push_back(&f2.back());
    if (desc.loss.referenceMix > 0) {
      f3.push_back(view<float, 3>(batch.referenceLogits.data(), {b, t, v}));
      descriptors.push_back(&f3.back());
    }
  }
  for (const ParameterSpec &p : getParameters(desc)) {
    const float *data = weights.at(p.name).data();
    if (p.shape.size() == 1) {
      f1.push_back(view<float, 1>(data, p.shape));
      descriptors.push_back(&f1.back());
    } else {
      f2.push_back(view<float, 2>(data, p.shape));
      descriptors.push_back(&f2.back());
    }
  }

  ForwardResults forwardResults;
  LossResults lossResults;
  void *resultPtr = withLoss ? static_cast<void *>(&lossResults)
                             : static_cast<void *>(&forwardResults);
  std::vector<void *> args = {&resultPtr};
  for (void *&d : descriptors)
    args.push_back(&d);
  llvm::Error err = engine->invokePacked(
      withLoss ? "_mlir_ciface_loss" : "_mlir_ciface_forward", args);
  if (err) {
    llvm::errs() << "invoke failed: " << llvm::toString(std::move(err)) << "\n";
    std::abort();
  }
  ModelOutputs out;
  if (withLoss) {
    out.loss = take(lossResults.loss)[0];
    out.ce = take(lossResults.ce)[0];
    out.ponder = take(lossResults.ponder)[0];
    out.policy = take(lossResults.policy)[0];
    out.logits = take(lossResults.logits);
    out.steps = take(lossResults.steps);
    out.remainder = take(lossResults.remainder);
  } else {
    out.logits = take(forwardResults.logits);
    out.steps = take(forwardResults.steps);
    out.remainder = take(forwardResults.remainder);
  }
  return out;
}

//===- VJPTest.cpp - Each op's VJP against finite differences -------------===//
//
// For every differentiable ponder op, the lowered gradient op is compared
// with central differences of the lowered forward op, both compiled through
// the CPU pipeline and run in-process: along random directions u of every
// differentiable input, <dy, (f(x + h u) - f(x - h u)) / 2h> must equal
// <dx, u> (float32; h = 1e-2, agreement within 2e-3 of the larger side plus
// 1e-4). The whole training step is checked against the double-precision
// reference in unittests/tools/GradientTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines.h"
#include "tools/registration/Registration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace {

/// A dense row-major buffer: float or int32.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<float> f;
  std::vector<int32_t> i;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  const void *data() const {
    return i.empty() ? static_cast<const void *>(f.data())
                     : static_cast<const void *>(i.data());
  }
};

Buffer floats(std::vector<int64_t> shape, std::mt19937 &rng, double scale = 1.0,
              double offset = 0.0) {
  Buffer b{std::move(shape), {}, {}};
  std::normal_distribution<float> normal(0.0f, float(scale));
  b.f.resize(size_t(b.size()));
  for (float &x : b.f)
    x = float(offset) + normal(rng);
  return b;
}

Buffer ints(std::vector<int64_t> shape, std::vector<int32_t> values) {
  return Buffer{std::move(shape), {}, std::move(values)};
}

/// Compiles a module of func.funcs and calls them with Buffers.
class Jit {
public:
  /// The CPU pipeline, or the GPU target's lowering (fused attention, the
  /// kernel mapping) with its launches emulated on the host.
  enum class Target { Cpu, EmulatedGpu };
  explicit Jit(const std::string &source, Target target = Target::Cpu) {
    compile(source, target);
  }

  /// Calls @name; `results` gives each result's rank and whether it is i32.
  std::vector<Buffer> call(const std::string &name,
                           const std::vector<const Buffer *> &inputs,
                           const std::vector<std::pair<int, bool>> &results);

private:
  void compile(const std::string &source, Target target) {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    mlir::DialectRegistry registry;
    ponder::registerPonderDialects(registry);
    context = std::make_unique<mlir::MLIRContext>(registry);
    auto module =
        mlir::parseSourceString<mlir::ModuleOp>(source, context.get());
    ASSERT_TRUE(module) << source;
    module->walk([](mlir::func::FuncOp f) {
      f->setAttr("llvm.emit_c_interface", mlir::UnitAttr::get(f->getContext()));
    });
    mlir::PassManager pm(context.get());
    mlir::ponder::LowerToLinalgOptions lowering;
    lowering.fusedAttention = target == Target::EmulatedGpu;
    mlir::ponder::buildLowerToLinalgPipeline(pm, lowering);
    if (target == Target::Cpu)
      mlir::ponder::buildLinalgToLLVMPipeline(pm);
    else
      mlir::ponder::buildLinalgToGPUEmulatedPipeline(pm);
    ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
    mlir::ExecutionEngineOptions options;
    llvm::SmallVector<llvm::StringRef> libraries = {PONDER_MLIR_C_RUNNER_UTILS,
                                                    PONDER_LIBOMP};
    options.sharedLibPaths = libraries;
    auto engine = mlir::ExecutionEngine::create(*module, options);
    ASSERT_TRUE(static_cast<bool>(engine));
    this->engine = std::move(*engine);
  }

  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

std::vector<Buffer>
Jit::call(const std::string &name, const std::vector<const Buffer *> &inputs,
          const std::vector<std::pair<int, bool>> &results) {
  std::vector<std::vector<int64_t>> descriptors;
  for (const Buffer *b : inputs) {
    auto address = reinterpret_cast<int64_t>(b->data());
    std::vector<int64_t> words = {address, address, 0};
    words.insert(words.end(), b->shape.begin(), b->shape.end());
    std::vector<int64_t> strides(b->shape.size(), 1);
    for (int d = int(b->shape.size()) - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * b->shape[d + 1];
    words.insert(words.end(), strides.begin(), strides.end());
    descriptors.push_back(std::move(words));
  }
  size_t resultWords = 0;
  for (auto [rank, _] : results)
    resultWords += 3 + 2 * size_t(rank);
  std::vector<int64_t> out(resultWords, 0);
  void *resultPtr = out.data();
  std::vector<void *> pointers;
  for (auto &d : descriptors)
    pointers.push_back(d.data());
  std::vector<void *> args = {&resultPtr};
  for (void *&p : pointers)
    args.push_back(&p);
  llvm::Error error = engine->invokePacked("_mlir_ciface_" + name, args);
  EXPECT_FALSE(static_cast<bool>(error));
  if (error)
    llvm::consumeError(std::move(error));
  std::vector<Buffer> buffers;
  size_t at = 0;
  for (auto [rank, isInt] : results) {
    Buffer b;
    b.shape.assign(out.begin() + at + 3, out.begin() + at + 3 + rank);
    int64_t n = b.size();
    auto *aligned = reinterpret_cast<const char *>(out[at + 1]);
    if (isInt) {
      b.i.resize(size_t(n));
      std::memcpy(b.i.data(), aligned + out[at + 2] * 4, size_t(n) * 4);
    } else {
      b.f.resize(size_t(n));
      std::memcpy(b.f.data(), aligned + out[at + 2] * 4, size_t(n) * 4);
    }
    if (out[at] != 0xdeadbeef)
      std::free(reinterpret_cast<void *>(out[at]));
    buffers.push_back(std::move(b));
    at += 3 + 2 * size_t(rank);
  }
  return buffers;
}

/// Checks @vjp against central differences of @fwd. `inputs` are @fwd's
/// arguments; @vjp takes the output cotangent(s) then the same arguments
/// and returns the cotangents of the inputs listed in `wrt`.
void checkVJP(Jit &jit, std::vector<Buffer> inputs,
              const std::vector<std::pair<int, bool>> &outputs,
              const std::vector<size_t> &wrt, std::mt19937 &rng,
              double h = 1e-2) {
  std::vector<const Buffer *> args;
  for (const Buffer &b : inputs)
    args.push_back(&b);
  std::vector<Buffer> y = jit.call("fwd", args, outputs);
  std::vector<Buffer> dy;
  for (const Buffer &b : y)
    dy.push_back(floats(b.shape, rng));
  std::vector<const Buffer *> vjpArgs;
  for (const Buffer &b : dy)
    vjpArgs.push_back(&b);
  vjpArgs.insert(vjpArgs.end(), args.begin(), args.end());
  std::vector<std::pair<int, bool>> gradShapes;
  for (size_t k : wrt)
    gradShapes.push_back({int(inputs[k].shape.size()), false});
  std::vector<Buffer> grads = jit.call("vjp", vjpArgs, gradShapes);

  auto objective = [&](const std::vector<Buffer> &x) {
    std::vector<const Buffer *> a;
    for (const Buffer &b : x)
      a.push_back(&b);
    std::vector<Buffer> out = jit.call("fwd", a, outputs);
    double total = 0;
    for (size_t r = 0; r < out.size(); ++r)
      for (size_t e = 0; e < out[r].f.size(); ++e)
        total += double(dy[r].f[e]) * out[r].f[e];
    return total;
  };
  for (size_t w = 0; w < wrt.size(); ++w) {
    for (int trial = 0; trial < 3; ++trial) {
      Buffer u = floats(inputs[wrt[w]].shape, rng);
      std::vector<Buffer> plus = inputs, minus = inputs;
      for (size_t e = 0; e < u.f.size(); ++e) {
        plus[wrt[w]].f[e] += float(h) * u.f[e];
        minus[wrt[w]].f[e] -= float(h) * u.f[e];
      }
      double numeric = (objective(plus) - objective(minus)) / (2 * h);
      double analytic = 0;
      for (size_t e = 0; e < u.f.size(); ++e)
        analytic += double(grads[w].f[e]) * u.f[e];
      EXPECT_NEAR(analytic, numeric,
                  2e-3 * std::max(std::abs(analytic), std::abs(numeric)) + 1e-4)
          << "input " << wrt[w] << ", direction " << trial;
    }
  }
}

TEST(VJP, Linear) {
  Jit jit(R"mlir(
    func.func @fwd(%x: tensor<2x3x4xf32>, %w: tensor<5x4xf32>) -> tensor<2x3x5xf32> {
      %y = ponder.linear %x, %w : (tensor<2x3x4xf32>, tensor<5x4xf32>) -> tensor<2x3x5xf32>
      return %y : tensor<2x3x5xf32>
    }
    func.func @vjp(%dy: tensor<2x3x5xf32>, %x: tensor<2x3x4xf32>, %w: tensor<5x4xf32>)
        -> (tensor<2x3x4xf32>, tensor<5x4xf32>) {
      %dx, %dw = ponder.linear_grad %dy, %x, %w : tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<5x4xf32>
      return %dx, %dw : tensor<2x3x4xf32>, tensor<5x4xf32>
    })mlir");
  std::mt19937 rng(1);
  checkVJP(jit, {floats({2, 3, 4}, rng), floats({5, 4}, rng)}, {{3, false}},
           {0, 1}, rng);
}

TEST(VJP, RMSNormAndGelu) {
  Jit jit(R"mlir(
    func.func @fwd(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
      %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<2x3x4xf32>, tensor<4xf32>
      %g = ponder.gelu %x : tensor<2x3x4xf32>
      return %y, %g : tensor<2x3x4xf32>, tensor<2x3x4xf32>
    }
    func.func @vjp(%dy: tensor<2x3x4xf32>, %dg: tensor<2x3x4xf32>, %x: tensor<2x3x4xf32>, %w: tensor<4xf32>)
        -> (tensor<2x3x4xf32>, tensor<4xf32>) {
      %dx, %dw = ponder.rms_norm_grad %dy, %x, %w epsilon(1.0e-5) : tensor<2x3x4xf32>, tensor<4xf32>
      %dxg = ponder.gelu_grad %dg, %x : tensor<2x3x4xf32>
      %sum = arith.addf %dx, %dxg : tensor<2x3x4xf32>
      return %sum, %dw : tensor<2x3x4xf32>, tensor<4xf32>
    })mlir");
  std::mt19937 rng(2);
  checkVJP(jit, {floats({2, 3, 4}, rng), floats({4}, rng, 0.5, 1.0)},
           {{3, false}, {3, false}}, {0, 1}, rng);
}

TEST(VJP, AttentionWithPadding) {
  Jit jit(R"mlir(
    func.func @fwd(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>, %l: tensor<2xi32>) -> tensor<2x3x4xf32> {
      %y = ponder.attention %q, %k, %v, %l heads(2) : tensor<2x3x4xf32>, tensor<2xi32>
      return %y : tensor<2x3x4xf32>
    }
    func.func @vjp(%dy: tensor<2x3x4xf32>, %q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>, %l: tensor<2xi32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
      %dq, %dk, %dv = ponder.attention_grad %dy, %q, %k, %v, %l heads(2) : tensor<2x3x4xf32>, tensor<2xi32>
      return %dq, %dk, %dv : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
    })mlir");
  std::mt19937 rng(3);
  checkVJP(jit,
           {floats({2, 3, 4}, rng), floats({2, 3, 4}, rng),
            floats({2, 3, 4}, rng), ints({2}, {3, 2})},
           {{3, false}}, {0, 1, 2}, rng);
}

/// Every result of `a` and `b` agrees within `tolerance` of its largest
/// magnitude.
void expectSameResults(const std::vector<Buffer> &a,
                       const std::vector<Buffer> &b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t r = 0; r < a.size(); ++r) {
    ASSERT_EQ(a[r].shape, b[r].shape);
    double largest = 0;
    for (float x : a[r].f)
      largest = std::max(largest, double(std::abs(x)));
    for (size_t e = 0; e < a[r].f.size(); ++e)
      EXPECT_NEAR(a[r].f[e], b[r].f[e], tolerance * largest)
          << "result " << r << ", element " << e;
  }
}

// The GPU target's online-softmax attention (FusedAttention.cpp) through
// the kernel mapping: its gradient matches central differences of its
// forward, and both match the CPU's score-matrix lowering. Rows of 5, 3 and
// 1 valid positions; 2 heads of 4.
TEST(VJP, FusedAttentionOnTheGpuMapping) {
  const char *source = R"mlir(
    func.func @fwd(%q: tensor<3x5x8xf32>, %k: tensor<3x5x8xf32>, %v: tensor<3x5x8xf32>, %l: tensor<3xi32>) -> tensor<3x5x8xf32> {
      %y = ponder.attention %q, %k, %v, %l heads(2) : tensor<3x5x8xf32>, tensor<3xi32>
      return %y : tensor<3x5x8xf32>
    }
    func.func @vjp(%dy: tensor<3x5x8xf32>, %q: tensor<3x5x8xf32>, %k: tensor<3x5x8xf32>, %v: tensor<3x5x8xf32>, %l: tensor<3xi32>)
        -> (tensor<3x5x8xf32>, tensor<3x5x8xf32>, tensor<3x5x8xf32>) {
      %dq, %dk, %dv = ponder.attention_grad %dy, %q, %k, %v, %l heads(2) : tensor<3x5x8xf32>, tensor<3xi32>
      return %dq, %dk, %dv : tensor<3x5x8xf32>, tensor<3x5x8xf32>, tensor<3x5x8xf32>
    })mlir";
  Jit gpu(source, Jit::Target::EmulatedGpu), cpu(source);
  std::mt19937 rng(5);
  std::vector<Buffer> padded = {floats({3, 5, 8}, rng), floats({3, 5, 8}, rng),
                                floats({3, 5, 8}, rng), ints({3}, {5, 3, 1})};
  checkVJP(gpu, padded, {{3, false}}, {0, 1, 2}, rng);
  Buffer dy = floats({3, 5, 8}, rng);
  std::vector<const Buffer *> args = {&padded[0], &padded[1], &padded[2],
                                      &padded[3]};
  std::vector<const Buffer *> vjpArgs = {&dy, &padded[0], &padded[1],
                                         &padded[2], &padded[3]};
  std::vector<std::pair<int, bool>> one = {{3, false}};
  std::vector<std::pair<int, bool>> three(3, {3, false});
  expectSameResults(cpu.call("fwd", args, one), gpu.call("fwd", args, one),
                    1e-5);
  expectSameResults(cpu.call("vjp", vjpArgs, three),
                    gpu.call("vjp", vjpArgs, three), 1e-5);
}

// Cached decoding's attention on the GPU target reads keys from the cache
// below start[b] and from the new positions above, as the CPU's does.
TEST(VJP, FusedCachedAttentionMatchesTheCpu) {
  const char *source = R"mlir(
    func.func @fwd(%q: tensor<2x3x8xf32>, %k: tensor<2x3x8xf32>, %v: tensor<2x3x8xf32>,
                   %kc: tensor<2x2x7x8xf32>, %vc: tensor<2x2x7x8xf32>, %s: tensor<2xi32>, %l: tensor<2xi32>) -> tensor<2x3x8xf32> {
      %step = arith.constant 1 : index
      %y = ponder.cached_attention %q, %k, %v, %kc, %vc[%step] start(%s) lengths(%l) heads(2) : tensor<2x3x8xf32>, tensor<2x2x7x8xf32>, tensor<2xi32>
      return %y : tensor<2x3x8xf32>
    })mlir";
  Jit gpu(source, Jit::Target::EmulatedGpu), cpu(source);
  std::mt19937 rng(7);
  std::vector<Buffer> inputs = {
      floats({2, 3, 8}, rng),    floats({2, 3, 8}, rng),
      floats({2, 3, 8}, rng),    floats({2, 2, 7, 8}, rng),
      floats({2, 2, 7, 8}, rng), ints({2}, {4, 0}),
      ints({2}, {3, 2})};
  std::vector<const Buffer *> args;
  for (const Buffer &b : inputs)
    args.push_back(&b);
  expectSameResults(cpu.call("fwd", args, {{3, false}}),
                    gpu.call("fwd", args, {{3, false}}), 1e-5);
}

TEST(VJP, EmbedStepEmbedAndSelectStep) {
  Jit jit(R"mlir(
    func.func @fwd(%tok: tensor<5x4xf32>, %pos: tensor<6x4xf32>, %table: tensor<3x4xf32>, %in: tensor<3x2x3x4xf32>, %ids: tensor<2x3xi32>, %steps: tensor<2x3xi32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
      %x = ponder.embed %ids, %tok, %pos vocab <verbal = 4, think = 1> : (tensor<2x3xi32>, tensor<5x4xf32>, tensor<6x4xf32>) -> tensor<2x3x4xf32>
      %c1 = arith.constant 1 : index
      %u = ponder.step_embed %x, %table[%c1] : tensor<2x3x4xf32>, tensor<3x4xf32>
      %s = ponder.select_step %in, %steps : (tensor<3x2x3x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
      return %u, %s : tensor<2x3x4xf32>, tensor<2x3x4xf32>
    }
    func.func @vjp(%du: tensor<2x3x4xf32>, %ds: tensor<2x3x4xf32>, %tok: tensor<5x4xf32>, %pos: tensor<6x4xf32>, %table: tensor<3x4xf32>, %in: tensor<3x2x3x4xf32>, %ids: tensor<2x3xi32>, %steps: tensor<2x3xi32>)
        -> (tensor<5x4xf32>, tensor<6x4xf32>, tensor<3x4xf32>, tensor<3x2x3x4xf32>) {
      %c1 = arith.constant 1 : index
      %dt, %dp = ponder.embed_grad %du, %ids vocab <verbal = 4, think = 1> : (tensor<2x3x4xf32>, tensor<2x3xi32>) -> (tensor<5x4xf32>, tensor<6x4xf32>)
      %dtable = ponder.step_embed_grad %du[%c1] : tensor<2x3x4xf32> -> tensor<3x4xf32>
      %din = ponder.select_step_grad %ds, %steps : (tensor<2x3x4xf32>, tensor<2x3xi32>) -> tensor<3x2x3x4xf32>
      return %dt, %dp, %dtable, %din : tensor<5x4xf32>, tensor<6x4xf32>, tensor<3x4xf32>, tensor<3x2x3x4xf32>
    })mlir");
  std::mt19937 rng(4);
  checkVJP(jit,
           {floats({5, 4}, rng), floats({6, 4}, rng), floats({3, 4}, rng),
            floats({3, 2, 3, 4}, rng), ints({2, 3}, {4, 0, 4, 2, 1, 3}),
            ints({2, 3}, {1, 3, 2, 3, 2, 0})},
           {{3, false}, {3, false}}, {0, 1, 2, 3}, rng);
}

TEST(VJP, VerbalCrossEntropyWithSmoothingAndReference) {
  Jit jit(R"mlir(
    func.func @fwd(%z: tensor<2x4x6xf32>, %ref: tensor<2x4x6xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>, %tw: tensor<2x4xf32>) -> tensor<f32> {
      %c = ponder.verbal_xent %z, %ids, %l, %tw reference(%ref : tensor<2x4x6xf32>) vocab <verbal = 4, think = 2> {smoothing = 0.1, reference_mix = 0.2, reference_temperature = 1.5} : tensor<2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<f32>
      return %c : tensor<f32>
    }
    func.func @vjp(%dc: tensor<f32>, %z: tensor<2x4x6xf32>, %ref: tensor<2x4x6xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>, %tw: tensor<2x4xf32>) -> tensor<2x4x6xf32> {
      %dz = ponder.verbal_xent_grad %dc, %z, %ids, %l, %tw reference(%ref : tensor<2x4x6xf32>) vocab <verbal = 4, think = 2> {smoothing = 0.1, reference_mix = 0.2, reference_temperature = 1.5} : tensor<f32>, tensor<2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<2x4x6xf32>
      return %dz : tensor<2x4x6xf32>
    })mlir");
  std::mt19937 rng(5);
  Buffer weight = floats({2, 4}, rng, 0.0, 1.0);
  weight.f[2] = 0.0f; // a masked target
  checkVJP(jit,
           {floats({2, 4, 6}, rng), floats({2, 4, 6}, rng),
            ints({2, 4}, {1, 0, 5, 3, 2, 4, 1, 0}), ints({2}, {4, 3}), weight},
           {{0, false}}, {0}, rng);
}

TEST(VJP, PonderNetExpectedCrossEntropy) {
  Jit jit(R"mlir(
    func.func @fwd(%z: tensor<3x2x4x6xf32>, %p: tensor<3x2x4xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>, %tw: tensor<2x4xf32>) -> tensor<f32> {
      %c = ponder.verbal_xent %z, %ids, %l, %tw step_probs(%p : tensor<3x2x4xf32>) vocab <verbal = 4, think = 2> : tensor<3x2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<f32>
      return %c : tensor<f32>
    }
    func.func @vjp(%dc: tensor<f32>, %z: tensor<3x2x4x6xf32>, %p: tensor<3x2x4xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>, %tw: tensor<2x4xf32>) -> (tensor<3x2x4x6xf32>, tensor<3x2x4xf32>) {
      %dz, %dp = ponder.verbal_xent_grad %dc, %z, %ids, %l, %tw step_probs(%p : tensor<3x2x4xf32>) vocab <verbal = 4, think = 2> : tensor<f32>, tensor<3x2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<3x2x4x6xf32>, tensor<3x2x4xf32>
      return %dz, %dp : tensor<3x2x4x6xf32>, tensor<3x2x4xf32>
    })mlir");
  std::mt19937 rng(6);
  checkVJP(jit,
           {floats({3, 2, 4, 6}, rng), floats({3, 2, 4}, rng, 0.2, 0.3),
            ints({2, 4}, {1, 0, 2, 3, 2, 1, 1, 0}), ints({2}, {4, 3}),
            floats({2, 4}, rng, 0.0, 1.0)},
           {{0, false}}, {0, 1}, rng);
}

TEST(VJP, PolicyLossWithThinkTokens) {
  Jit jit(R"mlir(
    func.func @fwd(%z: tensor<2x4x6xf32>, %a: tensor<2x4xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>) -> tensor<f32> {
      %c = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 4, think = 2> : tensor<2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<f32>
      return %c : tensor<f32>
    }
    func.func @vjp(%dc: tensor<f32>, %z: tensor<2x4x6xf32>, %a: tensor<2x4xf32>, %ids: tensor<2x4xi32>, %l: tensor<2xi32>) -> tensor<2x4x6xf32> {
      %dz = ponder.policy_loss_grad %dc, %z, %ids, %l, %a vocab <verbal = 4, think = 2> : tensor<f32>, tensor<2x4x6xf32>, tensor<2x4xi32>, tensor<2xi32>, tensor<2x4xf32>
      return %dz : tensor<2x4x6xf32>
    })mlir");
  std::mt19937 rng(7);
  checkVJP(jit,
           {floats({2, 4, 6}, rng), floats({2, 4}, rng),
            ints({2, 4}, {1, 4, 5, 3, 2, 5, 1, 0}), ints({2}, {4, 3})},
           {{0, false}}, {0}, rng);
}

TEST(VJP, PonderCost) {
  Jit jit(R"mlir(
    func.func @fwd(%r: tensor<2x3xf32>, %p: tensor<3x2x3xf32>, %n: tensor<2x3xi32>, %l: tensor<2xi32>) -> (tensor<f32>, tensor<f32>) {
      %act = ponder.ponder_cost act %n, %r, %p, %l : tensor<2x3xi32>, tensor<2x3xf32>, tensor<3x2x3xf32>, tensor<2xi32> -> tensor<f32>
      %pn = ponder.ponder_cost pondernet %n, %r, %p, %l {prior_lambda = 0.3} : tensor<2x3xi32>, tensor<2x3xf32>, tensor<3x2x3xf32>, tensor<2xi32> -> tensor<f32>
      return %act, %pn : tensor<f32>, tensor<f32>
    }
    func.func @vjp(%da: tensor<f32>, %dp: tensor<f32>, %r: tensor<2x3xf32>, %p: tensor<3x2x3xf32>, %n: tensor<2x3xi32>, %l: tensor<2xi32>) -> (tensor<2x3xf32>, tensor<3x2x3xf32>) {
      %ra, %pa = ponder.ponder_cost_grad %da act %n, %r, %p, %l : tensor<f32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<3x2x3xf32>, tensor<2xi32>
      %rp, %pp = ponder.ponder_cost_grad %dp pondernet %n, %r, %p, %l {prior_lambda = 0.3} : tensor<f32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<3x2x3xf32>, tensor<2xi32>
      %dr = arith.addf %ra, %rp : tensor<2x3xf32>
      %dpr = arith.addf %pa, %pp : tensor<3x2x3xf32>
      return %dr, %dpr : tensor<2x3xf32>, tensor<3x2x3xf32>
    })mlir");
  std::mt19937 rng(8);
  checkVJP(jit,
           {floats({2, 3}, rng, 0.1, 0.5), floats({3, 2, 3}, rng, 0.05, 0.33),
            ints({2, 3}, {2, 3, 1, 2, 1, 0}), ints({2}, {3, 2})},
           {{0, false}, {0, false}}, {0, 1}, rng);
}

} // namespace

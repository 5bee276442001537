//===- BuildModelTest.cpp - Tests of the model description -> IR builder --===//

#include "frontend/BuildModel.h"
#include "frontend/ModelDescription.h"

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::ponder;

namespace {

::ponder::ModelDescription smallModel(::ponder::Halting halting) {
  ::ponder::ModelDescription desc;
  desc.model.verbalVocab = 10;
  desc.model.thinkVocab = 3;
  desc.model.dModel = 16;
  desc.model.nHeads = 4;
  desc.model.dFF = 48;
  desc.model.maxSeq = 20;
  desc.depth.halting = halting;
  desc.depth.maxSteps = 5;
  return desc;
}

std::vector<int64_t> shapeOf(Type type) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
  return {shape.begin(), shape.end()};
}

class BuildModel : public ::testing::TestWithParam<::ponder::Halting> {
protected:
  MLIRContext context;
};

TEST_P(BuildModel, ProducesVerifiedForwardDecodeAndLoss) {
  ::ponder::ModelDescription desc = smallModel(GetParam());
  OwningOpRef<ModuleOp> module = ::ponder::buildModel(context, desc);
  ASSERT_TRUE(succeeded(verify(*module)));

  auto forward = module->lookupSymbol<func::FuncOp>("forward");
  auto decode = module->lookupSymbol<func::FuncOp>("decode");
  auto loss = module->lookupSymbol<func::FuncOp>("loss");
  ASSERT_TRUE(forward && decode && loss);
  EXPECT_EQ(forward.getNumResults(), 3u);
  EXPECT_EQ(decode.getNumResults(), 5u);
  EXPECT_EQ(loss.getNumResults(), 7u);
  // @decode reads the caches, [N_max, B, max_seq, d], and returns the new
  // positions' keys and values, [N_max, B, T, d], for the runtime to write.
  const int64_t dyn = ShapedType::kDynamic;
  std::vector<int64_t> cache = {5, dyn, desc.model.maxSeq, desc.model.dModel};
  std::vector<int64_t> fresh = {5, dyn, dyn, desc.model.dModel};
  for (unsigned i : {3u, 4u}) {
    EXPECT_EQ(shapeOf(decode.getArgumentTypes()[i]), cache);
    EXPECT_EQ(shapeOf(decode.getResultTypes()[i]), fresh);
  }

  // Every function takes the contract's parameters, named and shaped as
  // MODEL.md §3, after its data inputs.
  std::vector<::ponder::ParameterSpec> params = ::ponder::getParameters(desc);
  ASSERT_EQ(params.size(), 15u);
  for (func::FuncOp func : {forward, decode, loss}) {
    unsigned firstParam = func.getNumArguments() - params.size();
    for (auto [i, spec] : llvm::enumerate(params)) {
      unsigned arg = firstParam + i;
      auto name = func.getArgAttrOfType<StringAttr>(arg, "ponder.param");
      ASSERT_TRUE(name) << "argument " << arg << " of @"
                        << func.getSymName().str();
      EXPECT_EQ(name.getValue(), spec.name);
      EXPECT_EQ(shapeOf(func.getArgumentTypes()[arg]), spec.shape) << spec.name;
    }
  }

  // One halting loop per function, in the described mode, and the right
  // operands for it; only @decode's collects keys and values.
  int loops = 0;
  module->walk([&](HaltingLoopOp loop) {
    ++loops;
    EXPECT_EQ(loop.getKvCache(),
              loop->getParentOfType<func::FuncOp>() == decode);
    EXPECT_EQ(loop.getMaxSteps(), 5u);
    EXPECT_EQ(static_cast<bool>(loop.getHaltWeight()),
              GetParam() != ::ponder::Halting::Fixed);
    EXPECT_EQ(static_cast<bool>(loop.getEpsilon()),
              GetParam() == ::ponder::Halting::Act);
  });
  EXPECT_EQ(loops, 3);
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, BuildModel,
    ::testing::Values(::ponder::Halting::Fixed, ::ponder::Halting::Act,
                      ::ponder::Halting::PonderNet),
    [](const ::testing::TestParamInfo<::ponder::Halting> &info) {
      return ::ponder::stringifyHalting(info.param).str();
    });

TEST(BuildModelParameters, ShapesFollowTheContract) {
  ::ponder::ModelDescription desc = smallModel(::ponder::Halting::Act);
  std::vector<::ponder::ParameterSpec> params = ::ponder::getParameters(desc);
  auto find = [&](const std::string &name) {
    for (const auto &p : params)
      if (p.name == name)
        return p.shape;
    ADD_FAILURE() << "no parameter " << name;
    return std::vector<int64_t>{};
  };
  EXPECT_EQ(find("embed.token"), (std::vector<int64_t>{13, 16}));
  EXPECT_EQ(find("embed.position"), (std::vector<int64_t>{20, 16}));
  EXPECT_EQ(find("embed.step"), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(find("block.ffn.up.weight"), (std::vector<int64_t>{48, 16}));
  EXPECT_EQ(find("block.ffn.down.weight"), (std::vector<int64_t>{16, 48}));
  EXPECT_EQ(find("halt.weight"), (std::vector<int64_t>{1, 16}));
  EXPECT_EQ(find("halt.bias"), (std::vector<int64_t>{1}));
  EXPECT_EQ(find("unembed.weight"), (std::vector<int64_t>{13, 16}));
}

TEST(BuildModelLoss, ReferenceLogitsOnlyWhenMixed) {
  MLIRContext context;
  ::ponder::ModelDescription desc = smallModel(::ponder::Halting::Act);
  auto countInputs = [&](const ::ponder::ModelDescription &d) {
    OwningOpRef<ModuleOp> module = ::ponder::buildModel(context, d);
    EXPECT_TRUE(succeeded(verify(*module)));
    auto loss = module->lookupSymbol<func::FuncOp>("loss");
    unsigned inputs = 0;
    bool hasReference = false;
    for (unsigned i = 0; i < loss.getNumArguments(); ++i)
      if (auto name = loss.getArgAttrOfType<StringAttr>(i, "ponder.input")) {
        ++inputs;
        hasReference |= name.getValue() == "reference_logits";
      }
    VerbalXentOp xent;
    loss.walk([&](VerbalXentOp op) { xent = op; });
    EXPECT_TRUE(xent);
    EXPECT_EQ(static_cast<bool>(xent.getReference()), hasReference);
    return std::make_pair(inputs, hasReference);
  };
  EXPECT_EQ(countInputs(desc), std::make_pair(4u, false));
  desc.loss.referenceMix = 0.3;
  desc.loss.smoothing = 0.1;
  EXPECT_EQ(countInputs(desc), std::make_pair(5u, true));
}

TEST(BuildModelLoss, TotalWeightsFollowTheMode) {
  // L = L_ce + w L_ponder + lambda_pg L_pg: the constants in @loss are w and
  // lambda_pg (MODEL.md §5).
  MLIRContext context;
  for (auto [halting, w] : {std::make_pair(::ponder::Halting::Act, 0.03),
                            std::make_pair(::ponder::Halting::PonderNet, 0.07),
                            std::make_pair(::ponder::Halting::Fixed, 0.0)}) {
    ::ponder::ModelDescription desc = smallModel(halting);
    desc.depth.ponderCost = 0.03;
    desc.depth.klBeta = 0.07;
    desc.loss.policyWeight = 0.5;
    OwningOpRef<ModuleOp> module = ::ponder::buildModel(context, desc);
    std::vector<float> constants;
    module->lookupSymbol<func::FuncOp>("loss").walk([&](arith::ConstantOp op) {
      if (auto dense = dyn_cast<DenseElementsAttr>(op.getValue()))
        constants.push_back(dense.getSplatValue<float>());
    });
    EXPECT_EQ(constants, (std::vector<float>{static_cast<float>(w), 0.5f}))
        << ::ponder::stringifyHalting(halting).str();
  }
}

/// `line`:`column` of `op`'s location in "m.toml", or (0, 0) when it is
/// elsewhere.
std::pair<unsigned, unsigned> positionOf(Operation *op) {
  auto loc = dyn_cast<FileLineColLoc>(op->getLoc());
  if (!loc || loc.getFilename() != "m.toml")
    return {0, 0};
  return {loc.getLine(), loc.getColumn()};
}

TEST(BuildModelLocations, OpsPointAtTheKeysThatShapeThem) {
  constexpr const char *kText = R"([model]
verbal_vocab = 10
d_model = 16
  n_heads = 4
d_ff = 48
max_seq = 20

[depth]
max_steps = 5
halting = "pondernet"
kl_beta = 0.04

[loss]
policy_weight = 0.5
)";
  ::ponder::ParsedDescription parsed =
      ::ponder::parseModelDescription(kText, "m.toml");
  ASSERT_TRUE(parsed.description) << parsed.error;
  MLIRContext context;
  OwningOpRef<ModuleOp> module =
      ::ponder::buildModel(context, *parsed.description);
  ASSERT_TRUE(succeeded(verify(*module)));

  // Every op is somewhere in the file.
  module->walk([](Operation *op) {
    EXPECT_NE(positionOf(op), std::make_pair(0u, 0u))
        << op->getName().getStringRef().str();
  });
  using Position = std::pair<unsigned, unsigned>;
  auto expectAt = [&](StringRef function, StringRef opName, Position at) {
    unsigned seen = 0;
    module->lookupSymbol<func::FuncOp>(function).walk([&](Operation *op) {
      if (op->getName().getStringRef() != opName)
        return;
      ++seen;
      EXPECT_EQ(positionOf(op), at) << function.str() << " " << opName.str();
    });
    EXPECT_GT(seen, 0u) << function.str() << " has no " << opName.str();
  };
  expectAt("forward", "func.func", {1, 1});
  expectAt("forward", "ponder.embed", {2, 1});
  expectAt("forward", "ponder.attention", {4, 3});
  expectAt("decode", "ponder.cached_attention", {4, 3});
  expectAt("forward", "ponder.gelu", {5, 1});
  expectAt("forward", "ponder.step_embed", {9, 1});
  expectAt("forward", "ponder.halting_loop", {10, 1});
  expectAt("forward", "ponder.select_step", {10, 1});
  // kl_beta is the weight of PonderNet's L_ponder.
  expectAt("loss", "ponder.ponder_cost", {11, 1});
  expectAt("loss", "ponder.verbal_xent", {13, 1});
  expectAt("loss", "ponder.policy_loss", {14, 1});
  expectAt("train_step", "ponder.adamw", {13, 1});
}

TEST(BuildModelLocations, UnknownForADescriptionBuiltInCode) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module =
      ::ponder::buildModel(context, smallModel(::ponder::Halting::Act));
  module->walk(
      [](Operation *op) { EXPECT_TRUE(isa<UnknownLoc>(op->getLoc())); });
}

} // namespace

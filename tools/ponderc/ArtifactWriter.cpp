//===- ArtifactWriter.cpp - Compile a model to a shared object ------------===//

#include "tools/ponderc/ArtifactWriter.h"

#include "dialects/ponder/IR/PonderDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace {

llvm::json::Object describeValue(StringRef name, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  llvm::json::Array shape;
  for (int64_t d : tensor.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? int64_t(-1) : d);
  StringRef dtype = tensor.getElementType().isInteger(32) ? "I32" : "F32";
  return llvm::json::Object{
      {"name", name}, {"dtype", dtype}, {"shape", std::move(shape)}};
}

/// Removes a file when it goes out of scope unless kept.
struct TemporaryFile {
  llvm::SmallString<128> path;
  bool keep = false;
  ~TemporaryFile() {
    if (!keep && !path.empty())
      llvm::sys::fs::remove(path);
  }
};

} // namespace

namespace ponder {

void prepareEntryPoints(ModuleOp module) {
  module.walk([](func::FuncOp f) {
    f->setAttr("llvm.emit_c_interface", UnitAttr::get(f->getContext()));
  });
}

std::string describeArtifact(ModuleOp module, StringRef modelHash) {
  llvm::json::Array parameters, entries;
  bool parametersListed = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    llvm::json::Array arguments, results;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      Type type = func.getArgumentTypes()[i];
      if (auto param = func.getArgAttrOfType<StringAttr>(i, "ponder.param")) {
        llvm::json::Object value = describeValue(param.getValue(), type);
        value["kind"] = "param";
        if (!parametersListed)
          parameters.push_back(describeValue(param.getValue(), type));
        arguments.push_back(std::move(value));
        continue;
      }
      auto input = func.getArgAttrOfType<StringAttr>(i, "ponder.input");
      llvm::json::Object value = describeValue(input.getValue(), type);
      value["kind"] = "input";
      arguments.push_back(std::move(value));
    }
    parametersListed = true;
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      results.push_back(describeValue(
          func.getResultAttrOfType<StringAttr>(i, "ponder.output").getValue(),
          func.getResultTypes()[i]));
    entries.push_back(llvm::json::Object{
        {"name", func.getSymName()},
        {"symbol", ("ponder_entry_" + func.getSymName()).str()},
        {"arguments", std::move(arguments)},
        {"results", std::move(results)}});
  }
  llvm::json::Object descriptor{{"abi_version", kArtifactAbiVersion},
                                {"model_hash", modelHash},
                                {"parameters", std::move(parameters)},
                                {"entries", std::move(entries)}};
  if (auto vocab =
          module->getAttrOfType<mlir::ponder::VocabAttr>("ponder.vocab"))
    descriptor["vocab"] = llvm::json::Object{{"verbal", vocab.getVerbal()},
                                             {"think", vocab.getThink()}};
  if (auto maxSeq = module->getAttrOfType<IntegerAttr>("ponder.max_seq"))
    descriptor["max_seq"] = maxSeq.getInt();
  if (auto maxThink = module->getAttrOfType<IntegerAttr>("ponder.max_think"))
    descriptor["max_think"] = maxThink.getInt();
  if (auto rollouts = module->getAttrOfType<IntegerAttr>("ponder.rollouts"))
    descriptor["rollouts"] = rollouts.getInt();
  if (auto reward = module->getAttrOfType<StringAttr>("ponder.think_reward"))
    descriptor["think_reward"] = reward.getValue();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(descriptor));
  return text;
}

bool writeArtifact(ModuleOp module, StringRef descriptor, StringRef outputPath,
                   std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) {
    error = llvm::toString(builder.takeError());
    return false;
  }
  builder->setRelocationModel(llvm::Reloc::PIC_);
  auto machine = builder->createTargetMachine();
  if (!machine) {
    error = llvm::toString(machine.takeError());
    return false;
  }
  llvm::TargetMachine &tm = **machine;

  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "ponder_artifact");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return false;
  }
  llvmModule->setDataLayout(tm.createDataLayout());
  llvmModule->setTargetTriple(tm.getTargetTriple());

  // The C ABI's metadata functions (docs/artifact-abi.md).
  llvm::IRBuilder<> ir(context);
  auto addGetter = [&](StringRef name, llvm::Type *type,
                       llvm::Constant *value) {
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(type, false),
                                      llvm::GlobalValue::ExternalLinkage, name,
                                      *llvmModule);
    ir.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", fn));
    ir.CreateRet(value);
  };
  auto *text = new llvm::GlobalVariable(
      *llvmModule, llvm::ArrayType::get(ir.getInt8Ty(), descriptor.size() + 1),
      /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantDataArray::getString(context, descriptor),
      "ponder_descriptor_text");
  addGetter("ponder_artifact_abi_version", ir.getInt32Ty(),
            ir.getInt32(kArtifactAbiVersion));
  addGetter("ponder_artifact_descriptor", ir.getPtrTy(), text);

  if (llvm::Error err = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, &tm)(llvmModule.get())) {
    error = llvm::toString(std::move(err));
    return false;
  }

  TemporaryFile object, library;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "ponder-artifact", "o", fd, object.path)) {
    error = "cannot create a temporary object file: " + ec.message();
    return false;
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    llvm::legacy::PassManager codegen;
    if (tm.addPassesToEmitFile(codegen, os, nullptr,
                               llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return false;
    }
    codegen.run(*llvmModule);
  }

  // Link next to the output, then rename: never a half-written artifact,
  // and concurrent compilations to one cache entry do not share a file.
  library.path = outputPath;
  library.path +=
      ".partial." + std::to_string(llvm::sys::Process::getProcessId());
  // The C compiler driver knows the system's library paths; libm provides
  // expf/tanhf/logf for the math the kernels call.
  std::string linker = PONDER_LINKER;
  TemporaryFile log;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("ponder-link", "log", log.path)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  // libomp runs the parallel loops; the artifact finds it through its rpath.
  std::string ompDir = std::string("-L") + PONDER_LIBOMP_DIR;
  std::string ompRpath = std::string("-Wl,-rpath,") + PONDER_LIBOMP_DIR;
  llvm::SmallVector<StringRef> args = {
      linker,      "-shared", "-fuse-ld=lld", "-o",     library.path,
      object.path, ompDir,    "-lomp",        ompRpath, "-lm"};
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  std::string message;
  if (llvm::sys::ExecuteAndWait(linker, args, std::nullopt, redirects, 0, 0,
                                &message) != 0) {
    // One line: the linker's first diagnostic, or why it did not run.
    if (auto text = llvm::MemoryBuffer::getFile(log.path))
      message = (*text)->getBuffer().split('\n').first.str();
    error = "linking with " + linker + " failed" +
            (message.empty() ? "" : ": " + message);
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(library.path, outputPath)) {
    error = "cannot write " + outputPath.str() + ": " + ec.message();
    return false;
  }
  library.keep = true;
  return true;
}

} // namespace ponder

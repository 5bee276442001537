//===- ArtifactWriter.cpp - Compile a model to a shared object ------------===//

#include "tools/ponderc/ArtifactWriter.h"

#include "dialects/ponder/IR/PonderDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
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
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/SplitModule.h"

using namespace mlir;

namespace {

llvm::json::Object describeValue(StringRef name, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  llvm::json::Array shape;
  for (int64_t d : tensor.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? int64_t(-1) : d);
  StringRef dtype = tensor.getElementType().isInteger(32) ? PONDER_DTYPE_I32
                                                          : PONDER_DTYPE_F32;
  return llvm::json::Object{{PONDER_KEY_NAME, name},
                            {PONDER_KEY_DTYPE, dtype},
                            {PONDER_KEY_SHAPE, std::move(shape)}};
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

/// The module is optimised and compiled in this many partitions, on up to
/// as many threads. A fixed count keeps the code independent of the cores.
constexpr unsigned kPartitions = 4;

/// Optimises (O3) the bitcode module `bitcode` in its own context and
/// writes it as an object file to `object`; "" or the error.
std::string compilePartition(llvm::StringRef bitcode,
                             llvm::orc::JITTargetMachineBuilder builder,
                             TemporaryFile &object) {
  llvm::LLVMContext context;
  auto module = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(bitcode, "partition"), context);
  if (!module)
    return llvm::toString(module.takeError());
  auto machine = builder.createTargetMachine();
  if (!machine)
    return llvm::toString(machine.takeError());
  if (llvm::Error err = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, machine->get())(module->get()))
    return llvm::toString(std::move(err));
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "ponder-artifact", "o", fd, object.path))
    return "cannot create a temporary object file: " + ec.message();
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  llvm::legacy::PassManager codegen;
  if ((*machine)->addPassesToEmitFile(codegen, os, nullptr,
                                      llvm::CodeGenFileType::ObjectFile))
    return "the target cannot emit object files";
  codegen.run(**module);
  return "";
}

/// Functions an artifact's host code calls in the runtime: the allocator of
/// finalize-memref-to-llvm's generic functions and, for cuda, MLIR's GPU
/// launch ABI (mgpu*).
bool isRuntimeFunction(const llvm::Function &f) {
  return f.isDeclaration() &&
         (f.getName().starts_with(PONDER_RUNTIME_GPU_PREFIX) ||
          f.getName().starts_with(PONDER_RUNTIME_ALLOCATOR_PREFIX));
}

/// A function `name(void)` that calls each of `callees` in order.
void defineCaller(llvm::Module &m, StringRef name,
                  ArrayRef<llvm::Function *> callees) {
  llvm::LLVMContext &context = m.getContext();
  auto *fn = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), false),
      llvm::GlobalValue::ExternalLinkage, name, m);
  llvm::IRBuilder<> ir(llvm::BasicBlock::Create(context, "entry", fn));
  for (llvm::Function *callee : callees)
    ir.CreateCall(callee);
  ir.CreateRetVoid();
}

/// Removes `llvm.global_ctors` or `llvm.global_dtors`, returning its
/// functions in order.
std::vector<llvm::Function *> takeStructors(llvm::Module &m, StringRef name) {
  std::vector<llvm::Function *> functions;
  llvm::GlobalVariable *list = m.getNamedGlobal(name);
  if (!list)
    return functions;
  if (auto *entries = dyn_cast<llvm::ConstantArray>(list->getInitializer()))
    for (llvm::Value *entry : entries->operands())
      functions.push_back(cast<llvm::Function>(
          cast<llvm::ConstantStruct>(entry)->getOperand(1)));
  list->eraseFromParent();
  return functions;
}

/// Every runtime function the host code calls becomes a thunk through a
/// pointer that `int32_t ponder_artifact_bind_runtime(void *(*lookup)(const
/// char *))` sets (it returns how many names `lookup` did not know), so an
/// artifact needs no symbol from the process that loads it. A CUDA
/// artifact must also load without a GPU, so nothing runs at dlopen: the
/// kernel-module constructors become `ponder_artifact_load_kernels` and the
/// destructors `ponder_artifact_unload_kernels`.
void bindRuntime(llvm::Module &m, bool cuda) {
  if (cuda) {
    defineCaller(m, PONDER_SYMBOL_LOAD_KERNELS,
                 takeStructors(m, "llvm.global_ctors"));
    defineCaller(m, PONDER_SYMBOL_UNLOAD_KERNELS,
                 takeStructors(m, "llvm.global_dtors"));
  }

  llvm::LLVMContext &context = m.getContext();
  llvm::IRBuilder<> ir(context);
  llvm::PointerType *ptr = ir.getPtrTy();
  std::vector<std::pair<llvm::Function *, llvm::GlobalVariable *>> thunks;
  for (llvm::Function &f : m)
    if (isRuntimeFunction(f))
      thunks.emplace_back(&f, nullptr);
  for (auto &[f, slot] : thunks) {
    slot = new llvm::GlobalVariable(
        m, ptr, /*isConstant=*/false, llvm::GlobalValue::InternalLinkage,
        llvm::ConstantPointerNull::get(ptr), "ponder.runtime." + f->getName());
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    ir.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", f));
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    llvm::Value *target = ir.CreateLoad(ptr, slot);
    llvm::CallInst *call = ir.CreateCall(f->getFunctionType(), target, args);
    if (f->getReturnType()->isVoidTy())
      ir.CreateRetVoid();
    else
      ir.CreateRet(call);
  }

  auto *bind = llvm::Function::Create(
      llvm::FunctionType::get(ir.getInt32Ty(), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, PONDER_SYMBOL_BIND_RUNTIME, m);
  ir.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", bind));
  auto *lookupType = llvm::FunctionType::get(ptr, {ptr}, false);
  llvm::Value *missing = ir.getInt32(0);
  for (auto &[f, slot] : thunks) {
    llvm::Value *name = ir.CreateGlobalString(f->getName());
    llvm::Value *address = ir.CreateCall(lookupType, bind->getArg(0), {name});
    ir.CreateStore(address, slot);
    missing = ir.CreateAdd(
        missing, ir.CreateZExt(ir.CreateIsNull(address), ir.getInt32Ty()));
  }
  ir.CreateRet(missing);
}

} // namespace

namespace ponder {

void prepareEntryPoints(ModuleOp module) {
  module.walk([](func::FuncOp f) {
    f->setAttr("llvm.emit_c_interface", UnitAttr::get(f->getContext()));
  });
}

std::string describeArtifact(ModuleOp module, StringRef modelHash,
                             StringRef target, StringRef cpu,
                             StringRef cpuIsa) {
  llvm::json::Array parameters, entries;
  bool parametersListed = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    llvm::json::Array arguments, results;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      Type type = func.getArgumentTypes()[i];
      if (auto param = func.getArgAttrOfType<StringAttr>(i, "ponder.param")) {
        llvm::json::Object value = describeValue(param.getValue(), type);
        value[PONDER_KEY_KIND] = PONDER_KIND_PARAM;
        if (!parametersListed)
          parameters.push_back(describeValue(param.getValue(), type));
        arguments.push_back(std::move(value));
        continue;
      }
      auto input = func.getArgAttrOfType<StringAttr>(i, "ponder.input");
      llvm::json::Object value = describeValue(input.getValue(), type);
      value[PONDER_KEY_KIND] = PONDER_KIND_INPUT;
      arguments.push_back(std::move(value));
    }
    parametersListed = true;
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      results.push_back(describeValue(
          func.getResultAttrOfType<StringAttr>(i, "ponder.output").getValue(),
          func.getResultTypes()[i]));
    entries.push_back(llvm::json::Object{
        {PONDER_KEY_NAME, func.getSymName()},
        {PONDER_KEY_SYMBOL,
         (PONDER_ENTRY_SYMBOL_PREFIX + func.getSymName()).str()},
        {PONDER_KEY_ARGUMENTS, std::move(arguments)},
        {PONDER_KEY_RESULTS, std::move(results)}});
  }
  llvm::json::Object descriptor{
      {PONDER_KEY_ABI_VERSION, PONDER_ARTIFACT_ABI_VERSION},
      {PONDER_KEY_MODEL_HASH, modelHash},
      {PONDER_KEY_TARGET, target},
      {PONDER_KEY_PARAMETERS, std::move(parameters)},
      {PONDER_KEY_ENTRIES, std::move(entries)}};
  if (auto vocab =
          module->getAttrOfType<mlir::ponder::VocabAttr>("ponder.vocab"))
    descriptor[PONDER_KEY_VOCAB] =
        llvm::json::Object{{PONDER_KEY_VERBAL, vocab.getVerbal()},
                           {PONDER_KEY_THINK, vocab.getThink()}};
  if (auto maxSeq = module->getAttrOfType<IntegerAttr>("ponder.max_seq"))
    descriptor[PONDER_KEY_MAX_SEQ] = maxSeq.getInt();
  if (auto maxThink = module->getAttrOfType<IntegerAttr>("ponder.max_think"))
    descriptor[PONDER_KEY_MAX_THINK] = maxThink.getInt();
  if (auto rollouts = module->getAttrOfType<IntegerAttr>("ponder.rollouts"))
    descriptor[PONDER_KEY_ROLLOUTS] = rollouts.getInt();
  if (auto reward = module->getAttrOfType<StringAttr>("ponder.think_reward"))
    descriptor[PONDER_KEY_THINK_REWARD] = reward.getValue();
  if (auto channel = module->getAttrOfType<StringAttr>("ponder.think_channel"))
    descriptor[PONDER_KEY_THINK_CHANNEL] = channel.getValue();
  if (!cpu.empty())
    descriptor[PONDER_KEY_CPU] = cpu;
  if (!cpuIsa.empty())
    descriptor[PONDER_KEY_CPU_ISA] = cpuIsa;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(descriptor));
  return text;
}

/// The C ABI's metadata functions (docs/artifact-abi.md): the ABI version
/// and the descriptor text.
static void addMetadataGetters(llvm::Module &module, StringRef descriptor) {
  llvm::LLVMContext &context = module.getContext();
  llvm::IRBuilder<> ir(context);
  auto addGetter = [&](StringRef name, llvm::Type *type,
                       llvm::Constant *value) {
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(type, false),
                                      llvm::GlobalValue::ExternalLinkage, name,
                                      module);
    ir.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", fn));
    ir.CreateRet(value);
  };
  auto *text = new llvm::GlobalVariable(
      module, llvm::ArrayType::get(ir.getInt8Ty(), descriptor.size() + 1),
      /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantDataArray::getString(context, descriptor),
      "ponder_descriptor_text");
  addGetter(PONDER_SYMBOL_ABI_VERSION, ir.getInt32Ty(),
            ir.getInt32(PONDER_ARTIFACT_ABI_VERSION));
  addGetter(PONDER_SYMBOL_DESCRIPTOR, ir.getPtrTy(), text);
}

/// Splits `module`'s functions (entry points and their outlined parallel
/// bodies) into partitions that are optimised and compiled on threads, each
/// in its own LLVMContext, into `objects`. Returns an error or "".
static std::string
compilePartitions(llvm::Module &module,
                  const llvm::orc::JITTargetMachineBuilder &builder,
                  std::vector<TemporaryFile> &objects) {
  std::vector<llvm::SmallVector<char, 0>> partitions;
  llvm::SplitModule(
      module, kPartitions,
      [&](std::unique_ptr<llvm::Module> part) {
        partitions.emplace_back();
        llvm::raw_svector_ostream os(partitions.back());
        llvm::WriteBitcodeToFile(*part, os);
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  objects.resize(partitions.size());
  std::vector<std::string> errors(partitions.size());
  {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(kPartitions));
    for (size_t i = 0; i < partitions.size(); ++i)
      pool.async([&, i] {
        errors[i] = compilePartition(
            llvm::StringRef(partitions[i].data(), partitions[i].size()),
            builder, objects[i]);
      });
    pool.wait();
  }
  for (const std::string &e : errors)
    if (!e.empty())
      return e;
  return "";
}

/// Links `objects` into the shared object `outputPath`: next to it, then
/// renamed, so there is never a half-written artifact and concurrent
/// compilations to one cache entry do not share a file. Returns an error
/// or "".
static std::string linkSharedObject(const std::vector<TemporaryFile> &objects,
                                    StringRef outputPath, bool cuda) {
  TemporaryFile library;
  library.path = outputPath;
  library.path +=
      ".partial." + std::to_string(llvm::sys::Process::getProcessId());
  // The C compiler driver knows the system's library paths; libm provides
  // expf/tanhf/logf for the math the kernels call.
  std::string linker = PONDER_LINKER;
  TemporaryFile log;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("ponder-link", "log", log.path))
    return "cannot create a temporary file: " + ec.message();
  // libomp runs the parallel loops; the artifact finds it through its rpath.
  std::string ompDir = std::string("-L") + PONDER_LIBOMP_DIR;
  std::string ompRpath = std::string("-Wl,-rpath,") + PONDER_LIBOMP_DIR;
  llvm::SmallVector<StringRef> args = {linker, "-shared", "-fuse-ld=lld", "-o",
                                       library.path};
  for (const TemporaryFile &object : objects)
    args.push_back(object.path);
  if (!cuda)
    args.append({ompDir, "-lomp", ompRpath});
  args.push_back("-lm");
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  std::string message;
  if (llvm::sys::ExecuteAndWait(linker, args, std::nullopt, redirects, 0, 0,
                                &message) != 0) {
    // One line: the linker's first diagnostic, or why it did not run.
    if (auto text = llvm::MemoryBuffer::getFile(log.path))
      message = (*text)->getBuffer().split('\n').first.str();
    return "linking with " + linker + " failed" +
           (message.empty() ? "" : ": " + message);
  }
  if (std::error_code ec = llvm::sys::fs::rename(library.path, outputPath))
    return "cannot write " + outputPath.str() + ": " + ec.message();
  library.keep = true;
  return "";
}

bool writeArtifact(ModuleOp module, StringRef descriptor, StringRef outputPath,
                   bool cuda, const llvm::orc::JITTargetMachineBuilder &builder,
                   std::string &error) {
  auto machine =
      llvm::orc::JITTargetMachineBuilder(builder).createTargetMachine();
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
  addMetadataGetters(*llvmModule, descriptor);
  bindRuntime(*llvmModule, cuda);

  std::vector<TemporaryFile> objects;
  error = compilePartitions(*llvmModule, builder, objects);
  if (error.empty())
    error = linkSharedObject(objects, outputPath, cuda);
  return error.empty();
}

} // namespace ponder

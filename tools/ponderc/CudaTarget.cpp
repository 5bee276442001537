//===- CudaTarget.cpp - Kernels for NVIDIA GPUs ---------------------------===//

#include "tools/ponderc/CudaTarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

using namespace mlir;

namespace {

/// A temporary file removed when it goes out of scope.
struct ScratchFile {
  llvm::SmallString<128> path;
  ~ScratchFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

gpu::BinaryOp kernelBinary(ModuleOp module) {
  auto binaries = module.getOps<gpu::BinaryOp>();
  return binaries.empty() ? gpu::BinaryOp() : *binaries.begin();
}

/// Runs `tool` with `args` (args[0] is the tool); "" or one line on failure.
std::string run(StringRef tool, ArrayRef<StringRef> args) {
  ScratchFile log;
  if (llvm::sys::fs::createTemporaryFile("ponder-cuda", "log", log.path))
    return "cannot create a temporary file";
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  std::string message;
  if (llvm::sys::ExecuteAndWait(tool, args, std::nullopt, redirects, 0, 0,
                                &message) == 0)
    return "";
  if (auto text = llvm::MemoryBuffer::getFile(log.path))
    if (!(*text)->getBuffer().empty())
      message = (*text)->getBuffer().trim().split('\n').first.str();
  return llvm::sys::path::filename(tool).str() + " failed" +
         (message.empty() ? "" : ": " + message);
}

} // namespace

namespace ponder {

std::string findCudaToolkit() {
  // A root counts only with the files MLIR and embedCubins read from it: a
  // ptxas on PATH may be a wrapper script in /usr/local/bin.
  auto isToolkit = [](StringRef root) {
    llvm::SmallString<128> ptxas(root), libdevice(root);
    llvm::sys::path::append(ptxas, "bin", "ptxas");
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    return !root.empty() && llvm::sys::fs::can_execute(ptxas) &&
           llvm::sys::fs::is_regular_file(libdevice);
  };
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(variable); root && isToolkit(root))
      return root;
  llvm::SmallString<128> ptxas;
  if (auto found = llvm::sys::findProgramByName("ptxas");
      found && !llvm::sys::fs::real_path(*found, ptxas)) {
    StringRef root =
        llvm::sys::path::parent_path(llvm::sys::path::parent_path(ptxas));
    if (isToolkit(root))
      return root.str();
  }
  return isToolkit("/usr/local/cuda") ? "/usr/local/cuda" : "";
}

LogicalResult serializeKernelsToPTX(ModuleOp module, StringRef toolkit) {
  GpuModuleToBinaryPassOptions options;
  options.toolkitPath = toolkit.str();
  options.compilationTarget = "isa";
  PassManager pm(module.getContext());
  pm.addPass(createGpuModuleToBinaryPass(options));
  // The serialiser reports a bad toolkit path as an error yet succeeds.
  bool failedQuietly = false;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &diag) {
    failedQuietly |= diag.getSeverity() == DiagnosticSeverity::Error;
    return failure(); // still printed by the enclosing handler
  });
  return failure(failed(pm.run(module)) || failedQuietly);
}

std::string kernelPTX(ModuleOp module) {
  gpu::BinaryOp binary = kernelBinary(module);
  if (!binary)
    return "";
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  // The NVPTX backend's text ends with the NUL the driver's loader needs.
  return object.getObject().getValue().rtrim('\0').str();
}

bool embedCubins(ModuleOp module, StringRef toolkit, ArrayRef<StringRef> archs,
                 std::string &error) {
  gpu::BinaryOp binary = kernelBinary(module);
  if (!binary)
    return true;
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  llvm::SmallString<128> ptxas(toolkit), fatbinary(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  llvm::sys::path::append(fatbinary, "bin", "fatbinary");

  ScratchFile ptx, fatbin;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("ponder-kernels", "ptx", fd,
                                         ptx.path) ||
      llvm::sys::fs::createTemporaryFile("ponder-kernels", "fatbin",
                                         fatbin.path)) {
    error = "cannot create a temporary file";
    return false;
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << kernelPTX(module);
  }
  // The PTX's own target is the oldest architecture; the driver JIT
  // compiles it for GPUs newer than every cubin.
  StringRef ptxArch = archs.front().drop_front(3); // "sm_80" -> "80"
  std::vector<ScratchFile> cubins(archs.size());
  std::vector<std::string> images;
  for (size_t i = 0; i < archs.size(); ++i) {
    if (llvm::sys::fs::createTemporaryFile("ponder-kernels", "cubin",
                                           cubins[i].path)) {
      error = "cannot create a temporary file";
      return false;
    }
    std::string arch = ("-arch=" + archs[i]).str();
    error = run(ptxas, {ptxas, arch, "-O3", ptx.path, "-o", cubins[i].path});
    if (!error.empty())
      return false;
    images.push_back(("--image3=kind=elf,sm=" + archs[i].drop_front(3) +
                      ",file=" + cubins[i].path.str())
                         .str());
  }
  images.push_back(
      ("--image3=kind=ptx,sm=" + ptxArch + ",file=" + ptx.path.str()).str());
  std::string create = ("--create=" + fatbin.path.str()).str();
  llvm::SmallVector<StringRef> args = {fatbinary, "-64", create};
  for (const std::string &image : images)
    args.push_back(image);
  error = run(fatbinary, args);
  if (!error.empty())
    return false;
  auto bytes = llvm::MemoryBuffer::getFile(fatbin.path);
  if (!bytes) {
    error = "cannot read " + fatbin.path.str().str();
    return false;
  }
  MLIRContext *context = module.getContext();
  auto fat = gpu::ObjectAttr::get(
      context, object.getTarget(), gpu::CompilationTarget::Fatbin,
      StringAttr::get(context, (*bytes)->getBuffer()), object.getProperties(),
      object.getKernels());
  binary.setObjectsAttr(ArrayAttr::get(context, {fat}));
  return true;
}

} // namespace ponder

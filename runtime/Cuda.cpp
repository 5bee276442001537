//===- Cuda.cpp - The CUDA backend: driver, memory, launches --------------===//

#include "runtime/Cuda.h"

#include "runtime/ArtifactContract.h"
#include "runtime/BufferCache.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>

namespace ponder::cuda {

namespace {

// The few driver API types this backend needs (cuda.h is not required to
// build Ponder).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *; // CUcontext, CUmodule, CUfunction, CUstream
constexpr CUresult kSuccess = 0;
constexpr unsigned kMemAttachGlobal = 1;
constexpr unsigned kStreamNonBlocking = 1;

/// Driver entry points, resolved with dlsym. Versioned names (_v2) are the
/// ones cuda.h maps the plain names to.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*primaryCtxRetain)(Handle *, CUdevice);
  CUresult (*ctxSetCurrent)(Handle);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*moduleLoadData)(Handle *, const void *);
  CUresult (*moduleUnload)(Handle);
  CUresult (*moduleGetFunction)(Handle *, Handle, const char *);
  CUresult (*launchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, Handle, void **,
                           void **);
  CUresult (*streamCreate)(Handle *, unsigned);
  CUresult (*streamSynchronize)(Handle);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
};

/// As for host memory (HostMemory.h): cached blocks past this are returned
/// to the driver on the next miss.
constexpr size_t kCacheLimit = size_t(4) << 30;

struct Backend {
  /// Returns the cached blocks to the driver at exit (a no-op when the
  /// driver has already shut down).
  ~Backend() {
    if (driver.memFree)
      for (void *pointer : cache.takeCached())
        driver.memFree(reinterpret_cast<CUdeviceptr>(pointer));
  }
  Status status = Status::error("cuda: not initialised");
  Driver driver{};
  Handle context = nullptr;
  std::mutex streamMutex;
  Handle stream = nullptr; // the one stream of every launch
  std::mutex mutex;        // guards firstError
  std::string firstError;
  BufferCache cache;
};

Backend &backend() {
  static Backend b;
  return b;
}

std::string errorName(CUresult result) {
  const char *name = nullptr;
  if (backend().driver.getErrorName &&
      backend().driver.getErrorName(result, &name) == kSuccess && name)
    return name;
  return "CUDA error " + std::to_string(result);
}

/// Records the first failing driver call; true if `result` is success.
bool check(CUresult result, const char *call) {
  if (result == kSuccess)
    return true;
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (b.firstError.empty())
    b.firstError = std::string("cuda: ") + call + ": " + errorName(result);
  return false;
}

/// Driver calls act on the calling thread's current context.
void makeCurrent() {
  check(backend().driver.ctxSetCurrent(backend().context), "cuCtxSetCurrent");
}

Status load() {
  const char *path = std::getenv("PONDER_LIBCUDA");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return Status::error(std::string("no CUDA driver: ") + dlerror());
  Driver &d = backend().driver;
  const char *missing = nullptr;
  auto resolve = [&](auto &field, const char *name) {
    field = reinterpret_cast<std::remove_reference_t<decltype(field)>>(
        dlsym(library, name));
    if (!field && !missing)
      missing = name;
  };
  resolve(d.init, "cuInit");
  resolve(d.deviceGetCount, "cuDeviceGetCount");
  resolve(d.deviceGet, "cuDeviceGet");
  resolve(d.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(d.ctxSetCurrent, "cuCtxSetCurrent");
  resolve(d.getErrorName, "cuGetErrorName");
  resolve(d.moduleLoadData, "cuModuleLoadData");
  resolve(d.moduleUnload, "cuModuleUnload");
  resolve(d.moduleGetFunction, "cuModuleGetFunction");
  resolve(d.launchKernel, "cuLaunchKernel");
  resolve(d.streamCreate, "cuStreamCreate");
  resolve(d.streamSynchronize, "cuStreamSynchronize");
  resolve(d.memAllocManaged, "cuMemAllocManaged");
  resolve(d.memFree, "cuMemFree_v2");
  if (missing)
    return Status::error(std::string(path) + " lacks " + missing);
  if (CUresult r = d.init(0); r != kSuccess)
    return Status::error("cuInit failed: " + errorName(r));
  int count = 0;
  if (CUresult r = d.deviceGetCount(&count); r != kSuccess || count == 0)
    return Status::error("no CUDA device" +
                         (r == kSuccess ? "" : " (" + errorName(r) + ")"));
  CUdevice device = 0;
  if (CUresult r = d.deviceGet(&device, 0); r != kSuccess)
    return Status::error("cuDeviceGet failed: " + errorName(r));
  if (CUresult r = d.primaryCtxRetain(&backend().context, device);
      r != kSuccess)
    return Status::error("cannot create a context: " + errorName(r));
  return Status::ok();
}

// MLIR's GPU launch ABI (what gpu-to-llvm and the gpu.binary translation
// call), as in MLIR's CudaRuntimeWrappers but on the dlopen'ed driver.
void *moduleLoad(void *data, int64_t /*size*/) {
  makeCurrent();
  Handle module = nullptr;
  check(backend().driver.moduleLoadData(&module, data), "cuModuleLoadData");
  return module;
}
void *moduleLoadJIT(void *data, int /*optLevel*/) {
  return moduleLoad(data, 0); // PTX: the driver compiles it
}
void moduleUnload(void *module) {
  makeCurrent();
  check(backend().driver.moduleUnload(module), "cuModuleUnload");
}
void *moduleGetFunction(void *module, const char *name) {
  Handle function = nullptr;
  check(backend().driver.moduleGetFunction(&function, module, name),
        "cuModuleGetFunction");
  return function;
}
// Compiled host code creates a stream for every launch, launches, waits
// and destroys it. One stream serves them all: the launches are still
// synchronous, without two driver calls each.
void *streamCreate() {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.streamMutex);
  if (!b.stream) {
    makeCurrent();
    check(b.driver.streamCreate(&b.stream, kStreamNonBlocking),
          "cuStreamCreate");
  }
  return b.stream;
}
void streamSynchronize(void *stream) {
  check(backend().driver.streamSynchronize(stream), "cuStreamSynchronize");
}
void streamDestroy(void *) {} // the stream lives as long as the process
void launchKernel(void *function, int64_t gridX, int64_t gridY, int64_t gridZ,
                  int64_t blockX, int64_t blockY, int64_t blockZ,
                  int32_t sharedBytes, void *stream, void **params,
                  void **extra, int64_t /*paramsCount*/) {
  // A kernel over an empty iteration space launches no block.
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  makeCurrent();
  check(backend().driver.launchKernel(function, gridX, gridY, gridZ, blockX,
                                      blockY, blockZ, sharedBytes, stream,
                                      params, extra),
        "cuLaunchKernel");
}
void *memrefAlloc(uint64_t bytes) { return allocate(bytes); }
void memrefFree(void *pointer) { release(pointer); }

} // namespace

Status initialize() {
  static std::once_flag once;
  std::call_once(once, [] { backend().status = load(); });
  return backend().status;
}

void *lookup(const char *name) {
  static const std::map<std::string, void *> functions = {
      {"mgpuModuleLoad", reinterpret_cast<void *>(&moduleLoad)},
      {"mgpuModuleLoadJIT", reinterpret_cast<void *>(&moduleLoadJIT)},
      {"mgpuModuleUnload", reinterpret_cast<void *>(&moduleUnload)},
      {"mgpuModuleGetFunction", reinterpret_cast<void *>(&moduleGetFunction)},
      {"mgpuStreamCreate", reinterpret_cast<void *>(&streamCreate)},
      {"mgpuStreamSynchronize", reinterpret_cast<void *>(&streamSynchronize)},
      {"mgpuStreamDestroy", reinterpret_cast<void *>(&streamDestroy)},
      {"mgpuLaunchKernel", reinterpret_cast<void *>(&launchKernel)},
      {PONDER_RUNTIME_ALLOC, reinterpret_cast<void *>(&memrefAlloc)},
      {PONDER_RUNTIME_FREE, reinterpret_cast<void *>(&memrefFree)},
  };
  auto it = functions.find(name);
  return it == functions.end() ? nullptr : it->second;
}

Status takeError() {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (b.firstError.empty())
    return Status::ok();
  Status error = Status::error(b.firstError);
  b.firstError.clear();
  return error;
}

void *allocate(size_t bytes) {
  Backend &b = backend();
  bytes = bytes ? bytes : 1; // the driver refuses empty allocations
  if (void *pointer = b.cache.reuse(bytes))
    return pointer;
  makeCurrent();
  for (void *pointer : b.cache.takeCachedIfOver(kCacheLimit))
    b.driver.memFree(reinterpret_cast<CUdeviceptr>(pointer));
  CUdeviceptr address = 0;
  if (CUresult r = b.driver.memAllocManaged(&address, bytes, kMemAttachGlobal);
      r != kSuccess) {
    // Compiled code does not check its allocations: stop here, not later
    // on a null pointer.
    std::fprintf(stderr, "ponder: cuda: cannot allocate %zu bytes: %s\n", bytes,
                 errorName(r).c_str());
    std::exit(1);
  }
  void *pointer = reinterpret_cast<void *>(address);
  b.cache.add(pointer, bytes);
  return pointer;
}

void release(void *pointer) {
  if (pointer)
    backend().cache.release(pointer);
}

} // namespace ponder::cuda

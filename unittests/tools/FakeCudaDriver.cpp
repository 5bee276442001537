//===- FakeCudaDriver.cpp - A CUDA driver without a GPU, for tests --------===//
//
// Stands in for libcuda.so.1 (PONDER_LIBCUDA) so the CUDA backend's host side
// runs here: artifact binding, kernel-module loading, launches, managed
// memory and error reporting. Kernels are not executed; each launch is
// logged. Environment:
//   FAKE_CUDA_DEVICES  number of devices (default 1)
//   FAKE_CUDA_FAIL     name of a driver call that fails
//   FAKE_CUDA_LOG      file that receives one line per module load and launch
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kLaunchFailed = 719;

bool fails(const char *call) {
  const char *name = std::getenv("FAKE_CUDA_FAIL");
  return name && std::strcmp(name, call) == 0;
}

void log(const std::string &line) {
  if (const char *path = std::getenv("FAKE_CUDA_LOG"))
    if (FILE *f = std::fopen(path, "a")) {
      std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
}

struct Module {
  std::string kind;
};

} // namespace

extern "C" {

CUresult cuInit(unsigned) { return fails("cuInit") ? 100 : kSuccess; }
CUresult cuDeviceGetCount(int *count) {
  const char *n = std::getenv("FAKE_CUDA_DEVICES");
  *count = n ? std::atoi(n) : 1;
  return kSuccess;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  static int theContext;
  *context = &theContext;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *) { return kSuccess; }
CUresult cuGetErrorName(CUresult result, const char **name) {
  *name = result == kLaunchFailed ? "CUDA_ERROR_LAUNCH_FAILED"
          : result == 100         ? "CUDA_ERROR_NO_DEVICE"
                                  : "CUDA_ERROR_INVALID_VALUE";
  return kSuccess;
}
CUresult cuModuleLoadData(void **module, const void *image) {
  if (fails("cuModuleLoadData"))
    return kInvalidValue;
  uint32_t magic;
  std::memcpy(&magic, image, sizeof(magic));
  // A fatbin starts with its magic number, PTX is text.
  auto *m = new Module{magic == 0xba55ed50u ? "fatbin" : "ptx"};
  log("load " + m->kind);
  *module = m;
  return kSuccess;
}
CUresult cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return kSuccess;
}
CUresult cuModuleGetFunction(void **function, void *, const char *name) {
  // The handle is the kernel's name, kept for the process.
  static std::set<std::string> names;
  *function = const_cast<char *>(names.insert(name).first->c_str());
  return kSuccess;
}
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned, void *,
                        void **, void **) {
  if (fails("cuLaunchKernel"))
    return kLaunchFailed;
  log("launch " + std::string(static_cast<const char *>(function)) + " " +
      std::to_string(gx) + " " + std::to_string(gy) + " " + std::to_string(gz) +
      " " + std::to_string(bx) + " " + std::to_string(by) + " " +
      std::to_string(bz));
  return kSuccess;
}
CUresult cuStreamCreate(void **stream, unsigned) {
  static int theStream;
  *stream = &theStream;
  log("stream");
  return kSuccess;
}
CUresult cuStreamSynchronize(void *) { return kSuccess; }
CUresult cuStreamDestroy_v2(void *) { return kSuccess; }
CUresult cuMemAllocManaged(unsigned long long *pointer, size_t bytes,
                           unsigned) {
  // Zeroed, so host code that reads results of kernels that never ran
  // sees the same values every time.
  *pointer = reinterpret_cast<unsigned long long>(std::calloc(bytes, 1));
  return *pointer ? kSuccess : 2;
}
CUresult cuMemFree_v2(unsigned long long pointer) {
  std::free(reinterpret_cast<void *>(pointer));
  return kSuccess;
}

} // extern "C"

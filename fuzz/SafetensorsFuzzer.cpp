//===- SafetensorsFuzzer.cpp - Fuzz the safetensors reader ----------------===//
//
// Any bytes as a safetensors file (written to an in-memory file, read back
// through its /proc/self/fd path): readSafetensors must return the tensors
// or one error line, never crash; every tensor it returns lies inside the
// file and has the bytes its dtype and shape need.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = memfd_create("ponder-fuzz", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0 ||
      pwrite(fd, data, size, 0) != ssize_t(size))
    std::abort();
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto file = ponder::readSafetensors(path);
  if (!file) {
    if (file.getStatus().message().find('\n') != std::string::npos)
      std::abort();
    return 0;
  }
  size_t total = 0;
  for (const auto &[name, tensor] : file->tensors) {
    if (tensor.numel() < 0)
      std::abort();
    total += tensor.byteSize();
  }
  if (total > size)
    std::abort();
  return 0;
}

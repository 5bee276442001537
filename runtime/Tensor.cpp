//===- Tensor.cpp - Owning, 64-byte aligned tensors -----------------------===//

#include "runtime/Tensor.h"

#include <cstdlib>
#include <cstring>

namespace ponder {

std::string_view dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::I32:
    return "I32";
  case DType::I64:
    return "I64";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view name) {
  for (DType d : {DType::F32, DType::I32, DType::I64})
    if (dtypeName(d) == name)
      return d;
  return std::nullopt;
}

size_t dtypeSize(DType dtype) { return dtype == DType::I64 ? 8 : 4; }

void Tensor::Free::operator()(std::byte *p) const { std::free(p); }

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : type(dtype), dims(std::move(shape)) {
  // aligned_alloc needs a size that is a multiple of the alignment; a
  // zero-element tensor still gets a valid pointer.
  size_t size = (byteSize() + 63) / 64 * 64;
  if (size == 0)
    size = 64;
  storage.reset(static_cast<std::byte *>(std::aligned_alloc(64, size)));
  std::memset(storage.get(), 0, size);
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

} // namespace ponder

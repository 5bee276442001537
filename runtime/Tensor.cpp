//===- Tensor.cpp - Owning, 64-byte aligned tensors -----------------------===//

#include "runtime/Tensor.h"

#include "runtime/HostMemory.h"

#include <cmath>

#include <cstdlib>
#include <cstring>
#include <string>

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

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  }
  return 0;
}

void Tensor::Free::operator()(std::byte *p) const { host::release(p); }

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : type(dtype), dims(std::move(shape)) {
  for ([[maybe_unused]] int64_t d : dims)
    assert(d >= 0 && "negative dimension: use Tensor::allocate");
  [[maybe_unused]] bool allocated = allocateStorage();
  assert(allocated && "out of memory: use Tensor::allocate");
}

StatusOr<Tensor> Tensor::allocate(DType dtype, std::vector<int64_t> shape) {
  std::string what = std::string(dtypeName(dtype)) + " [";
  for (size_t k = 0; k < shape.size(); ++k)
    what += (k ? ", " : "") + std::to_string(shape[k]);
  what += "]";
  // Bytes must fit in ptrdiff_t so that pointer arithmetic stays defined.
  uint64_t limit = uint64_t(PTRDIFF_MAX) / dtypeSize(dtype), numel = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] < 0)
      return Status::error("cannot allocate " + what + ": dimension " +
                           std::to_string(k) + " is negative");
    if (shape[k] != 0 && numel > limit / uint64_t(shape[k]))
      return Status::error("cannot allocate " + what + ": too many elements");
    numel *= uint64_t(shape[k]);
  }
  Tensor t;
  t.type = dtype;
  t.dims = std::move(shape);
  if (!t.allocateStorage())
    return Status::error("cannot allocate " + what + ": out of memory");
  return t;
}

bool Tensor::allocateStorage() {
  // The runtime's caching allocator: the tensors of one step (batches,
  // results, gradients) come back the next step with the same sizes. A
  // zero-element tensor still gets a valid, distinct pointer.
  static_assert(kTensorAlignment <= host::kAlignment);
  storage.reset(static_cast<std::byte *>(host::tryAllocate(byteSize())));
  if (!storage)
    return false;
  std::memset(storage.get(), 0, byteSize());
  return true;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

Tensor Tensor::rows(int64_t first, int64_t count) const {
  std::vector<int64_t> shape = dims;
  shape[0] = count;
  Tensor out(type, shape);
  size_t row = dims[0] ? byteSize() / size_t(dims[0]) : 0;
  if (count > 0)
    std::memcpy(out.bytes(), bytes() + size_t(first) * row,
                size_t(count) * row);
  return out;
}

Status checkFinite(const Tensor &t, const std::string &what) {
  if (t.dtype() != DType::F32)
    return Status::ok();
  const float *x = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    if (std::isfinite(x[i]))
      continue;
    std::string at;
    for (int64_t d = t.rank() - 1, rest = i; d >= 0; --d) {
      at = std::to_string(rest % t.shape()[d]) + (at.empty() ? "" : ", ") + at;
      rest /= t.shape()[d];
    }
    return Status::error("'" + what + "'" + (t.rank() ? "[" + at + "]" : "") +
                         " = " +
                         (std::isnan(x[i]) ? "nan"
                          : x[i] > 0       ? "inf"
                                           : "-inf") +
                         " is not finite");
  }
  return Status::ok();
}

} // namespace ponder

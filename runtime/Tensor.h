//===- Tensor.h - Owning, 64-byte aligned tensors ---------------*- C++ -*-===//
//
// The runtime's one tensor type: dense, row-major, owning its storage. 64-byte
// alignment suits AVX-512 loads and the memref descriptors of compiled code.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_TENSOR_H
#define PONDER_RUNTIME_TENSOR_H

#include "runtime/Status.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace ponder {

enum class DType { F32, I32, I64 };

/// "F32", "I32", "I64": the safetensors names.
std::string_view dtypeName(DType dtype);
/// The DType called `name`, or none for names the runtime does not support.
std::optional<DType> parseDType(std::string_view name);
/// Bytes per element.
size_t dtypeSize(DType dtype);

template <typename T> constexpr DType dtypeOf();
template <> constexpr DType dtypeOf<float>() { return DType::F32; }
template <> constexpr DType dtypeOf<int32_t>() { return DType::I32; }
template <> constexpr DType dtypeOf<int64_t>() { return DType::I64; }

/// Storage alignment in bytes.
constexpr size_t kTensorAlignment = 64;

/// A dense row-major tensor that owns zeroed, 64-byte aligned storage.
/// Move-only; a default-constructed or moved-from tensor has no storage
/// (bytes() is null).
class Tensor {
public:
  Tensor() = default;
  /// Zeros of `shape`, for shapes the program chose (non-negative dims are
  /// asserted). Shapes read from user input go through allocate().
  Tensor(DType dtype, std::vector<int64_t> shape);
  Tensor(Tensor &&) = default;
  Tensor &operator=(Tensor &&) = default;
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;

  static Tensor zeros(DType dtype, std::vector<int64_t> shape) {
    return Tensor(dtype, std::move(shape));
  }
  /// Zeros of a shape from user input: negative dims, a size that overflows
  /// and failed allocations are errors, not crashes.
  static StatusOr<Tensor> allocate(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return type; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  /// Product of the dims (1 for a scalar, shape []).
  int64_t numel() const;
  /// A copy of rows [first, first + count) along the first dimension (a
  /// rank's shard of a batch).
  Tensor rows(int64_t first, int64_t count) const;
  size_t byteSize() const { return size_t(numel()) * dtypeSize(type); }

  std::byte *bytes() { return storage.get(); }
  const std::byte *bytes() const { return storage.get(); }
  template <typename T> T *data() {
    assert(dtypeOf<T>() == type && "element type does not match the dtype");
    return reinterpret_cast<T *>(storage.get());
  }
  template <typename T> const T *data() const {
    assert(dtypeOf<T>() == type && "element type does not match the dtype");
    return reinterpret_cast<const T *>(storage.get());
  }

private:
  struct Free {
    void operator()(std::byte *p) const;
  };
  /// Allocates zeroed storage for the current shape; false when out of memory.
  bool allocateStorage();

  DType type = DType::F32;
  std::vector<int64_t> dims;
  std::unique_ptr<std::byte[], Free> storage;
};

/// OK if every element of an F32 tensor is finite (other dtypes always
/// are); otherwise one line naming `what`, the first offending element's
/// coordinates and its value: "'advantage'[1, 3] = nan is not finite".
Status checkFinite(const Tensor &t, const std::string &what);

} // namespace ponder

#endif // PONDER_RUNTIME_TENSOR_H

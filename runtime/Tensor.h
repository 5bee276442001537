//===- Tensor.h - Owning, 64-byte aligned tensors ---------------*- C++ -*-===//

#ifndef PONDER_RUNTIME_TENSOR_H
#define PONDER_RUNTIME_TENSOR_H

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
std::optional<DType> parseDType(std::string_view name);
size_t dtypeSize(DType dtype);

template <typename T> constexpr DType dtypeOf();
template <> constexpr DType dtypeOf<float>() { return DType::F32; }
template <> constexpr DType dtypeOf<int32_t>() { return DType::I32; }
template <> constexpr DType dtypeOf<int64_t>() { return DType::I64; }

/// A dense row-major tensor that owns 64-byte aligned storage (zeroed).
class Tensor {
public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return type; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numel() const;
  size_t byteSize() const { return numel() * dtypeSize(type); }

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
  DType type = DType::F32;
  std::vector<int64_t> dims;
  std::unique_ptr<std::byte[], Free> storage;
};

} // namespace ponder

#endif // PONDER_RUNTIME_TENSOR_H

//===- TensorTest.cpp - Owning aligned tensors ----------------------------===//

#include "runtime/Tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

using namespace ponder;

namespace {

TEST(Tensor, ShapeSizeAndZeroedAlignedStorage) {
  Tensor t(DType::F32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.byteSize(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.bytes()) % 64, 0u);
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, ScalarsAndEmptyTensors) {
  Tensor scalar(DType::I64, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.byteSize(), 8u);
  Tensor empty(DType::I32, {0, 4});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_NE(empty.bytes(), nullptr);
}

TEST(Tensor, DTypeNames) {
  EXPECT_EQ(parseDType("F32"), DType::F32);
  EXPECT_EQ(parseDType("I64"), DType::I64);
  EXPECT_FALSE(parseDType("F16").has_value());
  EXPECT_EQ(dtypeName(DType::I32), "I32");
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
}

} // namespace

//===- TensorTest.cpp - Owning aligned tensors ----------------------------===//

#include "runtime/Tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

using namespace ponder;

namespace {

static_assert(!std::is_copy_constructible_v<Tensor>, "tensors are move-only");
static_assert(std::is_nothrow_move_constructible_v<Tensor>);

bool isAligned(const void *p) {
  return reinterpret_cast<uintptr_t>(p) % kTensorAlignment == 0;
}

TEST(Tensor, ShapeSizeAndZeroedStorage) {
  Tensor t(DType::F32, {3, 5});
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(t.rank(), 2);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.byteSize(), 60u);
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, StorageIsAlignedTo64Bytes) {
  // Odd sizes and many live allocations: malloc alone would give 16.
  std::vector<Tensor> live;
  for (DType dtype : {DType::F32, DType::I32, DType::I64})
    for (int64_t n : {0, 1, 3, 17, 63, 64, 1000})
      live.push_back(Tensor::zeros(dtype, {n}));
  for (const Tensor &t : live)
    EXPECT_TRUE(isAligned(t.bytes())) << t.numel() << " elements";
  auto allocated = Tensor::allocate(DType::I64, {7, 3});
  ASSERT_TRUE(allocated);
  EXPECT_TRUE(isAligned(allocated->bytes()));
}

TEST(Tensor, ScalarsAndEmptyTensors) {
  Tensor scalar(DType::I64, {});
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.byteSize(), 8u);
  EXPECT_EQ(scalar.data<int64_t>()[0], 0);
  Tensor empty(DType::I32, {0, 4});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(empty.byteSize(), 0u);
  EXPECT_NE(empty.bytes(), nullptr);
}

TEST(Tensor, WritesAreKept) {
  Tensor t = Tensor::zeros(DType::I32, {2, 2});
  t.data<int32_t>()[3] = -9;
  const Tensor &view = t;
  EXPECT_EQ(view.data<int32_t>()[3], -9);
  EXPECT_EQ(view.data<int32_t>()[0], 0);
}

TEST(Tensor, MoveTransfersStorage) {
  Tensor a(DType::F32, {4});
  a.data<float>()[1] = 2.5f;
  const std::byte *storage = a.bytes();
  Tensor b = std::move(a);
  EXPECT_EQ(b.bytes(), storage);
  EXPECT_EQ(b.data<float>()[1], 2.5f);
  EXPECT_EQ(a.bytes(), nullptr); // NOLINT(bugprone-use-after-move)
  Tensor c;
  EXPECT_EQ(c.bytes(), nullptr);
  c = std::move(b);
  EXPECT_EQ(c.bytes(), storage);
}

TEST(Tensor, AllocateRejectsBadShapes) {
  auto negative = Tensor::allocate(DType::F32, {2, -1});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.getStatus().message(),
            "cannot allocate F32 [2, -1]: dimension 1 is negative");
  auto huge =
      Tensor::allocate(DType::I64, {int64_t(1) << 31, int64_t(1) << 31});
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.getStatus().message(),
            "cannot allocate I64 [2147483648, 2147483648]: too many elements");
  // A zero dim makes the tensor empty however large the others are.
  auto empty = Tensor::allocate(DType::F32, {0, int64_t(1) << 62});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->numel(), 0);
}

TEST(Tensor, DTypeNamesAndSizes) {
  EXPECT_EQ(parseDType("F32"), DType::F32);
  EXPECT_EQ(parseDType("I32"), DType::I32);
  EXPECT_EQ(parseDType("I64"), DType::I64);
  EXPECT_FALSE(parseDType("F16").has_value());
  EXPECT_FALSE(parseDType("f32").has_value());
  EXPECT_EQ(dtypeName(DType::F32), "F32");
  EXPECT_EQ(dtypeName(DType::I32), "I32");
  EXPECT_EQ(dtypeName(DType::I64), "I64");
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_EQ(dtypeOf<float>(), DType::F32);
  EXPECT_EQ(dtypeOf<int64_t>(), DType::I64);
}

TEST(TensorDeathTest, DataChecksTheDTypeInDebugBuilds) {
#ifdef NDEBUG
  GTEST_SKIP() << "the dtype check is an assert";
#else
  Tensor t(DType::F32, {2});
  EXPECT_DEATH(t.data<int32_t>(), "element type does not match the dtype");
#endif
}

} // namespace

namespace {
TEST(Tensor, RowsCopiesARangeOfTheFirstDimension) {
  Tensor t(DType::I32, {4, 3});
  for (int32_t i = 0; i < 12; ++i)
    t.data<int32_t>()[i] = i;
  Tensor middle = t.rows(1, 2);
  ASSERT_EQ(middle.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(
      std::vector<int32_t>(middle.data<int32_t>(), middle.data<int32_t>() + 6),
      (std::vector<int32_t>{3, 4, 5, 6, 7, 8}));
  middle.data<int32_t>()[0] = 99; // a copy, not a view
  EXPECT_EQ(t.data<int32_t>()[3], 3);
  EXPECT_EQ(t.rows(4, 0).numel(), 0);
  Tensor lengths(DType::F32, {3});
  lengths.data<float>()[2] = 2.5f;
  EXPECT_EQ(lengths.rows(2, 1).data<float>()[0], 2.5f);
}
} // namespace

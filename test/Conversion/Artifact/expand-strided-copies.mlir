// Copies between strided views become linalg.copy (lowered to loops later);
// contiguous copies stay memref.copy (a memcpy).
// RUN: ponder-opt %s --ponder-expand-strided-copies | FileCheck %s

// CHECK-LABEL: func.func @strided
// CHECK: linalg.copy ins(%arg0 : memref<4xf32, strided<[?], offset: ?>>) outs(%arg1 : memref<4xf32>)
// CHECK-NOT: memref.copy
func.func @strided(%src: memref<4xf32, strided<[?], offset: ?>>, %dst: memref<4xf32>) {
  memref.copy %src, %dst : memref<4xf32, strided<[?], offset: ?>> to memref<4xf32>
  return
}

// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy %arg0, %arg1 : memref<2x3xf32> to memref<2x3xf32>
// CHECK-NOT: linalg.copy
func.func @contiguous(%src: memref<2x3xf32>, %dst: memref<2x3xf32>) {
  memref.copy %src, %dst : memref<2x3xf32> to memref<2x3xf32>
  return
}

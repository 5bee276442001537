// RUN: ponder-opt %s --ponder-sink-globals-into-kernels --gpu-kernel-outlining \
// RUN:   --ponder-merge-kernel-modules | FileCheck %s

// A constant read by two kernels: each launch body gets its own
// memref.get_global, outlining copies the global into each kernel module,
// and the merged module keeps one copy. No launch takes the host global.

// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func @ponder_kernels::@f_kernel blocks
// CHECK-SAME: args(%arg0 : memref<4xf32>)
// CHECK: gpu.launch_func @ponder_kernels::@f_kernel_0 blocks
// CHECK-SAME: args(%arg0 : memref<4xf32>)
// CHECK: gpu.module @ponder_kernels
// CHECK: gpu.func @f_kernel(
// CHECK: memref.get_global @table
// CHECK: memref.global "private" constant @table
// CHECK: gpu.func @f_kernel_0(
// CHECK: memref.get_global @table
// CHECK-NOT: memref.global
module attributes {gpu.container_module} {
  memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  func.func @f(%out: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %t = memref.get_global @table : memref<4xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %v = memref.load %t[%tx] : memref<4xf32>
      memref.store %v, %out[%tx] : memref<4xf32>
      gpu.terminator
    }
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %v = memref.load %t[%tx] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %out[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}

// RUN: ponder-opt %s --ponder-merge-kernel-modules --split-input-file --verify-diagnostics | FileCheck %s

// Each outlined kernel's module moves into one @ponder_kernels module; the
// kernels keep their outlined names and every launch follows them.

// CHECK-NOT: gpu.module @f_kernel
// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func @ponder_kernels::@f_kernel
// CHECK: gpu.launch_func @ponder_kernels::@f_kernel_0
// CHECK: gpu.module @ponder_kernels
// CHECK: gpu.func @f_kernel(
// CHECK-NEXT: gpu.return
// CHECK: gpu.func @f_kernel_0(
// CHECK: memref.store
module attributes {gpu.container_module} {
  func.func @f(%n: index, %m: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%n, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%n, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel(%m: memref<?xf32>) kernel {
      %c0 = arith.constant 0 : index
      %x = arith.constant 1.0 : f32
      memref.store %x, %m[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// A host global cannot be a kernel argument.
module attributes {gpu.container_module} {
  memref.global "private" constant @table : memref<4xf32> = dense<1.0>
  func.func @g() {
    %c1 = arith.constant 1 : index
    %t = memref.get_global @table : memref<4xf32>
    // expected-error @+1 {{a kernel argument is a host global; kernels read only device-visible memory}}
    gpu.launch_func @g_kernel::@g_kernel blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%t : memref<4xf32>)
    return
  }
  gpu.module @g_kernel {
    gpu.func @g_kernel(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

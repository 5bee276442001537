// RUN: ponder-opt %s --pass-pipeline='builtin.module(ponder-linalg-to-gpu{chip=sm_90})' | FileCheck %s

// A row-wise softmax-like function on tensors: every parallel loop becomes a
// kernel launched from host code, the kernels live in one gpu.module
// targeting sm_90 as NVVM, and the host allocates through the runtime
// (managed memory), never with malloc.

// CHECK-NOT: scf.parallel
// CHECK-NOT: llvm.call @malloc
// CHECK-LABEL: llvm.func @rows
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: gpu.launch_func @ponder_kernels::@rows_kernel blocks in
// CHECK-SAME: threads in ({{.*}})
// CHECK: gpu.launch_func @ponder_kernels::@rows_kernel_0
// CHECK: gpu.module @ponder_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">]
// CHECK: llvm.func @rows_kernel(
// CHECK-SAME: gpu.kernel
// CHECK: nvvm.read.ptx.sreg.ctaid.x
// CHECK: nvvm.read.ptx.sreg.tid.x
// CHECK: llvm.func @rows_kernel_0(
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rows(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x?xf32>
  %m = tensor.dim %x, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty(%n) : tensor<?xf32>
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#map, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%filled : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %e = math.exp %a : f32
    %s = arith.addf %acc, %e : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %out = tensor.empty(%n, %m) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#map, #row, #map],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%out : tensor<?x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %e = math.exp %a : f32
    %d = arith.divf %e, %s : f32
    linalg.yield %d : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

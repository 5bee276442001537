// RUN: ponder-opt %s --pass-pipeline='builtin.module(ponder-linalg-to-gpu{chip=sm_80},gpu-module-to-binary{format=isa})' \
// RUN:   | FileCheck %s

// Kernel math calls no libdevice function (ponder-approximate-math): the
// PTX is complete without a CUDA toolkit, with the native operations as
// single instructions.

// CHECK: gpu.binary @ponder_kernels
// CHECK-SAME: .target sm_80
// CHECK-NOT: .extern
// CHECK-NOT: __nv_
// CHECK-DAG: sqrt.rn.f32
// CHECK-DAG: fma.rn.f32
// CHECK-DAG: cvt.rmi.f32.f32
func.func @math(%x: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %out = tensor.empty(%n) : tensor<?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%out : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    %l = math.log %e : f32
    %s = math.sqrt %l : f32
    %r = math.rsqrt %s : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// REQUIRES: ptxas
// RUN: ponder-opt %s --pass-pipeline='builtin.module(ponder-linalg-to-gpu{chip=sm_80},gpu-module-to-binary{format=isa toolkit=%cuda_root})' \
// RUN:   | FileCheck %s

// Math without fast-math flags calls libdevice (__nv_expf): given the
// toolkit, serialisation links it, so the PTX has no external function
// left for ptxas to reject.

// CHECK: gpu.binary @ponder_kernels
// CHECK-SAME: .target sm_80
// CHECK-NOT: .extern
func.func @exp(%x: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %out = tensor.empty(%n) : tensor<?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%out : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// ponder-fast-math marks float arithmetic inside linalg.generic bodies
// reassoc/contract, and nothing outside them.
// RUN: ponder-opt %s --ponder-fast-math | FileCheck %s

// CHECK-LABEL: func.func @dot
// CHECK: %[[OUTSIDE:.*]] = arith.addf %arg2, %arg2 : f32
// CHECK: linalg.generic
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @dot(%x: tensor<8xf32>, %y: tensor<8xf32>, %s: f32) -> (tensor<f32>, f32) {
  %outside = arith.addf %s, %s : f32
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                       iterator_types = ["reduction"]}
      ins(%x, %y : tensor<8xf32>, tensor<8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %sum = arith.addf %acc, %p : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  return %r, %outside : tensor<f32>, f32
}

// tanh and exp become polynomial approximations that vectorise.
// CHECK-LABEL: func.func @transcendental
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: return
func.func @transcendental(%x: f32) -> (f32, f32) {
  %t = math.tanh %x : f32
  %e = math.exp %x : f32
  return %t, %e : f32, f32
}

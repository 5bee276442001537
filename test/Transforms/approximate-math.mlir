// ponder-approximate-math leaves no math op but calls of LLVM intrinsics
// that NVPTX selects as one instruction each.
// RUN: ponder-opt %s --ponder-approximate-math --split-input-file --verify-diagnostics | FileCheck %s

// Transcendental functions become polynomials in plain arithmetic, whose
// rounding steps are native intrinsics (floor, fma, fabs).
// CHECK-LABEL: func.func @transcendental
// CHECK-NOT: math.
// CHECK: llvm.call_intrinsic "llvm.
// CHECK-NOT: math.
// CHECK: return
func.func @transcendental(%x: f32, %y: f32) -> (f32, f32, f32, f32, f32) {
  %e = math.exp %x : f32
  %l = math.log %x : f32
  %t = math.tanh %x : f32
  %p = math.powf %x, %y : f32
  %s = math.sinh %x : f32
  return %e, %l, %t, %p, %s : f32, f32, f32, f32, f32
}

// -----

// CHECK-LABEL: func.func @native
// CHECK-SAME: (%[[X:.*]]: f32, %[[Y:.*]]: f32)
// CHECK: %[[SQRT:.*]] = llvm.call_intrinsic "llvm.sqrt"(%[[X]]) : (f32) -> f32
// CHECK: %[[ROOT:.*]] = llvm.call_intrinsic "llvm.sqrt"(%[[X]]) : (f32) -> f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[RSQRT:.*]] = arith.divf %[[ONE]], %[[ROOT]] : f32
// CHECK: llvm.call_intrinsic "llvm.fabs"(%[[X]])
// CHECK: llvm.call_intrinsic "llvm.floor"(%[[X]])
// CHECK: llvm.call_intrinsic "llvm.fma"(%[[X]], %[[Y]], %[[X]]) : (f32, f32, f32) -> f32
// CHECK: return %[[SQRT]], %[[RSQRT]]
func.func @native(%x: f32, %y: f32) -> (f32, f32, f32, f32, f32) {
  %s = math.sqrt %x : f32
  %r = math.rsqrt %x : f32
  %a = math.absf %x : f32
  %f = math.floor %x : f32
  %m = math.fma %x, %y, %x : f32
  return %s, %r, %a, %f, %m : f32, f32, f32, f32, f32
}

// -----

func.func @unsupported(%x: i32) -> i32 {
  // expected-error @+1 {{'math.absi' op has no native GPU lowering or approximation}}
  %a = math.absi %x : i32
  return %a : i32
}

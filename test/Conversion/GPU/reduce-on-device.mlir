// Full reductions become one block of 256 threads: strided folds, a tree in
// workgroup memory, thread 0 folding into the output. Run emulated (blocks
// with barriers are OpenMP teams) over 3 x 200 elements, so every thread
// folds several and the tree sees all 256 partial results.
// RUN: ponder-opt %s --pass-pipeline='builtin.module(func.func(ponder-reduce-on-device))' | FileCheck %s --check-prefix=IR
// RUN: ponder-opt %s --pass-pipeline='builtin.module(func.func(ponder-reduce-on-device),ponder-emulate-gpu-launches,convert-scf-to-cf,finalize-memref-to-llvm,convert-openmp-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s

#all = affine_map<(i, j) -> (i, j)>
#none = affine_map<(i, j) -> ()>

// IR-LABEL: func.func @sums
// IR: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// IR: %[[NEUTRAL:.*]] = arith.constant 0.000000e+00 : f32
// IR: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c256{{.*}} iter_args(%{{.*}} = %[[NEUTRAL]])
// IR: arith.mulf
// IR: arith.addf
// IR: memref.store %{{.*}}, %[[P]]
// IR: gpu.barrier
// IR: arith.cmpi ult, %{{.*}}, %c128
// IR-COUNT-8: gpu.barrier
// IR: arith.cmpi eq
// IR: memref.load %arg1[]
// IR: memref.store %{{.*}}, %arg1[]
// IR-NOT: linalg.generic
// IR: gpu.launch
// IR: arith.constant false
// IR: arith.ori
// IR: gpu.launch
// IR: arith.maxsi
// IR-NOT: linalg.generic
func.func @sums(%x: memref<3x200xf32>, %sum: memref<f32>, %mask: memref<3x200xi1>, %any: memref<i1>, %ids: memref<3x200xi32>, %max: memref<i32>) {
  // sum of 2 x
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%sum : memref<f32>) {
  ^bb0(%a: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %d = arith.mulf %a, %two : f32
    %s = arith.addf %o, %d : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%mask : memref<3x200xi1>) outs(%any : memref<i1>) {
  ^bb0(%a: i1, %o: i1):
    %s = arith.ori %o, %a : i1
    linalg.yield %s : i1
  }
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%ids : memref<3x200xi32>) outs(%max : memref<i32>) {
  ^bb0(%a: i32, %o: i32):
    %s = arith.maxsi %a, %o : i32
    linalg.yield %s : i32
  }
  return
}

// An output filled just before the reduction: thread 0 folds the total
// into the fill's value, and the fill is gone.
// IR-LABEL: func.func @filled_sum
// IR-NOT: linalg.fill
// IR: %[[THREE:.*]] = arith.constant 3.000000e+00 : f32
// IR: gpu.launch
// IR: arith.cmpi eq
// IR-NOT: memref.load %alloc[]
// IR: arith.addf %[[THREE]]
// IR: memref.store %{{.*}}, %alloc[]
// IR: memref.copy %alloc, %arg1
func.func @filled_sum(%x: memref<3x200xf32>, %out: memref<f32>) {
  %three = arith.constant 3.0 : f32
  %acc = memref.alloc() : memref<f32>
  linalg.fill ins(%three : f32) outs(%acc : memref<f32>)
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%acc : memref<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  memref.copy %acc, %out : memref<f32> to memref<f32>
  memref.dealloc %acc : memref<f32>
  return
}

func.func private @printF32(f32)
func.func private @printI64(i64)
func.func private @printNewline()

// 2 * (0 + 1 + ... + 599) + 5 (the initial sum), the one set mask bit
// (the last element), the largest id (at [1, 37]).
// CHECK: 359405
// CHECK-NEXT: 1
// CHECK-NEXT: 1000
// CHECK-NEXT: 179703
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c37 = arith.constant 37 : index
  %c199 = arith.constant 199 : index
  %c200 = arith.constant 200 : index
  %false = arith.constant false
  %true = arith.constant true
  %x = memref.alloc() : memref<3x200xf32>
  %mask = memref.alloc() : memref<3x200xi1>
  %ids = memref.alloc() : memref<3x200xi32>
  scf.for %i = %c0 to %c3 step %c1 {
    scf.for %j = %c0 to %c200 step %c1 {
      %row = arith.muli %i, %c200 : index
      %flat = arith.addi %row, %j : index
      %n = arith.index_cast %flat : index to i32
      %f = arith.sitofp %n : i32 to f32
      memref.store %f, %x[%i, %j] : memref<3x200xf32>
      memref.store %false, %mask[%i, %j] : memref<3x200xi1>
      %neg = arith.subi %c0, %flat : index
      %m = arith.index_cast %neg : index to i32
      memref.store %m, %ids[%i, %j] : memref<3x200xi32>
    }
  }
  %c2 = arith.constant 2 : index
  memref.store %true, %mask[%c2, %c199] : memref<3x200xi1>
  %big = arith.constant 1000 : i32
  memref.store %big, %ids[%c1, %c37] : memref<3x200xi32>
  %sum = memref.alloc() : memref<f32>
  %five = arith.constant 5.0 : f32
  memref.store %five, %sum[] : memref<f32>
  %any = memref.alloc() : memref<i1>
  memref.store %false, %any[] : memref<i1>
  %max = memref.alloc() : memref<i32>
  %low = arith.constant -2147483648 : i32
  memref.store %low, %max[] : memref<i32>
  call @sums(%x, %sum, %mask, %any, %ids, %max) : (memref<3x200xf32>, memref<f32>, memref<3x200xi1>, memref<i1>, memref<3x200xi32>, memref<i32>) -> ()
  %s = memref.load %sum[] : memref<f32>
  call @printF32(%s) : (f32) -> ()
  call @printNewline() : () -> ()
  %a = memref.load %any[] : memref<i1>
  %a64 = arith.extui %a : i1 to i64
  call @printI64(%a64) : (i64) -> ()
  call @printNewline() : () -> ()
  %m = memref.load %max[] : memref<i32>
  %m64 = arith.extsi %m : i32 to i64
  call @printI64(%m64) : (i64) -> ()
  call @printNewline() : () -> ()
  %filled = memref.alloc() : memref<f32>
  call @filled_sum(%x, %filled) : (memref<3x200xf32>, memref<f32>) -> ()
  %fs = memref.load %filled[] : memref<f32>
  call @printF32(%fs) : (f32) -> ()
  call @printNewline() : () -> ()
  return
}

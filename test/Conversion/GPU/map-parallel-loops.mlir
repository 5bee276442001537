// RUN: ponder-opt %s --ponder-map-parallel-loops-to-gpu | FileCheck %s

// Threads go along the innermost (contiguous) dimension: a short one (8)
// takes 8 threads in x and the next dimension fills the block (4 of 32 in y).
// CHECK-LABEL: func.func @short_rows
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_y, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_y, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @short_rows(%m: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %x = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    memref.store %x, %m[%i, %j] : memref<4x8xf32>
  }
  return
}

// Dynamic sizes: 256 threads in x; blocks over the three inner dimensions
// from the inside out, the outermost runs sequentially, and so does a
// parallel loop nested under a reduction: it becomes scf.for loops, which
// may follow other work in the thread (ponder-fuse-rows' row bodies).
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.parallel
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_y, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = block_z, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @dynamic(%m: memref<?x?x?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %x = arith.constant 1.0 : f32
  scf.parallel (%a, %b, %c, %d) = (%c0, %c0, %c0, %c0) to (%n, %n, %n, %n)
      step (%c1, %c1, %c1, %c1) {
    scf.for %k = %c0 to %n step %c1 {
      scf.parallel (%e) = (%c0) to (%n) step (%c1) {
        memref.store %x, %m[%a, %b, %c, %e] : memref<?x?x?x?xf32>
      }
    }
  }
  return
}

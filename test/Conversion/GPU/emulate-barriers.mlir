// A block with workgroup memory and a barrier runs as an OpenMP team of
// blockDim threads: each thread stores its element into the tile, waits at
// the barrier, then reads the element another thread stored. Sequential
// threads would read the tile before it is written.
// RUN: ponder-opt %s --ponder-emulate-gpu-launches --convert-scf-to-cf \
// RUN:   --finalize-memref-to-llvm --convert-openmp-to-llvm --convert-to-llvm \
// RUN:   --reconcile-unrealized-casts | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s
// RUN: ponder-opt %s --ponder-emulate-gpu-launches | FileCheck %s --check-prefix=IR

// IR-LABEL: func.func @reverse_blocks
// IR: %[[TILE:.*]] = memref.alloc() : memref<4xf32>
// IR: scf.for
// IR: omp.parallel num_threads(
// IR: call @omp_get_num_threads
// IR: cf.assert
// IR: call @omp_get_thread_num
// IR: memref.store %{{.*}}, %[[TILE]]
// IR-NEXT: omp.barrier
// IR: memref.load %[[TILE]]
// IR: omp.terminator
// IR: memref.dealloc %[[TILE]]
// IR-NOT: gpu.
func.func @reverse_blocks(%in: memref<8xf32>, %out: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<4xf32, #gpu.address_space<workgroup>>) {
    %base = arith.muli %bx, %c4 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %in[%i] : memref<8xf32>
    memref.store %v, %tile[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %r = arith.subi %c3, %tx : index
    %w = memref.load %tile[%r] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %w, %out[%i] : memref<8xf32>
    gpu.terminator
  }
  return
}

func.func private @printMemrefF32(memref<*xf32>)

// CHECK: [3,  2,  1,  0,  7,  6,  5,  4]
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %in = memref.alloc() : memref<8xf32>
  %out = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %n = arith.index_cast %i : index to i32
    %f = arith.sitofp %n : i32 to f32
    memref.store %f, %in[%i] : memref<8xf32>
  }
  call @reverse_blocks(%in, %out) : (memref<8xf32>, memref<8xf32>) -> ()
  %u = memref.cast %out : memref<8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %in : memref<8xf32>
  memref.dealloc %out : memref<8xf32>
  return
}

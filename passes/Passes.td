//===- Passes.td - Ponder passes ---------------------------*- tablegen -*-===//

#ifndef PONDER_PASSES_TD
#define PONDER_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertPonderToLinalg : Pass<"convert-ponder-to-linalg", "ModuleOp"> {
  let summary = "Lower ponder layers and halting loops to linalg and scf";
  let description = [{
    Rewrites the layer operations of the ponder dialect (`embed`,
    `step_embed`, `rms_norm`, `linear`, `gelu`, `attention`, `select_step`)
    into `linalg.generic` ops on tensors, with the numerics of MODEL.md §4.
    Every result stays a tensor, so bufferization, tiling, vectorisation and
    fusion apply afterwards. Ops this pass does not lower yet (the halting
    loop and the losses) are left in place.

    With `fused-attention`, attention and its gradient become parallel
    loops with an online softmax over memref views of their operands
    (FusedAttention.cpp): no [B, H, T, Tk] score buffer, one kernel for
    the forward and two for the gradient on the GPU. A head's row lives in
    vectors of `attention-lanes` f32 (the CPU's width; 1 on the GPU).
    Attention over gathered queries (`positions`, compacted halting loops)
    always takes these loops; without `fused-attention` it takes the score
    matrices at steps where at least half of the positions run.
  }];
  let options = [
    Option<"fusedAttention", "fused-attention", "bool", /*default=*/"false",
           "Lower attention to online-softmax loops instead of score "
           "matrices">,
    Option<"attentionLanes", "attention-lanes", "int64_t", /*default=*/"1",
           "f32 lanes of the vectors that hold a head's row in those loops "
           "(1: scalars, the GPU; the CPU's vector width)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def CompactHaltingLoops : Pass<"ponder-compact-halting-loops", "ModuleOp"> {
  let summary = "Run an ACT loop's block on the running positions only";
  let description = [{
    Rewrites the body of every `act` `ponder.halting_loop` without
    `kv_cache` so that a halted position stops costing the block (issue 19,
    docs/compaction.md). The body splits into two slices:

    - the key/value slice, the ops the attention's `key` and `value` depend
      on (the step embedding, the attention norm, the K and V projections),
      which still run on every position: MODEL.md §4 lets running positions
      attend to a halted position's keys at later steps;
    - the query slice, everything else, which runs on the rows of the
      running positions only, gathered densely (`ponder.gather_positions`)
      from the key/value slice's values it reads; the attention becomes a
      gathered attention (`positions`), and the block's result is scattered
      back into the state (`ponder.scatter_positions`).

    The loop gets `compact` and a third region argument, the running
    positions, which its lowering computes at every step; autodiff carries
    them to `ponder.halting_loop_grad`, whose lowering rebuilds them from
    `steps`. A body the pass does not recognise (no single attention, or a
    query-slice op that mixes positions) is left dense. Run it before
    `ponder-autodiff`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def Autodiff : Pass<"ponder-autodiff", "ModuleOp"> {
  let summary = "Reverse-mode differentiation of ponder functions";
  let description = [{
    Materialises every `ponder.gradient @f(...)`: builds `@f_grad` once, a
    function with `@f`'s arguments that returns `@f`'s results followed by
    the gradient of its first result (a scalar loss) with respect to each
    `ponder.param` argument, and replaces the op by a call to it.

    The reverse sweep visits `@f`'s ops backwards and asks each for its
    vector-Jacobian product through `DifferentiableOpInterface`, summing
    cotangents where a value has several uses. A `ponder.halting_loop`
    gains a tape of its per-step states and is differentiated by a
    `ponder.halting_loop_grad` whose region is the reverse sweep of the
    loop's body, recomputed from the taped state (so only the states are
    stored, not every intermediate of every step). With `recompute-states`
    (or the module attribute `ponder.recompute_states`, set by a model
    description's `[depth] backward = "recompute"`) there is no tape: the
    loop's VJP recomputes each step's state from the loop's input.
  }];
  let options = [
    Option<"recomputeStates", "recompute-states", "bool", "false",
           "Recompute halting-loop states in the backward pass instead of "
           "taping them">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def FastMath : Pass<"ponder-fast-math", "ModuleOp"> {
  let summary = "Allow reassociation and contraction in linalg.generic bodies";
  let description = [{
    Sets `fastmath<reassoc,contract>` on the float arithmetic inside every
    `linalg.generic`, so that LLVM vectorises reductions and forms FMAs, and
    replaces `math.tanh` and `math.exp` by polynomial approximations that
    vectorise (docs/performance.md). The order of floating-point sums
    changes; the results stay within the contract's tolerances.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def FuseElementwise : Pass<"ponder-fuse-elementwise", "ModuleOp"> {
  let summary = "Fuse chains of element-wise linalg.generic ops";
  let description = [{
    Fuses an element-wise `linalg.generic` (no reduction loops) into the
    element-wise generic that consumes it, when that is its only use: norms'
    scaling, GELU, residual additions and the halting update become fewer
    loop nests (fewer kernels on the GPU) without recomputing anything.
    Contractions and reductions are not touched.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FuseRows : Pass<"ponder-fuse-rows", "ModuleOp"> {
  let summary = "Fuse row reductions with their producers and consumers";
  let description = [{
    Tiles an element-wise `linalg.generic` that reads the result of a
    reduction along the last dimension (a norm's mean square, a softmax's
    maximum and sum, a cross-entropy) one row at a time as an `scf.forall`,
    and fuses into the tile the fills, reductions and element-wise ops that
    produce its rows: a norm or a softmax becomes one loop over rows (one
    kernel on the GPU, one parallel region on the CPU). Producers used after
    the chain are yielded by the loop, never recomputed; contractions and
    producers in other regions are left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ExpandLoopBuffers : Pass<"ponder-expand-loop-buffers"> {
  let summary = "Buffers allocated in each iteration of a parallel loop "
                "become slices of one buffer allocated before it";
  let description = [{
    A static `memref.alloc` in the body of an `scf.parallel` (zero lower
    bounds, unit steps) that only linalg ops use becomes a subview of one
    buffer with the loop's extents in front, allocated before the loop and
    freed after it: ponder-fuse-rows' loops over rows then allocate nothing
    per row, and the GPU mapping can turn them into kernels.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def ApproximateMath : Pass<"ponder-approximate-math"> {
  let summary = "Kernel math as polynomials and native operations only";
  let description = [{
    Rewrites every `math` op that has no native NVPTX instruction into
    arithmetic: `powf`, `exp2` and the hyperbolic functions are expanded
    into `exp`, `log` and `sqrt`, and `exp`, `log`, `tanh`, `erf`, `sin`
    and the others get MLIR's polynomial approximations (a few ulp in
    f32). What is left (`sqrt`, `rsqrt`, `absf`, `floor`, `ceil`, `fma`,
    `copysign`, `trunc`) becomes calls of LLVM intrinsics, one PTX
    instruction each (`rsqrt` is a correctly rounded `1 / sqrt`), so GPU
    kernels call no libdevice function and their PTX needs no CUDA toolkit
    to link. Any other `math` op is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect"];
}

def VectorizeContractions
    : Pass<"ponder-vectorize-contractions", "ModuleOp"> {
  let summary = "Register-tiled vector kernels for f32 contractions on buffers";
  let description = [{
    Rewrites every f32 `linalg.generic` on buffers that is a contraction
    (a multiply-add body over projected permutations) into scf loops around
    a register-tiled vector micro-kernel. When the output and one operand
    are contiguous along the same output dimension, a `rows` x
    (`vectors` x `lanes`) tile of the output stays in registers while the
    reduction walks, each step a broadcast times `vectors` vectors (outer
    products, as in a BLAS micro-kernel). When both operands are contiguous
    along the same reduced dimension (`y = x W^T`, attention scores), a
    `dot-rows` x `dot-cols` tile of lane-wise partial sums is reduced once
    at the end. Ragged edges run one row at a time and with masked vectors.
    Other contractions are left for `convert-linalg-to-loops`. Sums in the
    dot-product shape are reassociated (as `ponder-fast-math` allows).
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "16", "f32 lanes per vector">,
    Option<"rows", "rows", "int64_t", "8",
           "Output rows per outer-product tile">,
    Option<"vectors", "vectors", "int64_t", "2",
           "Vectors per row of an outer-product tile">,
    Option<"dotRows", "dot-rows", "int64_t", "4",
           "Output rows per dot-product tile">,
    Option<"dotCols", "dot-cols", "int64_t", "4",
           "Output columns per dot-product tile">,
    Option<"fuseEnds", "fuse-ends", "bool", "true",
           "Start from the output's fill and apply the element-wise "
           "epilogue in the kernel (ContractionEnds.h)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def ParallelizeOuterLoops
    : Pass<"ponder-parallelize-outer-loops", "ModuleOp"> {
  let summary = "Run the outermost parallel loop of each linalg op on threads";
  let description = [{
    Tiles the first loop of every `linalg.generic` on buffers whose first
    iterator is parallel by one, as an `scf.parallel` around the rest of
    the op (a slice along the first dimension); with three loops or more
    and a parallel second one, the second too, so that `[B, T, d]` ops run
    one position per iteration and the `[1, M, d]` rows of a compacted
    halting loop still spread over threads. The inner loops stay
    sequential, so that LLVM vectorises the innermost one after
    `convert-linalg-to-loops`; `convert-scf-to-openmp` then runs the outer
    loop on OpenMP threads. Iterations write disjoint slices: results do not
    depend on the number of threads. Ops with a static iteration space below
    `minimum-points` points stay sequential.
  }];
  let options = [
    Option<"minimumPoints", "minimum-points", "int64_t", "4096",
           "Smallest static iteration space worth a parallel loop">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def ExpandStridedCopies : Pass<"ponder-expand-strided-copies", "ModuleOp"> {
  let summary = "Rewrite memref.copy between non-identity layouts as linalg.copy";
  let description = [{
    Bufferized `tensor.insert_slice` copies into strided subviews, which the
    LLVM lowering turns into calls to `memrefCopy` from MLIR's C runner
    utilities. Compiled artifacts must not depend on that library, so such
    copies become `linalg.copy`, which lowers to plain loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def GenerateEntryPoints : Pass<"ponder-generate-entry-points", "ModuleOp"> {
  let summary = "Add uniform `ponder_entry_NAME(void **args)` wrappers";
  let description = [{
    For every `llvm.func @_mlir_ciface_NAME` (the C interface of a function
    marked `llvm.emit_c_interface`), adds `llvm.func @ponder_entry_NAME`
    taking one pointer to an array of argument pointers: the result-struct
    pointer first, then one memref-descriptor pointer per argument. The
    runtime calls every entry point through this one signature, building
    descriptors of any rank from the artifact's descriptor
    (docs/artifact-abi.md).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MapParallelLoopsToGPU
    : Pass<"ponder-map-parallel-loops-to-gpu", "func::FuncOp"> {
  let summary = "Tile every outermost scf.parallel and map it to blocks and threads";
  let description = [{
    Row-major buffers are contiguous along the innermost loop dimension, so
    each outermost `scf.parallel` is tiled to blocks of up to 256 threads
    with `threadIdx.x` along its innermost dimension (coalesced loads and
    stores) and, when that dimension is short, `threadIdx.y` along the next
    one. Tiles go to `blockIdx.x`, `.y`, `.z` from the innermost dimension
    outwards; further dimensions and loops nested inside run sequentially in
    each thread. Tiles have no min/max bounds, so dynamic shapes map too
    (the body checks its index). `convert-parallel-loops-to-gpu` then
    creates the launches.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

def TileContractionsForGPU
    : Pass<"ponder-tile-contractions-for-gpu", "func::FuncOp"> {
  let summary = "Matrix products as shared-memory tiled gpu.launch kernels";
  let description = [{
    Rewrites each bufferized `linalg.generic` that computes `out += a * b`
    over m, n and k dimensions (no batch dimensions; several of each are
    flattened) into a `gpu.launch` of 64x64 output tiles with 16x16
    threads. The block stages 64x16 tiles of both operands in workgroup
    memory per step of k (coalesced along each operand's innermost index,
    rows padded against bank conflicts), synchronises with `gpu.barrier`,
    and each thread accumulates a 4x4 block of outputs in registers. Bounds
    are checked, so every shape is handled. Other generics are left to
    `convert-linalg-to-parallel-loops` and the one-thread-per-output mapping.
    With `fuse-ends`, the fill of the output before the product and the
    element-wise op after it (ContractionEnds.h) run in the same kernel.
  }];
  let options = [
    Option<"fuseEnds", "fuse-ends", "bool", "true",
           "Start from the output's fill and apply the element-wise "
           "epilogue in the kernel">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ReduceOnDevice : Pass<"ponder-reduce-on-device", "func::FuncOp"> {
  let summary = "Full reductions to a scalar as one-block gpu.launch kernels";
  let description = [{
    A bufferized `linalg.generic` whose loops are all reductions into a
    rank-0 buffer, with a body `yield combine(out, x)` whose combiner has
    a neutral element (`addf`, `ori`, `maxsi`, ...), becomes a launch of
    one block of 256 threads: strided per-thread folds from the neutral
    element, a tree in workgroup memory with a barrier per level, and
    thread 0 folding the total into the output. The halting loop's exit
    test and the losses' sums then run on the device; the host reads one
    element. Other generics are left alone.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SinkGlobalsIntoKernels
    : Pass<"ponder-sink-globals-into-kernels", "func::FuncOp"> {
  let summary = "Read constant globals inside gpu.launch bodies, not through arguments";
  let description = [{
    Bufferized constants are `memref.global`s in host memory, which kernels
    cannot read. Each `memref.get_global` used inside a `gpu.launch` body is
    cloned into the body, so `gpu-kernel-outlining` copies the global into
    the kernel module, where the NVPTX backend places it in device memory.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def EmulateGPULaunches : Pass<"ponder-emulate-gpu-launches", "ModuleOp"> {
  let summary = "Run each gpu.launch body on the host";
  let description = [{
    Replaces every `gpu.launch` by loops over its grid (z, y, x), so the GPU
    pipeline's mapping, bounds checks and host code can execute and be
    checked on a machine without a GPU (`ponder-linalg-to-gpu-emulated`).
    A kernel without barriers or workgroup memory runs its threads as
    loops too (z, y, x). A kernel with either runs each block as an OpenMP
    team (`omp.parallel`) of exactly blockDim threads: `gpu.barrier`
    becomes `omp.barrier`, the workgroup buffers are host buffers the team
    shares, and the thread ids come from `omp_get_thread_num` (a team short
    of threads aborts). Both are exact for race-free kernels.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::omp::OpenMPDialect"];
}

def MergeKernelModules : Pass<"ponder-merge-kernel-modules", "ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in a `gpu.module` of its own,
    which would make one PTX module, one `ptxas` run and one module load
    per kernel. This pass moves every kernel into a single `gpu.module`
    (named by `module-name`), keeping each kernel's outlined name, and
    points every `gpu.launch_func` at it. Globals that several kernel
    modules copied are kept once. A launch that passes a host global
    (`memref.get_global`) to a kernel is an error: buffers are managed
    memory, globals are not (ponder-sink-globals-into-kernels avoids it).
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string", "\"ponder_kernels\"",
           "Name of the merged gpu.module">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // PONDER_PASSES_TD

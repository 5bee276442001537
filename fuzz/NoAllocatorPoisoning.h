//===- NoAllocatorPoisoning.h - One allocator rule for all code -*- C++ -*-===//
//
// Included before every source of the fuzz build (-include). LLVM's
// BumpPtrAllocator, inline in its headers, poisons its slabs for
// AddressSanitizer when the code that inlines it is instrumented, and
// unpoisons each allocation. Ponder's instrumented code and the
// uninstrumented libMLIR.so share allocators (an MLIRContext's): a slab one
// side poisoned and the other side carved up without unpoisoning reads as
// use-after-poison when an intercepted memmove touches it (a false report
// on a malformed ponder-opt input). Heap checks are unaffected: only the
// allocator's own poisoning is switched off, so both sides agree.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_FUZZ_NOALLOCATORPOISONING_H
#define PONDER_FUZZ_NOALLOCATORPOISONING_H

#include <sanitizer/asan_interface.h>

#undef __asan_poison_memory_region
#undef __asan_unpoison_memory_region
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))

#endif // PONDER_FUZZ_NOALLOCATORPOISONING_H

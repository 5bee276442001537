# The compiler half's build setup: LLVM/MLIR 22 from Debian (llvm-22-dev,
# libmlir-22-dev). We link the shared libMLIR.so / libLLVM.so: much faster
# links than the static component libs. Included only when
# PONDER_ENABLE_COMPILER is ON, after the runtime layers, so that its include
# directories and flags never reach them.
find_package(MLIR REQUIRED CONFIG
  HINTS /usr/lib/llvm-22/lib/cmake/mlir)
if(NOT LLVM_VERSION_MAJOR EQUAL 22)
  message(FATAL_ERROR "Ponder needs LLVM/MLIR 22, found ${LLVM_PACKAGE_VERSION}")
endif()
message(STATUS "Using MLIRConfig.cmake in: ${MLIR_DIR}")
message(STATUS "Using LLVMConfig.cmake in: ${LLVM_DIR}")

set(MLIR_LINK_MLIR_DYLIB ON)
set(LLVM_RUNTIME_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/bin)
set(LLVM_LIBRARY_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/lib)
set(MLIR_BINARY_DIR ${CMAKE_BINARY_DIR})

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)
include(HandleLLVMOptions)

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
include_directories(${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
link_directories(${LLVM_BUILD_LIBRARY_DIR})
separate_arguments(LLVM_DEFINITIONS_LIST NATIVE_COMMAND ${LLVM_DEFINITIONS})
add_definitions(${LLVM_DEFINITIONS_LIST})

# Compiled code runs its parallel loops on LLVM's OpenMP runtime
# (libomp-22-dev): artifacts link it, in-process JIT tests load it.
find_library(PONDER_LIBOMP omp PATHS "${LLVM_LIBRARY_DIR}" NO_DEFAULT_PATH
  REQUIRED)
get_filename_component(PONDER_LIBOMP_DIR "${PONDER_LIBOMP}" DIRECTORY)

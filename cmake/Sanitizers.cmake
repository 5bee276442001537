# Warnings and sanitizers for every Ponder target. LLVM_USE_SANITIZER (the
# `sanitize` preset: "Address;Undefined") is LLVM's variable; the compiler
# half also gets it from HandleLLVMOptions, but the runtime layers are
# configured before that (and without LLVM), so they read it here.
add_compile_options(-Wall -Wextra -Wno-unused-parameter)
foreach(sanitizer IN LISTS LLVM_USE_SANITIZER)
  if(sanitizer STREQUAL "Address")
    set(flags -fsanitize=address -fno-omit-frame-pointer)
  elseif(sanitizer STREQUAL "Undefined")
    if(LLVM_UBSAN_FLAGS)
      separate_arguments(flags UNIX_COMMAND "${LLVM_UBSAN_FLAGS}")
    else()
      set(flags -fsanitize=undefined)
    endif()
  else()
    message(FATAL_ERROR "LLVM_USE_SANITIZER: unsupported '${sanitizer}'")
  endif()
  add_compile_options(${flags})
  add_link_options(${flags})
endforeach()

# -*- Python -*-
import os
import platform

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "PONDER"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ponder_obj_root, "test")

for lib in ["mlir_c_runner_utils", "mlir_runner_utils", "omp"]:
    config.substitutions.append(
        ("%" + lib, os.path.join(config.llvm_lib_dir, "lib" + lib + ".so")))
config.substitutions.append(("%examples", os.path.join(config.ponder_src_root, "examples")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.ponder_tools_dir, config.llvm_tools_dir]
tools = ["ponder-opt", "ponderc", "split-file", "not", "count", "mlir-runner",
         "llvm-nm", "llvm-objdump", "llvm-readelf", "llvm-strings"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Tests of x86 code generation (--target-cpu=haswell) run on x86 hosts.
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")

# The CUDA toolkit's ptxas validates generated kernels where it is installed
# (tests marked `REQUIRES: ptxas`), as ponderc finds it.
def find_ptxas():
    roots = [os.environ.get(v) for v in ("CUDA_HOME", "CUDA_PATH")]
    roots.append("/usr/local/cuda")
    for root in roots:
        if root and os.access(os.path.join(root, "bin", "ptxas"), os.X_OK):
            return os.path.join(root, "bin", "ptxas")
    import shutil
    return shutil.which("ptxas")

ptxas = find_ptxas()
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(
        ("%cuda_root", os.path.dirname(os.path.dirname(ptxas))))

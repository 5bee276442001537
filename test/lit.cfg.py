# -*- Python -*-
import os

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
         "llvm-nm", "llvm-strings"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

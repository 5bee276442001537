//===- ModelCache.h - Compiled models, cached ---------------------*- C++
//-*-===//
//
// `ponder` compiles a model description once with ponderc (next to this
// binary, or $PONDERC) and keeps the artifact under $PONDER_CACHE_DIR
// (default ~/.cache/ponder). The cache key is ponderc's key of the parsed
// description (`ponderc --emit=model-key`), so editing a comment or the
// order of keys neither recompiles nor makes a checkpoint "another model";
// it also covers the target and the compiler binary.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDER_MODELCACHE_H
#define PONDER_TOOLS_PONDER_MODELCACHE_H

#include "runtime/Status.h"

#include <string>

namespace ponder::cli {

/// The key of the parsed description in `modelPath`: equal for two files
/// that describe the same model. Errors in the description are ponderc's
/// one line (already printed: the status message is empty).
StatusOr<std::string> modelKey(const std::string &modelPath);

/// `text` (a checkpoint's description) as a file in the cache directory,
/// for ponderc to read.
StatusOr<std::string> descriptionFile(const std::string &text);

/// The path of the artifact of `modelPath` for `device` ("cpu", "cuda"),
/// compiled now if the cache lacks it (saying so on a terminal).
StatusOr<std::string> compiledArtifact(const std::string &modelPath,
                                       const std::string &device);

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_MODELCACHE_H

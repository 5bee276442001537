//===- ModelCache.h - Compiled models, cached ---------------------*- C++
//-*-===//
//
// `ponder` compiles a model description once with ponderc (next to this
// binary, or $PONDERC) and keeps the artifact under $PONDER_CACHE_DIR
// (default ~/.cache/ponder). The cache key is ponderc's key of the parsed
// description (`ponderc --emit=model-key`), so editing a comment or the
// order of keys neither recompiles nor makes a checkpoint "another model";
// it also covers the target (device, CPU and features), the host's CPU and
// the compiler binary, so a cache shared between machines holds code for
// each.
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

struct ModelOptions;

/// The path of the artifact of `modelPath` for the device and CPU of
/// `options`, compiled now if the cache lacks it (saying so on a terminal).
StatusOr<std::string> compiledArtifact(const std::string &modelPath,
                                       const ModelOptions &options);

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_MODELCACHE_H

//===- ModelKey.h - What makes two descriptions one model --------*- C++
//-*-===//
//
// The key of a parsed description: every field of MODEL.md §2 with its
// default filled in, so that comments, spacing, the order of keys and
// spelt-out defaults do not change it. `ponderc --emit=model-key` prints
// it; `ponder` keys its artifact cache with it and compares a checkpoint's
// description with it on --resume.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_FRONTEND_MODELKEY_H
#define PONDER_FRONTEND_MODELKEY_H

#include "frontend/ModelDescription.h"

#include <string>

namespace ponder {

/// "model.verbal_vocab=...\n..." for every field, in a fixed order.
std::string canonicalDescription(const ModelDescription &d);

/// 16 hex digits: the FNV-1a hash of canonicalDescription(d).
std::string modelKey(const ModelDescription &d);

} // namespace ponder

#endif // PONDER_FRONTEND_MODELKEY_H

//===- BatchFile.h - A batch of MODEL.md §8 read from a file ----*- C++ -*-===//
//
// `ponder run --batch` and `ponder bench --batch-file` read the same file:
// safetensors with `ids` I32 [B, T] and `lengths` I32 [B], and optionally
// `target_weight` and `advantage` F32 [B, T] (defaults: ones and zeros) and
// `reference_logits` F32 [B, T, V]. Everything is checked against the model
// before any of it runs; a problem is one line naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDER_BATCHFILE_H
#define PONDER_TOOLS_PONDER_BATCHFILE_H

#include "runtime/Artifact.h"
#include "runtime/ArtifactContract.h"
#include "runtime/Safetensors.h"

#include <map>
#include <memory>
#include <string>

namespace ponder::cli {

struct BatchFile {
  SafetensorsFile file;
  Tensor ones, zeros; // the defaults of target_weight and advantage
  /// ids, lengths, target_weight and advantage, and reference_logits when
  /// the file has it: the inputs of @loss by name.
  std::map<std::string, const Tensor *> values;

  int64_t rows() const { return values.at(PONDER_VALUE_IDS)->shape()[0]; }
  int64_t length() const { return values.at(PONDER_VALUE_IDS)->shape()[1]; }
};

/// Reads and checks the batch at `path` for `model`.
StatusOr<std::unique_ptr<BatchFile>> readBatchFile(const Artifact &model,
                                                   const std::string &path);

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_BATCHFILE_H

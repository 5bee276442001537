//===- Safetensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets into the byte buffer that follows) plus an optional
// "__metadata__" object of strings, then the buffer. Checkpoints (MODEL.md §8)
// keep the model TOML and the step in the metadata.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_SAFETENSORS_H
#define PONDER_RUNTIME_SAFETENSORS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ponder {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors; // in file order
  std::map<std::string, std::string> metadata;

  /// The tensor called `name`, or null.
  const Tensor *find(const std::string &name) const;
};

/// Reads and validates `path`: every problem is one error line naming the
/// file and what is wrong (truncated file, header longer than the file, bad
/// JSON, unknown dtype, offsets out of range, overlapping or with holes,
/// size not matching the shape, duplicate names, non-string metadata).
StatusOr<SafetensorsFile> readSafetensors(const std::string &path);

/// Writes `tensors` in the given order with `metadata`. The file appears at
/// `path` only when complete (written to `path.tmp`, then renamed).
Status writeSafetensors(
    const std::string &path,
    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
    const std::map<std::string, std::string> &metadata);

} // namespace ponder

#endif // PONDER_RUNTIME_SAFETENSORS_H

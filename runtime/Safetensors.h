//===- Safetensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets into the byte buffer that follows) plus an optional
// "__metadata__" object of strings, then the buffer. Checkpoints (MODEL.md §8)
// keep the model TOML and the step in the metadata; `ponder run` reads its
// batch and writes its dump in this format.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_SAFETENSORS_H
#define PONDER_RUNTIME_SAFETENSORS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ponder {

/// Header lengths above this are rejected as corrupt before any allocation.
constexpr uint64_t kMaxSafetensorsHeader = uint64_t(100) << 20;

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors; // in header order
  std::map<std::string, std::string> metadata;         // "__metadata__"

  /// The tensor called `name`, or null.
  const Tensor *find(const std::string &name) const;
  Tensor *find(const std::string &name);
};

/// Reads and validates `path`. Every problem is one error line that starts
/// with the path and names the tensor or key at fault: a file shorter than
/// 8 bytes, a header length past the file or over kMaxSafetensorsHeader,
/// a header that is not a JSON object, an entry that is not an object,
/// missing or unknown fields, an unsupported dtype, negative dims,
/// data_offsets that are not [begin, end] with begin <= end <= buffer size,
/// a byte size other than numel * element size, duplicate names, tensors that
/// overlap or leave bytes of the buffer to no tensor (the format requires a
/// fully indexed buffer), and metadata values that are not strings.
StatusOr<SafetensorsFile> readSafetensors(const std::string &path);

/// Writes `tensors` in the given order (packed, no gaps) with `metadata`
/// (omitted from the header when empty). The header is padded with spaces to
/// a multiple of 8 bytes, as the reference implementation does. The file
/// appears at `path` only when complete: it is written to `path + ".tmp"`,
/// synced and renamed; on failure the temporary is removed. Duplicate or
/// reserved names, missing tensors and non-UTF-8 strings are errors.
Status writeSafetensors(
    const std::string &path,
    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
    const std::map<std::string, std::string> &metadata);

} // namespace ponder

#endif // PONDER_RUNTIME_SAFETENSORS_H

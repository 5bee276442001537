//===- Communicator.h - Sums over the ranks of a training job ---*- C++ -*-===//
//
// Data-parallel training (docs/distributed.md) needs one collective: a sum
// over the ranks that leaves the same result on every rank. The runtime
// sees only this interface; `ponder` implements it with MPI when it is
// built with MPI, so libponder never links an MPI library.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_COMMUNICATOR_H
#define PONDER_RUNTIME_COMMUNICATOR_H

#include "runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace ponder {

class Communicator {
public:
  virtual ~Communicator();
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Replaces `data[0, count)` with its sum over the ranks, the same bits on
  /// every rank.
  virtual Status allReduceSum(float *data, size_t count) = 0;
  virtual Status allReduceSum(double *data, size_t count) = 0;
};

/// Rank `rank`'s rows of a batch of `rows` split over `size` ranks, as
/// (first, count): [rows r / size, rows (r + 1) / size), so that shards
/// differ by at most one row.
inline std::pair<int64_t, int64_t> shardRows(int64_t rows, int rank, int size) {
  int64_t first = rows * rank / size;
  return {first, rows * (rank + 1) / size - first};
}

/// One rank: every sum is the value itself.
std::unique_ptr<Communicator> singleProcessCommunicator();

} // namespace ponder

#endif // PONDER_RUNTIME_COMMUNICATOR_H

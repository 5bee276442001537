//===- Communicator.cpp - Sums over the ranks of a training job -----------===//

#include "runtime/Communicator.h"

namespace ponder {

Communicator::~Communicator() = default;

namespace {
class SingleProcess final : public Communicator {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  Status allReduceSum(float *, size_t) override { return Status::ok(); }
  Status allReduceSum(double *, size_t) override { return Status::ok(); }
};
} // namespace

std::unique_ptr<Communicator> singleProcessCommunicator() {
  return std::make_unique<SingleProcess>();
}

} // namespace ponder

//===- Ranks.cpp - The ranks of `mpirun -np N ponder train` ---------------===//

#include "tools/ponder/Ranks.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#if PONDER_HAVE_MPI
#include <mpi.h>
#endif

namespace ponder::cli {

namespace {

/// The world size a launcher announced, or 0 without one.
int announcedSize() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char *value = std::getenv(name))
      return std::atoi(value);
  return 0;
}

#if PONDER_HAVE_MPI
Status mpiStatus(int code, const char *what) {
  if (code == MPI_SUCCESS)
    return Status::ok();
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Status::error(std::string("ponder: MPI ") + what + ": " +
                       std::string(text, size_t(length)));
}

class MpiRanks final : public Communicator {
public:
  ~MpiRanks() override { MPI_Finalize(); }
  int rank() const override { return rankOf; }
  int size() const override { return sizeOf; }
  Status allReduceSum(float *data, size_t count) override {
    return sum(data, count, MPI_FLOAT);
  }
  Status allReduceSum(double *data, size_t count) override {
    return sum(data, count, MPI_DOUBLE);
  }
  int rankOf = 0, sizeOf = 1;

private:
  template <typename T> Status sum(T *data, size_t count, MPI_Datatype type) {
    for (size_t at = 0; at < count; at += INT_MAX) {
      int n = int(std::min<size_t>(count - at, INT_MAX));
      if (Status s = mpiStatus(MPI_Allreduce(MPI_IN_PLACE, data + at, n, type,
                                             MPI_SUM, MPI_COMM_WORLD),
                               "all-reduce");
          !s)
        return s;
    }
    return Status::ok();
  }
};
#endif

} // namespace

StatusOr<std::unique_ptr<Communicator>> launchedRanks() {
  int size = announcedSize();
  if (size == 0)
    return std::unique_ptr<Communicator>();
#if PONDER_HAVE_MPI
  if (Status s = mpiStatus(MPI_Init(nullptr, nullptr), "init"); !s)
    return s;
  auto ranks = std::make_unique<MpiRanks>();
  // Errors come back as codes, reported in one line, not as an abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &ranks->rankOf);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks->sizeOf);
  return std::unique_ptr<Communicator>(std::move(ranks));
#else
  if (size == 1)
    return std::unique_ptr<Communicator>();
  return Status::error("ponder: started as " + std::to_string(size) +
                       " ranks, but this ponder was built without MPI "
                       "(install libopenmpi-dev and rebuild)");
#endif
}

void abortRanks() {
#if PONDER_HAVE_MPI
  MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::_Exit(1);
}

std::string mpiDescription() {
#if PONDER_HAVE_MPI
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, size_t(length));
  return "MPI (" + version.substr(0, version.find(',')) + ")";
#else
  return "built without MPI";
#endif
}

} // namespace ponder::cli

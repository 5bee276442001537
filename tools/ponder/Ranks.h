//===- Ranks.h - The ranks of `mpirun -np N ponder train` --------*- C++
//-*-===//
//
// `ponder train` started by mpirun trains data parallel over MPI's world
// (docs/distributed.md). Only this file's .cpp includes <mpi.h>; a ponder
// built without MPI refuses a launch of several ranks with one line.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDER_RANKS_H
#define PONDER_TOOLS_PONDER_RANKS_H

#include "runtime/Communicator.h"

#include <memory>
#include <string>

namespace ponder::cli {

/// MPI's world when mpirun (Open MPI, or a PMI launcher) started this
/// process, initialised; null when no launcher did.
StatusOr<std::unique_ptr<Communicator>> launchedRanks();

/// Ends every rank of the job (MPI_Abort): for an error on one rank while
/// the others may wait for it in a sum.
[[noreturn]] void abortRanks();

/// "MPI (Open MPI v4.1.4)" or "built without MPI", for --version.
std::string mpiDescription();

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_RANKS_H

// The `mpi` backend (OpenMPI): wraps MPI_COMM_WORLD or an MPI_Comm handed in from outside.
//
// MPI is initialized (MPI_THREAD_SERIALIZED or better) only if nobody did so before, and is
// finalized at process exit only if this backend initialized it: a communicator handed in from
// outside is never freed or finalized. Sub-communicators use MPI_Group_incl +
// MPI_Comm_create_group, collective over the members only. Errors return (MPI_ERRORS_RETURN)
// and become Status; a dead peer is handled by the launcher, which aborts the job.
// Counts beyond INT_MAX are sent in pieces, so no buffer is capped at 2 GiB.
#pragma once

#include <mpi.h>

#include <memory>

#include "drc/comm/communicator.h"

namespace drc::comm {

// The world communicator of this process (options.check_collectives is honoured).
Result<std::unique_ptr<Communicator>> MakeMpiWorld(const CommOptions& options = {});
// Wraps `comm`, which stays owned by the caller and must outlive the returned object.
Result<std::unique_ptr<Communicator>> WrapMpiComm(MPI_Comm comm, const CommOptions& options = {});
// The MPI_Comm under an `mpi` communicator (MPI_COMM_NULL for other backends).
MPI_Comm NativeMpiComm(const Communicator& comm);

}  // namespace drc::comm

// Running a command on R ranks of a communicator backend, for the `drc bench` sub-commands.
//
//   local       R threads in this process;
//   mpi, gloo,  R processes: when this process is not inside an mpirun job yet, the same
//   nccl        command is re-executed under `mpirun -np R --oversubscribe --bind-to none`
//               (DRC_MPIRUN replaces the launcher, DRC_MPIRUN_FLAGS adds flags; for gloo a
//               fresh rendezvous directory is passed down in DRC_RENDEZVOUS) and its exit code
//               is returned; inside the job, MakeJobWorld gives this process's communicator
//               (nccl starts over the MPI world, which carries its unique id).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"

namespace drc::app {

// True inside a job started by mpirun (or by RelaunchUnderMpirun).
bool InsideMpiJob();
// Re-runs this very command (from /proc/self) under mpirun with `ranks` processes and waits.
// Returns mpirun's exit code; `who` prefixes error messages ("drc bench data").
int RelaunchUnderMpirun(int ranks, const std::string& backend, const char* who);
// This process's world communicator inside the job ("mpi", "gloo" or "nccl").
Result<std::unique_ptr<comm::Communicator>> MakeJobWorld(const std::string& backend);

// The usual shape of a command on R ranks: with ranks == 1 and outside a job, body(nullptr);
// outside a job with ranks > 1, the command re-runs under mpirun and this returns its exit
// code; inside the job, body(world). Errors making the world are printed after `who`.
int RunOnRanks(int ranks, const std::string& backend, const char* who,
               const std::function<int(comm::Communicator*)>& body);

// Prints "WHO (rank R): STATUS" (without the rank outside a job) on stderr; returns 1, the
// exit code of a failed rank.
int FailOnRank(const char* who, const comm::Communicator* comm, const Status& st);

}  // namespace drc::app

// Conformance checks that every communicator backend must pass.
//
// Each Check* is called by every rank of `comm` (threads for `local`, processes under mpirun
// for `mpi` and `gloo`) and reports through GoogleTest EXPECT_* macros, which are thread-safe.
// Checks never let a failed expectation change the sequence of collective calls, so one wrong
// value does not hang the other ranks. Buffers are host memory (not for `nccl`).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "drc/comm/communicator.h"

namespace drc::comm::testing {

void CheckBarrier(Communicator& comm);
void CheckBroadcast(Communicator& comm);  // every root, sizes 0..1 MiB, unaligned offset
void CheckAllReduce(Communicator& comm);  // 6 types x 4 ops, zero length, in place
void CheckAllGather(Communicator& comm);
void CheckAllGatherV(Communicator& comm);  // zero-length contributions, uneven sizes
void CheckGather(Communicator& comm);
void CheckGatherV(Communicator& comm);
void CheckAllToAll(Communicator& comm);
void CheckAllToAllV(Communicator& comm);         // very uneven, zero-length, non-zero offsets
void CheckSendRecv(Communicator& comm);          // ring exchange and tagged order
void CheckSubCommunicators(Communicator& comm);  // groups of 1 and size-1 ranks; nested use
void CheckAll(Communicator& comm);

// Opt-in (DRC_LARGE_TESTS=1): a broadcast, an all-reduce and an all-to-all-v moving more than
// 2^31 bytes per rank.
void CheckLargeBuffers(Communicator& comm);
bool LargeTestsEnabled();

// A GoogleTest main for process backends: creates the world communicator with `make`, then
// runs one TEST per check on every rank. Rank 0 prints the full report, other ranks print
// failures only. Exit code is non-zero on any failure on this rank.
int RunConformanceMain(int argc, char** argv, const std::string& suite,
                       std::function<Result<std::unique_ptr<Communicator>>()> make);

}  // namespace drc::comm::testing

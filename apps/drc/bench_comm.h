// `drc bench comm`: times one collective on one communicator backend.
//
//   drc bench comm --backend local|mpi|gloo --op allreduce|alltoallv --bytes B --ranks R
//                  [--iters N] [--json]
//
// `local` runs R threads in this process. `mpi` and `gloo` need R processes: when not already
// inside an mpirun job, the tool re-executes itself under `mpirun -np R` (DRC_MPIRUN overrides
// the launcher, DRC_MPIRUN_FLAGS adds flags) and forwards the job's output and exit code. For
// `mpi` the same collective is also timed through MPI directly, interleaved with ours, and
// reported as raw_mpi_seconds and overhead_pct. Not thread-safe (runs once per process).
#pragma once

#include <cstdint>
#include <string>

namespace drc::app {

struct BenchCommArgs {
  std::string backend = "local";     // local, mpi or gloo
  std::string op = "allreduce";      // allreduce (float32 sum of bytes/4 values) or alltoallv
  int64_t bytes = int64_t{1} << 20;  // per rank: the reduced buffer, or all blocks sent
  int ranks = 2;
  int iters = 0;   // timed iterations; 0: chosen so that the timed part lasts ~1.5 s (min 5)
  int warmup = 3;  // untimed iterations first
  bool json = false;
};

// Runs the benchmark and prints the result on stdout (rank 0 only): one JSON object with
// `json`, else one readable line. Returns the process exit code: 0 on success, 2 for bad
// arguments (message on stderr naming the flag), 1 when the benchmark itself fails. The
// backend is checked by main.cc's CLI (IsMember), the only caller.
int RunBenchComm(const BenchCommArgs& args);

}  // namespace drc::app

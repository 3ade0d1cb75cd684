// How many cores this process may use, and how many threads it should start by default.
#pragma once

namespace drc {

// The CPUs in this process's affinity mask (what a batch system, `taskset` or a pilot's core
// pinning gave it); the online CPUs when the mask cannot be read. At least 1.
int UsableCores();

// Default intra-op threads for one of `processes` processes that share this process's cores:
// OMP_NUM_THREADS when it is a positive integer (a pilot sets it to the task's cores per rank,
// and it is per process already), else UsableCores() / processes, at least 1.
int DefaultThreads(int processes = 1);

}  // namespace drc

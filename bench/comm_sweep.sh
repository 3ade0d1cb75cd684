#!/usr/bin/env bash
# The communicator comparison of docs/comm-benchmarks.md ("Quiet machine"): for each op and
# size, 2 ranks of mpi (ours and the same collective called through MPI directly), mpi over
# TCP (DRC_MPIRUN_FLAGS="--mca btl self,tcp"), gloo (TCP loopback) and local (threads).
# Prints one line per run with the median milliseconds per call.
#   bash bench/comm_sweep.sh [REPS]      (needs build/release/apps/drc/drc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
drc=build/release/apps/drc/drc
reps=${1:-2}
ms() { python3 -c "import sys,json;j=json.load(sys.stdin);print('%.3f'%(j['$1']*1e3))"; }
for op in allreduce alltoallv; do
  for bytes in 1048576 16777216 268435456; do
    for ((rep = 1; rep <= reps; rep++)); do
      json=$($drc bench comm --backend mpi --op "$op" --bytes "$bytes" --ranks 2 --json)
      ours=$(ms seconds <<<"$json")
      raw=$(ms raw_mpi_seconds <<<"$json")
      tcp=$(DRC_MPIRUN_FLAGS="--mca btl self,tcp" $drc bench comm --backend mpi --op "$op" \
              --bytes "$bytes" --ranks 2 --json | ms seconds)
      gloo=$($drc bench comm --backend gloo --op "$op" --bytes "$bytes" --ranks 2 --json | ms seconds)
      local_=$($drc bench comm --backend local --op "$op" --bytes "$bytes" --ranks 2 --json |
                 ms seconds)
      echo "$op $bytes rep$rep mpi=$ours raw_mpi=$raw mpi_tcp=$tcp gloo=$gloo local=$local_"
    done
  done
done

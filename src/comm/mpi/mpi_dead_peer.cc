// Dead-peer program for dead_peer_test.sh: rank 1 dies abruptly (no MPI_Finalize) while rank 0
// waits in a barrier. Under mpirun the launcher must abort the job rather than leave rank 0
// hanging; the script checks that mpirun exits non-zero within its deadline.
#include <unistd.h>

#include <cstdio>

#include "drc/comm/mpi.h"

int main() {
  auto world = drc::comm::MakeMpiWorld();
  if (!world.ok()) {
    std::fprintf(stderr, "mpi_dead_peer: %s\n", world.status().ToString().c_str());
    return 1;
  }
  drc::comm::Communicator& comm = **world;
  if (comm.size() < 2) {
    std::fprintf(stderr, "mpi_dead_peer: needs 2 ranks\n");
    return 1;
  }
  if (comm.rank() == 1) _exit(3);
  const drc::Status st = comm.Barrier();
  // Reaching here means MPI reported the failure instead of the launcher killing us: that is
  // acceptable too, as long as the job ends with an error.
  std::fprintf(stderr, "mpi_dead_peer: rank %d barrier returned %s\n", comm.rank(),
               st.ToString().c_str());
  return st.ok() ? 4 : 5;
}

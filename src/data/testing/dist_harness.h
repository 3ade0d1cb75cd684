// Harness for distributed data tests: runs a test body on every rank of a world.
//
// The test binary's main() (in dist_harness.cc) reads:
//   --backend=local (default)  every ForEachWorld runs the body on 1, 2 and 4 thread ranks;
//   --backend=mpi              once on the world of the mpirun job (MPI_COMM_WORLD);
//   --backend=gloo --rendezvous-dir=DIR
//                              once on a gloo world that rendezvouses in DIR/job-<mpirun job id>
//                              (rank and size from the OMPI environment).
// gtest assertions work inside the body (gtest is thread-safe on Linux); a failing ASSERT returns
// from the body on that rank only, so prefer EXPECT_* before collectives to keep ranks in step.
//
// Partitioning helpers let every rank build the same whole table from a seed and keep its own
// share, so the distributed result can be checked against a local operator on the whole table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "drc/data/context.h"

namespace drc::data::testing {

// Runs body(ctx) on every rank of each world (see above). Returns when all ranks are done.
void ForEachWorld(const std::function<void(const Context&)>& body);

// The backend this binary runs on: "local", "mpi" or "gloo".
const std::string& HarnessBackend();

// How the rows of a whole table are spread over the ranks.
enum class Spread {
  kEven,     // contiguous, equal shares (±1)
  kSkewed,   // rank 0 holds most rows, odd ranks hold none
  kOneRank,  // the last rank holds every row
  kNoRows,   // every rank holds a zero-row table with the schema
};

// Rows [begin, end) of the whole table that `rank` of `size` holds under `spread`; the ranks'
// ranges are disjoint, in rank order, and cover the table.
std::pair<int64_t, int64_t> PartitionRange(int64_t rows, int rank, int size, Spread spread);
// This rank's partition of `whole` (a zero-copy slice).
TablePtr Partition(const TablePtr& whole, const Context& ctx, Spread spread);

}  // namespace drc::data::testing

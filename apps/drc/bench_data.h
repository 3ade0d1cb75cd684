// `drc bench data`: one data-engine operator on Cylon's benchmark data shape.
//
//   drc bench data --op join|groupby|sort|shuffle --rows N --ranks R
//                  [--backend local|mpi|gloo] [--iters K] [--json]
//
// Each rank generates N rows of int64 (key, value) pairs with keys uniform in [0, 0.9·N·R)
// (seeded by rank). join: inner join of two such tables on key; groupby: sum, mean and count
// of value per key; sort: by key (sample sort across ranks); shuffle: hash partition by key.
// Only the operation is timed (barrier, then the call; the slowest rank's time; median of K
// runs); data generation is excluded. The JSON carries rows, ranks, seconds, result_rows and,
// for the shuffle, bytes and GB/s per rank.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"

namespace drc::app {

struct BenchDataArgs {
  std::string op = "join";
  int64_t rows = 1000000;  // per rank
  int ranks = 1;
  std::string backend = "local";
  int iters = 3;
  bool json = false;
};

// Runs the benchmark; `args.backend` is checked by main.cc's CLI (IsMember), the only caller.
int RunBenchData(const BenchDataArgs& args);

// The benchmark on the ranks of `comm` (args.ranks and args.backend are ignored): every rank
// returns the same JSON object, the one that `--json` prints. The `data.*` function tasks of
// `drc worker` run this on their private communicator.
Result<nlohmann::json> BenchDataOnComm(comm::Communicator& comm, const BenchDataArgs& args);

}  // namespace drc::app

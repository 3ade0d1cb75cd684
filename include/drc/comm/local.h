// The `local` backend: ranks are threads of one process sharing memory.
//
// Collectives copy straight between the ranks' buffers (no staging copy). A rank that never
// arrives makes the others fail with Timeout after CommOptions::timeout; a rank whose
// communicator is destroyed while others wait makes them fail with Aborted at once. Argument
// mismatches across ranks (operation, sizes, types, roots) are always detected.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "drc/comm/communicator.h"

namespace drc::comm {

class LocalWorld {
 public:
  // Creates `size` connected communicators; hand communicator r to the thread acting as rank r.
  static Result<std::vector<std::unique_ptr<Communicator>>> Make(int size,
                                                                 CommOptions options = {});
};

// Runs fn(comm) on `size` threads, one per rank, and joins them. Returns OK if every rank
// returned OK, else the first error in rank order, prefixed with "rank R".
Status RunLocal(int size, const std::function<Status(Communicator&)>& fn, CommOptions options = {});

}  // namespace drc::comm

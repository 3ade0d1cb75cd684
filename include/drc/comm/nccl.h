// The `nccl` backend: NVIDIA NCCL over CUDA device buffers (memory() == kCuda).
//
// Built only when the CUDA toolkit and NCCL are found. The NCCL unique id is created on rank 0
// and broadcast over CommOptions::bootstrap (required). Each rank uses CommOptions::device, or
// its local rank modulo the visible devices. Calls are enqueued on the communicator's own
// stream and synchronized before returning, so buffers may be reused at once.
#pragma once

#include <memory>

#include "drc/comm/communicator.h"

namespace drc::comm {

Result<std::unique_ptr<Communicator>> MakeNccl(const CommOptions& options);

}  // namespace drc::comm

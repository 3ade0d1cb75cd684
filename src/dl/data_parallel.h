// Data-parallel training over a drc communicator (internal to src/dl).
//
// Every rank holds a full replica of the model. BroadcastParameters() copies rank 0's
// parameters and buffers to all ranks once (so replicas start identical whatever each rank's
// seed did); AllReduceGradients() averages the gradients of all ranks after backward(), packing
// them into contiguous float32 buckets of at most `bucket_bytes` (as torch DDP's 25 MiB
// buckets) so that a model with hundreds of small tensors costs a few collectives, not hundreds.
// A scalar riding in the last bucket (the step's loss) is averaged with them, for free.
// Buckets live where the communicator reads: host memory for mpi and gloo (a model on a GPU goes
// through a host copy), the communicator's GPU for nccl (a model on that GPU is copied device to
// device; the small control collectives, AgreeOnStatus and the layout check, are staged there).
// A device backend needs a libtorch with CUDA; without one every call says so.
//
// Thread-compatible; one reducer per trainer. All ranks must call in the same order.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"

namespace drc::dl {

// Every rank's verdict on a step that may fail on some ranks only (e.g. a shard without
// windows): returns `local` where it failed, and where it succeeded but another rank failed an
// Aborted status saying so, so that no rank goes on into a collective the others never enter.
// OK everywhere only when every rank is OK. Null comm: `local`. One all-reduce of an int32.
Status AgreeOnStatus(comm::Communicator* comm, const Status& local);

// Sums `values` over the ranks in place (one all-reduce of float64, staged on the
// communicator's GPU for nccl). Null comm: unchanged.
Status AllReduceSums(comm::Communicator* comm, std::span<double> values);

// Every rank's `mine`, back to back in rank order, on every rank; the ranks' sizes may differ.
// One all-gather of the sizes, then one of the bytes (staged on the communicator's GPU for
// nccl). Null comm: `mine`.
Result<std::vector<uint8_t>> AllGatherBytes(comm::Communicator* comm,
                                            std::span<const uint8_t> mine);

// AllGatherBytes of plain values: every rank's `mine`, concatenated in rank order.
template <typename T>
Result<std::vector<T>> AllGatherVector(comm::Communicator* comm, const std::vector<T>& mine) {
  static_assert(std::is_trivially_copyable_v<T>, "sent as raw bytes");
  const auto* bytes = reinterpret_cast<const uint8_t*>(mine.data());
  DRC_ASSIGN_OR_RETURN(const std::vector<uint8_t> all,
                       AllGatherBytes(comm, {bytes, mine.size() * sizeof(T)}));
  std::vector<T> out(all.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), all.data(), out.size() * sizeof(T));
  return out;
}

// Every rank's list of strings, indexed by rank, on every rank (three AllGatherBytes).
Result<std::vector<std::vector<std::string>>> AllGatherStrings(
    comm::Communicator* comm, const std::vector<std::string>& mine);

class GradientAllReducer {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

  // `comm` must outlive the reducer.
  explicit GradientAllReducer(comm::Communicator* comm, int64_t bucket_bytes = kDefaultBucketBytes)
      : comm_(comm), bucket_bytes_(bucket_bytes) {}

  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }

  // Rank 0's parameters and buffers to every rank; InvalidArgument on every rank when the
  // replicas' shapes differ (different models or hyper-parameters on different ranks). One
  // AllGather of a 24-byte layout digest checks that, then one Broadcast per tensor.
  Status BroadcastParameters(torch::nn::Module& module);

  // Averages p.grad() over the ranks for every parameter that requires a gradient (an undefined
  // gradient counts as zeros, and is defined afterwards, so that ranks stay in lock-step), and
  // `*scalar` with them when not null. Returns the number of collectives issued (also on one
  // rank, where each is an identity: the trainer builds no reducer there).
  Result<int> AllReduceGradients(const std::vector<torch::Tensor>& parameters,
                                 double* scalar = nullptr);

 private:
  comm::Communicator* comm_;
  int64_t bucket_bytes_;
  torch::Tensor bucket_;  // reused across steps, in the memory comm_ reads
};

}  // namespace drc::dl

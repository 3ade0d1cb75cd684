#include "src/dl/data_parallel.h"

#include <torch/utils.h>

#include <algorithm>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// A fixed-size digest of a list of tensors' layout: their count, their total bytes, and an FNV-1a
// hash of each one's dtype, rank and sizes in order. Two ranks with the same layout have the same
// digest; two different layouts share one with a chance of about 2^-64.
struct LayoutDigest {
  int64_t tensors = 0;
  int64_t bytes = 0;
  uint64_t hash = 14695981039346656037ull;  // FNV-1a offset basis
  bool operator==(const LayoutDigest&) const = default;
};
static_assert(sizeof(LayoutDigest) == 3 * sizeof(int64_t), "sent as raw bytes: no padding");

LayoutDigest DigestOf(const std::vector<torch::Tensor>& tensors) {
  LayoutDigest d;
  auto mix = [&d](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      d.hash ^= (static_cast<uint64_t>(v) >> (8 * i)) & 0xff;
      d.hash *= 1099511628211ull;  // FNV prime
    }
  };
  for (const auto& t : tensors) {
    ++d.tensors;
    d.bytes += t.numel() * static_cast<int64_t>(t.element_size());
    mix(static_cast<int64_t>(t.scalar_type()));
    mix(t.dim());
    for (const int64_t size : t.sizes()) mix(size);
  }
  return d;
}

// Every collective of this layer passes host buffers (statuses, layout digests, gradient
// buckets); a backend on device buffers (nccl) cannot read them.
Status RequireHostMemory(const comm::Communicator& comm) {
  if (comm.memory() == comm::MemoryKind::kHost) return Status::OK();
  return Status::NotImplemented(
      "data-parallel training over the ", comm.backend(),
      " backend is not finished: its collectives take device buffers, and the trainer's (status "
      "agreement, layout check, gradient buckets) pass host memory; use --backend mpi or gloo "
      "(with --device cuda the gradients go through a host copy)");
}

}  // namespace

Status AgreeOnStatus(comm::Communicator* comm, const Status& local) {
  if (comm == nullptr || comm->size() == 1) return local;
  DRC_RETURN_NOT_OK(RequireHostMemory(*comm));
  int32_t failed = local.ok() ? 0 : 1, any = 0;
  Status st = comm->AllReduce(&failed, &any, 1, comm::DataType::kInt32, comm::ReduceOp::kSum);
  if (!st.ok()) return st;
  if (!local.ok()) return local;
  if (any == 0) return Status::OK();
  return Status::Aborted("rank ", comm->rank(), ": ", any,
                         " other rank(s) failed (see their errors)");
}

Status GradientAllReducer::BroadcastParameters(torch::nn::Module& module) {
  if (comm_->size() == 1) return Status::OK();
  DRC_RETURN_NOT_OK(RequireHostMemory(*comm_));
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers()) tensors.push_back(b);
  // Layouts first: a mismatch would otherwise corrupt memory or hang. One collective: every
  // rank learns every rank's digest, so each can say whether it or another rank differs.
  const LayoutDigest mine = DigestOf(tensors);
  std::vector<LayoutDigest> all(comm_->size());
  DRC_RETURN_NOT_OK(comm_->AllGather(&mine, sizeof(mine), all.data()));
  if (std::any_of(all.begin(), all.end(), [&](const LayoutDigest& d) { return d != all[0]; })) {
    return Status::InvalidArgument(
        "data-parallel: the model's parameter shapes differ across ranks (rank ", comm_->rank(),
        mine != all[0] ? " differs from rank 0)" : " matches rank 0; another rank differs)");
  }
  return Guard("data-parallel: broadcasting parameters", [&]() -> Status {
    torch::NoGradGuard no_grad;
    for (auto& t : tensors) {
      auto c = t.contiguous().cpu();  // a host copy of a GPU tensor; a CPU tensor itself
      DRC_RETURN_NOT_OK(comm_->Broadcast(c.data_ptr(), c.numel() * c.element_size(), 0));
      if (!c.is_same(t)) t.copy_(c);
    }
    return Status::OK();
  });
}

Result<int> GradientAllReducer::AllReduceGradients(const std::vector<torch::Tensor>& parameters,
                                                   double* scalar) {
  const int world = comm_->size();
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) {
    if (!p.requires_grad()) continue;
    if (p.scalar_type() != torch::kFloat32) {
      return Status::NotImplemented("data-parallel: gradients of type ",
                                    std::string(c10::toString(p.scalar_type())),
                                    " (float32 only so far)");
    }
    if (!p.grad().defined()) {
      // A parameter unused on this rank's batch: zeros keep the buckets aligned across ranks.
      p.mutable_grad() = torch::zeros_like(p);
    }
    grads.push_back(p.grad());
  }
  if (world == 1) return 0;
  DRC_RETURN_NOT_OK(RequireHostMemory(*comm_));
  const int64_t per_bucket = std::max<int64_t>(1, bucket_bytes_ / int64_t{sizeof(float)});
  int collectives = 0;
  size_t i = 0;
  bool scalar_done = scalar == nullptr;
  while (i < grads.size() || !scalar_done) {
    // One bucket: whole tensors up to the limit (a larger tensor goes alone).
    size_t end = i;
    int64_t n = 0;
    while (end < grads.size() && (end == i || n + grads[end].numel() <= per_bucket)) {
      n += grads[end].numel();
      ++end;
    }
    const bool last = end == grads.size();
    const bool with_scalar = last && !scalar_done;
    const int64_t count = n + (with_scalar ? 1 : 0);
    // A host bucket; gradients on a GPU are copied through it.
    buffer_.resize(count);
    const torch::Tensor bucket = torch::from_blob(buffer_.data(), {count}, torch::kFloat32);
    torch::NoGradGuard no_grad;
    int64_t at = 0;
    for (size_t k = i; k < end; ++k) {
      bucket.narrow(0, at, grads[k].numel()).copy_(grads[k].reshape(-1));
      at += grads[k].numel();
    }
    if (with_scalar) buffer_[at] = static_cast<float>(*scalar);
    DRC_RETURN_NOT_OK(comm_->AllReduce(bucket.data_ptr(), bucket.data_ptr(), count,
                                       comm::DataType::kFloat32, comm::ReduceOp::kSum));
    ++collectives;
    const float inv = 1.0f / static_cast<float>(world);
    at = 0;
    for (size_t k = i; k < end; ++k) {
      auto& g = grads[k];
      g.copy_(bucket.narrow(0, at, g.numel()).view(g.sizes())).mul_(inv);
      at += g.numel();
    }
    if (with_scalar) {
      *scalar = static_cast<double>(buffer_[at]) / world;
      scalar_done = true;
    }
    i = end;
  }
  return collectives;
}

}  // namespace drc::dl

#include "src/dl/data_parallel.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <numeric>

#include "src/dl/torch_status.h"
#include "src/dl/trainer.h"  // ResolveDevice

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

// The device whose memory `comm` reads: the host, or for a backend of device buffers (nccl) its
// GPU, which this libtorch must be able to reach (ResolveDevice says why not; any such reason is
// a FailedPrecondition of the backend).
Result<torch::Device> BufferDevice(const comm::Communicator& comm) {
  if (comm.memory() == comm::MemoryKind::kHost) return torch::Device(torch::kCPU);
  auto device =
      comm.device() < 0
          ? Result<torch::Device>(Status::FailedPrecondition("the communicator names no GPU"))
          : ResolveDevice("cuda:" + std::to_string(comm.device()));
  if (device.ok()) return device;
  return Status::FailedPrecondition("data-parallel over the ", comm.backend(),
                                    " backend: its collectives read GPU memory (use --backend mpi "
                                    "or gloo otherwise): ",
                                    device.status().message());
}

// Before a collective reads `t`: the communicator runs on a CUDA stream of its own, so the
// kernels that wrote `t` on torch's stream must be done. (Each call of the communicator returns
// with its own stream synchronized, so torch's later kernels see the result.)
void ReadyForTheComm(const torch::Tensor& t) {
  if (t.is_cuda()) torch::cuda::synchronize(t.device().index());
}

// Runs `call(send, recv)` on buffers that `comm` can read: `send` and `recv` themselves for a
// host backend; for one on device buffers, copies of them on its GPU (staged there and back).
template <typename Call>
Status OnCommMemory(comm::Communicator& comm, const void* send, int64_t send_bytes, void* recv,
                    int64_t recv_bytes, Call&& call) {
  if (comm.memory() == comm::MemoryKind::kHost) return call(send, recv);
  DRC_ASSIGN_OR_RETURN(const torch::Device device, BufferDevice(comm));
  return Guard("data-parallel: staging on " + device.str(), [&]() -> Status {
    const auto bytes = torch::TensorOptions().dtype(torch::kUInt8);
    const torch::Tensor on_device =
        torch::from_blob(const_cast<void*>(send), {send_bytes}, bytes).to(device);
    torch::Tensor result = torch::empty({recv_bytes}, bytes.device(device));
    ReadyForTheComm(on_device);
    DRC_RETURN_NOT_OK(call(on_device.data_ptr(), result.data_ptr()));
    torch::from_blob(recv, {recv_bytes}, bytes).copy_(result);
    return Status::OK();
  });
}

}  // namespace

Status AgreeOnStatus(comm::Communicator* comm, const Status& local) {
  if (comm == nullptr) return local;
  int32_t failed = local.ok() ? 0 : 1, any = 0;
  Status st = OnCommMemory(
      *comm, &failed, sizeof(failed), &any, sizeof(any), [&](const void* send, void* recv) {
        return comm->AllReduce(send, recv, 1, comm::DataType::kInt32, comm::ReduceOp::kSum);
      });
  if (!st.ok()) return st;
  if (!local.ok()) return local;
  if (any == 0) return Status::OK();
  return Status::Aborted("rank ", comm->rank(), ": ", any,
                         " other rank(s) failed (see their errors)");
}

Status AllReduceSums(comm::Communicator* comm, std::span<double> values) {
  if (comm == nullptr || values.empty()) return Status::OK();
  const std::vector<double> mine(values.begin(), values.end());
  const auto bytes = static_cast<int64_t>(values.size_bytes());
  return OnCommMemory(*comm, mine.data(), bytes, values.data(), bytes,
                      [&](const void* send, void* recv) {
                        return comm->AllReduce(send, recv, static_cast<int64_t>(values.size()),
                                               comm::DataType::kFloat64, comm::ReduceOp::kSum);
                      });
}

Result<std::vector<uint8_t>> AllGatherBytes(comm::Communicator* comm,
                                            std::span<const uint8_t> mine) {
  if (comm == nullptr) return std::vector<uint8_t>(mine.begin(), mine.end());
  const auto bytes = static_cast<int64_t>(mine.size());
  std::vector<int64_t> sizes(static_cast<size_t>(comm->size()));
  DRC_RETURN_NOT_OK(OnCommMemory(
      *comm, &bytes, sizeof(bytes), sizes.data(),
      static_cast<int64_t>(sizeof(bytes)) * comm->size(),
      [&](const void* send, void* recv) { return comm->AllGather(send, sizeof(bytes), recv); }));
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  std::vector<uint8_t> all(static_cast<size_t>(total));
  if (total == 0) return all;  // every rank knows it: none enters the second collective
  DRC_RETURN_NOT_OK(OnCommMemory(
      *comm, mine.data(), bytes, all.data(), total,
      [&](const void* send, void* recv) { return comm->AllGatherV(send, bytes, recv, sizes); }));
  return all;
}

Result<std::vector<std::vector<std::string>>> AllGatherStrings(
    comm::Communicator* comm, const std::vector<std::string>& mine) {
  std::vector<int64_t> lengths;
  std::vector<char> text;
  for (const std::string& s : mine) {
    lengths.push_back(static_cast<int64_t>(s.size()));
    text.insert(text.end(), s.begin(), s.end());
  }
  DRC_ASSIGN_OR_RETURN(
      const auto counts,
      AllGatherVector(comm, std::vector<int64_t>{static_cast<int64_t>(mine.size())}));
  DRC_ASSIGN_OR_RETURN(lengths, AllGatherVector(comm, lengths));
  DRC_ASSIGN_OR_RETURN(text, AllGatherVector(comm, text));
  std::vector<std::vector<std::string>> all(counts.size());
  size_t k = 0, at = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    for (int64_t i = 0; i < counts[r]; ++i, ++k) {
      const auto begin = text.begin() + static_cast<std::ptrdiff_t>(at);
      all[r].emplace_back(begin, begin + lengths[k]);
      at += static_cast<size_t>(lengths[k]);
    }
  }
  return all;
}

Status GradientAllReducer::BroadcastParameters(torch::nn::Module& module) {
  DRC_ASSIGN_OR_RETURN(const torch::Device device, BufferDevice(*comm_));
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers()) tensors.push_back(b);
  // Layouts first: a mismatch would otherwise corrupt memory or hang. One collective: every
  // rank learns every rank's digest, so each can say whether it or another rank differs.
  const LayoutDigest mine = DigestOf(tensors);
  std::vector<LayoutDigest> all(comm_->size());
  DRC_RETURN_NOT_OK(OnCommMemory(
      *comm_, &mine, sizeof(mine), all.data(), static_cast<int64_t>(sizeof(mine)) * comm_->size(),
      [&](const void* send, void* recv) { return comm_->AllGather(send, sizeof(mine), recv); }));
  if (std::any_of(all.begin(), all.end(), [&](const LayoutDigest& d) { return d != all[0]; })) {
    return Status::InvalidArgument(
        "data-parallel: the model's parameter shapes differ across ranks (rank ", comm_->rank(),
        mine != all[0] ? " differs from rank 0)" : " matches rank 0; another rank differs)");
  }
  return Guard("data-parallel: broadcasting parameters", [&]() -> Status {
    torch::NoGradGuard no_grad;
    for (auto& t : tensors) {
      // The tensor itself where the communicator reads its memory; otherwise a copy there.
      auto c = t.contiguous().to(device);
      ReadyForTheComm(c);
      DRC_RETURN_NOT_OK(comm_->Broadcast(c.data_ptr(), c.numel() * c.element_size(), 0));
      if (!c.is_same(t)) t.copy_(c);
    }
    return Status::OK();
  });
}

Result<int> GradientAllReducer::AllReduceGradients(const std::vector<torch::Tensor>& parameters,
                                                   double* scalar) {
  DRC_ASSIGN_OR_RETURN(const torch::Device device, BufferDevice(*comm_));
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
  const int64_t per_bucket = std::max<int64_t>(1, bucket_bytes_ / int64_t{sizeof(float)});
  return Guard("data-parallel: all-reducing gradients on " + device.str(), [&]() -> Result<int> {
    torch::NoGradGuard no_grad;
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
      // The bucket lives where the communicator reads (host, or its GPU); gradients elsewhere
      // are copied through it.
      if (!bucket_.defined() || bucket_.numel() < count || bucket_.device() != device) {
        bucket_ =
            torch::empty({count}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
      }
      const torch::Tensor bucket = bucket_.narrow(0, 0, count);
      int64_t at = 0;
      for (size_t k = i; k < end; ++k) {
        bucket.narrow(0, at, grads[k].numel()).copy_(grads[k].reshape(-1));
        at += grads[k].numel();
      }
      if (with_scalar) bucket.narrow(0, at, 1).fill_(static_cast<float>(*scalar));
      ReadyForTheComm(bucket);
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
        *scalar = static_cast<double>(bucket[at].item<float>()) / world;
        scalar_done = true;
      }
      i = end;
    }
    return collectives;
  });
}

}  // namespace drc::dl

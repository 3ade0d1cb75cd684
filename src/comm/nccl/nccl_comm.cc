// The `nccl` communicator: Deep RC's Communicator over NVIDIA NCCL on CUDA device buffers.
//
// Design:
//  - Created with a bootstrap communicator (required): all ranks first agree that each has a
//    usable CUDA device of its own (two ranks on one GPU of one host are refused, naming them),
//    then rank 0's ncclUniqueId is broadcast over the bootstrap.
//  - Communicators are created non-blocking (ncclConfig_t::blocking = 0), so every wait is a
//    poll that honours CommOptions::timeout: when the deadline passes (a peer died or never
//    came) the communicator is aborted with ncclCommAbort, the call returns Timeout, and the
//    communicator is broken from then on. Asynchronous NCCL errors end a wait early (Aborted).
//  - Each call is enqueued on the communicator's own stream, then the stream is synchronized
//    (by polling), so buffers may be reused as soon as the call returns.
//  - Variable-size operations (all-gather-v, gather(v), all-to-all(v)) are grouped
//    ncclSend/ncclRecv; the local block is a device-to-device copy on the same stream.
//  - NCCL has no message tags: Send/Recv between a pair match in call order, whatever the
//    tag. Messages to oneself are staged in device memory, keyed by tag.
//  - Sub-communicators: member 0 of the new group creates a fresh unique id and sends it to
//    the other members point to point over this communicator; non-members are not involved.
// Thread-safety: like every Communicator, one thread at a time.
#include "drc/comm/nccl.h"

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "drc/common/logging.h"

namespace drc::comm {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

Status CudaError(std::string_view what, cudaError_t err) {
  return Status::Internal("cuda ", what, ": ", cudaGetErrorString(err));
}

#define DRC_CUDA_RETURN(what, expr)                                            \
  do {                                                                         \
    cudaError_t _drc_cuda_err = (expr);                                        \
    if (_drc_cuda_err != cudaSuccess) return CudaError((what), _drc_cuda_err); \
  } while (false)

Status NcclError(std::string_view what, ncclResult_t result, ncclComm_t comm) {
  std::string detail = ncclGetErrorString(result);
  if (comm != nullptr) {
    const char* last = ncclGetLastError(comm);
    if (last != nullptr && *last != '\0') detail += std::string(" (") + last + ")";
  }
  if (result == ncclInvalidArgument || result == ncclInvalidUsage) {
    return Status::InvalidArgument("nccl ", what, ": ", detail);
  }
  return Status::Aborted("nccl ", what, ": ", detail);
}

Result<ncclDataType_t> NcclType(DataType type) {
  switch (type) {
    case DataType::kInt8: return ncclInt8;
    case DataType::kUInt8: return ncclUint8;
    case DataType::kInt32: return ncclInt32;
    case DataType::kInt64: return ncclInt64;
    case DataType::kFloat32: return ncclFloat32;
    case DataType::kFloat64: return ncclFloat64;
  }
  return Status::InvalidArgument("allreduce: unknown type ", static_cast<int>(type));
}

Result<ncclRedOp_t> NcclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kProd: return ncclProd;
    case ReduceOp::kMin: return ncclMin;
    case ReduceOp::kMax: return ncclMax;
  }
  return Status::InvalidArgument("allreduce: unknown op ", static_cast<int>(op));
}

// This process's rank among the ranks on its node, from the usual launcher variables.
int LocalRank(int fallback) {
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      char* end = nullptr;
      long r = std::strtol(v, &end, 10);
      if (end != v && *end == '\0' && r >= 0) return static_cast<int>(r);
    }
  }
  return fallback;
}

// What each rank tells the others before NCCL starts: its host and its GPU (-1: none usable).
struct Placement {
  char host[64] = {};
  int32_t device = -1;
  int32_t pad = 0;
};
static_assert(sizeof(Placement) == 72, "sent as raw bytes: no padding");

// NCCL refuses two ranks of one communicator on one GPU, with an error naming neither; this
// names both ranks, the GPU and the host first. Empty when every rank has a GPU of its own.
std::string SharedGpu(const std::vector<Placement>& all) {
  for (size_t a = 0; a < all.size(); ++a) {
    for (size_t b = a + 1; b < all.size(); ++b) {
      if (all[a].device >= 0 && all[a].device == all[b].device &&
          std::strncmp(all[a].host, all[b].host, sizeof(all[a].host)) == 0) {
        return Status::Concat("ranks ", a, " and ", b, " would share GPU ", all[a].device,
                              " of host ", all[a].host,
                              "; NCCL needs a GPU per rank: start at most as many ranks per "
                              "node as it has GPUs");
      }
    }
  }
  return {};
}

ncclConfig_t NonBlockingConfig() {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  return config;
}

// Polls a non-blocking communicator until its pending operation (init, group end) is done.
Status WaitReady(std::string_view what, ncclComm_t comm, Clock::time_point deadline) {
  for (int spin = 0;; ++spin) {
    ncclResult_t async = ncclSuccess;
    ncclResult_t r = ncclCommGetAsyncError(comm, &async);
    if (r != ncclSuccess) return NcclError(what, r, comm);
    if (async == ncclSuccess) return Status::OK();
    if (async != ncclInProgress) return NcclError(what, async, comm);
    if (Clock::now() >= deadline) {
      return Status::Timeout("nccl ", what, ": not done within the timeout");
    }
    if (spin > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// A byte range for one peer of a grouped exchange.
struct PeerRange {
  int peer;
  int64_t offset;
  int64_t bytes;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, void* scratch, int device, int rank,
                   int size, Millis timeout)
      : comm_(comm),
        stream_(stream),
        scratch_(scratch),
        device_(device),
        rank_(rank),
        size_(size),
        timeout_(timeout) {}

  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    if (comm_ != nullptr) {
      if (broken_.ok()) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    for (auto& [tag, queue] : self_messages_) {
      for (auto& m : queue) cudaFree(m.first);
    }
    cudaFree(scratch_);
    cudaStreamDestroy(stream_);
  }

  // Creates the communicator for `rank` of `size` on `device` from a unique id; polls the
  // non-blocking initialization until `timeout`.
  static Result<std::unique_ptr<NcclCommunicator>> Make(const ncclUniqueId& id, int rank, int size,
                                                        int device, Millis timeout) {
    DRC_CUDA_RETURN("set device", cudaSetDevice(device));
    cudaStream_t stream = nullptr;
    DRC_CUDA_RETURN("create stream", cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    void* scratch = nullptr;
    if (cudaError_t e = cudaMalloc(&scratch, kScratchBytes); e != cudaSuccess) {
      cudaStreamDestroy(stream);
      return CudaError("allocate scratch", e);
    }
    ncclComm_t comm = nullptr;
    ncclConfig_t config = NonBlockingConfig();
    ncclResult_t r = ncclCommInitRankConfig(&comm, size, id, rank, &config);
    Status st;
    if (r != ncclSuccess && r != ncclInProgress) {
      st = NcclError("init", r, comm);
    } else {
      st = WaitReady(Status::Concat("init of rank ", rank, " of ", size), comm,
                     Clock::now() + timeout);
    }
    if (!st.ok()) {
      if (comm != nullptr) ncclCommAbort(comm);
      cudaFree(scratch);
      cudaStreamDestroy(stream);
      return st;
    }
    return std::make_unique<NcclCommunicator>(comm, stream, scratch, device, rank, size, timeout);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view backend() const override { return "nccl"; }
  MemoryKind memory() const override { return MemoryKind::kCuda; }
  int device() const override { return device_; }

  Status Barrier() override {
    return Run("barrier", [&] {
      return ncclAllReduce(scratch_, scratch_, 1, ncclInt32, ncclSum, comm_, stream_);
    });
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("broadcast", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("broadcast", "root", root));
    if (bytes == 0) return Usable();
    return Run("broadcast", [&] {
      return ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclUint8, root, comm_, stream_);
    });
  }

  Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                   ReduceOp op) override {
    if (count < 0) return Status::InvalidArgument("allreduce: count must be >= 0, got ", count);
    if (count > 0 && (send == nullptr || recv == nullptr)) {
      return Status::InvalidArgument("allreduce: ", send == nullptr ? "send" : "recv",
                                     " is null with count ", count);
    }
    DRC_ASSIGN_OR_RETURN(ncclDataType_t nccl_type, NcclType(type));
    DRC_ASSIGN_OR_RETURN(ncclRedOp_t nccl_op, NcclOp(op));
    if (count == 0) return Usable();
    return Run("allreduce", [&] {
      return ncclAllReduce(send, recv, static_cast<size_t>(count), nccl_type, nccl_op, comm_,
                           stream_);
    });
  }

  Status AllGather(const void* send, int64_t bytes, void* recv) override {
    DRC_RETURN_NOT_OK(CheckBytes("allgather", "bytes", bytes, send));
    if (bytes > 0 && recv == nullptr) return Status::InvalidArgument("allgather: recv is null");
    if (bytes == 0) return Usable();
    return Run("allgather", [&] {
      return ncclAllGather(send, recv, static_cast<size_t>(bytes), ncclUint8, comm_, stream_);
    });
  }

  Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes) override {
    DRC_RETURN_NOT_OK(CheckBytes("allgatherv", "send_bytes", send_bytes, send));
    DRC_RETURN_NOT_OK(CheckCounts("allgatherv", "recv_bytes", recv_bytes));
    if (recv_bytes[rank_] != send_bytes) {
      return Status::InvalidArgument("allgatherv: send_bytes (", send_bytes,
                                     ") differs from recv_bytes[", rank_, "] (", recv_bytes[rank_],
                                     ")");
    }
    std::vector<int64_t> displs = Displacements(recv_bytes);
    std::vector<PeerRange> sends, recvs;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      if (send_bytes > 0) sends.push_back({r, 0, send_bytes});
      if (recv_bytes[r] > 0) recvs.push_back({r, displs[r], recv_bytes[r]});
    }
    if ((!recvs.empty() || send_bytes > 0) && recv == nullptr) {
      return Status::InvalidArgument("allgatherv: recv is null");
    }
    return Exchange("allgatherv", send, sends, recv, recvs, PeerRange{rank_, 0, send_bytes},
                    displs[rank_]);
  }

  Status Gather(const void* send, int64_t bytes, void* recv, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("gather", "bytes", bytes, send));
    DRC_RETURN_NOT_OK(CheckRank("gather", "root", root));
    std::vector<int64_t> counts(size_, bytes);
    return GatherImpl("gather", send, bytes, recv, counts, root);
  }

  Status GatherV(const void* send, int64_t send_bytes, void* recv,
                 std::span<const int64_t> recv_bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("gatherv", "send_bytes", send_bytes, send));
    DRC_RETURN_NOT_OK(CheckRank("gatherv", "root", root));
    if (rank_ == root) {
      DRC_RETURN_NOT_OK(CheckCounts("gatherv", "recv_bytes", recv_bytes));
      if (recv_bytes[root] != send_bytes) {
        return Status::InvalidArgument("gatherv: send_bytes (", send_bytes,
                                       ") differs from recv_bytes[", root, "] on the root");
      }
    }
    return GatherImpl("gatherv", send, send_bytes, recv, recv_bytes, root);
  }

  Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) override {
    DRC_RETURN_NOT_OK(CheckBytes("alltoall", "bytes_per_rank", bytes_per_rank, send));
    if (bytes_per_rank > 0 && recv == nullptr) {
      return Status::InvalidArgument("alltoall: recv is null");
    }
    std::vector<int64_t> counts(size_, bytes_per_rank);
    std::vector<int64_t> displs = Displacements(counts);
    return AllToAllV(send, counts, displs, recv, counts, displs);
  }

  Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                   std::span<const int64_t> send_displs, void* recv,
                   std::span<const int64_t> recv_bytes,
                   std::span<const int64_t> recv_displs) override {
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "send_displs", send_displs));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "recv_bytes", recv_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "recv_displs", recv_displs));
    if (send_bytes[rank_] != recv_bytes[rank_]) {
      return Status::InvalidArgument("alltoallv: send_bytes[", rank_, "] differs from recv_bytes[",
                                     rank_, "]");
    }
    std::vector<PeerRange> sends, recvs;
    for (int i = 1; i < size_; ++i) {
      const int to = (rank_ + i) % size_;
      const int from = (rank_ - i + size_) % size_;
      if (send_bytes[to] > 0) sends.push_back({to, send_displs[to], send_bytes[to]});
      if (recv_bytes[from] > 0) recvs.push_back({from, recv_displs[from], recv_bytes[from]});
    }
    if ((!sends.empty() || send_bytes[rank_] > 0) && send == nullptr) {
      return Status::InvalidArgument("alltoallv: send is null");
    }
    if ((!recvs.empty() || recv_bytes[rank_] > 0) && recv == nullptr) {
      return Status::InvalidArgument("alltoallv: recv is null");
    }
    return Exchange("alltoallv", send, sends, recv, recvs,
                    PeerRange{rank_, send_displs[rank_], send_bytes[rank_]}, recv_displs[rank_]);
  }

  Status Send(const void* data, int64_t bytes, int dst, int tag) override {
    DRC_RETURN_NOT_OK(CheckBytes("send", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("send", "dst", dst));
    if (tag < 0) return Status::InvalidArgument("send: tag must be >= 0, got ", tag);
    DRC_RETURN_NOT_OK(Usable());
    if (dst == rank_) {
      void* copy = nullptr;
      DRC_CUDA_RETURN("set device", cudaSetDevice(device_));
      DRC_CUDA_RETURN("allocate self message", cudaMalloc(&copy, std::max<int64_t>(bytes, 1)));
      if (bytes > 0) {
        if (cudaError_t e =
                cudaMemcpy(copy, data, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice);
            e != cudaSuccess) {
          cudaFree(copy);
          return CudaError("copy self message", e);
        }
      }
      self_messages_[tag].emplace_back(copy, bytes);
      return Status::OK();
    }
    if (bytes == 0) return Status::OK();  // nothing moves; NCCL matches no empty message
    return Run(Status::Concat("send to rank ", dst), [&] {
      return ncclSend(data, static_cast<size_t>(bytes), ncclUint8, dst, comm_, stream_);
    });
  }

  Status Recv(void* data, int64_t bytes, int src, int tag) override {
    DRC_RETURN_NOT_OK(CheckBytes("recv", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("recv", "src", src));
    if (tag < 0) return Status::InvalidArgument("recv: tag must be >= 0, got ", tag);
    DRC_RETURN_NOT_OK(Usable());
    if (src == rank_) {
      auto it = self_messages_.find(tag);
      if (it == self_messages_.end() || it->second.empty()) {
        return Status::InvalidArgument("recv from self (tag ", tag,
                                       ") has no earlier matching send");
      }
      auto [copy, n] = it->second.front();
      it->second.pop_front();
      if (it->second.empty()) self_messages_.erase(it);
      Status st;
      if (n != bytes) {
        st = Status::InvalidArgument("recv from self (tag ", tag, "): expected ", bytes,
                                     " bytes, the message has ", n);
      } else if (bytes > 0) {
        cudaError_t e =
            cudaMemcpy(data, copy, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice);
        if (e != cudaSuccess) st = CudaError("copy self message", e);
      }
      cudaFree(copy);
      return st;
    }
    if (bytes == 0) return Status::OK();
    return Run(Status::Concat("recv from rank ", src), [&] {
      return ncclRecv(data, static_cast<size_t>(bytes), ncclUint8, src, comm_, stream_);
    });
  }

  Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                              int tag) override {
    if (ranks.empty()) return Status::InvalidArgument("CreateSubCommunicator: ranks is empty");
    int new_rank = -1;
    std::vector<bool> seen(size_, false);
    for (size_t i = 0; i < ranks.size(); ++i) {
      const int r = ranks[i];
      if (r < 0 || r >= size_ || seen[r]) {
        return Status::InvalidArgument("CreateSubCommunicator: ranks[", i, "] = ", r,
                                       " is out of range or repeated");
      }
      seen[r] = true;
      if (r == rank_) new_rank = static_cast<int>(i);
    }
    if (new_rank < 0) {
      return Status::InvalidArgument("CreateSubCommunicator: this rank (", rank_,
                                     ") is not in ranks");
    }
    DRC_RETURN_NOT_OK(Usable());
    static_assert(sizeof(ncclUniqueId) <= kScratchBytes);
    ncclUniqueId id;
    DRC_CUDA_RETURN("set device", cudaSetDevice(device_));
    if (new_rank == 0) {
      ncclResult_t r = ncclGetUniqueId(&id);
      if (r != ncclSuccess) return NcclError("get unique id", r, nullptr);
      if (ranks.size() > 1) {
        DRC_CUDA_RETURN("stage unique id",
                        cudaMemcpy(scratch_, &id, sizeof(id), cudaMemcpyHostToDevice));
        DRC_RETURN_NOT_OK(Run("send sub-communicator id", [&] {
          ncclGroupStart();
          for (size_t i = 1; i < ranks.size(); ++i) {
            ncclSend(scratch_, sizeof(id), ncclUint8, ranks[i], comm_, stream_);
          }
          return ncclGroupEnd();
        }));
      }
    } else {
      DRC_RETURN_NOT_OK(Run("receive sub-communicator id", [&] {
        return ncclRecv(scratch_, sizeof(id), ncclUint8, ranks[0], comm_, stream_);
      }));
      DRC_CUDA_RETURN("read unique id",
                      cudaMemcpy(&id, scratch_, sizeof(id), cudaMemcpyDeviceToHost));
    }
    DRC_ASSIGN_OR_RETURN(auto sub,
                         Make(id, new_rank, static_cast<int>(ranks.size()), device_, timeout_));
    (void)tag;  // the id itself tells concurrent creations apart
    return std::unique_ptr<Communicator>(std::move(sub));
  }

 private:
  static constexpr size_t kScratchBytes = 256;

  Status CheckRank(std::string_view op, std::string_view name, int r) const {
    if (r < 0 || r >= size_) {
      return Status::InvalidArgument(op, ": ", name, " = ", r, " is out of range for size ", size_);
    }
    return Status::OK();
  }
  static Status CheckBytes(std::string_view op, std::string_view name, int64_t bytes,
                           const void* data) {
    if (bytes < 0) return Status::InvalidArgument(op, ": ", name, " must be >= 0, got ", bytes);
    if (bytes > 0 && data == nullptr) {
      return Status::InvalidArgument(op, ": buffer is null with ", name, " = ", bytes);
    }
    return Status::OK();
  }
  Status CheckCounts(std::string_view op, std::string_view name,
                     std::span<const int64_t> values) const {
    if (static_cast<int>(values.size()) != size_) {
      return Status::InvalidArgument(op, ": ", name, " has ", values.size(),
                                     " entries, expected size() = ", size_);
    }
    for (size_t r = 0; r < values.size(); ++r) {
      if (values[r] < 0) {
        return Status::InvalidArgument(op, ": ", name, "[", r, "] = ", values[r], " is negative");
      }
    }
    return Status::OK();
  }

  Status Usable() const {
    if (broken_.ok()) return Status::OK();
    return Status::Aborted("nccl communicator (rank ", rank_, " of ", size_,
                           ") is broken by an earlier error: ", broken_.ToString());
  }

  // Marks the communicator broken; aborts NCCL so that nothing stays stuck on the device.
  Status Fail(Status st) {
    if (broken_.ok()) broken_ = st;
    if (comm_ != nullptr) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    return st;
  }

  // Enqueues with `enqueue` (returning an ncclResult_t), then waits for the communicator and
  // the stream, honouring the timeout.
  template <typename F>
  Status Run(std::string_view op, F&& enqueue) {
    DRC_RETURN_NOT_OK(Usable());
    const std::string what = Status::Concat(op, " on rank ", rank_, " of ", size_);
    if (cudaError_t e = cudaSetDevice(device_); e != cudaSuccess) {
      return Fail(CudaError(what, e));
    }
    const auto deadline = Clock::now() + timeout_;
    ncclResult_t r = enqueue();
    if (r != ncclSuccess && r != ncclInProgress) return Fail(NcclError(what, r, comm_));
    Status st = WaitReady(what, comm_, deadline);
    if (!st.ok()) return Fail(st);
    for (int spin = 0;; ++spin) {
      cudaError_t e = cudaStreamQuery(stream_);
      if (e == cudaSuccess) return Status::OK();
      if (e != cudaErrorNotReady) return Fail(CudaError(what, e));
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(comm_, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        return Fail(NcclError(what, async, comm_));
      }
      if (Clock::now() >= deadline) {
        return Fail(Status::Timeout("nccl ", what, ": not complete within ", timeout_.count(),
                                    " ms (a peer may have died or not joined)"));
      }
      if (spin > 1000) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  // Grouped point-to-point exchange plus a local device copy of `self` to recv + self_dst.
  Status Exchange(std::string_view op, const void* send, const std::vector<PeerRange>& sends,
                  void* recv, const std::vector<PeerRange>& recvs, PeerRange self,
                  int64_t self_dst) {
    DRC_RETURN_NOT_OK(Usable());
    if (sends.empty() && recvs.empty() && self.bytes == 0) return Status::OK();
    const char* in = static_cast<const char*>(send);
    char* out = static_cast<char*>(recv);
    return Run(op, [&]() -> ncclResult_t {
      if (self.bytes > 0) {
        if (cudaMemcpyAsync(out + self_dst, in + self.offset, static_cast<size_t>(self.bytes),
                            cudaMemcpyDeviceToDevice, stream_) != cudaSuccess) {
          return ncclUnhandledCudaError;
        }
      }
      if (sends.empty() && recvs.empty()) return ncclSuccess;
      ncclResult_t r = ncclGroupStart();
      if (r != ncclSuccess) return r;
      for (const auto& s : sends) {
        ncclSend(in + s.offset, static_cast<size_t>(s.bytes), ncclUint8, s.peer, comm_, stream_);
      }
      for (const auto& v : recvs) {
        ncclRecv(out + v.offset, static_cast<size_t>(v.bytes), ncclUint8, v.peer, comm_, stream_);
      }
      return ncclGroupEnd();
    });
  }

  Status GatherImpl(std::string_view op, const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes, int root) {
    if (rank_ != root) {
      std::vector<PeerRange> sends;
      if (send_bytes > 0) sends.push_back({root, 0, send_bytes});
      return Exchange(op, send, sends, nullptr, {}, PeerRange{rank_, 0, 0}, 0);
    }
    std::vector<int64_t> displs = Displacements(recv_bytes);
    std::vector<PeerRange> recvs;
    for (int r = 0; r < size_; ++r) {
      if (r != root && recv_bytes[r] > 0) recvs.push_back({r, displs[r], recv_bytes[r]});
    }
    if ((!recvs.empty() || send_bytes > 0) && recv == nullptr) {
      return Status::InvalidArgument(op, ": recv is null on the root");
    }
    return Exchange(op, send, {}, recv, recvs, PeerRange{rank_, 0, send_bytes}, displs[root]);
  }

  ncclComm_t comm_;  // null once aborted
  cudaStream_t stream_;
  void* scratch_;  // kScratchBytes of device memory (barrier, unique id exchange)
  const int device_;
  const int rank_;
  const int size_;
  const Millis timeout_;
  std::map<int, std::deque<std::pair<void*, int64_t>>> self_messages_;  // device copies by tag
  Status broken_;
};

}  // namespace

Result<std::unique_ptr<Communicator>> MakeNccl(const CommOptions& given) {
  if (given.bootstrap == nullptr) {
    return Status::InvalidArgument(
        "nccl needs CommOptions::bootstrap (e.g. an MPI or gloo communicator over the same ranks) "
        "to share its unique id");
  }
  Communicator& bootstrap = *given.bootstrap;
  CommOptions options = given;
  options.rank = bootstrap.rank();
  options.size = bootstrap.size();
  DRC_ASSIGN_OR_RETURN(options, ResolveOptions(std::move(options)));

  // Every rank finds its device first; all fail together if any rank has none.
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  int device = -1;
  std::string problem;
  if (err != cudaSuccess || count == 0) {
    problem = err != cudaSuccess ? cudaGetErrorString(err) : "no devices are visible";
  } else {
    device = options.device >= 0 ? options.device : LocalRank(options.rank) % count;
    if (device >= count) {
      problem = Status::Concat("device ", device, " requested, ", count, " visible");
    } else if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) {
      problem = cudaGetErrorString(e);
    }
  }
  Placement mine;
  if (::gethostname(mine.host, sizeof(mine.host) - 1) != 0) std::strcpy(mine.host, "?");
  mine.device = problem.empty() ? device : -1;
  std::vector<Placement> all(static_cast<size_t>(options.size));
  DRC_RETURN_NOT_OK(bootstrap.AllGather(&mine, sizeof(mine), all.data())
                        .WithContext("nccl: agreeing on devices over the bootstrap"));
  if (!problem.empty()) return Status::Unavailable("no CUDA device: ", problem);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].device < 0) return Status::Unavailable("no CUDA device on rank ", r);
  }
  if (std::string shared = SharedGpu(all); !shared.empty()) {
    return Status::InvalidArgument("nccl: ", shared);
  }

  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (options.rank == 0) {
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) {
      // Still take part in the broadcast so the others do not wait; they get a zero id and
      // fail at init, which is reported below.
      std::memset(&id, 0, sizeof(id));
      (void)bootstrap.Broadcast(&id, sizeof(id), 0);
      return NcclError("get unique id", r, nullptr);
    }
  }
  DRC_RETURN_NOT_OK(
      bootstrap.Broadcast(&id, sizeof(id), 0).WithContext("nccl: broadcasting the unique id"));
  DRC_ASSIGN_OR_RETURN(
      auto comm, NcclCommunicator::Make(id, options.rank, options.size, device, options.timeout));
  if (options.check_collectives) {
    // The checking wrapper exchanges its checks in host memory, which NCCL cannot read.
    log::Warn("nccl: check_collectives is not supported (device buffers only); ignored");
  }
  return std::unique_ptr<Communicator>(std::move(comm));
}

}  // namespace drc::comm

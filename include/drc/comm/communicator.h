// Communicator: collective and point-to-point communication among a fixed group of ranks.
//
// This is the one transport abstraction of Deep RC: data-engine shuffles, gradient all-reduce
// and the private communicators that the worker pool hands to each task all go through it.
// It moves bytes and typed numeric buffers only; it knows nothing of tables or tensors.
//
// Conventions (all backends):
//  - Sizes and counts are 64-bit (no 2 GiB caps). Byte counts are in bytes; `count` of
//    AllReduce is in elements of `type`.
//  - Collectives must be called by every rank of the communicator in the same order with
//    matching arguments. Mismatches are reported as InvalidArgument where the backend can see
//    them (always on `local`; on every backend when CommOptions::check_collectives is set).
//  - A peer that dies or never arrives makes the call return Timeout/Aborted within
//    CommOptions::timeout (`local`, `gloo`); MPI leaves that to the launcher, which aborts the
//    job. After such an error the communicator is broken and every later call fails at once.
//  - Buffers are host memory, except for backends whose memory() is kCuda (nccl).
//  - In-place is allowed where documented (AllReduce: send == recv).
// Thread-safety: a Communicator is used by one thread at a time (like an MPI communicator).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "drc/common/result.h"
#include "drc/common/status.h"

namespace drc::comm {

enum class DataType : uint8_t { kInt8, kUInt8, kInt32, kInt64, kFloat32, kFloat64 };
enum class ReduceOp : uint8_t { kSum, kProd, kMin, kMax };
enum class MemoryKind : uint8_t { kHost, kCuda };

int64_t SizeOf(DataType type);
std::string_view DataTypeName(DataType type);
std::string_view ReduceOpName(ReduceOp op);

template <typename T>
constexpr DataType DataTypeOf() {
  if constexpr (std::is_same_v<T, int8_t>)
    return DataType::kInt8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return DataType::kUInt8;
  else if constexpr (std::is_same_v<T, int32_t>)
    return DataType::kInt32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DataType::kInt64;
  else if constexpr (std::is_same_v<T, float>)
    return DataType::kFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return DataType::kFloat64;
  else
    static_assert(sizeof(T) == 0, "unsupported element type");
}

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The registered backend name: "local", "mpi", "gloo", "nccl".
  virtual std::string_view backend() const = 0;
  virtual MemoryKind memory() const { return MemoryKind::kHost; }
  // The CUDA device ordinal whose buffers a kCuda backend reads; -1 for host memory.
  virtual int device() const { return -1; }

  virtual Status Barrier() = 0;
  // Copies `bytes` at `data` on `root` into `data` on every rank.
  virtual Status Broadcast(void* data, int64_t bytes, int root) = 0;
  // Element-wise reduction of `count` elements; every rank receives the result. send may
  // equal recv (in place). Both must be aligned to the element size.
  virtual Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                           ReduceOp op) = 0;
  // Every rank contributes `bytes`; recv (size() * bytes) holds rank r's block at r * bytes.
  virtual Status AllGather(const void* send, int64_t bytes, void* recv) = 0;
  // Rank r contributes recv_bytes[r] bytes (its send_bytes must equal that); recv holds the
  // blocks back to back in rank order. recv_bytes has size() entries on every rank.
  virtual Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                            std::span<const int64_t> recv_bytes) = 0;
  // Like AllGather, but only `root` receives (recv is ignored elsewhere and may be null).
  virtual Status Gather(const void* send, int64_t bytes, void* recv, int root) = 0;
  // Like AllGatherV, but only `root` receives; recv_bytes is read on root only.
  virtual Status GatherV(const void* send, int64_t send_bytes, void* recv,
                         std::span<const int64_t> recv_bytes, int root) = 0;
  // Block r of `send` (bytes_per_rank each) goes to rank r; recv holds rank r's block at
  // r * bytes_per_rank.
  virtual Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) = 0;
  // send_bytes[r] bytes at send + send_displs[r] go to rank r; recv_bytes[r] bytes from rank r
  // land at recv + recv_displs[r]. recv_bytes[r] must equal rank r's send_bytes[this rank]
  // (ExchangeCounts computes it). All spans have size() entries.
  virtual Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                           std::span<const int64_t> send_displs, void* recv,
                           std::span<const int64_t> recv_bytes,
                           std::span<const int64_t> recv_displs) = 0;
  // Blocking point-to-point. Messages between a pair with the same tag arrive in order; the
  // receiver must name the exact size.
  virtual Status Send(const void* data, int64_t bytes, int dst, int tag) = 0;
  virtual Status Recv(void* data, int64_t bytes, int src, int tag) = 0;

  // Creates a communicator over `ranks` (ranks of this communicator; rank i of the new one is
  // ranks[i]). Collective over the members of `ranks` only — other ranks keep working — the way
  // MPI_Comm_create_group builds a private communicator for one task. `tag` tells apart
  // concurrent creations; members must pass the same ranks and tag.
  virtual Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                                      int tag) = 0;
};

// ---- Options and the backend registry ----------------------------------------------------

struct CommOptions {
  // Rank and size of this process. -1: take them from the environment (DRC_RANK/DRC_WORLD_SIZE,
  // then OMPI_COMM_WORLD_RANK/SIZE, then PMI_RANK/PMI_SIZE, then SLURM_PROCID/SLURM_NTASKS).
  int rank = -1;
  int size = -1;
  // Deadline for one blocking operation (local, gloo). Default from DRC_COMM_TIMEOUT_S or 300 s.
  std::chrono::milliseconds timeout{0};
  // gloo rendezvous: "file:DIR" (shared directory) or "tcp:HOST:PORT" (rank 0 serves the store).
  // Empty: use DRC_RENDEZVOUS, else bootstrap must be set.
  std::string rendezvous;
  // gloo: network interface name ("lo") or host name to bind; empty: DRC_GLOO_IFACE, else "lo".
  std::string interface;
  // gloo and nccl: an existing communicator over the same ranks used to exchange addresses or
  // the NCCL unique id (e.g. an MPI communicator). Not owned; needed only during Make.
  Communicator* bootstrap = nullptr;
  // nccl: CUDA device ordinal; -1: the local rank modulo the visible devices.
  int device = -1;
  // Verify before each collective that all ranks called the same operation with matching
  // sizes, types and roots (costs one small all-reduce per call).
  bool check_collectives = false;
};

// Resolves defaults from the environment (timeout, rank/size). Returns InvalidArgument naming
// the variable when a value is malformed.
Result<CommOptions> ResolveOptions(CommOptions options);

// Creates this process's communicator for one backend.
using CommFactory = Result<std::unique_ptr<Communicator>> (*)(const CommOptions& options);

class CommRegistry {
 public:
  Status Register(std::string name, CommFactory factory);
  Result<std::unique_ptr<Communicator>> Make(std::string_view name,
                                             const CommOptions& options) const;
  std::vector<std::string> Names() const;

 private:
  std::vector<std::pair<std::string, CommFactory>> factories_;
};

// The registry with every backend compiled into this build ("local" (size 1 only; use
// LocalWorld for several ranks), "mpi", "gloo", and "nccl" when built with CUDA). Immutable.
const CommRegistry& DefaultCommRegistry();

// Wraps `inner` so that every collective first checks argument agreement across ranks.
std::unique_ptr<Communicator> WithCollectiveChecks(std::unique_ptr<Communicator> inner);

// ---- Typed helpers ----------------------------------------------------------------------

template <typename T>
Status AllReduce(Communicator& comm, std::span<T> inout, ReduceOp op) {
  return comm.AllReduce(inout.data(), inout.data(), static_cast<int64_t>(inout.size()),
                        DataTypeOf<T>(), op);
}

template <typename T>
Result<std::vector<T>> AllGatherValue(Communicator& comm, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::vector<T> out(static_cast<size_t>(comm.size()));
  DRC_RETURN_NOT_OK(comm.AllGather(&value, sizeof(T), out.data()));
  return out;
}

// Given how many bytes this rank sends to each rank, returns how many it receives from each.
Result<std::vector<int64_t>> ExchangeCounts(Communicator& comm,
                                            std::span<const int64_t> send_counts);

// Every rank's `mine`, in rank order (collective; the strings may differ in length).
Result<std::vector<std::string>> AllGatherStrings(Communicator& comm, const std::string& mine);

// Exclusive prefix sums: displacements for back-to-back blocks.
std::vector<int64_t> Displacements(std::span<const int64_t> counts);

}  // namespace drc::comm

// The `mpi` backend: a Communicator over an MPI communicator (OpenMPI).
//
// Every MpiCommunicator owns one MPI_Comm with MPI_ERRORS_RETURN set: a dup of MPI_COMM_WORLD,
// a dup of a communicator handed in from outside (whose error handler we never touch), or a
// communicator built by CreateSubCommunicator. Collectives whose counts and displacements all
// fit in an int call the native MPI collective; larger ones are split into pieces of at most
// kMaxChunkBytes (broadcast, all-reduce, send/recv) or fall back to chunked Isend/Irecv on a
// second, private dup (created lazily, on a path every rank takes together) so that they never
// match the caller's Send/Recv.
#include "drc/comm/mpi.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "drc/common/logging.h"

namespace drc::comm {
namespace {

// Largest piece handed to one MPI call when a buffer is split (1 GiB: far from every int
// overflow inside the MPI library).
constexpr int64_t kMaxChunkBytes = int64_t{1} << 30;
constexpr int64_t kIntMax = INT_MAX;

bool FitsInt(int64_t v) { return v <= kIntMax; }

// Converts a failed MPI return code into a Status naming the operation.
Status MpiError(int code, const char* op) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) {
    std::snprintf(text, sizeof(text), "unknown MPI error");
  }
  int error_class = code;
  MPI_Error_class(code, &error_class);
  const std::string message =
      Status::Concat("mpi: ", op, " failed: ", text, " (MPI error class ", error_class, ")");
  switch (error_class) {
    case MPI_ERR_BUFFER:
    case MPI_ERR_COUNT:
    case MPI_ERR_TYPE:
    case MPI_ERR_TAG:
    case MPI_ERR_RANK:
    case MPI_ERR_ROOT:
    case MPI_ERR_GROUP:
    case MPI_ERR_OP:
    case MPI_ERR_ARG:
    case MPI_ERR_TRUNCATE: return Status(StatusCode::kInvalidArgument, message);
    case MPI_ERR_NO_MEM: return Status(StatusCode::kResourceExhausted, message);
    default: return Status(StatusCode::kAborted, message);
  }
}

inline Status Check(int code, const char* op) {
  if (code == MPI_SUCCESS) [[likely]]
    return Status::OK();
  return MpiError(code, op);
}

bool MpiFinalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

Status FinalizedError(std::string_view what) {
  return Status::FailedPrecondition("mpi: ", what,
                                    " after MPI was finalized (MPI cannot be used again in this "
                                    "process)");
}

// ---- The process's MPI session ------------------------------------------------------------
//
// MPI is process-wide state. We initialize it only if nobody did, and then (and only then)
// finalize it at process exit. Thread-safe.

std::mutex& SessionMutex() {
  static std::mutex mutex;
  return mutex;
}

void FinalizeOwnedMpi() {
  std::lock_guard<std::mutex> lock(SessionMutex());
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized && !MpiFinalized()) MPI_Finalize();
}

Status EnsureMpiInitialized() {
  std::lock_guard<std::mutex> lock(SessionMutex());
  if (MpiFinalized()) return FinalizedError("creating a communicator");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_SERIALIZED) {
      log::Debug(
          "mpi: MPI was initialized by the application with thread level {} (< "
          "MPI_THREAD_SERIALIZED); use communicators from the main thread only",
          provided);
    }
    return Status::OK();
  }
  int provided = MPI_THREAD_SINGLE;
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  if (rc != MPI_SUCCESS) {
    return Status::Unavailable("mpi: MPI_Init_thread failed with code ", rc);
  }
  if (std::atexit(FinalizeOwnedMpi) != 0) {
    return Status::Internal("mpi: cannot register MPI_Finalize at exit");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    log::Warn("mpi: MPI provides thread level {} only (asked for MPI_THREAD_SERIALIZED)", provided);
  }
  return Status::OK();
}

Result<MPI_Datatype> ToMpiType(DataType type) {
  switch (type) {
    case DataType::kInt8: return MPI_INT8_T;
    case DataType::kUInt8: return MPI_UINT8_T;
    case DataType::kInt32: return MPI_INT32_T;
    case DataType::kInt64: return MPI_INT64_T;
    case DataType::kFloat32: return MPI_FLOAT;
    case DataType::kFloat64: return MPI_DOUBLE;
  }
  return Status::InvalidArgument("AllReduce: type has an unknown value ", static_cast<int>(type));
}

Result<MPI_Op> ToMpiOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kProd: return MPI_PROD;
    case ReduceOp::kMin: return MPI_MIN;
    case ReduceOp::kMax: return MPI_MAX;
  }
  return Status::InvalidArgument("AllReduce: op has an unknown value ", static_cast<int>(op));
}

// One contiguous block moved between this rank and `peer` by the point-to-point fallback.
struct Block {
  std::byte* data;
  int64_t bytes;
  int peer;
};

// ---- The communicator ---------------------------------------------------------------------

// Thread-compatible: one thread at a time (the Communicator contract).
class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm` (already set to MPI_ERRORS_RETURN).
  static Result<std::unique_ptr<Communicator>> Make(MPI_Comm comm) {
    int rank = 0, size = 0;
    Status st = Check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    if (st.ok()) st = Check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    int* tag_ub = nullptr;
    int flag = 0;
    if (st.ok()) st = Check(MPI_Comm_get_attr(comm, MPI_TAG_UB, &tag_ub, &flag), "MPI_TAG_UB");
    if (!st.ok()) {
      MPI_Comm_free(&comm);
      return st;
    }
    const int max_tag = flag && tag_ub != nullptr ? *tag_ub : 32767;  // 32767: MPI's minimum
    return std::unique_ptr<Communicator>(new MpiCommunicator(comm, rank, size, max_tag));
  }

  ~MpiCommunicator() override {
    if (MpiFinalized()) return;  // MPI_Finalize already released everything.
    if (p2p_comm_ != MPI_COMM_NULL) MPI_Comm_free(&p2p_comm_);
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view backend() const override { return "mpi"; }
  MPI_Comm native() const { return comm_; }

  Status Barrier() override {
    DRC_RETURN_NOT_OK(Usable());
    return Track(Check(MPI_Barrier(comm_), "MPI_Barrier"));
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("Broadcast", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRank("Broadcast", "root", root));
    auto* p = static_cast<std::byte*>(data);
    if (FitsInt(bytes)) {
      return Track(
          Check(MPI_Bcast(p, static_cast<int>(bytes), MPI_BYTE, root, comm_), "MPI_Bcast"));
    }
    for (int64_t off = 0; off < bytes; off += kMaxChunkBytes) {
      const int n = static_cast<int>(std::min(kMaxChunkBytes, bytes - off));
      DRC_RETURN_NOT_OK(Track(Check(MPI_Bcast(p + off, n, MPI_BYTE, root, comm_), "MPI_Bcast")));
    }
    return Status::OK();
  }

  Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                   ReduceOp op) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("AllReduce", "count", count));
    DRC_ASSIGN_OR_RETURN(MPI_Datatype mpi_type, ToMpiType(type));
    DRC_ASSIGN_OR_RETURN(MPI_Op mpi_op, ToMpiOp(op));
    const bool in_place = send == recv;
    const int64_t elem = SizeOf(type);
    if (FitsInt(count * elem)) {
      return Track(Check(MPI_Allreduce(in_place ? MPI_IN_PLACE : send, recv,
                                       static_cast<int>(count), mpi_type, mpi_op, comm_),
                         "MPI_Allreduce"));
    }
    const int64_t chunk = kMaxChunkBytes / elem;
    const auto* s = static_cast<const std::byte*>(send);
    auto* r = static_cast<std::byte*>(recv);
    for (int64_t off = 0; off < count; off += chunk) {
      const int n = static_cast<int>(std::min(chunk, count - off));
      const void* sp = in_place ? MPI_IN_PLACE : static_cast<const void*>(s + off * elem);
      DRC_RETURN_NOT_OK(Track(
          Check(MPI_Allreduce(sp, r + off * elem, n, mpi_type, mpi_op, comm_), "MPI_Allreduce")));
    }
    return Status::OK();
  }

  Status AllGather(const void* send, int64_t bytes, void* recv) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("AllGather", "bytes", bytes));
    if (FitsInt(bytes)) {
      const int n = static_cast<int>(bytes);
      return Track(
          Check(MPI_Allgather(send, n, MPI_BYTE, recv, n, MPI_BYTE, comm_), "MPI_Allgather"));
    }
    // Every rank sees the same `bytes`, so every rank takes this path.
    std::vector<Block> sends, recvs;
    auto* out = static_cast<std::byte*>(recv);
    for (int q = 0; q < size_; ++q) {
      sends.push_back({const_cast<std::byte*>(static_cast<const std::byte*>(send)), bytes, q});
      recvs.push_back({out + q * bytes, bytes, q});
    }
    return ExchangeP2P(sends, recvs, "AllGather");
  }

  Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("AllGatherV", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("AllGatherV", "recv_bytes", recv_bytes));
    if (recv_bytes[static_cast<size_t>(rank_)] != send_bytes) {
      return Status::InvalidArgument("AllGatherV: send_bytes (", send_bytes,
                                     ") != recv_bytes[rank ", rank_, "] (",
                                     recv_bytes[static_cast<size_t>(rank_)], ")");
    }
    // recv_bytes is the same on every rank, so the choice below is the same everywhere.
    if (ToIntCountsAndDispls(recv_bytes, rcounts_, rdispls_)) {
      return Track(Check(MPI_Allgatherv(send, static_cast<int>(send_bytes), MPI_BYTE, recv,
                                        rcounts_.data(), rdispls_.data(), MPI_BYTE, comm_),
                         "MPI_Allgatherv"));
    }
    std::vector<Block> sends, recvs;
    auto* out = static_cast<std::byte*>(recv);
    int64_t off = 0;
    for (int q = 0; q < size_; ++q) {
      const int64_t n = recv_bytes[static_cast<size_t>(q)];
      sends.push_back({const_cast<std::byte*>(static_cast<const std::byte*>(send)), send_bytes, q});
      recvs.push_back({out + off, n, q});
      off += n;
    }
    return ExchangeP2P(sends, recvs, "AllGatherV");
  }

  Status Gather(const void* send, int64_t bytes, void* recv, int root) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("Gather", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRank("Gather", "root", root));
    if (FitsInt(bytes)) {
      const int n = static_cast<int>(bytes);
      return Track(
          Check(MPI_Gather(send, n, MPI_BYTE, recv, n, MPI_BYTE, root, comm_), "MPI_Gather"));
    }
    std::vector<Block> sends, recvs;
    sends.push_back({const_cast<std::byte*>(static_cast<const std::byte*>(send)), bytes, root});
    if (rank_ == root) {
      auto* out = static_cast<std::byte*>(recv);
      for (int q = 0; q < size_; ++q) recvs.push_back({out + q * bytes, bytes, q});
    }
    return ExchangeP2P(sends, recvs, "Gather");
  }

  Status GatherV(const void* send, int64_t send_bytes, void* recv,
                 std::span<const int64_t> recv_bytes, int root) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("GatherV", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckRank("GatherV", "root", root));
    int native = 1;
    if (rank_ == root) {
      DRC_RETURN_NOT_OK(CheckCounts("GatherV", "recv_bytes", recv_bytes));
      if (recv_bytes[static_cast<size_t>(rank_)] != send_bytes) {
        return Status::InvalidArgument("GatherV: send_bytes (", send_bytes, ") != recv_bytes[root ",
                                       root, "] (", recv_bytes[static_cast<size_t>(rank_)], ")");
      }
      native = ToIntCountsAndDispls(recv_bytes, rcounts_, rdispls_) ? 1 : 0;
    }
    // Only the root sees every count, so it tells the others which path to take.
    if (size_ > 1) {
      DRC_RETURN_NOT_OK(Track(Check(MPI_Bcast(&native, 1, MPI_INT, root, comm_), "MPI_Bcast")));
    }
    if (native) {
      if (!FitsInt(send_bytes)) {
        return Status::InvalidArgument("GatherV: send_bytes (", send_bytes,
                                       ") does not match the root's recv_bytes");
      }
      return Track(Check(MPI_Gatherv(send, static_cast<int>(send_bytes), MPI_BYTE, recv,
                                     rcounts_.data(), rdispls_.data(), MPI_BYTE, root, comm_),
                         "MPI_Gatherv"));
    }
    std::vector<Block> sends, recvs;
    sends.push_back(
        {const_cast<std::byte*>(static_cast<const std::byte*>(send)), send_bytes, root});
    if (rank_ == root) {
      auto* out = static_cast<std::byte*>(recv);
      int64_t off = 0;
      for (int q = 0; q < size_; ++q) {
        const int64_t n = recv_bytes[static_cast<size_t>(q)];
        recvs.push_back({out + off, n, q});
        off += n;
      }
    }
    return ExchangeP2P(sends, recvs, "GatherV");
  }

  Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("AllToAll", "bytes_per_rank", bytes_per_rank));
    if (FitsInt(bytes_per_rank)) {
      const int n = static_cast<int>(bytes_per_rank);
      return Track(
          Check(MPI_Alltoall(send, n, MPI_BYTE, recv, n, MPI_BYTE, comm_), "MPI_Alltoall"));
    }
    std::vector<Block> sends, recvs;
    auto* in = const_cast<std::byte*>(static_cast<const std::byte*>(send));
    auto* out = static_cast<std::byte*>(recv);
    for (int q = 0; q < size_; ++q) {
      sends.push_back({in + q * bytes_per_rank, bytes_per_rank, q});
      recvs.push_back({out + q * bytes_per_rank, bytes_per_rank, q});
    }
    return ExchangeP2P(sends, recvs, "AllToAll");
  }

  Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                   std::span<const int64_t> send_displs, void* recv,
                   std::span<const int64_t> recv_bytes,
                   std::span<const int64_t> recv_displs) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckCounts("AllToAllV", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("AllToAllV", "send_displs", send_displs));
    DRC_RETURN_NOT_OK(CheckCounts("AllToAllV", "recv_bytes", recv_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("AllToAllV", "recv_displs", recv_displs));
    bool fits = true;
    for (size_t q = 0; q < static_cast<size_t>(size_); ++q) {
      fits = fits && FitsInt(send_bytes[q]) && FitsInt(send_displs[q]) && FitsInt(recv_bytes[q]) &&
             FitsInt(recv_displs[q]);
    }
    // Each rank sees only its own counts: agree on the path, unless alone.
    int all_fit = fits ? 1 : 0;
    if (size_ > 1) {
      DRC_RETURN_NOT_OK(Track(Check(
          MPI_Allreduce(MPI_IN_PLACE, &all_fit, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce")));
    }
    if (all_fit) {
      for (size_t q = 0; q < static_cast<size_t>(size_); ++q) {
        scounts_[q] = static_cast<int>(send_bytes[q]);
        sdispls_[q] = static_cast<int>(send_displs[q]);
        rcounts_[q] = static_cast<int>(recv_bytes[q]);
        rdispls_[q] = static_cast<int>(recv_displs[q]);
      }
      return Track(Check(MPI_Alltoallv(send, scounts_.data(), sdispls_.data(), MPI_BYTE, recv,
                                       rcounts_.data(), rdispls_.data(), MPI_BYTE, comm_),
                         "MPI_Alltoallv"));
    }
    std::vector<Block> sends, recvs;
    auto* in = const_cast<std::byte*>(static_cast<const std::byte*>(send));
    auto* out = static_cast<std::byte*>(recv);
    for (size_t q = 0; q < static_cast<size_t>(size_); ++q) {
      sends.push_back({in + send_displs[q], send_bytes[q], static_cast<int>(q)});
      recvs.push_back({out + recv_displs[q], recv_bytes[q], static_cast<int>(q)});
    }
    return ExchangeP2P(sends, recvs, "AllToAllV");
  }

  Status Send(const void* data, int64_t bytes, int dst, int tag) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("Send", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRank("Send", "dst", dst));
    DRC_RETURN_NOT_OK(CheckTag("Send", tag));
    const auto* p = static_cast<const std::byte*>(data);
    if (FitsInt(bytes)) {
      return Track(
          Check(MPI_Send(p, static_cast<int>(bytes), MPI_BYTE, dst, tag, comm_), "MPI_Send"));
    }
    // Same tag, same pair: the pieces arrive in order and the receiver splits identically.
    for (int64_t off = 0; off < bytes; off += kMaxChunkBytes) {
      const int n = static_cast<int>(std::min(kMaxChunkBytes, bytes - off));
      DRC_RETURN_NOT_OK(Track(Check(MPI_Send(p + off, n, MPI_BYTE, dst, tag, comm_), "MPI_Send")));
    }
    return Status::OK();
  }

  Status Recv(void* data, int64_t bytes, int src, int tag) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckBytes("Recv", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRank("Recv", "src", src));
    DRC_RETURN_NOT_OK(CheckTag("Recv", tag));
    auto* p = static_cast<std::byte*>(data);
    const int64_t piece = FitsInt(bytes) ? bytes : kMaxChunkBytes;
    int64_t off = 0;
    do {
      const int n = static_cast<int>(std::min(piece, bytes - off));
      MPI_Status status;
      DRC_RETURN_NOT_OK(
          Track(Check(MPI_Recv(p + off, n, MPI_BYTE, src, tag, comm_, &status), "MPI_Recv")));
      int got = 0;
      MPI_Get_count(&status, MPI_BYTE, &got);
      if (got != n) {
        return Status::InvalidArgument("Recv: expected ", bytes, " bytes from rank ", src,
                                       " with tag ", tag, ", but the message is shorter (",
                                       off + got, " bytes)");
      }
      off += n;
    } while (off < bytes);
    return Status::OK();
  }

  Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                              int tag) override {
    DRC_RETURN_NOT_OK(Usable());
    DRC_RETURN_NOT_OK(CheckTag("CreateSubCommunicator", tag));
    if (ranks.empty()) return Status::InvalidArgument("CreateSubCommunicator: ranks is empty");
    std::vector<bool> seen(static_cast<size_t>(size_), false);
    bool member = false;
    for (int r : ranks) {
      if (r < 0 || r >= size_) {
        return Status::InvalidArgument("CreateSubCommunicator: ranks holds ", r, ", outside [0, ",
                                       size_, ")");
      }
      if (seen[static_cast<size_t>(r)]) {
        return Status::InvalidArgument("CreateSubCommunicator: ranks holds ", r, " twice");
      }
      seen[static_cast<size_t>(r)] = true;
      member = member || r == rank_;
    }
    if (!member) {
      return Status::InvalidArgument(
          "CreateSubCommunicator: ranks does not contain the "
          "calling rank ",
          rank_);
    }
    MPI_Group group = MPI_GROUP_NULL, sub_group = MPI_GROUP_NULL;
    DRC_RETURN_NOT_OK(Track(Check(MPI_Comm_group(comm_, &group), "MPI_Comm_group")));
    Status st =
        Check(MPI_Group_incl(group, static_cast<int>(ranks.size()), ranks.data(), &sub_group),
              "MPI_Group_incl");
    MPI_Comm sub = MPI_COMM_NULL;
    if (st.ok()) {
      st = Check(MPI_Comm_create_group(comm_, sub_group, tag, &sub), "MPI_Comm_create_group");
    }
    if (sub_group != MPI_GROUP_NULL) MPI_Group_free(&sub_group);
    MPI_Group_free(&group);
    DRC_RETURN_NOT_OK(Track(std::move(st)));
    st = Check(MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    if (!st.ok()) {
      MPI_Comm_free(&sub);
      return st;
    }
    return Make(sub);
  }

 private:
  MpiCommunicator(MPI_Comm comm, int rank, int size, int max_tag)
      : comm_(comm),
        rank_(rank),
        size_(size),
        max_tag_(max_tag),
        scounts_(static_cast<size_t>(size)),
        sdispls_(static_cast<size_t>(size)),
        rcounts_(static_cast<size_t>(size)),
        rdispls_(static_cast<size_t>(size)) {}

  // OK unless MPI is gone or an earlier MPI error broke this communicator.
  Status Usable() const {
    if (!broken_.ok()) [[unlikely]]
      return broken_;
    if (MpiFinalized()) [[unlikely]]
      return FinalizedError("communicator used");
    return Status::OK();
  }

  // Remembers an MPI failure: the communicator is broken from then on.
  Status Track(Status st) {
    if (!st.ok()) [[unlikely]] {
      broken_ = st.WithContext("mpi communicator broken by an earlier error");
    }
    return st;
  }

  static Status CheckBytes(const char* op, const char* arg, int64_t n) {
    if (n < 0) [[unlikely]]
      return Status::InvalidArgument(op, ": ", arg, " is negative (", n, ")");
    return Status::OK();
  }

  Status CheckRank(const char* op, const char* arg, int r) const {
    if (r < 0 || r >= size_) [[unlikely]] {
      return Status::InvalidArgument(op, ": ", arg, " ", r, " is outside [0, ", size_, ")");
    }
    return Status::OK();
  }

  Status CheckTag(const char* op, int tag) const {
    if (tag < 0 || tag > max_tag_) [[unlikely]] {
      return Status::InvalidArgument(op, ": tag ", tag, " is outside [0, ", max_tag_, "]");
    }
    return Status::OK();
  }

  Status CheckCounts(const char* op, const char* arg, std::span<const int64_t> v) const {
    if (v.size() != static_cast<size_t>(size_)) [[unlikely]] {
      return Status::InvalidArgument(op, ": ", arg, " has ", v.size(),
                                     " entries, expected size() = ", size_);
    }
    for (size_t q = 0; q < v.size(); ++q) {
      if (v[q] < 0) [[unlikely]] {
        return Status::InvalidArgument(op, ": ", arg, "[", q, "] is negative (", v[q], ")");
      }
    }
    return Status::OK();
  }

  // Back-to-back counts as int counts and displacements, when all of them fit.
  static bool ToIntCountsAndDispls(std::span<const int64_t> bytes, std::vector<int>& counts,
                                   std::vector<int>& displs) {
    int64_t off = 0;
    for (size_t q = 0; q < bytes.size(); ++q) {
      if (!FitsInt(bytes[q]) || !FitsInt(off)) return false;
      counts[q] = static_cast<int>(bytes[q]);
      displs[q] = static_cast<int>(off);
      off += bytes[q];
    }
    return true;
  }

  // Point-to-point fallback for blocks beyond int counts: copies the block to self, posts
  // every receive then every send in pieces of at most kMaxChunkBytes on the private dup, and
  // waits for all. Zero-length blocks move no message on either side. Called by all ranks
  // together (so the lazy dup is collective-safe).
  Status ExchangeP2P(std::span<const Block> sends, std::span<const Block> recvs, const char* op) {
    if (p2p_comm_ == MPI_COMM_NULL) {
      DRC_RETURN_NOT_OK(Track(Check(MPI_Comm_dup(comm_, &p2p_comm_), "MPI_Comm_dup")));
    }
    constexpr int kTag = 0;
    std::vector<MPI_Request> requests;
    const Block* self_send = nullptr;
    const Block* self_recv = nullptr;
    for (const Block& b : recvs) {
      if (b.peer == rank_) {
        self_recv = &b;
        continue;
      }
      for (int64_t off = 0; off < b.bytes; off += kMaxChunkBytes) {
        const int n = static_cast<int>(std::min(kMaxChunkBytes, b.bytes - off));
        requests.emplace_back();
        Status st =
            Check(MPI_Irecv(b.data + off, n, MPI_BYTE, b.peer, kTag, p2p_comm_, &requests.back()),
                  "MPI_Irecv");
        if (!st.ok()) return Track(st.WithContext(op));
      }
    }
    for (const Block& b : sends) {
      if (b.peer == rank_) {
        self_send = &b;
        continue;
      }
      for (int64_t off = 0; off < b.bytes; off += kMaxChunkBytes) {
        const int n = static_cast<int>(std::min(kMaxChunkBytes, b.bytes - off));
        requests.emplace_back();
        Status st =
            Check(MPI_Isend(b.data + off, n, MPI_BYTE, b.peer, kTag, p2p_comm_, &requests.back()),
                  "MPI_Isend");
        if (!st.ok()) return Track(st.WithContext(op));
      }
    }
    if (self_send != nullptr && self_recv != nullptr) {
      if (self_send->bytes != self_recv->bytes) {
        return Status::InvalidArgument(op, ": this rank sends ", self_send->bytes,
                                       " bytes to itself but expects ", self_recv->bytes);
      }
      if (self_send->bytes > 0 && self_send->data != self_recv->data) {
        std::memmove(self_recv->data, self_send->data, static_cast<size_t>(self_send->bytes));
      }
    }
    return Track(
        Check(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall")
            .WithContext(op));
  }

  MPI_Comm comm_;                      // Owned; MPI_ERRORS_RETURN.
  MPI_Comm p2p_comm_ = MPI_COMM_NULL;  // Owned dup of comm_ for the fallback, made on first use.
  const int rank_;
  const int size_;
  const int max_tag_;
  Status broken_;
  // Scratch int counts for the native v-collectives (no allocation per call).
  std::vector<int> scounts_, sdispls_, rcounts_, rdispls_;
};

// Dups `comm`, sets MPI_ERRORS_RETURN on the dup and wraps it.
Result<std::unique_ptr<Communicator>> WrapDup(MPI_Comm comm, const CommOptions& options,
                                              const char* what) {
  MPI_Comm dup = MPI_COMM_NULL;
  // The caller's handler decides what a failing dup does; ours never changes it.
  DRC_RETURN_NOT_OK(Check(MPI_Comm_dup(comm, &dup), what));
  Status st = Check(MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (!st.ok()) {
    MPI_Comm_free(&dup);
    return st;
  }
  DRC_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> wrapped, MpiCommunicator::Make(dup));
  if (options.check_collectives) return WithCollectiveChecks(std::move(wrapped));
  return wrapped;
}

}  // namespace

Result<std::unique_ptr<Communicator>> MakeMpiWorld(const CommOptions& options) {
  DRC_RETURN_NOT_OK(EnsureMpiInitialized());
  return WrapDup(MPI_COMM_WORLD, options, "MPI_Comm_dup(MPI_COMM_WORLD)");
}

Result<std::unique_ptr<Communicator>> WrapMpiComm(MPI_Comm comm, const CommOptions& options) {
  {
    std::lock_guard<std::mutex> lock(SessionMutex());
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      return Status::FailedPrecondition(
          "WrapMpiComm: MPI is not initialized (the caller owns "
          "`comm`, so it must have initialized MPI)");
    }
    if (MpiFinalized()) return FinalizedError("WrapMpiComm");
  }
  if (comm == MPI_COMM_NULL) return Status::InvalidArgument("WrapMpiComm: comm is MPI_COMM_NULL");
  return WrapDup(comm, options, "MPI_Comm_dup");
}

MPI_Comm NativeMpiComm(const Communicator& comm) {
  const auto* mpi = dynamic_cast<const MpiCommunicator*>(&comm);
  return mpi != nullptr ? mpi->native() : MPI_COMM_NULL;
}

}  // namespace drc::comm

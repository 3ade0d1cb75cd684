// WithCollectiveChecks: a decorator that verifies, before each collective, that every rank
// called the same operation with agreeing arguments. The check is one small all-reduce (MAX over
// each field and its negation gives max and min at once), so a mismatch is reported on every
// rank identically and no rank is left waiting in the real collective.
#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "drc/comm/communicator.h"

namespace drc::comm {
namespace {

enum class Op : int64_t {
  kBarrier = 1,
  kBroadcast,
  kAllReduce,
  kAllGather,
  kAllGatherV,
  kGather,
  kGatherV,
  kAllToAll,
  kAllToAllV,
  kCreateSub
};

const char* OpName(Op op) {
  switch (op) {
    case Op::kBarrier: return "barrier";
    case Op::kBroadcast: return "broadcast";
    case Op::kAllReduce: return "allreduce";
    case Op::kAllGather: return "allgather";
    case Op::kAllGatherV: return "allgatherv";
    case Op::kGather: return "gather";
    case Op::kGatherV: return "gatherv";
    case Op::kAllToAll: return "alltoall";
    case Op::kAllToAllV: return "alltoallv";
    case Op::kCreateSub: return "create_sub_communicator";
  }
  return "?";
}

// Order-sensitive hash of a span of counts (FNV-1a over the values).
int64_t HashCounts(std::span<const int64_t> values) {
  uint64_t h = 1469598103934665603ULL;
  for (int64_t v : values) {
    h ^= static_cast<uint64_t>(v);
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h >> 1);
}

class CheckedCommunicator final : public Communicator {
 public:
  explicit CheckedCommunicator(std::unique_ptr<Communicator> inner) : inner_(std::move(inner)) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string_view backend() const override { return inner_->backend(); }
  MemoryKind memory() const override { return inner_->memory(); }
  int device() const override { return inner_->device(); }

  Status Barrier() override {
    DRC_RETURN_NOT_OK(Verify(Op::kBarrier, {}));
    return inner_->Barrier();
  }
  Status Broadcast(void* data, int64_t bytes, int root) override {
    DRC_RETURN_NOT_OK(Verify(Op::kBroadcast, {bytes, root}));
    return inner_->Broadcast(data, bytes, root);
  }
  Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                   ReduceOp op) override {
    DRC_RETURN_NOT_OK(
        Verify(Op::kAllReduce, {count, static_cast<int64_t>(type), static_cast<int64_t>(op)}));
    return inner_->AllReduce(send, recv, count, type, op);
  }
  Status AllGather(const void* send, int64_t bytes, void* recv) override {
    DRC_RETURN_NOT_OK(Verify(Op::kAllGather, {bytes}));
    return inner_->AllGather(send, bytes, recv);
  }
  Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes) override {
    const bool bad = static_cast<int>(recv_bytes.size()) != size() ||
                     recv_bytes[static_cast<size_t>(rank())] != send_bytes;
    DRC_RETURN_NOT_OK(Verify(Op::kAllGatherV, {HashCounts(recv_bytes)}, bad,
                             "send_bytes differs from recv_bytes[rank]"));
    return inner_->AllGatherV(send, send_bytes, recv, recv_bytes);
  }
  Status Gather(const void* send, int64_t bytes, void* recv, int root) override {
    DRC_RETURN_NOT_OK(Verify(Op::kGather, {bytes, root}));
    return inner_->Gather(send, bytes, recv, root);
  }
  Status GatherV(const void* send, int64_t send_bytes, void* recv,
                 std::span<const int64_t> recv_bytes, int root) override {
    // Only the root knows every count: gather the senders' sizes and compare there.
    DRC_RETURN_NOT_OK(Verify(Op::kGatherV, {root}));
    if (root < 0 || root >= size())
      return inner_->GatherV(send, send_bytes, recv, recv_bytes, root);
    std::vector<int64_t> sizes(rank() == root ? static_cast<size_t>(size()) : 0);
    DRC_RETURN_NOT_OK(inner_->Gather(&send_bytes, sizeof(int64_t), sizes.data(), root));
    int64_t bad = 0;
    if (rank() == root) {
      bad = static_cast<int>(recv_bytes.size()) != size() ||
            !std::equal(sizes.begin(), sizes.end(), recv_bytes.begin());
    }
    DRC_RETURN_NOT_OK(inner_->Broadcast(&bad, sizeof(bad), root));
    if (bad) {
      return Status::InvalidArgument("gatherv: recv_bytes on root ", root,
                                     " do not match the ranks' send_bytes");
    }
    return inner_->GatherV(send, send_bytes, recv, recv_bytes, root);
  }
  Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) override {
    DRC_RETURN_NOT_OK(Verify(Op::kAllToAll, {bytes_per_rank}));
    return inner_->AllToAll(send, bytes_per_rank, recv);
  }
  Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                   std::span<const int64_t> send_displs, void* recv,
                   std::span<const int64_t> recv_bytes,
                   std::span<const int64_t> recv_displs) override {
    const size_t n = static_cast<size_t>(size());
    const bool bad_shape = send_bytes.size() != n || send_displs.size() != n ||
                           recv_bytes.size() != n || recv_displs.size() != n;
    DRC_RETURN_NOT_OK(
        Verify(Op::kAllToAllV, {}, bad_shape, "count spans must have size() entries"));
    std::vector<int64_t> expected(n);
    DRC_RETURN_NOT_OK(inner_->AllToAll(send_bytes.data(), sizeof(int64_t), expected.data()));
    const bool bad = !std::equal(expected.begin(), expected.end(), recv_bytes.begin());
    DRC_RETURN_NOT_OK(Verify(Op::kAllToAllV, {}, bad,
                             "recv_bytes[r] differs from rank r's send_bytes[this rank]"));
    return inner_->AllToAllV(send, send_bytes, send_displs, recv, recv_bytes, recv_displs);
  }
  Status Send(const void* data, int64_t bytes, int dst, int tag) override {
    return inner_->Send(data, bytes, dst, tag);
  }
  Status Recv(void* data, int64_t bytes, int src, int tag) override {
    return inner_->Recv(data, bytes, src, tag);
  }
  Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                              int tag) override {
    DRC_ASSIGN_OR_RETURN(auto sub, inner_->CreateSubCommunicator(ranks, tag));
    return WithCollectiveChecks(std::move(sub));
  }

 private:
  static constexpr size_t kFields = 4;

  // Fails on every rank alike if any field differs across ranks or any rank flags `local_bad`.
  Status Verify(Op op, std::initializer_list<int64_t> fields, bool local_bad = false,
                const char* bad_reason = "") {
    // Layout: [op, f0..f3, bad] followed by the negations, reduced with MAX.
    constexpr size_t kN = kFields + 2;
    std::array<int64_t, 2 * kN> v{};
    v[0] = static_cast<int64_t>(op);
    size_t i = 1;
    for (int64_t f : fields) v[i++] = f;
    v[kN - 1] = local_bad ? 1 : 0;
    for (size_t k = 0; k < kN; ++k) v[kN + k] = -v[k];
    DRC_RETURN_NOT_OK(inner_->AllReduce(v.data(), v.data(), static_cast<int64_t>(v.size()),
                                        DataType::kInt64, ReduceOp::kMax));
    if (v[0] != -v[kN]) {
      return Status::InvalidArgument("collective mismatch: rank ", rank(), " called ", OpName(op),
                                     " while another rank called a different ", "collective");
    }
    for (size_t k = 1; k < kN - 1; ++k) {
      if (v[k] != -v[kN + k]) {
        return Status::InvalidArgument("collective mismatch in ", OpName(op), ": argument ", k,
                                       " ranges from ", -v[kN + k], " to ", v[k], " across ranks");
      }
    }
    if (v[kN - 1] != 0) {
      return Status::InvalidArgument("collective mismatch in ", OpName(op), ": ", bad_reason,
                                     " on at least one rank");
    }
    return Status::OK();
  }

  std::unique_ptr<Communicator> inner_;
};

}  // namespace

std::unique_ptr<Communicator> WithCollectiveChecks(std::unique_ptr<Communicator> inner) {
  if (inner == nullptr) return inner;
  return std::make_unique<CheckedCommunicator>(std::move(inner));
}

}  // namespace drc::comm

// The `local` backend: ranks are threads sharing one World.
//
// Every collective is a rendezvous in two phases around a generation-counted barrier:
//   1. each rank publishes a Slot (its arguments and buffer pointers) and waits for all;
//   2. each rank reads what it needs straight from its peers' buffers (no staging copy; the
//      ranks copy in parallel) and waits again, so that no rank returns — and frees or reuses
//      its buffers — while a peer may still read them.
// AllReduce is a reduce-scatter and all-gather in one: rank r reduces segment r of every
// rank's input and writes the result into segment r of every rank's output.
// A barrier that times out names the ranks that never arrived and breaks the World; a rank
// whose communicator is destroyed while others wait breaks it too (Aborted), so no rank hangs.
#include "drc/comm/local.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

namespace drc::comm {
namespace {

using Deadline = std::chrono::steady_clock::time_point;

enum class OpKind : int {
  kBarrier,
  kBroadcast,
  kAllReduce,
  kAllGather,
  kAllGatherV,
  kGather,
  kGatherV,
  kAllToAll,
  kAllToAllV
};

const char* KindName(OpKind k) {
  static const char* const kNames[] = {"barrier",   "broadcast",  "allreduce",
                                       "allgather", "allgatherv", "gather",
                                       "gatherv",   "alltoall",   "alltoallv"};
  return kNames[static_cast<int>(k)];
}

// What one rank published for the collective in progress.
struct Slot {
  explicit Slot(OpKind k = OpKind::kBarrier, int64_t a_ = 0, int64_t b_ = 0, int64_t c_ = 0)
      : kind(k), a(a_), b(b_), c(c_) {}
  OpKind kind;
  int64_t a;  // bytes or element count
  int64_t b;  // data type
  int64_t c;  // reduce op or root
  const std::byte* send = nullptr;
  std::byte* recv = nullptr;
  std::span<const int64_t> send_bytes, send_displs, recv_bytes, recv_displs;
};

template <typename T>
void ReduceTyped(ReduceOp op, T* dst, const T* src, int64_t n) {
  switch (op) {
    case ReduceOp::kSum:
      for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
      break;
    case ReduceOp::kProd:
      for (int64_t i = 0; i < n; ++i) dst[i] *= src[i];
      break;
    case ReduceOp::kMin:
      for (int64_t i = 0; i < n; ++i) dst[i] = std::min(dst[i], src[i]);
      break;
    case ReduceOp::kMax:
      for (int64_t i = 0; i < n; ++i) dst[i] = std::max(dst[i], src[i]);
      break;
  }
}

void ReduceInto(DataType type, ReduceOp op, std::byte* dst, const std::byte* src, int64_t n) {
  switch (type) {
    case DataType::kInt8:
      ReduceTyped(op, reinterpret_cast<int8_t*>(dst), reinterpret_cast<const int8_t*>(src), n);
      break;
    case DataType::kUInt8:
      ReduceTyped(op, reinterpret_cast<uint8_t*>(dst), reinterpret_cast<const uint8_t*>(src), n);
      break;
    case DataType::kInt32:
      ReduceTyped(op, reinterpret_cast<int32_t*>(dst), reinterpret_cast<const int32_t*>(src), n);
      break;
    case DataType::kInt64:
      ReduceTyped(op, reinterpret_cast<int64_t*>(dst), reinterpret_cast<const int64_t*>(src), n);
      break;
    case DataType::kFloat32:
      ReduceTyped(op, reinterpret_cast<float*>(dst), reinterpret_cast<const float*>(src), n);
      break;
    case DataType::kFloat64:
      ReduceTyped(op, reinterpret_cast<double*>(dst), reinterpret_cast<const double*>(src), n);
      break;
  }
}

void Copy(std::byte* dst, const std::byte* src, int64_t n) {
  if (n > 0 && dst != src) std::memcpy(dst, src, static_cast<size_t>(n));
}

// State shared by the ranks of one local communicator. All members guarded by mu.
class World {
 public:
  World(int size, std::chrono::milliseconds timeout)
      : size_(size), timeout_(timeout), slots_(size), present_(size, 0), left_(size, 0) {}

  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  Deadline NewDeadline() const { return std::chrono::steady_clock::now() + timeout_; }
  Slot& slot(int rank) { return slots_[static_cast<size_t>(rank)]; }

  // Waits until all ranks arrive. OK once they did, else Timeout/Aborted (and the World breaks).
  Status Arrive(int rank, const char* what) {
    std::unique_lock<std::mutex> lock(mu_);
    DRC_RETURN_NOT_OK(CheckUsableLocked(rank, what));
    const uint64_t gen = generation_;
    present_[static_cast<size_t>(rank)] = 1;
    if (++arrived_ == size_) {
      arrived_ = 0;
      std::fill(present_.begin(), present_.end(), 0);
      ++generation_;
      cv_.notify_all();
      return Status::OK();
    }
    const bool done =
        cv_.wait_until(lock, NewDeadline(), [&] { return generation_ != gen || !broken_.ok(); });
    if (generation_ != gen) return Status::OK();
    if (done) return broken_;
    std::ostringstream missing;
    for (int r = 0; r < size_; ++r) {
      if (!present_[static_cast<size_t>(r)]) missing << (missing.tellp() > 0 ? "," : "") << r;
    }
    BreakLocked(Status::Timeout("local communicator: rank ", rank, " waited ", timeout_.count(),
                                " ms in ", what, " but rank(s) ", missing.str(), " never arrived"));
    return broken_;
  }

  // Called when a rank's communicator is destroyed.
  void Leave(int rank) {
    std::lock_guard<std::mutex> lock(mu_);
    left_[static_cast<size_t>(rank)] = 1;
    if (arrived_ > 0 && broken_.ok()) {
      BreakLocked(Status::Aborted("local communicator: rank ", rank,
                                  " left while other ranks waited in a collective"));
    }
    cv_.notify_all();
  }

  Status Send(int src, int dst, int tag, const std::byte* data, int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    DRC_RETURN_NOT_OK(CheckUsableLocked(src, "send"));
    mailboxes_[{src, dst, tag}].emplace_back(data, data + bytes);
    cv_.notify_all();
    return Status::OK();
  }

  Status Recv(int dst, int src, int tag, std::byte* data, int64_t bytes) {
    std::unique_lock<std::mutex> lock(mu_);
    auto& box = mailboxes_[{src, dst, tag}];
    const bool ready = cv_.wait_until(lock, NewDeadline(), [&] {
      return !box.empty() || !broken_.ok() || left_[static_cast<size_t>(src)];
    });
    if (box.empty()) {
      if (!broken_.ok()) return broken_;
      if (ready)
        return Status::Aborted("local communicator: rank ", dst,
                               " waits for a message "
                               "from rank ",
                               src, " (tag ", tag, "), which has left");
      return Status::Timeout("local communicator: rank ", dst, " waited ", timeout_.count(),
                             " ms for a message from rank ", src, " (tag ", tag, ")");
    }
    std::vector<std::byte> message = std::move(box.front());
    box.pop_front();
    if (static_cast<int64_t>(message.size()) != bytes) {
      return Status::InvalidArgument("recv from rank ", src, " tag ", tag, ": expected ", bytes,
                                     " bytes, the message has ", message.size());
    }
    Copy(data, message.data(), bytes);
    return Status::OK();
  }

  // The World for a sub-communicator; the first member to arrive creates it.
  std::shared_ptr<World> JoinSub(const std::string& key, int members) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& entry = pending_subs_[key];
    if (entry.first == nullptr) entry.first = std::make_shared<World>(members, timeout_);
    std::shared_ptr<World> sub = entry.first;
    if (++entry.second == members) pending_subs_.erase(key);
    return sub;
  }

 private:
  Status CheckUsableLocked(int rank, const char* what) const {
    if (!broken_.ok()) return broken_;
    for (int r = 0; r < size_; ++r) {
      if (left_[static_cast<size_t>(r)] && r != rank) {
        return Status::Aborted("local communicator: rank ", rank, " entered ", what, " but rank ",
                               r, " has already left");
      }
    }
    return Status::OK();
  }
  void BreakLocked(Status status) {
    broken_ = std::move(status);
    cv_.notify_all();
  }

  const int size_;
  const std::chrono::milliseconds timeout_;
  std::vector<Slot> slots_;  // slots_[r] is written by rank r before Arrive, read after.

  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  std::vector<uint8_t> present_;
  std::vector<uint8_t> left_;
  Status broken_;
  std::map<std::tuple<int, int, int>, std::deque<std::vector<std::byte>>> mailboxes_;
  std::map<std::string, std::pair<std::shared_ptr<World>, int>> pending_subs_;
};

class LocalCommunicator final : public Communicator {
 public:
  LocalCommunicator(std::shared_ptr<World> world, int rank)
      : world_(std::move(world)), rank_(rank) {}
  ~LocalCommunicator() override { world_->Leave(rank_); }

  int rank() const override { return rank_; }
  int size() const override { return world_->size(); }
  std::string_view backend() const override { return "local"; }

  Status Barrier() override {
    return Collective(Slot(OpKind::kBarrier), [] {});
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("broadcast", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRoot("broadcast", root));
    Slot s(OpKind::kBroadcast, bytes, 0, root);
    s.recv = static_cast<std::byte*>(data);
    return Collective(s, [&] {
      if (rank_ != root) Copy(s.recv, world_->slot(root).recv, bytes);
    });
  }

  Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                   ReduceOp op) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("allreduce", "count", count));
    const auto align = static_cast<uintptr_t>(SizeOf(type));
    if (reinterpret_cast<uintptr_t>(send) % align != 0 ||
        reinterpret_cast<uintptr_t>(recv) % align != 0) {
      return Status::InvalidArgument("allreduce: buffers must be aligned to ", align, " bytes for ",
                                     DataTypeName(type));
    }
    Slot s(OpKind::kAllReduce, count, static_cast<int64_t>(type), static_cast<int64_t>(op));
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    return Collective(s, [&] {
      const int n = size();
      const int64_t elem = SizeOf(type);
      const int64_t begin = count * rank_ / n;
      const int64_t len = count * (rank_ + 1) / n - begin;
      if (len == 0) return;
      std::byte* out = s.recv + begin * elem;
      // Reduce segment `rank_` of every input into this rank's output, then hand it out.
      // Only this rank touches this segment of any buffer during the phase, so in-place
      // (send == recv) is safe.
      // Start from this rank's own input (a no-op in place), then fold in the others.
      Copy(out, s.send + begin * elem, len * elem);
      for (int q = 0; q < n; ++q) {
        if (q != rank_) ReduceInto(type, op, out, world_->slot(q).send + begin * elem, len);
      }
      for (int q = 0; q < n; ++q) {
        if (q != rank_) Copy(world_->slot(q).recv + begin * elem, out, len * elem);
      }
    });
  }

  Status AllGather(const void* send, int64_t bytes, void* recv) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("allgather", "bytes", bytes));
    Slot s(OpKind::kAllGather, bytes);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    return Collective(s, [&] {
      for (int q = 0; q < size(); ++q) Copy(s.recv + q * bytes, world_->slot(q).send, bytes);
    });
  }

  Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("allgatherv", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckSpan("allgatherv", "recv_bytes", recv_bytes));
    Slot s(OpKind::kAllGatherV, send_bytes);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    s.recv_bytes = recv_bytes;
    Status mismatch;
    DRC_RETURN_NOT_OK(Collective(
        s,
        [&] {
          int64_t offset = 0;
          for (int q = 0; q < size(); ++q) {
            const int64_t n = recv_bytes[static_cast<size_t>(q)];
            if (world_->slot(q).a != n) {
              mismatch = SizeMismatch("allgatherv", q, world_->slot(q).a, n);
              return;
            }
            Copy(s.recv + offset, world_->slot(q).send, n);
            offset += n;
          }
        },
        /*compare_a=*/false));
    return mismatch;
  }

  Status Gather(const void* send, int64_t bytes, void* recv, int root) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("gather", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRoot("gather", root));
    Slot s(OpKind::kGather, bytes, 0, root);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    return Collective(s, [&] {
      if (rank_ != root) return;
      for (int q = 0; q < size(); ++q) Copy(s.recv + q * bytes, world_->slot(q).send, bytes);
    });
  }

  Status GatherV(const void* send, int64_t send_bytes, void* recv,
                 std::span<const int64_t> recv_bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("gatherv", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckRoot("gatherv", root));
    if (rank_ == root) DRC_RETURN_NOT_OK(CheckSpan("gatherv", "recv_bytes", recv_bytes));
    Slot s(OpKind::kGatherV, send_bytes, 0, root);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    Status mismatch;
    DRC_RETURN_NOT_OK(Collective(
        s,
        [&] {
          if (rank_ != root) return;
          int64_t offset = 0;
          for (int q = 0; q < size(); ++q) {
            const int64_t n = recv_bytes[static_cast<size_t>(q)];
            if (world_->slot(q).a != n) {
              mismatch = SizeMismatch("gatherv", q, world_->slot(q).a, n);
              return;
            }
            Copy(s.recv + offset, world_->slot(q).send, n);
            offset += n;
          }
        },
        /*compare_a=*/false));
    return mismatch;
  }

  Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("alltoall", "bytes_per_rank", bytes_per_rank));
    Slot s(OpKind::kAllToAll, bytes_per_rank);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    return Collective(s, [&] {
      for (int q = 0; q < size(); ++q) {
        Copy(s.recv + q * bytes_per_rank, world_->slot(q).send + rank_ * bytes_per_rank,
             bytes_per_rank);
      }
    });
  }

  Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                   std::span<const int64_t> send_displs, void* recv,
                   std::span<const int64_t> recv_bytes,
                   std::span<const int64_t> recv_displs) override {
    for (auto [name, span] : {std::pair{"send_bytes", send_bytes},
                              {"send_displs", send_displs},
                              {"recv_bytes", recv_bytes},
                              {"recv_displs", recv_displs}}) {
      DRC_RETURN_NOT_OK(CheckSpan("alltoallv", name, span));
    }
    Slot s(OpKind::kAllToAllV);
    s.send = static_cast<const std::byte*>(send);
    s.recv = static_cast<std::byte*>(recv);
    s.send_bytes = send_bytes;
    s.send_displs = send_displs;
    Status mismatch;
    DRC_RETURN_NOT_OK(Collective(s, [&] {
      const size_t me = static_cast<size_t>(rank_);
      for (int q = 0; q < size(); ++q) {
        const Slot& peer = world_->slot(q);
        const int64_t n = peer.send_bytes[me];
        if (n != recv_bytes[static_cast<size_t>(q)]) {
          mismatch = SizeMismatch("alltoallv", q, n, recv_bytes[static_cast<size_t>(q)]);
          continue;
        }
        Copy(s.recv + recv_displs[static_cast<size_t>(q)], peer.send + peer.send_displs[me], n);
      }
    }));
    return mismatch;
  }

  Status Send(const void* data, int64_t bytes, int dst, int tag) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("send", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRoot("send", dst));
    return world_->Send(rank_, dst, tag, static_cast<const std::byte*>(data), bytes);
  }

  Status Recv(void* data, int64_t bytes, int src, int tag) override {
    DRC_RETURN_NOT_OK(CheckNonNegative("recv", "bytes", bytes));
    DRC_RETURN_NOT_OK(CheckRoot("recv", src));
    return world_->Recv(rank_, src, tag, static_cast<std::byte*>(data), bytes);
  }

  Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                              int tag) override {
    int my_index = -1;
    std::ostringstream key;
    key << tag << ':';
    std::vector<int> seen;
    for (size_t i = 0; i < ranks.size(); ++i) {
      const int r = ranks[i];
      if (r < 0 || r >= size()) {
        return Status::InvalidArgument("CreateSubCommunicator: rank ", r, " at position ", i,
                                       " is out of range [0, ", size(), ")");
      }
      if (std::find(seen.begin(), seen.end(), r) != seen.end()) {
        return Status::InvalidArgument("CreateSubCommunicator: rank ", r, " is listed twice");
      }
      seen.push_back(r);
      if (r == rank_) my_index = static_cast<int>(i);
      key << r << ',';
    }
    if (my_index < 0) {
      return Status::InvalidArgument("CreateSubCommunicator: the calling rank ", rank_,
                                     " is not among the requested ranks");
    }
    auto sub = world_->JoinSub(key.str(), static_cast<int>(ranks.size()));
    return std::unique_ptr<Communicator>(
        std::make_unique<LocalCommunicator>(std::move(sub), my_index));
  }

 private:
  // Publishes `slot`, waits for everyone, checks agreement, runs `body`, waits again.
  template <typename Body>
  Status Collective(const Slot& slot, Body&& body, bool compare_a = true) {
    world_->slot(rank_) = slot;
    DRC_RETURN_NOT_OK(world_->Arrive(rank_, KindName(slot.kind)));
    Status agreement = CheckAgreement(compare_a);
    if (agreement.ok()) body();
    DRC_RETURN_NOT_OK(world_->Arrive(rank_, KindName(slot.kind)));
    return agreement;
  }

  // Every rank compares every slot with rank 0's, so all ranks reach the same verdict.
  Status CheckAgreement(bool compare_a) {
    const Slot& ref = world_->slot(0);
    for (int q = 1; q < size(); ++q) {
      const Slot& s = world_->slot(q);
      if (s.kind != ref.kind) {
        return Status::InvalidArgument("collective mismatch: rank 0 called ", KindName(ref.kind),
                                       " but rank ", q, " called ", KindName(s.kind));
      }
      if ((compare_a && s.a != ref.a) || s.b != ref.b || s.c != ref.c) {
        return Status::InvalidArgument("collective mismatch in ", KindName(ref.kind), ": rank 0 ",
                                       "passed (", ref.a, ", ", ref.b, ", ", ref.c, "), rank ", q,
                                       " passed (", s.a, ", ", s.b, ", ", s.c,
                                       ") as (size, type, op/root)");
      }
    }
    return Status::OK();
  }

  Status CheckNonNegative(const char* op, const char* name, int64_t v) const {
    if (v < 0) return Status::InvalidArgument(op, ": ", name, " must be >= 0, got ", v);
    return Status::OK();
  }
  Status CheckRoot(const char* op, int r) const {
    if (r < 0 || r >= size()) {
      return Status::InvalidArgument(op, ": rank ", r, " out of range [0, ", size(), ")");
    }
    return Status::OK();
  }
  Status CheckSpan(const char* op, const char* name, std::span<const int64_t> s) const {
    if (static_cast<int>(s.size()) != size()) {
      return Status::InvalidArgument(op, ": ", name, " has ", s.size(),
                                     " entries, expected communicator size ", size());
    }
    for (int64_t v : s) {
      if (v < 0) return Status::InvalidArgument(op, ": ", name, " has a negative entry ", v);
    }
    return Status::OK();
  }
  Status SizeMismatch(const char* op, int peer, int64_t sent, int64_t expected) const {
    return Status::InvalidArgument(op, ": rank ", peer, " sends ", sent, " bytes to rank ", rank_,
                                   ", which expects ", expected);
  }

  std::shared_ptr<World> world_;
  int rank_;
};

}  // namespace

Result<std::vector<std::unique_ptr<Communicator>>> LocalWorld::Make(int size, CommOptions options) {
  if (size < 1) return Status::InvalidArgument("LocalWorld: size must be >= 1, got ", size);
  options.rank = 0;
  options.size = size;
  DRC_ASSIGN_OR_RETURN(options, ResolveOptions(options));
  auto world = std::make_shared<World>(size, options.timeout);
  std::vector<std::unique_ptr<Communicator>> comms;
  comms.reserve(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    std::unique_ptr<Communicator> c = std::make_unique<LocalCommunicator>(world, r);
    if (options.check_collectives) c = WithCollectiveChecks(std::move(c));
    comms.push_back(std::move(c));
  }
  return comms;
}

Status RunLocal(int size, const std::function<Status(Communicator&)>& fn, CommOptions options) {
  DRC_ASSIGN_OR_RETURN(auto comms, LocalWorld::Make(size, std::move(options)));
  std::vector<Status> results(static_cast<size_t>(size));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      results[static_cast<size_t>(r)] = fn(*comms[static_cast<size_t>(r)]);
      comms[static_cast<size_t>(r)].reset();  // Leaving early unblocks peers that still wait.
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < size; ++r) {
    if (!results[static_cast<size_t>(r)].ok()) {
      return results[static_cast<size_t>(r)].WithContext("rank " + std::to_string(r));
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<Communicator>> MakeLocalSingle(const CommOptions& options) {
  if (options.size > 1) {
    return Status::InvalidArgument(
        "the 'local' backend from the registry has one rank; use "
        "drc::comm::LocalWorld::Make or RunLocal for ",
        options.size, " thread ranks");
  }
  DRC_ASSIGN_OR_RETURN(auto comms, LocalWorld::Make(1, options));
  return std::move(comms.front());
}

}  // namespace drc::comm

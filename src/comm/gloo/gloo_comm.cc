// The `gloo` communicator: Deep RC's Communicator over Facebook Gloo's TCP transport.
//
// Design:
//  - One gloo context (a full mesh of TCP pairs) per communicator. The pairs are connected by
//    an address exchange we control (MeshContext): through a store (file or TCP) for the world,
//    through a bootstrap communicator, or — for sub-communicators — point to point over the
//    parent among the members only, so non-members never take part.
//  - Gloo's algorithms for all-reduce (ring), broadcast, barrier and all-gather(v); our own
//    pairwise exchange on unbound buffers for all-to-all(v) and gather(v), which sends straight
//    from and receives straight into the caller's buffers at arbitrary displacements.
//  - Gloo reports failures by throwing; Call() is the one adapter that turns them into Status,
//    and after the first failure the communicator is broken (later calls fail at once).
//  - Send is eager below kEagerBytes (the data is copied and the send completes in the
//    background, like MPI's eager protocol), so unmatched-order sends of small messages do not
//    deadlock; larger sends block until the receiver has taken the data.
#include "drc/comm/gloo.h"

#include <net/if.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gloo/allgather.h>
#include <gloo/allgatherv.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/context.h>
#include <gloo/transport/device.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/unbound_buffer.h>

#include "drc/common/logging.h"
#include "tcp_store.h"

namespace drc::comm {
namespace {

using ::gloo::transport::UnboundBuffer;
using gloo_internal::TcpStore;
using gloo_internal::TcpStoreServer;
using Blob = std::vector<char>;
using Millis = std::chrono::milliseconds;

// Slot prefixes (the top byte of a 64-bit gloo slot). Gloo's own collectives use 0x01..0x08.
constexpr uint8_t kSendRecvSlot = 0xD0;  // user Send/Recv, low bits: the tag
constexpr uint8_t kPairwiseSlot = 0xD1;  // all-to-all(v), gather(v)
constexpr uint8_t kSubCommSlot = 0xD2;   // sub-communicator address exchange, low bits: tag

uint64_t MakeSlot(uint8_t prefix, uint32_t low) {
  return (static_cast<uint64_t>(prefix) << 56) | (static_cast<uint64_t>(low) << 8);
}

// Largest piece of one all-reduce send/recv.
constexpr size_t kAllReduceSegmentBytes = size_t{4} << 20;

// Sends of at most this many bytes are copied and completed in the background.
constexpr int64_t kEagerBytes = int64_t{1} << 20;

// ---- The exception adapter ---------------------------------------------------------------

bool LooksLikeTimeout(std::string_view message) {
  std::string lower(message);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("timed out") != std::string::npos || lower.find("timeout") != std::string::npos;
}

// Runs `fn`, converting anything it throws to Timeout (a deadline passed) or Aborted.
template <typename F>
Status Call(std::string_view what, F&& fn) {
  try {
    fn();
    return Status::OK();
  } catch (const std::exception& e) {
    // gloo::IoException, gloo::Exception and std errors all land here.
    if (LooksLikeTimeout(e.what())) return Status::Timeout(what, ": ", e.what());
    return Status::Aborted(what, ": ", e.what());
  } catch (...) {
    return Status::Aborted(what, ": unknown exception from gloo");
  }
}

// ---- Connecting a mesh -------------------------------------------------------------------

// A gloo context whose pairs are connected from addresses that the caller exchanges. Blob
// layout: u32 hostname length, hostname, then for each rank u32 length + that pair's address.
class MeshContext final : public ::gloo::Context {
 public:
  MeshContext(int r, int n) : ::gloo::Context(r, n) {}

  // Creates the transport context and one listening pair per peer; returns this rank's blob.
  Blob Prepare(const std::shared_ptr<::gloo::transport::Device>& device) {
    device_ = device;
    pending_ = device->createContext(rank, size);
    pending_->setTimeout(getTimeout());
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    Blob blob;
    Append(blob, std::string_view(host));
    for (int i = 0; i < size; ++i) {
      if (i == rank) {
        Append(blob, std::string_view());
      } else {
        Blob address = pending_->createPair(i)->address().bytes();
        Append(blob, std::string_view(address.data(), address.size()));
      }
    }
    return blob;
  }

  // Connects every pair from all ranks' blobs (all[i] is rank i's blob; all[rank] is ignored).
  void Connect(const std::vector<Blob>& all) {
    if (static_cast<int>(all.size()) != size) throw ::gloo::Exception("address count mismatch");
    std::vector<std::string_view> hosts(size);
    std::vector<std::string_view> addresses(size);
    for (int i = 0; i < size; ++i) {
      size_t pos = 0;
      hosts[i] = Take(all[i], pos);
      for (int j = 0; j < size; ++j) {
        std::string_view entry = Take(all[i], pos);
        if (j == rank) addresses[i] = entry;
      }
    }
    int local_rank = 0;
    for (int i = 0; i < rank; ++i) local_rank += hosts[i] == hosts[rank] ? 1 : 0;
    // Ascending order on every rank, like gloo's own full-mesh rendezvous: no wait cycle.
    for (int i = 0; i < size; ++i) {
      if (i == rank) continue;
      auto& pair = pending_->getPair(i);
      pair->setLocalRank(local_rank);
      pair->connect(Blob(addresses[i].begin(), addresses[i].end()));
    }
    transportContext_ = std::move(pending_);
  }

 private:
  static void Append(Blob& blob, std::string_view bytes) {
    uint32_t n = static_cast<uint32_t>(bytes.size());
    const char* p = reinterpret_cast<const char*>(&n);
    blob.insert(blob.end(), p, p + sizeof(n));
    blob.insert(blob.end(), bytes.begin(), bytes.end());
  }
  static std::string_view Take(const Blob& blob, size_t& pos) {
    uint32_t n = 0;
    if (pos + sizeof(n) > blob.size()) throw ::gloo::Exception("truncated gloo address blob");
    std::memcpy(&n, blob.data() + pos, sizeof(n));
    pos += sizeof(n);
    if (pos + n > blob.size()) throw ::gloo::Exception("truncated gloo address blob");
    std::string_view out(blob.data() + pos, n);
    pos += n;
    return out;
  }

  std::shared_ptr<::gloo::transport::Context> pending_;
};

// How a new mesh exchanges its blobs: returns every rank's blob in rank order.
using Exchange = std::function<Result<std::vector<Blob>>(const Blob& mine)>;

Result<std::shared_ptr<MeshContext>> ConnectMesh(
    int rank, int size, Millis timeout, const std::shared_ptr<::gloo::transport::Device>& device,
    const Exchange& exchange) {
  auto context = std::make_shared<MeshContext>(rank, size);
  context->setTimeout(timeout);
  Blob mine;
  DRC_RETURN_NOT_OK(
      Call("gloo: creating transport pairs", [&] { mine = context->Prepare(device); }));
  DRC_ASSIGN_OR_RETURN(std::vector<Blob> all, exchange(mine));
  if (static_cast<int>(all.size()) != size) {
    return Status::Internal("gloo address exchange returned ", all.size(), " entries for ", size,
                            " ranks");
  }
  DRC_RETURN_NOT_OK(Call(Status::Concat("gloo: rank ", rank, " of ", size, " connecting to peers"),
                         [&] { context->Connect(all); }));
  return context;
}

// Waits for `keys` until `timeout`, then throws. Waits in short slices because gloo's
// FileStore overshoots a long wait (it waited twice the timeout in our tests).
void WaitForKeys(::gloo::rendezvous::Store& store, const std::vector<std::string>& keys,
                 Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    try {
      store.wait(keys, std::clamp(left, Millis(1), Millis(100)));
      return;
    } catch (const ::gloo::IoException&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
    }
  }
}

// Exchange through a gloo store: every rank publishes its blob under its rank.
Exchange StoreExchange(::gloo::rendezvous::Store& store, int rank, int size, Millis timeout) {
  return [&store, rank, size, timeout](const Blob& mine) -> Result<std::vector<Blob>> {
    std::vector<Blob> all(size);
    auto key = [](int r) { return "drc_gloo_addr_" + std::to_string(r); };
    Status st = Call(Status::Concat("gloo rendezvous: rank ", rank, " of ", size,
                                    " waiting for the other ranks' addresses"),
                     [&] {
                       store.set(key(rank), mine);
                       std::vector<std::string> keys;
                       for (int r = 0; r < size; ++r) keys.push_back(key(r));
                       WaitForKeys(store, keys, timeout);
                       for (int r = 0; r < size; ++r) all[r] = store.get(key(r));
                     });
    if (!st.ok()) return st;
    return all;
  };
}

// Exchange over an existing communicator with the same ranks (e.g. MPI or local).
Exchange BootstrapExchange(Communicator& bootstrap) {
  return [&bootstrap](const Blob& mine) -> Result<std::vector<Blob>> {
    DRC_ASSIGN_OR_RETURN(std::vector<int64_t> sizes,
                         AllGatherValue(bootstrap, static_cast<int64_t>(mine.size())));
    std::vector<int64_t> displs = Displacements(sizes);
    Blob packed(static_cast<size_t>(displs.back() + sizes.back()));
    DRC_RETURN_NOT_OK(
        bootstrap.AllGatherV(mine.data(), static_cast<int64_t>(mine.size()), packed.data(), sizes)
            .WithContext("gloo bootstrap address exchange"));
    std::vector<Blob> all(sizes.size());
    for (size_t r = 0; r < sizes.size(); ++r) {
      all[r].assign(packed.begin() + displs[r], packed.begin() + displs[r] + sizes[r]);
    }
    return all;
  };
}

// ---- Background completion of eager sends ------------------------------------------------

// Holds eager sends (a private copy of the data plus its gloo buffer) until gloo has sent
// them. Thread-safe; the destructor waits for every queued send (each at most `timeout`).
class EagerSends {
 public:
  explicit EagerSends(Millis timeout) : timeout_(timeout) {}
  ~EagerSends() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Add(std::unique_ptr<UnboundBuffer> buffer, std::unique_ptr<char[]> data, int dst) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Item{std::move(buffer), std::move(data), dst});
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    ready_.notify_one();
  }

  // The first failure of a background send, or OK.
  Status error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  struct Item {
    std::unique_ptr<UnboundBuffer> buffer;
    std::unique_ptr<char[]> data;
    int dst;
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and drained
      Item item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Status st = Call(Status::Concat("gloo send to rank ", item.dst),
                       [&] { item.buffer->waitSend(timeout_); });
      item = Item{};
      lock.lock();
      if (!st.ok() && error_.ok()) error_ = st;
    }
  }

  const Millis timeout_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Item> queue_;  // guarded by mutex_
  Status error_;            // guarded by mutex_
  bool stop_ = false;       // guarded by mutex_
  std::thread thread_;
};

// ---- The communicator --------------------------------------------------------------------

// State shared by a world communicator and kept alive for its lifetime: the rendezvous store
// (and, on the rank that serves it, the TCP store server).
struct Rendezvous {
  std::unique_ptr<TcpStoreServer> server;
  std::unique_ptr<::gloo::rendezvous::Store> store;
};

struct PeerRange {
  int peer;
  size_t offset;
  size_t bytes;
};

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(std::shared_ptr<::gloo::transport::Device> device,
                   std::shared_ptr<MeshContext> context, Millis timeout,
                   std::unique_ptr<Rendezvous> rendezvous)
      : device_(std::move(device)),
        context_(std::move(context)),
        timeout_(timeout),
        rendezvous_(std::move(rendezvous)),
        eager_(std::make_unique<EagerSends>(timeout)) {}

  ~GlooCommunicator() override {
    eager_.reset();  // completes (or times out) queued sends while the pairs still exist
    context_.reset();
  }

  int rank() const override { return context_->rank; }
  int size() const override { return context_->size; }
  std::string_view backend() const override { return "gloo"; }

  Status Barrier() override {
    return Run("barrier", [&] {
      ::gloo::BarrierOptions opts(context_);
      opts.setTimeout(timeout_);
      ::gloo::barrier(opts);
    });
  }

  Status Broadcast(void* data, int64_t bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("broadcast", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("broadcast", "root", root));
    if (bytes == 0 || size() == 1) return Usable();
    return Run("broadcast", [&] {
      ::gloo::BroadcastOptions opts(context_);
      opts.setOutput(static_cast<uint8_t*>(data), static_cast<size_t>(bytes));
      opts.setRoot(root);
      opts.setTimeout(timeout_);
      ::gloo::broadcast(opts);
    });
  }

  Status AllReduce(const void* send, void* recv, int64_t count, DataType type,
                   ReduceOp op) override {
    if (count < 0) return Status::InvalidArgument("allreduce: count must be >= 0, got ", count);
    if (count > 0 && (send == nullptr || recv == nullptr)) {
      return Status::InvalidArgument("allreduce: ", send == nullptr ? "send" : "recv",
                                     " is null with count ", count);
    }
    switch (type) {
      case DataType::kInt8: return AllReduceTyped<int8_t>(send, recv, count, op);
      case DataType::kUInt8: return AllReduceTyped<uint8_t>(send, recv, count, op);
      case DataType::kInt32: return AllReduceTyped<int32_t>(send, recv, count, op);
      case DataType::kInt64: return AllReduceTyped<int64_t>(send, recv, count, op);
      case DataType::kFloat32: return AllReduceTyped<float>(send, recv, count, op);
      case DataType::kFloat64: return AllReduceTyped<double>(send, recv, count, op);
    }
    return Status::InvalidArgument("allreduce: unknown type ", static_cast<int>(type));
  }

  Status AllGather(const void* send, int64_t bytes, void* recv) override {
    DRC_RETURN_NOT_OK(CheckBytes("allgather", "bytes", bytes, send));
    if (bytes > 0 && recv == nullptr) return Status::InvalidArgument("allgather: recv is null");
    if (bytes == 0) return Usable();
    const size_t n = static_cast<size_t>(bytes);
    if (size() == 1) {
      DRC_RETURN_NOT_OK(Usable());
      std::memmove(recv, send, n);
      return Status::OK();
    }
    return Run("allgather", [&] {
      ::gloo::AllgatherOptions opts(context_);
      auto* out = static_cast<uint8_t*>(recv);
      // In place when the caller's block already sits at its slot in recv.
      if (send != out + n * rank())
        opts.setInput(static_cast<uint8_t*>(const_cast<void*>(send)), n);
      opts.setOutput(out, n * size());
      opts.setTimeout(timeout_);
      ::gloo::allgather(opts);
    });
  }

  Status AllGatherV(const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes) override {
    DRC_RETURN_NOT_OK(CheckBytes("allgatherv", "send_bytes", send_bytes, send));
    DRC_RETURN_NOT_OK(CheckCounts("allgatherv", "recv_bytes", recv_bytes));
    if (recv_bytes[rank()] != send_bytes) {
      return Status::InvalidArgument("allgatherv: send_bytes (", send_bytes,
                                     ") differs from recv_bytes[", rank(), "] (",
                                     recv_bytes[rank()], ")");
    }
    int64_t total = 0;
    for (int64_t b : recv_bytes) total += b;
    if (total > 0 && recv == nullptr) return Status::InvalidArgument("allgatherv: recv is null");
    if (total == 0) return Usable();
    std::vector<int64_t> displs = Displacements(recv_bytes);
    auto* out = static_cast<uint8_t*>(recv);
    if (size() == 1) {
      DRC_RETURN_NOT_OK(Usable());
      if (send_bytes > 0) std::memmove(out, send, static_cast<size_t>(send_bytes));
      return Status::OK();
    }
    return Run("allgatherv", [&] {
      ::gloo::AllgathervOptions opts(context_);
      std::vector<size_t> elements(recv_bytes.begin(), recv_bytes.end());
      if (send_bytes > 0 && send != out + displs[rank()]) {
        opts.setInput(static_cast<uint8_t*>(const_cast<void*>(send)),
                      static_cast<size_t>(send_bytes));
      }
      opts.setOutput(out, std::move(elements));
      opts.setTimeout(timeout_);
      ::gloo::allgatherv(opts);
    });
  }

  Status Gather(const void* send, int64_t bytes, void* recv, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("gather", "bytes", bytes, send));
    DRC_RETURN_NOT_OK(CheckRank("gather", "root", root));
    if (rank() == root && bytes > 0 && recv == nullptr) {
      return Status::InvalidArgument("gather: recv is null on the root");
    }
    std::vector<int64_t> counts(size(), bytes);
    return GatherImpl("gather", send, bytes, recv, counts, root);
  }

  Status GatherV(const void* send, int64_t send_bytes, void* recv,
                 std::span<const int64_t> recv_bytes, int root) override {
    DRC_RETURN_NOT_OK(CheckBytes("gatherv", "send_bytes", send_bytes, send));
    DRC_RETURN_NOT_OK(CheckRank("gatherv", "root", root));
    if (rank() == root) {
      DRC_RETURN_NOT_OK(CheckCounts("gatherv", "recv_bytes", recv_bytes));
      if (recv_bytes[root] != send_bytes) {
        return Status::InvalidArgument("gatherv: send_bytes (", send_bytes,
                                       ") differs from recv_bytes[", root, "] (", recv_bytes[root],
                                       ") on the root");
      }
      int64_t total = 0;
      for (int64_t b : recv_bytes) total += b;
      if (total > 0 && recv == nullptr) {
        return Status::InvalidArgument("gatherv: recv is null on the root");
      }
    }
    return GatherImpl("gatherv", send, send_bytes, recv, recv_bytes, root);
  }

  Status AllToAll(const void* send, int64_t bytes_per_rank, void* recv) override {
    DRC_RETURN_NOT_OK(CheckBytes("alltoall", "bytes_per_rank", bytes_per_rank, send));
    if (bytes_per_rank > 0 && recv == nullptr) {
      return Status::InvalidArgument("alltoall: recv is null");
    }
    std::vector<int64_t> counts(size(), bytes_per_rank);
    std::vector<int64_t> displs = Displacements(counts);
    return AllToAllImpl("alltoall", send, counts, displs, recv, counts, displs);
  }

  Status AllToAllV(const void* send, std::span<const int64_t> send_bytes,
                   std::span<const int64_t> send_displs, void* recv,
                   std::span<const int64_t> recv_bytes,
                   std::span<const int64_t> recv_displs) override {
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "send_bytes", send_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "send_displs", send_displs));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "recv_bytes", recv_bytes));
    DRC_RETURN_NOT_OK(CheckCounts("alltoallv", "recv_displs", recv_displs));
    if (send_bytes[rank()] != recv_bytes[rank()]) {
      return Status::InvalidArgument("alltoallv: send_bytes[", rank(), "] (", send_bytes[rank()],
                                     ") differs from recv_bytes[", rank(), "] (",
                                     recv_bytes[rank()], ")");
    }
    for (int r = 0; r < size(); ++r) {
      if (send_bytes[r] > 0 && send == nullptr) {
        return Status::InvalidArgument("alltoallv: send is null");
      }
      if (recv_bytes[r] > 0 && recv == nullptr) {
        return Status::InvalidArgument("alltoallv: recv is null");
      }
    }
    return AllToAllImpl("alltoallv", send, send_bytes, send_displs, recv, recv_bytes, recv_displs);
  }

  Status Send(const void* data, int64_t bytes, int dst, int tag) override {
    DRC_RETURN_NOT_OK(CheckBytes("send", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("send", "dst", dst));
    if (tag < 0) return Status::InvalidArgument("send: tag must be >= 0, got ", tag);
    DRC_RETURN_NOT_OK(Usable());
    if (dst == rank()) {
      const char* p = static_cast<const char*>(data);
      self_messages_[tag].emplace_back(p, p + bytes);
      return Status::OK();
    }
    const uint64_t slot = MakeSlot(kSendRecvSlot, static_cast<uint32_t>(tag));
    const size_t n = static_cast<size_t>(bytes);
    return Run(Status::Concat("send of ", bytes, " bytes to rank ", dst, " (tag ", tag, ")"), [&] {
      if (bytes <= kEagerBytes) {
        auto copy = std::make_unique<char[]>(std::max<size_t>(n, 1));
        if (n > 0) std::memcpy(copy.get(), data, n);
        auto buffer = context_->createUnboundBuffer(copy.get(), n);
        buffer->send(dst, slot, 0, n);
        eager_->Add(std::move(buffer), std::move(copy), dst);
      } else {
        auto buffer = context_->createUnboundBuffer(const_cast<void*>(data), n);
        buffer->send(dst, slot, 0, n);
        buffer->waitSend(timeout_);
      }
    });
  }

  Status Recv(void* data, int64_t bytes, int src, int tag) override {
    DRC_RETURN_NOT_OK(CheckBytes("recv", "bytes", bytes, data));
    DRC_RETURN_NOT_OK(CheckRank("recv", "src", src));
    if (tag < 0) return Status::InvalidArgument("recv: tag must be >= 0, got ", tag);
    DRC_RETURN_NOT_OK(Usable());
    if (src == rank()) {
      auto it = self_messages_.find(tag);
      if (it == self_messages_.end() || it->second.empty()) {
        return Status::InvalidArgument("recv from self (rank ", src, ", tag ", tag,
                                       ") has no earlier matching send; it would never complete");
      }
      std::vector<char> message = std::move(it->second.front());
      it->second.pop_front();
      if (it->second.empty()) self_messages_.erase(it);
      if (static_cast<int64_t>(message.size()) != bytes) {
        return Status::InvalidArgument("recv from self (tag ", tag, "): expected ", bytes,
                                       " bytes, the message has ", message.size());
      }
      if (bytes > 0) std::memcpy(data, message.data(), message.size());
      return Status::OK();
    }
    const uint64_t slot = MakeSlot(kSendRecvSlot, static_cast<uint32_t>(tag));
    return Run(Status::Concat("recv of ", bytes, " bytes from rank ", src, " (tag ", tag, ")"),
               [&] {
                 auto buffer = context_->createUnboundBuffer(data, static_cast<size_t>(bytes));
                 buffer->recv(src, slot, 0, static_cast<size_t>(bytes));
                 buffer->waitRecv(timeout_);
               });
  }

  Result<std::unique_ptr<Communicator>> CreateSubCommunicator(std::span<const int> ranks,
                                                              int tag) override {
    if (ranks.empty()) return Status::InvalidArgument("CreateSubCommunicator: ranks is empty");
    if (tag < 0) {
      return Status::InvalidArgument("CreateSubCommunicator: tag must be >= 0, got ", tag);
    }
    int new_rank = -1;
    std::vector<bool> seen(size(), false);
    for (size_t i = 0; i < ranks.size(); ++i) {
      const int r = ranks[i];
      if (r < 0 || r >= size()) {
        return Status::InvalidArgument("CreateSubCommunicator: ranks[", i, "] = ", r,
                                       " is out of range for size ", size());
      }
      if (seen[r]) {
        return Status::InvalidArgument("CreateSubCommunicator: rank ", r, " is listed twice");
      }
      seen[r] = true;
      if (r == rank()) new_rank = static_cast<int>(i);
    }
    if (new_rank < 0) {
      return Status::InvalidArgument("CreateSubCommunicator: this rank (", rank(),
                                     ") is not in ranks");
    }
    DRC_RETURN_NOT_OK(Usable());
    std::vector<int> members(ranks.begin(), ranks.end());
    const uint64_t slot = MakeSlot(kSubCommSlot, static_cast<uint32_t>(tag));
    Exchange exchange = [&](const Blob& mine) -> Result<std::vector<Blob>> {
      return ExchangeAmong(members, new_rank, slot, mine);
    };
    auto context =
        ConnectMesh(new_rank, static_cast<int>(members.size()), timeout_, device_, exchange);
    if (!context.ok()) {
      MarkBroken(context.status());
      return context.status().WithContext(
          Status::Concat("gloo CreateSubCommunicator (tag ", tag, ")"));
    }
    return std::unique_ptr<Communicator>(
        new GlooCommunicator(device_, std::move(context).ValueOrDie(), timeout_, nullptr));
  }

 private:
  // ---- argument checks ----
  Status CheckRank(std::string_view op, std::string_view name, int r) const {
    if (r < 0 || r >= size()) {
      return Status::InvalidArgument(op, ": ", name, " = ", r, " is out of range for size ",
                                     size());
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
    if (static_cast<int>(values.size()) != size()) {
      return Status::InvalidArgument(op, ": ", name, " has ", values.size(),
                                     " entries, expected size() = ", size());
    }
    for (size_t r = 0; r < values.size(); ++r) {
      if (values[r] < 0) {
        return Status::InvalidArgument(op, ": ", name, "[", r, "] = ", values[r], " is negative");
      }
    }
    return Status::OK();
  }

  // ---- failure state ----
  Status Usable() {
    if (broken_.ok()) {
      Status eager = eager_->error();
      if (!eager.ok()) broken_ = eager;
    }
    if (broken_.ok()) return Status::OK();
    return Status::Aborted("gloo communicator (rank ", rank(), " of ", size(),
                           ") is broken by an earlier error: ", broken_.ToString());
  }
  void MarkBroken(const Status& st) {
    if (broken_.ok()) broken_ = st;
  }
  // Runs one gloo operation through the adapter; a failure breaks the communicator.
  template <typename F>
  Status Run(std::string_view op, F&& fn) {
    DRC_RETURN_NOT_OK(Usable());
    Status st =
        Call(Status::Concat("gloo ", op, " on rank ", rank(), " of ", size()), std::forward<F>(fn));
    if (!st.ok()) MarkBroken(st);
    return st;
  }

  // ---- collectives ----
  template <typename T>
  static void ReduceFn(void* out, const void* a, const void* b, size_t n, ReduceOp op) {
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    switch (op) {
      case ReduceOp::kSum:
        for (size_t i = 0; i < n; ++i) o[i] = static_cast<T>(x[i] + y[i]);
        break;
      case ReduceOp::kProd:
        for (size_t i = 0; i < n; ++i) o[i] = static_cast<T>(x[i] * y[i]);
        break;
      case ReduceOp::kMin:
        for (size_t i = 0; i < n; ++i) o[i] = y[i] < x[i] ? y[i] : x[i];
        break;
      case ReduceOp::kMax:
        for (size_t i = 0; i < n; ++i) o[i] = x[i] < y[i] ? y[i] : x[i];
        break;
    }
  }

  template <typename T>
  Status AllReduceTyped(const void* send, void* recv, int64_t count, ReduceOp op) {
    if (op != ReduceOp::kSum && op != ReduceOp::kProd && op != ReduceOp::kMin &&
        op != ReduceOp::kMax) {
      return Status::InvalidArgument("allreduce: unknown op ", static_cast<int>(op));
    }
    if (count == 0) return Usable();
    const size_t n = static_cast<size_t>(count);
    if (size() == 1) {
      DRC_RETURN_NOT_OK(Usable());
      if (send != recv) std::memmove(recv, send, n * sizeof(T));
      return Status::OK();
    }
    return Run("allreduce", [&] {
      ::gloo::AllreduceOptions opts(context_);
      if (send != recv) opts.setInput(static_cast<T*>(const_cast<void*>(send)), n);
      opts.setOutput(static_cast<T*>(recv), n);
      opts.setReduceFunction(
          [op](void* o, const void* a, const void* b, size_t k) { ReduceFn<T>(o, a, b, k, op); });
      // Ring (reduce-scatter + all-gather) moves the least data per rank; segments larger
      // than gloo's 1 MiB default measured faster on loopback for 16-256 MiB buffers.
      opts.setAlgorithm(::gloo::AllreduceOptions::Algorithm::RING);
      opts.setMaxSegmentSize(kAllReduceSegmentBytes);
      opts.setTimeout(timeout_);
      ::gloo::allreduce(opts);
    });
  }

  // Posts every receive and send at once, then waits for all; the local block is copied.
  void Pairwise(uint64_t slot, const void* send, size_t send_extent,
                const std::vector<PeerRange>& sends, void* recv, size_t recv_extent,
                const std::vector<PeerRange>& recvs) {
    std::unique_ptr<UnboundBuffer> in;
    std::unique_ptr<UnboundBuffer> out;
    if (!recvs.empty()) {
      out = context_->createUnboundBuffer(recv, recv_extent);
      for (const auto& r : recvs) out->recv(r.peer, slot, r.offset, r.bytes);
    }
    if (!sends.empty()) {
      in = context_->createUnboundBuffer(const_cast<void*>(send), send_extent);
      for (const auto& s : sends) in->send(s.peer, slot, s.offset, s.bytes);
    }
    for (size_t i = 0; i < sends.size(); ++i) in->waitSend(timeout_);
    for (size_t i = 0; i < recvs.size(); ++i) out->waitRecv(timeout_);
  }

  Status AllToAllImpl(std::string_view op, const void* send, std::span<const int64_t> send_bytes,
                      std::span<const int64_t> send_displs, void* recv,
                      std::span<const int64_t> recv_bytes, std::span<const int64_t> recv_displs) {
    DRC_RETURN_NOT_OK(Usable());
    const int me = rank();
    const int n = size();
    std::vector<PeerRange> sends;
    std::vector<PeerRange> recvs;
    size_t send_extent = 0;
    size_t recv_extent = 0;
    // Ring order spreads the traffic: step i sends to me+i and receives from me-i.
    for (int i = 1; i < n; ++i) {
      const int to = (me + i) % n;
      const int from = (me - i + n) % n;
      if (send_bytes[to] > 0) {
        sends.push_back(
            {to, static_cast<size_t>(send_displs[to]), static_cast<size_t>(send_bytes[to])});
        send_extent = std::max(send_extent, static_cast<size_t>(send_displs[to] + send_bytes[to]));
      }
      if (recv_bytes[from] > 0) {
        recvs.push_back(
            {from, static_cast<size_t>(recv_displs[from]), static_cast<size_t>(recv_bytes[from])});
        recv_extent =
            std::max(recv_extent, static_cast<size_t>(recv_displs[from] + recv_bytes[from]));
      }
    }
    if (send_bytes[me] > 0) {
      std::memmove(static_cast<char*>(recv) + recv_displs[me],
                   static_cast<const char*>(send) + send_displs[me],
                   static_cast<size_t>(send_bytes[me]));
    }
    if (sends.empty() && recvs.empty()) return Status::OK();
    return Run(op, [&] {
      Pairwise(MakeSlot(kPairwiseSlot, 0), send, send_extent, sends, recv, recv_extent, recvs);
    });
  }

  Status GatherImpl(std::string_view op, const void* send, int64_t send_bytes, void* recv,
                    std::span<const int64_t> recv_bytes, int root) {
    DRC_RETURN_NOT_OK(Usable());
    const uint64_t slot = MakeSlot(kPairwiseSlot, 1);
    if (rank() != root) {
      if (send_bytes == 0) return Status::OK();
      std::vector<PeerRange> sends = {{root, 0, static_cast<size_t>(send_bytes)}};
      return Run(op, [&] {
        Pairwise(slot, send, static_cast<size_t>(send_bytes), sends, nullptr, 0, {});
      });
    }
    std::vector<int64_t> displs = Displacements(recv_bytes);
    std::vector<PeerRange> recvs;
    size_t extent = static_cast<size_t>(displs.back() + recv_bytes.back());
    for (int r = 0; r < size(); ++r) {
      if (r != root && recv_bytes[r] > 0) {
        recvs.push_back({r, static_cast<size_t>(displs[r]), static_cast<size_t>(recv_bytes[r])});
      }
    }
    if (send_bytes > 0) {
      std::memmove(static_cast<char*>(recv) + displs[root], send, static_cast<size_t>(send_bytes));
    }
    if (recvs.empty()) return Status::OK();
    return Run(op, [&] { Pairwise(slot, nullptr, 0, {}, recv, extent, recvs); });
  }

  // Exchanges blobs among `members` (ranks of this communicator; `me` is this rank's index)
  // point to point: first the sizes, then the bytes. Non-members are not involved.
  Result<std::vector<Blob>> ExchangeAmong(const std::vector<int>& members, int me, uint64_t slot,
                                          const Blob& mine) {
    const size_t m = members.size();
    std::vector<Blob> all(m);
    all[me] = mine;
    if (m == 1) return all;
    std::vector<uint64_t> sizes(m, 0);
    const uint64_t my_size = mine.size();
    std::vector<PeerRange> sends;
    std::vector<PeerRange> recvs;
    for (size_t i = 0; i < m; ++i) {
      if (static_cast<int>(i) == me) continue;
      sends.push_back({members[i], 0, sizeof(uint64_t)});
      recvs.push_back({members[i], i * sizeof(uint64_t), sizeof(uint64_t)});
    }
    DRC_RETURN_NOT_OK(Run("sub-communicator size exchange", [&] {
      Pairwise(slot, &my_size, sizeof(my_size), sends, sizes.data(), m * sizeof(uint64_t), recvs);
    }));
    std::vector<int64_t> counts(m);
    for (size_t i = 0; i < m; ++i) counts[i] = static_cast<int64_t>(sizes[i]);
    counts[me] = 0;
    std::vector<int64_t> displs = Displacements(counts);
    Blob packed(static_cast<size_t>(displs.back() + counts.back()) + 1);
    sends.clear();
    recvs.clear();
    for (size_t i = 0; i < m; ++i) {
      if (static_cast<int>(i) == me) continue;
      sends.push_back({members[i], 0, mine.size()});
      recvs.push_back({members[i], static_cast<size_t>(displs[i]), sizes[i]});
    }
    DRC_RETURN_NOT_OK(Run("sub-communicator address exchange", [&] {
      Pairwise(slot + 1, mine.data(), mine.size(), sends, packed.data(), packed.size(), recvs);
    }));
    for (size_t i = 0; i < m; ++i) {
      if (static_cast<int>(i) == me) continue;
      all[i].assign(packed.begin() + displs[i], packed.begin() + displs[i] + counts[i]);
    }
    return all;
  }

  std::shared_ptr<::gloo::transport::Device> device_;
  std::shared_ptr<MeshContext> context_;
  const Millis timeout_;
  std::unique_ptr<Rendezvous> rendezvous_;  // world communicator only; outlives the mesh
  std::unique_ptr<EagerSends> eager_;
  std::map<int, std::deque<std::vector<char>>> self_messages_;  // Send to self, by tag
  Status broken_;                                               // the first error; OK while usable
};

// gloo writes to sockets without MSG_NOSIGNAL, so a peer that died would kill this process
// with SIGPIPE. Ignore SIGPIPE unless the application installed its own handler; writes then
// fail with EPIPE and gloo reports the broken connection as an error.
void IgnoreSigpipeOnce() {
  static const bool done = [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      std::signal(SIGPIPE, SIG_IGN);
    }
    return true;
  }();
  (void)done;
}

Result<std::shared_ptr<::gloo::transport::Device>> MakeDevice(const std::string& name) {
  IgnoreSigpipeOnce();
  ::gloo::transport::tcp::attr attr;
  if (::if_nametoindex(name.c_str()) != 0) {
    attr.iface = name;
  } else {
    // gloo dereferences a failed lookup, so resolve the host name here first.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &result);
    if (rc != 0) {
      return Status::InvalidArgument(
          "gloo interface '", name,
          "' is neither a network interface nor a resolvable host: ", ::gai_strerror(rc));
    }
    ::freeaddrinfo(result);
    attr.hostname = name;
  }
  std::shared_ptr<::gloo::transport::Device> device;
  Status st = Call("gloo device", [&] { device = ::gloo::transport::tcp::CreateDevice(attr); });
  if (!st.ok()) {
    return Status::InvalidArgument("gloo cannot use interface or host '", name,
                                   "': ", st.message());
  }
  return device;
}

}  // namespace

Result<std::unique_ptr<Communicator>> MakeGloo(const CommOptions& given) {
  CommOptions options = given;
  if (options.bootstrap != nullptr) {
    if (options.rank < 0) options.rank = options.bootstrap->rank();
    if (options.size < 0) options.size = options.bootstrap->size();
    if (options.rank != options.bootstrap->rank() || options.size != options.bootstrap->size()) {
      return Status::InvalidArgument("gloo: rank/size (", options.rank, "/", options.size,
                                     ") differ from the bootstrap communicator's (",
                                     options.bootstrap->rank(), "/", options.bootstrap->size(),
                                     ")");
    }
  }
  DRC_ASSIGN_OR_RETURN(options, ResolveOptions(std::move(options)));
  if (options.rank < 0 || options.size < 1) {
    return Status::InvalidArgument(
        "gloo: rank and size are unknown; set CommOptions::rank/size, DRC_RANK/DRC_WORLD_SIZE, "
        "or launch under mpirun, srun or a PMI launcher");
  }
  if (options.rendezvous.empty() && options.bootstrap == nullptr) {
    if (const char* env = std::getenv("DRC_RENDEZVOUS"); env != nullptr && *env != '\0') {
      options.rendezvous = env;
    } else {
      return Status::InvalidArgument(
          "gloo needs a rendezvous: CommOptions::rendezvous (or DRC_RENDEZVOUS) set to "
          "'file:DIR' (a directory all ranks share) or 'tcp:HOST:PORT' (rank 0 serves a store), "
          "or CommOptions::bootstrap set to an existing communicator over the same ranks");
    }
  }
  std::string iface = options.interface;
  if (iface.empty()) {
    const char* env = std::getenv("DRC_GLOO_IFACE");
    iface = env != nullptr && *env != '\0' ? env : "lo";
  }
  DRC_ASSIGN_OR_RETURN(auto device, MakeDevice(iface));
  const Millis timeout = options.timeout;

  Result<std::shared_ptr<MeshContext>> context = Status::Internal("unset");
  std::unique_ptr<Rendezvous> rendezvous;
  if (!options.rendezvous.empty()) {
    rendezvous = std::make_unique<Rendezvous>();
    const std::string& spec = options.rendezvous;
    if (spec.rfind("file:", 0) == 0) {
      const std::string dir = spec.substr(5);
      if (dir.empty()) return Status::InvalidArgument("rendezvous 'file:DIR' has an empty DIR");
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return Status::IOError("gloo rendezvous: cannot create directory '", dir,
                               "': ", ec.message());
      }
      DRC_RETURN_NOT_OK(Call("gloo file store", [&] {
        rendezvous->store = std::make_unique<::gloo::rendezvous::FileStore>(dir);
      }));
    } else if (spec.rfind("tcp:", 0) == 0) {
      std::string host;
      int port = 0;
      DRC_RETURN_NOT_OK(gloo_internal::ParseHostPort(spec.substr(4), &host, &port));
      if (port == 0) return Status::InvalidArgument("rendezvous 'tcp:HOST:PORT' needs a port");
      if (options.rank == 0) {
        DRC_ASSIGN_OR_RETURN(rendezvous->server, TcpStoreServer::Start(host, port));
      }
      DRC_ASSIGN_OR_RETURN(rendezvous->store, TcpStore::Connect(host, port, timeout));
    } else {
      return Status::InvalidArgument("rendezvous must be 'file:DIR' or 'tcp:HOST:PORT', got '",
                                     spec, "'");
    }
    context = ConnectMesh(options.rank, options.size, timeout, device,
                          StoreExchange(*rendezvous->store, options.rank, options.size, timeout));
  } else {
    context = ConnectMesh(options.rank, options.size, timeout, device,
                          BootstrapExchange(*options.bootstrap));
  }
  if (!context.ok()) return context.status();
  std::unique_ptr<Communicator> comm(new GlooCommunicator(
      std::move(device), std::move(context).ValueOrDie(), timeout, std::move(rendezvous)));
  if (options.check_collectives) return WithCollectiveChecks(std::move(comm));
  return comm;
}

}  // namespace drc::comm

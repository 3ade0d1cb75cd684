#include "src/comm/testing/conformance.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

namespace drc::comm::testing {
namespace {

// Deterministic byte pattern for (rank, block, index).
uint8_t Pattern(int rank, int block, int64_t i) {
  return static_cast<uint8_t>((rank * 131 + block * 31 + i * 7 + (i >> 8)) & 0xff);
}

void Fill(std::byte* p, int64_t n, int rank, int block) {
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>(Pattern(rank, block, i));
}

// Index of the first byte that differs from the pattern, or -1.
int64_t FirstMismatch(const std::byte* p, int64_t n, int rank, int block) {
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] != static_cast<std::byte>(Pattern(rank, block, i))) return i;
  }
  return -1;
}

#define EXPECT_OK(expr)                      \
  do {                                       \
    ::drc::Status _st = (expr);              \
    EXPECT_TRUE(_st.ok()) << _st.ToString(); \
  } while (false)

// Buffers sliced at an odd offset into a larger allocation ("non-zero buffer offsets").
constexpr int64_t kOffset = 3;

template <typename T>
void CheckAllReduceTyped(Communicator& comm, int64_t count) {
  const int n = comm.size();
  const int r = comm.rank();
  const DataType type = DataTypeOf<T>();
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax}) {
    std::vector<T> in(static_cast<size_t>(count)), out(static_cast<size_t>(count));
    // Small values so that sums and products stay exact in every type.
    for (int64_t i = 0; i < count; ++i)
      in[static_cast<size_t>(i)] = static_cast<T>((i + r) % 3 + 1);
    EXPECT_OK(comm.AllReduce(in.data(), out.data(), count, type, op));
    int64_t bad = 0;
    for (int64_t i = 0; i < count; ++i) {
      T expect = op == ReduceOp::kSum    ? T(0)
                 : op == ReduceOp::kProd ? T(1)
                 : op == ReduceOp::kMin  ? T(100)
                                         : T(0);
      for (int q = 0; q < n; ++q) {
        const T v = static_cast<T>((i + q) % 3 + 1);
        switch (op) {
          case ReduceOp::kSum: expect = static_cast<T>(expect + v); break;
          case ReduceOp::kProd: expect = static_cast<T>(expect * v); break;
          case ReduceOp::kMin: expect = std::min(expect, v); break;
          case ReduceOp::kMax: expect = std::max(expect, v); break;
        }
      }
      if (out[static_cast<size_t>(i)] != expect) ++bad;
    }
    EXPECT_EQ(bad, 0) << "allreduce " << DataTypeName(type) << " " << ReduceOpName(op) << " count "
                      << count << " rank " << r;
  }
  // In place.
  std::vector<T> io(static_cast<size_t>(count), static_cast<T>(r + 1));
  EXPECT_OK(comm.AllReduce(io.data(), io.data(), count, type, ReduceOp::kSum));
  const T expect = static_cast<T>(n * (n + 1) / 2);
  EXPECT_EQ(std::count(io.begin(), io.end(), expect), count) << "in-place allreduce";
}

}  // namespace

void CheckBarrier(Communicator& comm) {
  for (int i = 0; i < 10; ++i) EXPECT_OK(comm.Barrier());
}

void CheckBroadcast(Communicator& comm) {
  for (int root = 0; root < comm.size(); ++root) {
    for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1} << 20}) {
      std::vector<std::byte> buf(static_cast<size_t>(bytes + kOffset));
      std::byte* p = buf.data() + kOffset;
      if (comm.rank() == root) Fill(p, bytes, root, 0);
      EXPECT_OK(comm.Broadcast(p, bytes, root));
      EXPECT_EQ(FirstMismatch(p, bytes, root, 0), -1)
          << "broadcast root " << root << " bytes " << bytes;
    }
  }
}

void CheckAllReduce(Communicator& comm) {
  for (int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{100003}}) {
    CheckAllReduceTyped<int8_t>(comm, std::min<int64_t>(count, 1000));
    CheckAllReduceTyped<uint8_t>(comm, std::min<int64_t>(count, 1000));
    CheckAllReduceTyped<int32_t>(comm, count);
    CheckAllReduceTyped<int64_t>(comm, count);
    CheckAllReduceTyped<float>(comm, count);
    CheckAllReduceTyped<double>(comm, count);
  }
  // A buffer that starts at a non-zero element offset inside a larger allocation (as a sliced
  // Arrow array does).
  std::vector<double> raw(100 + kOffset);
  double* p = raw.data() + kOffset;
  for (int i = 0; i < 100; ++i) p[i] = comm.rank() + i;
  EXPECT_OK(comm.AllReduce(p, p, 100, DataType::kFloat64, ReduceOp::kMax));
  const double last = p[99];
  EXPECT_EQ(last, comm.size() - 1 + 99);
}

void CheckAllGather(Communicator& comm) {
  const int n = comm.size();
  for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{4096}, int64_t{300001}}) {
    std::vector<std::byte> send(static_cast<size_t>(bytes + kOffset));
    std::vector<std::byte> recv(static_cast<size_t>(bytes * n + kOffset));
    Fill(send.data() + kOffset, bytes, comm.rank(), 1);
    EXPECT_OK(comm.AllGather(send.data() + kOffset, bytes, recv.data() + kOffset));
    for (int q = 0; q < n; ++q) {
      EXPECT_EQ(FirstMismatch(recv.data() + kOffset + q * bytes, bytes, q, 1), -1)
          << "allgather block " << q << " bytes " << bytes;
    }
  }
}

namespace {
// Uneven per-rank sizes with zero-length contributions: rank q sends Size(q) bytes.
int64_t VSize(int q, int variant) {
  switch (variant) {
    case 0: return q % 2 == 0 ? 0 : 1000 * (q + 1);  // zero-length on even ranks
    case 1: return q == 0 ? (int64_t{1} << 20) : 3;  // very uneven
    default: return 0;                               // everyone empty
  }
}
}  // namespace

void CheckAllGatherV(Communicator& comm) {
  const int n = comm.size();
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<int64_t> sizes(static_cast<size_t>(n));
    for (int q = 0; q < n; ++q) sizes[static_cast<size_t>(q)] = VSize(q, variant);
    const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    const int64_t mine = sizes[static_cast<size_t>(comm.rank())];
    std::vector<std::byte> send(static_cast<size_t>(mine + kOffset));
    std::vector<std::byte> recv(static_cast<size_t>(total + kOffset));
    Fill(send.data() + kOffset, mine, comm.rank(), 2);
    EXPECT_OK(comm.AllGatherV(send.data() + kOffset, mine, recv.data() + kOffset, sizes));
    int64_t offset = 0;
    for (int q = 0; q < n; ++q) {
      EXPECT_EQ(FirstMismatch(recv.data() + kOffset + offset, sizes[static_cast<size_t>(q)], q, 2),
                -1)
          << "allgatherv variant " << variant << " block " << q;
      offset += sizes[static_cast<size_t>(q)];
    }
  }
}

void CheckGather(Communicator& comm) {
  const int n = comm.size();
  for (int root = 0; root < n; ++root) {
    const int64_t bytes = 777;
    std::vector<std::byte> send(static_cast<size_t>(bytes));
    std::vector<std::byte> recv(comm.rank() == root ? static_cast<size_t>(bytes * n) : 0);
    Fill(send.data(), bytes, comm.rank(), 3);
    EXPECT_OK(comm.Gather(send.data(), bytes, recv.data(), root));
    if (comm.rank() == root) {
      for (int q = 0; q < n; ++q) {
        EXPECT_EQ(FirstMismatch(recv.data() + q * bytes, bytes, q, 3), -1)
            << "gather root " << root;
      }
    }
  }
}

void CheckGatherV(Communicator& comm) {
  const int n = comm.size();
  for (int variant = 0; variant < 3; ++variant) {
    for (int root = 0; root < n; ++root) {
      std::vector<int64_t> sizes(static_cast<size_t>(n));
      for (int q = 0; q < n; ++q) sizes[static_cast<size_t>(q)] = VSize(q, variant);
      const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
      const int64_t mine = sizes[static_cast<size_t>(comm.rank())];
      std::vector<std::byte> send(static_cast<size_t>(mine));
      std::vector<std::byte> recv(comm.rank() == root ? static_cast<size_t>(total) : 0);
      Fill(send.data(), mine, comm.rank(), 4);
      EXPECT_OK(comm.GatherV(send.data(), mine, recv.data(), sizes, root));
      if (comm.rank() != root) continue;
      int64_t offset = 0;
      for (int q = 0; q < n; ++q) {
        EXPECT_EQ(FirstMismatch(recv.data() + offset, sizes[static_cast<size_t>(q)], q, 4), -1)
            << "gatherv variant " << variant << " root " << root << " block " << q;
        offset += sizes[static_cast<size_t>(q)];
      }
    }
  }
}

void CheckAllToAll(Communicator& comm) {
  const int n = comm.size();
  for (int64_t bytes : {int64_t{0}, int64_t{8}, int64_t{65537}}) {
    std::vector<std::byte> send(static_cast<size_t>(bytes * n)),
        recv(static_cast<size_t>(bytes * n));
    // Block for rank q carries pattern (me, q).
    for (int q = 0; q < n; ++q) Fill(send.data() + q * bytes, bytes, comm.rank(), 10 + q);
    EXPECT_OK(comm.AllToAll(send.data(), bytes, recv.data()));
    for (int q = 0; q < n; ++q) {
      EXPECT_EQ(FirstMismatch(recv.data() + q * bytes, bytes, q, 10 + comm.rank()), -1)
          << "alltoall from " << q << " bytes " << bytes;
    }
  }
}

namespace {
// Bytes that rank `from` sends to rank `to` in variant v.
int64_t A2ASize(int from, int to, int n, int v) {
  switch (v) {
    case 0: return (from + to) % 2 == 0 ? 0 : 100 + 17 * from + to;  // zero-length pairs
    case 1: return to == 0 ? (int64_t{1} << 20) + from : from % 3;   // very uneven
    case 2: return from == to ? 5000 : 0;                            // self only
    default: return 0;                                               // all empty
  }
}
}  // namespace

void CheckAllToAllV(Communicator& comm) {
  const int n = comm.size();
  const int me = comm.rank();
  for (int v = 0; v < 4; ++v) {
    std::vector<int64_t> sb(static_cast<size_t>(n)), rb(static_cast<size_t>(n));
    for (int q = 0; q < n; ++q) {
      sb[static_cast<size_t>(q)] = A2ASize(me, q, n, v);
      rb[static_cast<size_t>(q)] = A2ASize(q, me, n, v);
    }
    // Gaps of 5 bytes between blocks and blocks in reverse order: displacements are arbitrary.
    std::vector<int64_t> sd(static_cast<size_t>(n)), rd(static_cast<size_t>(n));
    int64_t off = kOffset;
    for (int q = n - 1; q >= 0; --q) {
      sd[static_cast<size_t>(q)] = off;
      off += sb[static_cast<size_t>(q)] + 5;
    }
    std::vector<std::byte> send(static_cast<size_t>(off));
    off = kOffset;
    for (int q = 0; q < n; ++q) {
      rd[static_cast<size_t>(q)] = off;
      off += rb[static_cast<size_t>(q)] + 5;
    }
    std::vector<std::byte> recv(static_cast<size_t>(off));
    for (int q = 0; q < n; ++q) {
      Fill(send.data() + sd[static_cast<size_t>(q)], sb[static_cast<size_t>(q)], me, 20 + q);
    }
    auto counts = ExchangeCounts(comm, sb);
    EXPECT_TRUE(counts.ok()) << counts.status();
    if (counts.ok()) {
      EXPECT_EQ(*counts, rb) << "ExchangeCounts";
    }
    EXPECT_OK(comm.AllToAllV(send.data(), sb, sd, recv.data(), rb, rd));
    for (int q = 0; q < n; ++q) {
      EXPECT_EQ(FirstMismatch(recv.data() + rd[static_cast<size_t>(q)], rb[static_cast<size_t>(q)],
                              q, 20 + me),
                -1)
          << "alltoallv variant " << v << " from " << q;
    }
  }
}

void CheckSendRecv(Communicator& comm) {
  const int n = comm.size();
  const int me = comm.rank();
  if (n == 1) {
    // A message to oneself must work when sent before it is received.
    std::vector<std::byte> a(100), b(100);
    Fill(a.data(), 100, 0, 30);
    EXPECT_OK(comm.Send(a.data(), 100, 0, 5));
    EXPECT_OK(comm.Recv(b.data(), 100, 0, 5));
    EXPECT_EQ(FirstMismatch(b.data(), 100, 0, 30), -1);
    return;
  }
  // Ring: even ranks send first, odd ranks receive first (works for blocking sends too).
  const int next = (me + 1) % n, prev = (me + n - 1) % n;
  for (int64_t bytes : {int64_t{0}, int64_t{10}, int64_t{1} << 20}) {
    std::vector<std::byte> out(static_cast<size_t>(bytes)), in(static_cast<size_t>(bytes));
    Fill(out.data(), bytes, me, 31);
    if (me % 2 == 0) {
      EXPECT_OK(comm.Send(out.data(), bytes, next, 7));
      EXPECT_OK(comm.Recv(in.data(), bytes, prev, 7));
    } else {
      EXPECT_OK(comm.Recv(in.data(), bytes, prev, 7));
      EXPECT_OK(comm.Send(out.data(), bytes, next, 7));
    }
    EXPECT_EQ(FirstMismatch(in.data(), bytes, prev, 31), -1) << "ring bytes " << bytes;
  }
  // Tagged messages between rank 0 and 1 arrive in order per tag.
  if (me <= 1) {
    const int peer = 1 - me;
    for (int i = 0; i < 3; ++i) {
      int64_t value = me == 0 ? 100 + i : 0;
      if (me == 0) {
        EXPECT_OK(comm.Send(&value, sizeof(value), peer, 40 + i % 2));
      } else {
        EXPECT_OK(comm.Recv(&value, sizeof(value), peer, 40 + i % 2));
        EXPECT_EQ(value, 100 + i);
      }
    }
  }
  EXPECT_OK(comm.Barrier());
}

void CheckSubCommunicators(Communicator& comm) {
  const int n = comm.size();
  const int me = comm.rank();
  // A group of one: the last rank alone.
  if (me == n - 1) {
    const int ranks[] = {n - 1};
    auto sub = comm.CreateSubCommunicator(ranks, 1);
    EXPECT_TRUE(sub.ok()) << sub.status();
    if (sub.ok()) {
      EXPECT_EQ((*sub)->size(), 1);
      EXPECT_EQ((*sub)->rank(), 0);
      int64_t v = 5;
      EXPECT_OK(AllReduce<int64_t>(**sub, std::span<int64_t>(&v, 1), ReduceOp::kSum));
      EXPECT_EQ(v, 5);
    }
  }
  EXPECT_OK(comm.Barrier());
  // All ranks but rank 0, in reverse order (new rank i is ranks[i]); rank 0 keeps working on
  // the parent meanwhile and is not involved in the creation.
  if (n >= 2 && me != 0) {
    std::vector<int> ranks;
    for (int r = n - 1; r >= 1; --r) ranks.push_back(r);
    auto sub = comm.CreateSubCommunicator(ranks, 2);
    EXPECT_TRUE(sub.ok()) << sub.status();
    if (sub.ok()) {
      Communicator& s = **sub;
      EXPECT_EQ(s.size(), n - 1);
      EXPECT_EQ(s.rank(), n - 1 - me);
      int64_t v = me;
      EXPECT_OK(AllReduce<int64_t>(s, std::span<int64_t>(&v, 1), ReduceOp::kSum));
      EXPECT_EQ(v, static_cast<int64_t>(n) * (n - 1) / 2);
      CheckAllToAllV(s);
      CheckSendRecv(s);
    }
  }
  EXPECT_OK(comm.Barrier());
  // Every rank in its own group, concurrently (same tag, disjoint members).
  {
    const int ranks[] = {me};
    auto sub = comm.CreateSubCommunicator(ranks, 3);
    EXPECT_TRUE(sub.ok()) << sub.status();
    if (sub.ok()) EXPECT_OK((*sub)->Barrier());
  }
  // Invalid requests are rejected locally.
  {
    const int out_of_range[] = {me, n};
    EXPECT_EQ(comm.CreateSubCommunicator(out_of_range, 4).status().code(),
              StatusCode::kInvalidArgument);
    const int twice[] = {me, me};
    EXPECT_EQ(comm.CreateSubCommunicator(twice, 4).status().code(), StatusCode::kInvalidArgument);
    if (n >= 2) {
      const int without_me[] = {(me + 1) % n};
      EXPECT_EQ(comm.CreateSubCommunicator(without_me, 4).status().code(),
                StatusCode::kInvalidArgument);
    }
  }
  EXPECT_OK(comm.Barrier());
}

void CheckAll(Communicator& comm) {
  CheckBarrier(comm);
  CheckBroadcast(comm);
  CheckAllReduce(comm);
  CheckAllGather(comm);
  CheckAllGatherV(comm);
  CheckGather(comm);
  CheckGatherV(comm);
  CheckAllToAll(comm);
  CheckAllToAllV(comm);
  CheckSendRecv(comm);
  CheckSubCommunicators(comm);
}

bool LargeTestsEnabled() {
  const char* v = std::getenv("DRC_LARGE_TESTS");
  return v != nullptr && std::string(v) == "1";
}

void CheckLargeBuffers(Communicator& comm) {
  const int64_t big = (int64_t{1} << 31) + 4099;  // past INT_MAX bytes
  const int me = comm.rank();
  const int n = comm.size();
  {
    std::vector<std::byte> buf(static_cast<size_t>(big));
    if (me == 0) {
      buf.front() = std::byte{7};
      buf.back() = std::byte{9};
    }
    EXPECT_OK(comm.Broadcast(buf.data(), big, 0));
    EXPECT_EQ(buf.front(), std::byte{7});
    EXPECT_EQ(buf.back(), std::byte{9});
  }
  {
    std::vector<int8_t> buf(static_cast<size_t>(big), 1);
    EXPECT_OK(comm.AllReduce(buf.data(), buf.data(), big, DataType::kInt8, ReduceOp::kSum));
    EXPECT_EQ(buf.front(), n);
    EXPECT_EQ(buf.back(), n);
    EXPECT_EQ(buf[buf.size() / 2], n);
  }
  {
    // Every rank sends `big` bytes to rank 0 in one block (and nothing elsewhere).
    std::vector<int64_t> sb(static_cast<size_t>(n), 0), rb(static_cast<size_t>(n), 0);
    sb[0] = big / n + 1;
    if (me == 0) {
      for (int q = 0; q < n; ++q) rb[static_cast<size_t>(q)] = big / n + 1;
    }
    std::vector<int64_t> sd = Displacements(sb), rd = Displacements(rb);
    std::vector<std::byte> send(static_cast<size_t>(sb[0]), static_cast<std::byte>(me + 1));
    const int64_t total = std::accumulate(rb.begin(), rb.end(), int64_t{0});
    std::vector<std::byte> recv(static_cast<size_t>(total));
    EXPECT_OK(comm.AllToAllV(send.data(), sb, sd, recv.data(), rb, rd));
    if (me == 0) {
      for (int q = 0; q < n; ++q) {
        EXPECT_EQ(recv[static_cast<size_t>(rd[static_cast<size_t>(q)])],
                  static_cast<std::byte>(q + 1));
        EXPECT_EQ(
            recv[static_cast<size_t>(rd[static_cast<size_t>(q)] + rb[static_cast<size_t>(q)] - 1)],
            static_cast<std::byte>(q + 1));
      }
    }
  }
}

namespace {

Communicator* g_world = nullptr;

class ConformanceTest : public ::testing::Test {
 protected:
  Communicator& comm() { return *g_world; }
};

// Prints only failures (for ranks other than 0).
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) {
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
    }
  }

 private:
  int rank_;
};

}  // namespace

int RunConformanceMain(int argc, char** argv, const std::string& suite,
                       std::function<Result<std::unique_ptr<Communicator>>()> make) {
  ::testing::InitGoogleTest(&argc, argv);
  auto world = make();
  if (!world.ok()) {
    std::fprintf(stderr, "%s: cannot create the communicator: %s\n", suite.c_str(),
                 world.status().ToString().c_str());
    return 1;
  }
  g_world = world->get();
  struct Entry {
    const char* name;
    void (*fn)(Communicator&);
  };
  static const Entry kChecks[] = {
      {"Barrier", CheckBarrier},
      {"Broadcast", CheckBroadcast},
      {"AllReduce", CheckAllReduce},
      {"AllGather", CheckAllGather},
      {"AllGatherV", CheckAllGatherV},
      {"Gather", CheckGather},
      {"GatherV", CheckGatherV},
      {"AllToAll", CheckAllToAll},
      {"AllToAllV", CheckAllToAllV},
      {"SendRecv", CheckSendRecv},
      {"SubCommunicators", CheckSubCommunicators},
  };
  for (const Entry& e : kChecks) {
    ::testing::RegisterTest((suite + "Conformance").c_str(), e.name, nullptr, nullptr, __FILE__,
                            __LINE__, [fn = e.fn]() -> ::testing::Test* {
                              struct T : ConformanceTest {
                                explicit T(void (*f)(Communicator&)) : f_(f) {}
                                void TestBody() override { f_(comm()); }
                                void (*f_)(Communicator&);
                              };
                              return new T(fn);
                            });
  }
  ::testing::RegisterTest((suite + "Conformance").c_str(), "LargeBuffers", nullptr, nullptr,
                          __FILE__, __LINE__, []() -> ::testing::Test* {
                            struct T : ConformanceTest {
                              void TestBody() override {
                                if (!LargeTestsEnabled()) GTEST_SKIP() << "set DRC_LARGE_TESTS=1";
                                CheckLargeBuffers(comm());
                              }
                            };
                            return new T();
                          });
  const int rank = g_world->rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  const int rc = RUN_ALL_TESTS();
  g_world = nullptr;
  world->reset();
  return rc;
}

}  // namespace drc::comm::testing

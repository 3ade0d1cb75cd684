// Tests of the nccl communicator. Without a CUDA device every GPU test is skipped (with the
// reason); with devices, ranks are threads of this process (one per visible GPU, up to 4),
// bootstrapped by a `local` world, and values are checked by copying device buffers back.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "drc/comm/local.h"
#include "drc/comm/nccl.h"

namespace drc::comm {
namespace {

int VisibleDevices(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    *why = std::string("no CUDA device: ") + cudaGetErrorString(err);
    return 0;
  }
  if (count == 0) *why = "no CUDA device is visible";
  return count;
}

#define SKIP_WITHOUT_GPU(ranks)                                                                   \
  do {                                                                                            \
    std::string why;                                                                              \
    const int devices = VisibleDevices(&why);                                                     \
    if (devices == 0) GTEST_SKIP() << why;                                                        \
    if (devices < (ranks))                                                                        \
      GTEST_SKIP() << (ranks) << " ranks need " << (ranks) << " GPUs, " << devices << " visible"; \
  } while (false)

// A device buffer of T that copies to and from host vectors.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)), cudaSuccess);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { Set(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return static_cast<T*>(ptr_); }
  void Set(const std::vector<T>& host) {
    EXPECT_EQ(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  std::vector<T> Get() const {
    std::vector<T> host(n_);
    EXPECT_EQ(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  void* ptr_ = nullptr;
  size_t n_;
};

// Runs fn(nccl communicator) on `size` threads, rank r on device r.
Status RunNccl(int size, const std::function<void(Communicator&)>& fn) {
  return RunLocal(size, [&](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    o.device = local.rank();
    o.timeout = std::chrono::seconds(60);
    DRC_ASSIGN_OR_RETURN(auto comm, MakeNccl(o));
    EXPECT_EQ(comm->memory(), MemoryKind::kCuda);
    fn(*comm);
    return local.Barrier();
  });
}

TEST(NcclOptions, BootstrapIsRequired) {
  auto comm = MakeNccl(CommOptions{});
  EXPECT_EQ(comm.status().code(), StatusCode::kInvalidArgument) << comm.status();
}

TEST(NcclOptions, NoDeviceIsUnavailable) {
  std::string why;
  if (VisibleDevices(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  Status st = RunLocal(1, [](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    auto comm = MakeNccl(o);
    EXPECT_EQ(comm.status().code(), StatusCode::kUnavailable) << comm.status();
    EXPECT_NE(comm.status().message().find("no CUDA device"), std::string::npos);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

// Two ranks on one GPU: NCCL would refuse them at init; every rank gets an error naming both.
TEST(NcclOptions, TwoRanksOnOneGpuAreRefused) {
  SKIP_WITHOUT_GPU(1);
  Status st = RunLocal(2, [](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    o.device = 0;
    auto comm = MakeNccl(o);
    EXPECT_EQ(comm.status().code(), StatusCode::kInvalidArgument) << comm.status();
    EXPECT_NE(comm.status().message().find("ranks 0 and 1 would share GPU 0"), std::string::npos)
        << comm.status();
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

template <typename T>
void CheckAllReduceType(Communicator& c) {
  const int n = c.size();
  const int me = c.rank();
  const size_t count = 1000;
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax}) {
    std::vector<T> host(count);
    for (size_t i = 0; i < count; ++i) host[i] = static_cast<T>((i + me) % 3 + 1);
    DeviceBuffer<T> in(host);
    DeviceBuffer<T> out(count);
    ASSERT_TRUE(c.AllReduce(in.get(), out.get(), count, DataTypeOf<T>(), op).ok());
    std::vector<T> got = out.Get();
    for (size_t i = 0; i < count; ++i) {
      T expect = op == ReduceOp::kSum || op == ReduceOp::kMax ? T(0)
                 : op == ReduceOp::kProd                      ? T(1)
                                                              : T(100);
      for (int r = 0; r < n; ++r) {
        const T v = static_cast<T>((i + r) % 3 + 1);
        if (op == ReduceOp::kSum) expect = static_cast<T>(expect + v);
        if (op == ReduceOp::kProd) expect = static_cast<T>(expect * v);
        if (op == ReduceOp::kMin) expect = std::min(expect, v);
        if (op == ReduceOp::kMax) expect = std::max(expect, v);
      }
      ASSERT_EQ(got[i], expect) << "op " << ReduceOpName(op) << " index " << i;
    }
    // In place.
    ASSERT_TRUE(c.AllReduce(in.get(), in.get(), count, DataTypeOf<T>(), op).ok());
    EXPECT_EQ(in.Get(), got);
  }
}

void CheckEverything(Communicator& c) {
  const int n = c.size();
  const int me = c.rank();
  EXPECT_TRUE(c.Barrier().ok());
  CheckAllReduceType<int8_t>(c);
  CheckAllReduceType<uint8_t>(c);
  CheckAllReduceType<int32_t>(c);
  CheckAllReduceType<int64_t>(c);
  CheckAllReduceType<float>(c);
  CheckAllReduceType<double>(c);
  {  // broadcast from every root
    for (int root = 0; root < n; ++root) {
      DeviceBuffer<int32_t> b(std::vector<int32_t>(100, me == root ? 7 + root : -1));
      ASSERT_TRUE(c.Broadcast(b.get(), 100 * sizeof(int32_t), root).ok());
      EXPECT_EQ(b.Get(), std::vector<int32_t>(100, 7 + root));
    }
  }
  {  // allgather
    DeviceBuffer<int32_t> in(std::vector<int32_t>(10, me));
    DeviceBuffer<int32_t> out(10 * n);
    ASSERT_TRUE(c.AllGather(in.get(), 10 * sizeof(int32_t), out.get()).ok());
    std::vector<int32_t> got = out.Get();
    for (int r = 0; r < n; ++r) EXPECT_EQ(got[r * 10 + 9], r);
  }
  // Uneven sizes: rank r contributes r + 1 elements (rank 1 none, to test zero length).
  auto contribution = [](int r) { return r == 1 ? 0 : r + 1; };
  std::vector<int64_t> bytes(n);
  for (int r = 0; r < n; ++r) bytes[r] = contribution(r) * int64_t{sizeof(int32_t)};
  const int64_t total = std::accumulate(bytes.begin(), bytes.end(), int64_t{0});
  {  // allgatherv
    DeviceBuffer<int32_t> in(std::vector<int32_t>(contribution(me), me));
    DeviceBuffer<int32_t> out(total / sizeof(int32_t));
    ASSERT_TRUE(c.AllGatherV(in.get(), bytes[me], out.get(), bytes).ok());
    std::vector<int32_t> got = out.Get();
    size_t k = 0;
    for (int r = 0; r < n; ++r) {
      for (int i = 0; i < contribution(r); ++i) EXPECT_EQ(got[k++], r);
    }
  }
  for (int root = 0; root < n; ++root) {  // gather and gatherv
    DeviceBuffer<int32_t> in(std::vector<int32_t>(contribution(me), me));
    DeviceBuffer<int32_t> out(total / sizeof(int32_t));
    ASSERT_TRUE(c.GatherV(in.get(), bytes[me], out.get(), bytes, root).ok());
    if (me == root) {
      std::vector<int32_t> got = out.Get();
      size_t k = 0;
      for (int r = 0; r < n; ++r) {
        for (int i = 0; i < contribution(r); ++i) EXPECT_EQ(got[k++], r);
      }
    }
    DeviceBuffer<int32_t> one(std::vector<int32_t>(1, me));
    DeviceBuffer<int32_t> all(n);
    ASSERT_TRUE(c.Gather(one.get(), sizeof(int32_t), all.get(), root).ok());
    if (me == root) {
      std::vector<int32_t> expect(n);
      std::iota(expect.begin(), expect.end(), 0);
      EXPECT_EQ(all.Get(), expect);
    }
  }
  {  // alltoall: block for rank r holds 100 * me + r
    std::vector<int32_t> host(n);
    for (int r = 0; r < n; ++r) host[r] = 100 * me + r;
    DeviceBuffer<int32_t> in(host);
    DeviceBuffer<int32_t> out(n);
    ASSERT_TRUE(c.AllToAll(in.get(), sizeof(int32_t), out.get()).ok());
    std::vector<int32_t> got = out.Get();
    for (int r = 0; r < n; ++r) EXPECT_EQ(got[r], 100 * r + me);
  }
  {  // alltoallv with a gap (non-zero offsets): to rank r, r + 1 elements; recv starts at 3
    std::vector<int64_t> sb(n), sd(n), rb(n), rd(n);
    int64_t off = 1;
    for (int r = 0; r < n; ++r) {
      sb[r] = (r + 1) * int64_t{sizeof(int32_t)};
      sd[r] = off * int64_t{sizeof(int32_t)};
      off += r + 1;
    }
    std::vector<int32_t> host(off, -1);
    for (int r = 0; r < n; ++r) {
      for (int i = 0; i <= r; ++i) host[sd[r] / sizeof(int32_t) + i] = 1000 * me + r;
    }
    int64_t roff = 3;
    for (int r = 0; r < n; ++r) {
      rb[r] = (me + 1) * int64_t{sizeof(int32_t)};
      rd[r] = roff * int64_t{sizeof(int32_t)};
      roff += me + 1;
    }
    DeviceBuffer<int32_t> in(host);
    DeviceBuffer<int32_t> out(std::vector<int32_t>(roff, -1));
    ASSERT_TRUE(c.AllToAllV(in.get(), sb, sd, out.get(), rb, rd).ok());
    std::vector<int32_t> got = out.Get();
    for (int r = 0; r < n; ++r) {
      for (int i = 0; i <= me; ++i) EXPECT_EQ(got[rd[r] / sizeof(int32_t) + i], 1000 * r + me);
    }
  }
  {  // send/recv: to oneself, then a ring (even ranks send first)
    DeviceBuffer<int32_t> a(std::vector<int32_t>(50, 5));
    DeviceBuffer<int32_t> b(50);
    ASSERT_TRUE(c.Send(a.get(), 50 * sizeof(int32_t), me, 3).ok());
    ASSERT_TRUE(c.Recv(b.get(), 50 * sizeof(int32_t), me, 3).ok());
    EXPECT_EQ(b.Get(), std::vector<int32_t>(50, 5));
    if (n > 1) {
      const int next = (me + 1) % n, prev = (me + n - 1) % n;
      DeviceBuffer<int32_t> out(std::vector<int32_t>(64, me));
      DeviceBuffer<int32_t> in(64);
      if (me % 2 == 0) {
        ASSERT_TRUE(c.Send(out.get(), 256, next, 1).ok());
        ASSERT_TRUE(c.Recv(in.get(), 256, prev, 1).ok());
      } else {
        ASSERT_TRUE(c.Recv(in.get(), 256, prev, 1).ok());
        ASSERT_TRUE(c.Send(out.get(), 256, next, 1).ok());
      }
      EXPECT_EQ(in.Get(), std::vector<int32_t>(64, prev));
    }
  }
  {  // sub-communicator of the last rank alone, and of all ranks in reverse order
    if (me == n - 1) {
      const std::vector<int> alone = {n - 1};
      auto sub = c.CreateSubCommunicator(alone, 1);
      ASSERT_TRUE(sub.ok()) << sub.status();
      EXPECT_EQ((*sub)->size(), 1);
      EXPECT_TRUE((*sub)->Barrier().ok());
    }
    std::vector<int> reversed(n);
    for (int r = 0; r < n; ++r) reversed[r] = n - 1 - r;
    auto sub = c.CreateSubCommunicator(reversed, 2);
    ASSERT_TRUE(sub.ok()) << sub.status();
    EXPECT_EQ((*sub)->rank(), n - 1 - me);
    DeviceBuffer<int64_t> v(std::vector<int64_t>(1, me));
    ASSERT_TRUE((*sub)->AllReduce(v.get(), v.get(), 1, DataType::kInt64, ReduceOp::kSum).ok());
    EXPECT_EQ(v.Get()[0], int64_t{n} * (n - 1) / 2);
  }
  EXPECT_TRUE(c.Barrier().ok());
}

class NcclRanks : public ::testing::TestWithParam<int> {};

TEST_P(NcclRanks, AllCollectivesOnDeviceBuffers) {
  SKIP_WITHOUT_GPU(GetParam());
  Status st = RunNccl(GetParam(), CheckEverything);
  EXPECT_TRUE(st.ok()) << st;
}

INSTANTIATE_TEST_SUITE_P(Ranks, NcclRanks, ::testing::Values(1, 2, 4), [](const auto& param_info) {
  return "np" + std::to_string(param_info.param);
});

TEST(NcclArguments, InvalidArgumentsNameTheArgument) {
  SKIP_WITHOUT_GPU(1);
  Status st = RunNccl(1, [](Communicator& c) {
    DeviceBuffer<int32_t> b(4);
    Status s = c.Broadcast(b.get(), 16, 3);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("root"), std::string::npos) << s;
    EXPECT_EQ(c.Recv(b.get(), 16, 0, 9).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(c.Barrier().ok());
  });
  EXPECT_TRUE(st.ok()) << st;
}

}  // namespace
}  // namespace drc::comm

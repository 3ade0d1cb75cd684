// Tests of the `mpi` backend, run under mpirun at 1, 2 and 4 ranks: the shared conformance
// checks on the world communicator, plus the mpi-specific cases below (registered before
// RunConformanceMain, so they run first, on every rank, in file order).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "drc/comm/mpi.h"
#include "src/comm/testing/conformance.h"

namespace drc::comm {
namespace {

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                                        \
  auto DRC_CONCAT(_r_, __LINE__) = (rexpr);                                                     \
  ASSERT_TRUE(DRC_CONCAT(_r_, __LINE__).ok()) << DRC_CONCAT(_r_, __LINE__).status().ToString(); \
  lhs = std::move(DRC_CONCAT(_r_, __LINE__)).ValueOrDie()

void ExpectInvalid(const Status& st, const char* what) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << what << ": " << st.ToString();
  EXPECT_NE(st.message().find(what), std::string::npos) << st.ToString();
}

TEST(MpiComm, NativeHandle) {
  ASSERT_OK_AND_ASSIGN(auto world, MakeMpiWorld());
  EXPECT_EQ(world->backend(), "mpi");
  MPI_Comm native = NativeMpiComm(*world);
  ASSERT_NE(native, MPI_COMM_NULL);
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(native, MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // a dup: same group, own context
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(native, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_RETURN);
  MPI_Errhandler_free(&handler);
}

TEST(MpiComm, WrapSplitCommunicatorFromOutside) {
  ASSERT_OK_AND_ASSIGN(auto world, MakeMpiWorld());  // makes sure MPI is initialized
  const int me = world->rank();
  MPI_Comm split;
  ASSERT_EQ(MPI_Comm_split(MPI_COMM_WORLD, me % 2, me, &split), MPI_SUCCESS);
  int split_size = 0;
  MPI_Comm_size(split, &split_size);
  {
    ASSERT_OK_AND_ASSIGN(auto comm, WrapMpiComm(split));
    EXPECT_EQ(comm->rank(), me / 2);
    EXPECT_EQ(comm->size(), split_size);
    testing::CheckAllReduce(*comm);
    testing::CheckAllToAllV(*comm);
    testing::CheckSendRecv(*comm);
  }
  // Our object is gone; the caller's communicator still works and keeps its error handler.
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(split, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL);
  MPI_Errhandler_free(&handler);
  int sum = 0;
  ASSERT_EQ(MPI_Allreduce(&me, &sum, 1, MPI_INT, MPI_SUM, split), MPI_SUCCESS);
  int expect = 0;
  for (int r = me % 2; r < world->size(); r += 2) expect += r;
  EXPECT_EQ(sum, expect);
  MPI_Comm_free(&split);
}

TEST(MpiComm, SubCommunicatorsOfOneAndThreeOutOfFour) {
  ASSERT_OK_AND_ASSIGN(auto world, MakeMpiWorld());
  if (world->size() != 4) GTEST_SKIP() << "needs 4 ranks";
  const int me = world->rank();
  // {2} alone, and {3, 0, 1} (unsorted: new rank i is ranks[i]); rank 2 skips the second.
  const std::vector<int> one = {2};
  const std::vector<int> three = {3, 0, 1};
  if (me == 2) {
    ASSERT_OK_AND_ASSIGN(auto solo, world->CreateSubCommunicator(one, 11));
    EXPECT_EQ(solo->rank(), 0);
    EXPECT_EQ(solo->size(), 1);
    testing::CheckAll(*solo);
  } else {
    ASSERT_OK_AND_ASSIGN(auto sub, world->CreateSubCommunicator(three, 12));
    const int expect_rank =
        static_cast<int>(std::find(three.begin(), three.end(), me) - three.begin());
    EXPECT_EQ(sub->rank(), expect_rank);
    EXPECT_EQ(sub->size(), 3);
    int64_t v = me, sum = 0;
    EXPECT_TRUE(sub->AllReduce(&v, &sum, 1, DataType::kInt64, ReduceOp::kSum).ok());
    EXPECT_EQ(sum, 3 + 0 + 1);
    testing::CheckAll(*sub);
  }
  // The world is still usable by everyone afterwards.
  EXPECT_TRUE(world->Barrier().ok());
}

TEST(MpiComm, BadArgumentsAreInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(auto world, MakeMpiWorld());
  Communicator& c = *world;
  const int n = c.size();
  std::vector<std::byte> buf(64);
  ExpectInvalid(c.Broadcast(buf.data(), -1, 0), "bytes");
  ExpectInvalid(c.Broadcast(buf.data(), 8, n), "root");
  ExpectInvalid(c.Broadcast(buf.data(), 8, -1), "root");
  ExpectInvalid(c.AllReduce(buf.data(), buf.data(), -5, DataType::kInt32, ReduceOp::kSum), "count");
  ExpectInvalid(c.AllReduce(buf.data(), buf.data(), 1, static_cast<DataType>(99), ReduceOp::kSum),
                "type");
  ExpectInvalid(c.AllReduce(buf.data(), buf.data(), 1, DataType::kInt32, static_cast<ReduceOp>(9)),
                "op");
  ExpectInvalid(c.AllGather(buf.data(), -1, buf.data()), "bytes");
  ExpectInvalid(c.Gather(buf.data(), 1, buf.data(), n + 3), "root");
  std::vector<int64_t> wrong(static_cast<size_t>(n) + 1, 0), right(static_cast<size_t>(n), 0);
  ExpectInvalid(c.AllGatherV(buf.data(), 0, buf.data(), wrong), "recv_bytes");
  ExpectInvalid(c.AllGatherV(buf.data(), 3, buf.data(), right), "send_bytes");
  ExpectInvalid(c.AllToAllV(buf.data(), wrong, right, buf.data(), right, right), "send_bytes");
  ExpectInvalid(c.AllToAllV(buf.data(), right, right, buf.data(), right, wrong), "recv_displs");
  std::vector<int64_t> negative(static_cast<size_t>(n), 0);
  negative.back() = -1;
  ExpectInvalid(c.AllToAllV(buf.data(), right, negative, buf.data(), right, right), "send_displs");
  if (c.rank() == 0) {
    ExpectInvalid(c.GatherV(buf.data(), 0, buf.data(), wrong, 0), "recv_bytes");
  }
  ExpectInvalid(c.Send(buf.data(), 1, n, 0), "dst");
  ExpectInvalid(c.Send(buf.data(), 1, 0, -2), "tag");
  ExpectInvalid(c.Recv(buf.data(), -1, 0, 0), "bytes");
  ExpectInvalid(c.Recv(buf.data(), 1, -1, 0), "src");
  const std::vector<int> out_of_range = {0, n};
  const std::vector<int> twice = {c.rank(), c.rank()};
  const std::vector<int> none;
  EXPECT_EQ(c.CreateSubCommunicator(out_of_range, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.CreateSubCommunicator(twice, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.CreateSubCommunicator(none, 1).status().code(), StatusCode::kInvalidArgument);
  const std::vector<int> self = {c.rank()};
  EXPECT_EQ(c.CreateSubCommunicator(self, -1).status().code(), StatusCode::kInvalidArgument);
  if (n > 1) {
    const std::vector<int> others = {(c.rank() + 1) % n};
    auto sub = c.CreateSubCommunicator(others, 1);
    EXPECT_EQ(sub.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(sub.status().message().find("calling rank"), std::string::npos);
  }
  // Argument errors are local: the communicator still works.
  EXPECT_TRUE(c.Barrier().ok());
}

TEST(MpiComm, CheckedCollectivesOption) {
  CommOptions options;
  options.check_collectives = true;
  ASSERT_OK_AND_ASSIGN(auto checked, MakeMpiWorld(options));
  testing::CheckAllReduce(*checked);
  testing::CheckAllToAllV(*checked);
}

// A block and a displacement beyond INT_MAX in one all-to-all-v (the point-to-point fallback),
// and an int8 all-reduce of more than 2^31 elements (the chunked path).
TEST(MpiComm, LargeBuffers) {
  if (!testing::LargeTestsEnabled()) GTEST_SKIP() << "set DRC_LARGE_TESTS=1";
  ASSERT_OK_AND_ASSIGN(auto world, MakeMpiWorld());
  Communicator& c = *world;
  const int me = c.rank();
  const int n = c.size();
  const int64_t big = (int64_t{1} << 31) + (int64_t{1} << 27);  // ~2.13 GiB
  {
    std::vector<int8_t> io(static_cast<size_t>(big), static_cast<int8_t>(me + 1));
    ASSERT_TRUE(c.AllReduce(io.data(), io.data(), big, DataType::kInt8, ReduceOp::kSum).ok());
    const auto expect = static_cast<int8_t>(n * (n + 1) / 2);
    EXPECT_EQ(std::count(io.begin(), io.end(), expect), big);
  }
  {
    // Rank r sends `big` bytes to (r + 1) % n and 1000 bytes to everyone else; blocks are laid
    // out in reverse rank order, so the displacement of rank 0's block passes INT_MAX.
    const int next = (me + 1) % n, prev = (me + n - 1) % n;
    std::vector<int64_t> sb(static_cast<size_t>(n), 1000), rb(static_cast<size_t>(n), 1000);
    sb[static_cast<size_t>(next)] = big;
    rb[static_cast<size_t>(prev)] = big;
    auto reverse_displs = [n](const std::vector<int64_t>& counts) {
      std::vector<int64_t> d(counts.size());
      int64_t off = 0;
      for (int q = n - 1; q >= 0; --q) {
        d[static_cast<size_t>(q)] = off;
        off += counts[static_cast<size_t>(q)];
      }
      return std::make_pair(d, off);
    };
    auto [sd, send_total] = reverse_displs(sb);
    auto [rd, recv_total] = reverse_displs(rb);
    std::vector<uint8_t> send(static_cast<size_t>(send_total));
    for (int q = 0; q < n; ++q) {
      std::memset(send.data() + sd[static_cast<size_t>(q)], (me * 16 + q) & 0xff,
                  static_cast<size_t>(sb[static_cast<size_t>(q)]));
    }
    std::vector<uint8_t> recv(static_cast<size_t>(recv_total), 0xee);
    ASSERT_TRUE(c.AllToAllV(send.data(), sb, sd, recv.data(), rb, rd).ok());
    send = {};
    for (int q = 0; q < n; ++q) {
      const uint8_t* p = recv.data() + rd[static_cast<size_t>(q)];
      const auto expect = static_cast<uint8_t>((q * 16 + me) & 0xff);
      const int64_t len = rb[static_cast<size_t>(q)];
      EXPECT_EQ(std::count(p, p + len, expect), len) << "block from rank " << q;
    }
  }
}

}  // namespace
}  // namespace drc::comm

int main(int argc, char** argv) {
  return drc::comm::testing::RunConformanceMain(argc, argv, "Mpi",
                                                [] { return drc::comm::MakeMpiWorld(); });
}

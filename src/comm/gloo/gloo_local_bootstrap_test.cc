// The gloo communicator bootstrapped from a `local` world: each thread acts as one rank and
// builds its gloo communicator by exchanging transport addresses over its local communicator.
// Runs the full conformance suite at 1, 2 and 4 ranks without mpirun.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "drc/comm/gloo.h"
#include "drc/comm/local.h"
#include "src/comm/testing/conformance.h"

namespace drc::comm {
namespace {

// Runs fn(gloo communicator) on `size` threads; returns the first error in rank order.
Status RunGloo(int size, const std::function<void(Communicator&)>& fn, CommOptions options = {}) {
  return RunLocal(size, [&](Communicator& local) -> Status {
    CommOptions o = options;
    o.bootstrap = &local;
    DRC_ASSIGN_OR_RETURN(auto comm, MakeGloo(o));
    EXPECT_EQ(comm->backend(), "gloo");
    EXPECT_EQ(comm->rank(), local.rank());
    EXPECT_EQ(comm->size(), local.size());
    fn(*comm);
    // Keep every rank's mesh alive until all are done with it.
    return local.Barrier();
  });
}

class GlooLocalBootstrap : public ::testing::TestWithParam<int> {};

TEST_P(GlooLocalBootstrap, AllCollectives) {
  Status st = RunGloo(GetParam(), [](Communicator& c) { testing::CheckAll(c); });
  EXPECT_TRUE(st.ok()) << st;
}

TEST_P(GlooLocalBootstrap, AllCollectivesWithChecks) {
  CommOptions options;
  options.check_collectives = true;
  Status st = RunGloo(
      GetParam(), [](Communicator& c) { testing::CheckAll(c); }, options);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_P(GlooLocalBootstrap, LargeBuffers) {
  if (!testing::LargeTestsEnabled()) GTEST_SKIP() << "set DRC_LARGE_TESTS=1";
  Status st = RunGloo(GetParam(), [](Communicator& c) { testing::CheckLargeBuffers(c); });
  EXPECT_TRUE(st.ok()) << st;
}

INSTANTIATE_TEST_SUITE_P(Ranks, GlooLocalBootstrap, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) {
                           return "np" + std::to_string(param_info.param);
                         });

// Small sends complete eagerly, so a receiver may take tags in another order than sent.
TEST(GlooSendRecv, SmallSendsDoNotWaitForTheReceiver) {
  Status st = RunGloo(2, [](Communicator& c) {
    if (c.rank() == 0) {
      for (int tag = 1; tag <= 3; ++tag) {
        int64_t v = tag * 10;
        EXPECT_TRUE(c.Send(&v, sizeof(v), 1, tag).ok());
      }
    } else {
      for (int tag = 3; tag >= 1; --tag) {
        int64_t v = 0;
        EXPECT_TRUE(c.Recv(&v, sizeof(v), 0, tag).ok());
        EXPECT_EQ(v, tag * 10);
      }
    }
  });
  EXPECT_TRUE(st.ok()) << st;
}

// Disjoint sub-communicators are built concurrently, and a non-member keeps working.
TEST(GlooSubCommunicator, NonMembersAreNotInvolved) {
  Status st = RunGloo(4, [](Communicator& c) {
    if (c.rank() == 3) {
      int64_t v = 5;
      EXPECT_TRUE(c.Send(&v, sizeof(v), 3, 9).ok());  // to itself: no collective needed
      EXPECT_TRUE(c.Recv(&v, sizeof(v), 3, 9).ok());
      return;
    }
    const std::vector<int> group = {2, 0, 1};
    auto sub = c.CreateSubCommunicator(group, 17);
    ASSERT_TRUE(sub.ok()) << sub.status();
    EXPECT_EQ((*sub)->size(), 3);
    const int expected_rank = c.rank() == 2 ? 0 : c.rank() + 1;
    EXPECT_EQ((*sub)->rank(), expected_rank);
    int64_t v = (*sub)->rank();
    EXPECT_TRUE(AllReduce<int64_t>(**sub, std::span<int64_t>(&v, 1), ReduceOp::kSum).ok());
    EXPECT_EQ(v, 3);
    // The same group and tag again gives an independent communicator.
    auto again = c.CreateSubCommunicator(group, 17);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE((*again)->Barrier().ok());
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(GlooArguments, InvalidArgumentsNameTheArgument) {
  Status st = RunGloo(1, [](Communicator& c) {
    char buf[8] = {};
    Status s = c.Broadcast(buf, 8, 1);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("root"), std::string::npos) << s;
    s = c.AllReduce(buf, buf, -1, DataType::kInt8, ReduceOp::kSum);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("count"), std::string::npos) << s;
    std::vector<int64_t> two = {1, 1};
    s = c.AllGatherV(buf, 1, buf, two);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("recv_bytes"), std::string::npos) << s;
    s = c.Send(buf, 8, 0, -3);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("tag"), std::string::npos) << s;
    s = c.Recv(buf, 8, 0, 4);  // nothing was sent to itself
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    const std::vector<int> bad = {0, 0};
    EXPECT_EQ(c.CreateSubCommunicator(bad, 1).status().code(), StatusCode::kInvalidArgument);
    // Argument errors do not break the communicator.
    EXPECT_TRUE(c.Barrier().ok());
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(GlooOptions, MissingRendezvousExplainsTheChoices) {
  CommOptions options;
  options.rank = 0;
  options.size = 1;
  unsetenv("DRC_RENDEZVOUS");
  auto comm = MakeGloo(options);
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(comm.status().message().find("file:DIR"), std::string::npos);
  EXPECT_NE(comm.status().message().find("tcp:HOST:PORT"), std::string::npos);
  EXPECT_NE(comm.status().message().find("bootstrap"), std::string::npos);
}

TEST(GlooOptions, UnknownInterfaceIsInvalidArgument) {
  Status st = RunLocal(1, [](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    o.interface = "no-such-interface-or-host.invalid";
    auto comm = MakeGloo(o);
    EXPECT_EQ(comm.status().code(), StatusCode::kInvalidArgument) << comm.status();
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

}  // namespace
}  // namespace drc::comm

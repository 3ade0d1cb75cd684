#include "drc/comm/local.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "drc/common/clock.h"
#include "src/comm/testing/conformance.h"

namespace drc::comm {
namespace {

using testing::CheckAll;

class LocalConformance : public ::testing::TestWithParam<int> {};

TEST_P(LocalConformance, AllCollectives) {
  Status st = RunLocal(GetParam(), [](Communicator& c) {
    CheckAll(c);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST_P(LocalConformance, AllCollectivesWithChecks) {
  CommOptions options;
  options.check_collectives = true;
  Status st = RunLocal(
      GetParam(),
      [](Communicator& c) {
        CheckAll(c);
        return Status::OK();
      },
      options);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_P(LocalConformance, LargeBuffers) {
  if (!testing::LargeTestsEnabled()) GTEST_SKIP() << "set DRC_LARGE_TESTS=1";
  Status st = RunLocal(GetParam(), [](Communicator& c) {
    testing::CheckLargeBuffers(c);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

INSTANTIATE_TEST_SUITE_P(Ranks, LocalConformance, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) {
                           return "np" + std::to_string(param_info.param);
                         });

CommOptions ShortTimeout() {
  CommOptions options;
  options.timeout = std::chrono::milliseconds(300);
  return options;
}

TEST(LocalFaults, PeerThatNeverArrivesTimesOut) {
  Stopwatch watch;
  Status st = RunLocal(
      3,
      [](Communicator& c) -> Status {
        if (c.rank() == 2) {
          // Stays alive but never joins the collective.
          std::this_thread::sleep_for(std::chrono::milliseconds(1500));
          return Status::OK();
        }
        int64_t v = 1;
        return AllReduce<int64_t>(c, std::span<int64_t>(&v, 1), ReduceOp::kSum);
      },
      ShortTimeout());
  EXPECT_EQ(st.code(), StatusCode::kTimeout) << st;
  EXPECT_NE(st.message().find("rank(s) 2 never arrived"), std::string::npos) << st;
  EXPECT_LT(watch.Seconds(), 5.0);
}

TEST(LocalFaults, PeerThatLeavesAbortsWaitersAtOnce) {
  CommOptions options;
  options.timeout = std::chrono::seconds(60);  // must not be what ends the wait
  Stopwatch watch;
  Status st = RunLocal(
      2,
      [](Communicator& c) -> Status {
        if (c.rank() == 1) return Status::Internal("rank 1 failed before the barrier");
        return c.Barrier();
      },
      options);
  EXPECT_FALSE(st.ok());
  EXPECT_LT(watch.Seconds(), 10.0);
}

TEST(LocalFaults, BrokenCommunicatorFailsLaterCallsAtOnce) {
  Status st = RunLocal(
      2,
      [](Communicator& c) -> Status {
        if (c.rank() == 1) {
          std::this_thread::sleep_for(std::chrono::milliseconds(800));
          return Status::OK();
        }
        Status first = c.Barrier();
        EXPECT_EQ(first.code(), StatusCode::kTimeout);
        Status second = c.Barrier();
        EXPECT_FALSE(second.ok());
        return Status::OK();
      },
      ShortTimeout());
  EXPECT_TRUE(st.ok()) << st;
}

TEST(LocalFaults, RecvFromSilentPeerTimesOut) {
  Status st = RunLocal(
      2,
      [](Communicator& c) -> Status {
        if (c.rank() == 1) {
          std::this_thread::sleep_for(std::chrono::milliseconds(800));
          return Status::OK();
        }
        int64_t v = 0;
        return c.Recv(&v, sizeof(v), 1, 0);
      },
      ShortTimeout());
  EXPECT_EQ(st.code(), StatusCode::kTimeout) << st;
}

TEST(LocalMismatch, DifferentCountsAreReportedOnEveryRank) {
  std::atomic<int> errors{0};
  Status st = RunLocal(2, [&](Communicator& c) -> Status {
    std::vector<float> v(c.rank() == 0 ? 10 : 12, 1.0f);
    Status s = c.AllReduce(v.data(), v.data(), static_cast<int64_t>(v.size()), DataType::kFloat32,
                           ReduceOp::kSum);
    if (s.code() == StatusCode::kInvalidArgument) ++errors;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(errors.load(), 2);
}

TEST(LocalMismatch, DifferentOperationsAreReported) {
  Status st = RunLocal(2, [&](Communicator& c) -> Status {
    int64_t v = 1;
    Status s = c.rank() == 0 ? c.Barrier() : c.Broadcast(&v, sizeof(v), 0);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("mismatch"), std::string::npos) << s;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(LocalMismatch, AllToAllVWrongRecvCount) {
  Status st = RunLocal(2, [&](Communicator& c) -> Status {
    std::vector<int64_t> sb{4, 4}, sd{0, 4}, rb{4, c.rank() == 0 ? 5 : 4}, rd{0, 8};
    std::vector<std::byte> send(8), recv(16);
    Status s = c.AllToAllV(send.data(), sb, sd, recv.data(), rb, rd);
    if (c.rank() == 0) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
    }
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(LocalArguments, NegativeAndOutOfRangeAreRejected) {
  Status st = RunLocal(1, [](Communicator& c) -> Status {
    int64_t v = 0;
    EXPECT_EQ(c.Broadcast(&v, -1, 0).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.Broadcast(&v, 8, 3).code(), StatusCode::kInvalidArgument);
    std::vector<std::byte> raw(16);
    EXPECT_EQ(
        c.AllReduce(raw.data() + 1, raw.data() + 1, 1, DataType::kFloat64, ReduceOp::kSum).code(),
        StatusCode::kInvalidArgument);
    std::vector<int64_t> wrong(3);
    EXPECT_EQ(c.AllGatherV(&v, 8, &v, wrong).code(), StatusCode::kInvalidArgument);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(LocalWorld::Make(0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drc::comm

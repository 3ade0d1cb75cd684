// Fault behaviour of the gloo communicator: a peer that never arrives, a peer process that
// dies, and mismatched collectives. Every case must end in an error well within its timeout
// budget instead of hanging.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "drc/comm/gloo.h"
#include "drc/comm/local.h"
#include "drc/common/clock.h"

namespace drc::comm {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A fresh, empty rendezvous directory for one test.
std::string FreshDir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("drc_gloo_fault_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

CommOptions FileOptions(const std::string& dir, int rank, int size, milliseconds timeout) {
  CommOptions o;
  o.rank = rank;
  o.size = size;
  o.timeout = timeout;
  o.rendezvous = "file:" + dir;
  return o;
}

TEST(GlooFaults, PeerProcessThatDiesIsAnErrorNotAHang) {
  const std::string dir = FreshDir("dies");
  const milliseconds timeout(5000);
  // First in this file: fork before this process has started any other thread.
  int connected[2];
  ASSERT_EQ(::pipe(connected), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto comm = MakeGloo(FileOptions(dir, 1, 2, timeout));
    char byte = 0;
    // Once rank 0 is connected too, die before the collective without closing anything.
    const bool synced = ::read(connected[0], &byte, 1) == 1;
    ::_exit(comm.ok() && synced ? 0 : 3);
  }
  auto comm = MakeGloo(FileOptions(dir, 0, 2, timeout));
  ASSERT_TRUE(comm.ok()) << comm.status();
  ASSERT_EQ(::write(connected[1], "x", 1), 1);
  Stopwatch watch;
  std::vector<double> v(1 << 16, 1.0);
  Status st = (*comm)->AllReduce(v.data(), v.data(), static_cast<int64_t>(v.size()),
                                 DataType::kFloat64, ReduceOp::kSum);
  const double seconds = watch.Seconds();
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.code() == StatusCode::kAborted || st.code() == StatusCode::kTimeout) << st;
  EXPECT_LT(seconds, 2.0 * timeout.count() / 1000.0) << st;
  EXPECT_EQ((*comm)->Barrier().code(), StatusCode::kAborted);
  fs::remove_all(dir);
}

TEST(GlooFaults, PeerThatNeverArrivesAtTheCollectiveTimesOut) {
  const milliseconds timeout(1000);
  std::atomic<bool> done{false};
  Status result;
  double seconds = 0;
  Status st = RunLocal(2, [&](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    o.timeout = timeout;
    DRC_ASSIGN_OR_RETURN(auto comm, MakeGloo(o));
    if (comm->rank() == 1) {
      // Alive and connected, but never joins the all-reduce.
      while (!done) std::this_thread::sleep_for(milliseconds(10));
      return Status::OK();
    }
    Stopwatch watch;
    int64_t v = 1;
    result = AllReduce<int64_t>(*comm, std::span<int64_t>(&v, 1), ReduceOp::kSum);
    seconds = watch.Seconds();
    // The communicator is broken now: later calls fail at once.
    Stopwatch again;
    Status later = comm->Barrier();
    EXPECT_EQ(later.code(), StatusCode::kAborted) << later;
    EXPECT_LT(again.Seconds(), 0.5);
    done = true;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(result.code(), StatusCode::kTimeout) << result;
  EXPECT_NE(result.message().find("allreduce"), std::string::npos) << result;
  EXPECT_GE(seconds, 0.9);
  EXPECT_LT(seconds, 2.0 * timeout.count() / 1000.0);
}

TEST(GlooFaults, PeerThatNeverJoinsTheRendezvousTimesOut) {
  const std::string dir = FreshDir("never_joins");
  Stopwatch watch;
  auto comm = MakeGloo(FileOptions(dir, 0, 2, milliseconds(1000)));
  EXPECT_EQ(comm.status().code(), StatusCode::kTimeout) << comm.status();
  EXPECT_GE(watch.Seconds(), 0.9) << comm.status();
  EXPECT_LT(watch.Seconds(), 2.0) << comm.status();
  fs::remove_all(dir);
}

TEST(GlooFaults, TcpStorePeerThatNeverJoinsTimesOut) {
  // Rank 1 of 2 with nobody serving the store: connecting gives up after the timeout.
  CommOptions o;
  o.rank = 1;
  o.size = 2;
  o.timeout = milliseconds(1000);
  o.rendezvous = "tcp:127.0.0.1:1";  // nothing listens on port 1
  Stopwatch watch;
  auto comm = MakeGloo(o);
  EXPECT_EQ(comm.status().code(), StatusCode::kTimeout) << comm.status();
  EXPECT_LT(watch.Seconds(), 2.0);
}

TEST(GlooFaults, MismatchedSizesAreReportedWithChecks) {
  Status st = RunLocal(2, [](Communicator& local) -> Status {
    CommOptions o;
    o.bootstrap = &local;
    o.timeout = milliseconds(5000);
    o.check_collectives = true;
    DRC_ASSIGN_OR_RETURN(auto comm, MakeGloo(o));
    std::vector<int32_t> v(comm->rank() == 0 ? 10 : 20, 1);
    Status s = comm->AllReduce(v.data(), v.data(), static_cast<int64_t>(v.size()), DataType::kInt32,
                               ReduceOp::kSum);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
    // Mismatched types too.
    s = comm->AllReduce(v.data(), v.data(), 4,
                        comm->rank() == 0 ? DataType::kInt32 : DataType::kFloat32, ReduceOp::kSum);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
    return local.Barrier();
  });
  EXPECT_TRUE(st.ok()) << st;
}

}  // namespace
}  // namespace drc::comm

// The `mpi` backend when the application owns MPI: it initializes MPI itself, hands in its own
// communicators and finalizes MPI itself. Our communicators must not initialize or finalize
// MPI, must leave the caller's communicators alone, and must fail cleanly after MPI_Finalize.
#include <gtest/gtest.h>
#include <mpi.h>

#include "drc/comm/mpi.h"

namespace drc::comm {
namespace {

TEST(MpiLifecycle, NeverFinalizesWhatItDidNotInitialize) {
  {
    auto world = MakeMpiWorld();
    ASSERT_TRUE(world.ok()) << world.status().ToString();
    EXPECT_TRUE((*world)->Barrier().ok());
    int one = 1, sum = 0;
    EXPECT_TRUE((*world)->AllReduce(&one, &sum, 1, DataType::kInt32, ReduceOp::kSum).ok());
    EXPECT_EQ(sum, (*world)->size());
  }
  int finalized = 1;
  MPI_Finalized(&finalized);
  EXPECT_EQ(finalized, 0);
  // MPI_COMM_WORLD keeps its error handler (we only changed it on our dup).
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL);
  MPI_Errhandler_free(&handler);
}

TEST(MpiLifecycle, WrapKeepsTheCallersErrorHandler) {
  MPI_Comm mine;
  ASSERT_EQ(MPI_Comm_dup(MPI_COMM_WORLD, &mine), MPI_SUCCESS);
  {
    auto wrapped = WrapMpiComm(mine);
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_NE(NativeMpiComm(**wrapped), MPI_COMM_NULL);
    EXPECT_NE(NativeMpiComm(**wrapped), mine);  // we work on a private dup
    EXPECT_TRUE((*wrapped)->Barrier().ok());
  }
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(mine, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL);
  MPI_Errhandler_free(&handler);
  EXPECT_EQ(MPI_Barrier(mine), MPI_SUCCESS);
  MPI_Comm_free(&mine);
}

TEST(MpiLifecycle, FailsCleanlyAfterFinalize) {
  auto world = MakeMpiWorld();
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  ASSERT_EQ(MPI_Finalize(), MPI_SUCCESS);
  auto again = MakeMpiWorld();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status().ToString();
  EXPECT_NE(again.status().message().find("finalized"), std::string::npos);
  const Status st = (*world)->Barrier();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  auto wrapped = WrapMpiComm(MPI_COMM_WORLD);
  EXPECT_EQ(wrapped.status().code(), StatusCode::kFailedPrecondition);
  // Destroying a communicator after MPI_Finalize must not touch MPI.
  world->reset();
}

}  // namespace
}  // namespace drc::comm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  // FailsCleanlyAfterFinalize finalizes MPI, so it must run last (gtest keeps file order).
  return RUN_ALL_TESTS();
}

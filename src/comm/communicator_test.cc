#include "drc/comm/communicator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace drc::comm {
namespace {

TEST(CommRegistry, BuiltinsAreRegistered) {
  auto names = DefaultCommRegistry().Names();
  for (const char* expected : {"local", "mpi", "gloo"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(CommRegistry, UnknownBackendNamesTheKnownOnes) {
  auto r = DefaultCommRegistry().Make("carrier-pigeon", CommOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("local"), std::string::npos) << r.status();
}

TEST(CommRegistry, DuplicateRegistrationFails) {
  CommRegistry registry;
  CommFactory f = [](const CommOptions&) -> Result<std::unique_ptr<Communicator>> {
    return Status::NotImplemented("x");
  };
  EXPECT_TRUE(registry.Register("x", f).ok());
  EXPECT_EQ(registry.Register("x", f).code(), StatusCode::kAlreadyExists);
}

TEST(ResolveOptions, ReadsEnvironmentAndValidates) {
  ::setenv("DRC_RANK", "2", 1);
  ::setenv("DRC_WORLD_SIZE", "4", 1);
  ::setenv("DRC_COMM_TIMEOUT_S", "7", 1);
  auto o = ResolveOptions(CommOptions{});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->rank, 2);
  EXPECT_EQ(o->size, 4);
  EXPECT_EQ(o->timeout, std::chrono::seconds(7));
  ::setenv("DRC_COMM_TIMEOUT_S", "soon", 1);
  auto bad = ResolveOptions(CommOptions{});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("DRC_COMM_TIMEOUT_S"), std::string::npos);
  ::unsetenv("DRC_COMM_TIMEOUT_S");
  ::setenv("DRC_RANK", "4", 1);
  EXPECT_EQ(ResolveOptions(CommOptions{}).status().code(), StatusCode::kInvalidArgument);
  ::unsetenv("DRC_RANK");
  ::unsetenv("DRC_WORLD_SIZE");
}

TEST(Displacements, ExclusivePrefixSums) {
  std::vector<int64_t> counts{3, 0, 5};
  EXPECT_EQ(Displacements(counts), (std::vector<int64_t>{0, 3, 3}));
  EXPECT_EQ(SizeOf(DataType::kFloat64), 8);
  EXPECT_EQ(DataTypeOf<int32_t>(), DataType::kInt32);
}

TEST(LocalRegistry, SingleRankFromRegistry) {
  auto comm = DefaultCommRegistry().Make("local", CommOptions{});
  ASSERT_TRUE(comm.ok()) << comm.status();
  EXPECT_EQ((*comm)->size(), 1);
  EXPECT_TRUE((*comm)->Barrier().ok());
  CommOptions four;
  four.size = 4;
  EXPECT_EQ(DefaultCommRegistry().Make("local", four).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drc::comm

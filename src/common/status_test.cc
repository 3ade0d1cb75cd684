#include "drc/common/status.h"

#include <gtest/gtest.h>

#include "drc/common/result.h"

namespace drc {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("value ", v, " is odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  DRC_ASSIGN_OR_RETURN(int h, Half(v));
  DRC_ASSIGN_OR_RETURN(auto q, Half(h));
  return q;
}

Status Check(bool fail) {
  DRC_RETURN_NOT_OK(fail ? Status::IOError("disk") : Status::OK());
  return Status::NotFound("after");
}

TEST(Status, OkIsCheapAndDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.message(), "");
}

TEST(Status, FactoriesConcatenateArguments) {
  Status s = Status::InvalidArgument("ranks must be > 0, got ", -2);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "Invalid argument: ranks must be > 0, got -2");
  EXPECT_EQ(s.WithContext("task t1").message(), "task t1: ranks must be > 0, got -2");
}

TEST(Status, CopyAndMove) {
  Status a = Status::Timeout("late");
  Status b = a;
  EXPECT_EQ(a, b);
  Status c = std::move(b);
  EXPECT_EQ(c.code(), StatusCode::kTimeout);
  a = Status::OK();
  EXPECT_TRUE(a.ok());
}

TEST(Status, ReturnNotOkPropagates) {
  EXPECT_EQ(Check(true).code(), StatusCode::kIOError);
  EXPECT_EQ(Check(false).code(), StatusCode::kNotFound);
}

TEST(Result, ValueAndErrorPaths) {
  auto ok = Quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "value 3 is odd");
  EXPECT_EQ(Quarter(5).ValueOr(-1), -1);
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r{Status::NotFound("nothing")};
  EXPECT_DEATH((void)r.ValueOrDie(), "nothing");
}

}  // namespace
}  // namespace drc

#include "drc/runtime/task.h"

#include <gtest/gtest.h>

namespace drc::runtime {
namespace {

TaskDescription Basic() {
  TaskDescription t;
  t.uid = "a";
  t.executable = "/bin/true";
  return t;
}

TEST(TaskValidate, AcceptsTheDefaults) { EXPECT_TRUE(Validate(Basic()).ok()); }

TEST(TaskValidate, NamesTheFieldAndTheProblem) {
  struct Case {
    std::function<void(TaskDescription&)> mutate;
    const char* expected;
  };
  const Case cases[] = {
      {[](auto& t) { t.executable.clear(); }, "task 'a': executable (or function) is required"},
      {[](auto& t) { t.ranks = 0; }, "task 'a': ranks must be >= 1, got 0"},
      {[](auto& t) { t.ranks = -3; }, "ranks must be >= 1, got -3"},
      {[](auto& t) { t.cores_per_rank = 0; }, "cores_per_rank must be >= 1"},
      {[](auto& t) { t.gpus_per_rank = -1; }, "gpus_per_rank must be >= 0"},
      {[](auto& t) { t.timeout_s = -1; }, "timeout must be >= 0"},
      {[](auto& t) { t.retries = -1; }, "retries must be >= 0"},
      {[](auto& t) {
         t.launch = LaunchMethod::kFork;
         t.ranks = 2;
       },
       "launch method fork runs one rank"},
      {[](auto& t) {
         t.shell = true;
         t.arguments = {"x"};
       },
       "arguments must be empty when shell"},
      {[](auto& t) { t.environment["A=B"] = "1"; }, "contains '='"},
      {[](auto& t) { t.depends_on = {"a"}; }, "depends on itself"},
      {[](auto& t) {
         t.depends_on = {"b", "b"};
       },
       "lists 'b' twice"},
      {[](auto& t) {
         t.input_staging.push_back({"", "x", StagingAction::kCopy});
       },
       "input_staging"},
  };
  for (const auto& c : cases) {
    TaskDescription t = Basic();
    c.mutate(t);
    Status st = Validate(t);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.expected;
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << st.message();
  }
}

TEST(TaskState, NamesAndFinality) {
  EXPECT_EQ(TaskStateName(TaskState::kStagingOut), "STAGING_OUT");
  EXPECT_TRUE(IsFinal(TaskState::kCanceled));
  EXPECT_FALSE(IsFinal(TaskState::kExecuting));
  EXPECT_EQ(*ParseLaunchMethod("mpirun"), LaunchMethod::kMpirun);
  EXPECT_FALSE(ParseLaunchMethod("ssh").ok());
}

}  // namespace
}  // namespace drc::runtime

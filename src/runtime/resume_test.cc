#include "drc/runtime/resume.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drc/runtime/events.h"

namespace drc::runtime {
namespace {
namespace fs = std::filesystem;

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("drc_resume_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "events.jsonl").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Slurp() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  std::string path_;
};

TaskDescription Task(const std::string& uid, std::vector<std::string> deps = {}) {
  TaskDescription t;
  t.uid = uid;
  t.executable = "/bin/true";
  t.depends_on = std::move(deps);
  return t;
}

// The end of a task is on disk as soon as it is emitted: a run killed right after loses none.
TEST_F(ResumeTest, FinalStatesAreOnDiskWhenEmitted) {
  auto sink = JsonlEventSink::Open(path_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  (*sink)->Emit({1.0, "", "pilot", "start", 0, "1 node"});
  (*sink)->Emit({2.0, "a", "state", "EXECUTING", 0, ""});
  (*sink)->Emit({3.0, "a", "state", "DONE", 0, ""});
  const std::string text = Slurp();  // read while the sink is open and not flushed by hand
  EXPECT_NE(text.find("\"task\":\"a\",\"kind\":\"state\",\"value\":\"DONE\""), std::string::npos)
      << text;
}

// A crashed run's cut-off line ends before the next run's events; readers skip it.
TEST_F(ResumeTest, NextRunAfterACutOffLineStartsOnANewLine) {
  std::ofstream(path_) << "{\"t\":1,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
                       << "{\"t\":2,\"task\":\"a\",\"kind\":\"state\",\"value\":\"DONE\"}\n"
                       << "{\"t\":3,\"task\":\"b\",\"ki";
  {
    auto sink = JsonlEventSink::Open(path_);
    ASSERT_TRUE(sink.ok()) << sink.status();
    (*sink)->Emit({4.0, "", "pilot", "start", 0, "1 node"});
    (*sink)->Emit({5.0, "b", "state", "DONE", 0, ""});
  }
  std::vector<std::string> seen;
  int64_t cut = -1;
  Status st = ReadEvents(
      path_,
      [&seen](const Event& e, int64_t line) {
        seen.push_back(std::to_string(line) + " " + e.task + " " + e.value);
        return Status::OK();
      },
      &cut);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(cut, 1);
  EXPECT_EQ(seen, (std::vector<std::string>{"1  start", "2 a DONE", "4  start", "5 b DONE"}));
}

TEST_F(ResumeTest, PlanRunsWhatDidNotEndDone) {
  std::ofstream(path_)
      << "{\"t\":1,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
      << "{\"t\":2,\"task\":\"a\",\"kind\":\"state\",\"value\":\"DONE\"}\n"
      << "{\"t\":3,\"task\":\"b\",\"kind\":\"state\",\"value\":\"FAILED\",\"detail\":\"x\"}\n"
      << "{\"t\":4,\"task\":\"c\",\"kind\":\"state\",\"value\":\"CANCELED\"}\n"
      << "{\"t\":5,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
      << "{\"t\":6,\"task\":\"d\",\"kind\":\"state\",\"value\":\"DONE\"}\n"
      << "{\"t\":7,\"task\":\"gone\",\"kind\":\"state\",\"value\":\"DONE\"}\n";
  auto plan = PlanResume(path_, {Task("a"), Task("b", {"a"}), Task("c", {"b", "d"}), Task("d"),
                                 Task("e", {"a", "d"})});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->runs, 2);
  EXPECT_EQ(plan->done, (std::vector<std::string>{"a", "d"}));
  ASSERT_EQ(plan->remaining.size(), 3u);
  EXPECT_EQ(plan->remaining[0].uid, "b");
  EXPECT_TRUE(plan->remaining[0].depends_on.empty());
  EXPECT_EQ(plan->remaining[1].uid, "c");
  EXPECT_EQ(plan->remaining[1].depends_on, std::vector<std::string>{"b"});
  EXPECT_EQ(plan->remaining[2].uid, "e");
  EXPECT_TRUE(plan->remaining[2].depends_on.empty());
}

TEST_F(ResumeTest, BadJournalNamesTheLine) {
  std::ofstream(path_) << "{\"t\":1,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
                       << "{\"t\":\"soon\",\"task\":\"a\",\"kind\":\"state\",\"value\":\"DONE\"}\n";
  auto plan = PlanResume(path_, {Task("a")});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("events.jsonl:2: field 't' expects a number"),
            std::string::npos)
      << plan.status();
  auto missing = PlanResume((dir_ / "none.jsonl").string(), {Task("a")});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace drc::runtime

#include "drc/runtime/resume.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "drc/runtime/events.h"
#include "test_support.h"

namespace drc::runtime {
namespace {
namespace fs = std::filesystem;

class ResumeTest : public test_support::TempDirTest {
 protected:
  ResumeTest() : TempDirTest("resume") {}
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = (dir_ / "events.jsonl").string();
  }

  std::string Slurp() const { return test_support::Slurp(path_); }

  std::string path_;
};

TaskDescription Task(const std::string& uid, std::vector<std::string> deps = {}) {
  TaskDescription t;
  t.uid = uid;
  t.executable = "/bin/true";
  t.depends_on = std::move(deps);
  return t;
}

// A process start and a task's end are on disk as soon as they are emitted: a run killed right
// after loses neither.
TEST_F(ResumeTest, LaunchesAndFinalStatesAreOnDiskWhenEmitted) {
  auto sink = JsonlEventSink::Open(path_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  (*sink)->Emit({1.0, "", "pilot", "start", 0, "1 node"});
  (*sink)->Emit({2.0, "a", "state", "EXECUTING", 0, ""});
  (*sink)->Emit({2.5, "a", "launch", "start", 0, "pid 7 fork"});
  // Read while the sink is open and not flushed by hand.
  EXPECT_NE(Slurp().find("\"detail\":\"pid 7 fork\""), std::string::npos) << Slurp();
  (*sink)->Emit({3.0, "a", "state", "DONE", 0, ""});
  EXPECT_NE(Slurp().find("\"task\":\"a\",\"kind\":\"state\",\"value\":\"DONE\""), std::string::npos)
      << Slurp();
}

// The journal's lines reach the disk in one fdatasync per period however many tasks end in it;
// other events do not make it sync.
TEST_F(ResumeTest, JournalLinesAreSyncedOncePerPeriod) {
  auto sink = JsonlEventSink::Open(path_, std::chrono::seconds(2));
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (int i = 0; i < 100; ++i) {
    (*sink)->Emit({1.0, "t" + std::to_string(i), "state", "EXECUTING", 0, ""});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ((*sink)->syncs(), 0);
  for (int i = 0; i < 100; ++i) {
    (*sink)->Emit({2.0, "t" + std::to_string(i), "state", "DONE", 0, ""});
  }
  for (int i = 0; i < 500 && (*sink)->syncs() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // One sync for the 100 ends (a second one for ends that came while it ran waits 2 s).
  EXPECT_EQ((*sink)->syncs(), 1);
  EXPECT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->syncs(), 2);
}

// A journal that cannot be written says so (here a full device) instead of losing lines quietly.
TEST_F(ResumeTest, AJournalThatCannotBeWrittenIsAnError) {
  auto sink = JsonlEventSink::Open("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status();
  (*sink)->Emit({1.0, "a", "state", "DONE", 0, ""});
  const Status st = (*sink)->Flush();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot write event log /dev/full"), std::string::npos) << st;
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

// A process group that a crashed run left running in a task's folder is stopped; one whose pid
// now works elsewhere (a reused pid) is left alone.
TEST_F(ResumeTest, StopsWhatACrashedRunLeftRunning) {
  auto spawn = [](const fs::path& folder) {
    fs::create_directories(folder);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      if (::chdir(folder.c_str()) != 0) ::_exit(2);
      ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so the group exists before either side goes on
    return pid;
  };
  const pid_t left = spawn(dir_ / "slow");
  const pid_t elsewhere = spawn(dir_ / "not-a-task-folder");
  // Wait until both have moved into their folders (their cwd is what identifies them).
  for (int i = 0; i < 200; ++i) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(left) + "/cwd", ec) ==
            fs::canonical(dir_ / "slow") &&
        fs::read_symlink("/proc/" + std::to_string(elsewhere) + "/cwd", ec) ==
            fs::canonical(dir_ / "not-a-task-folder")) {
      break;
    }
    ::usleep(10000);
  }
  std::ofstream(path_) << "{\"t\":1,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
                       << "{\"t\":2,\"task\":\"slow\",\"kind\":\"launch\",\"value\":\"start\","
                       << "\"detail\":\"pid " << left << " fork\"}\n"
                       << "{\"t\":3,\"task\":\"moved\",\"kind\":\"launch\",\"value\":\"start\","
                       << "\"detail\":\"pid " << elsewhere << " fork\"}\n"
                       << "{\"t\":4,\"task\":\"ended\",\"kind\":\"launch\",\"value\":\"start\","
                       << "\"detail\":\"pid 1 fork\"}\n"
                       << "{\"t\":5,\"task\":\"ended\",\"kind\":\"exit\",\"value\":\"ok\"}\n";
  auto plan = PlanResume(path_, {Task("slow"), Task("moved"), Task("ended")});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->left_running.size(), 2u);
  EXPECT_EQ(plan->left_running[0].uid, "slow");
  EXPECT_EQ(plan->left_running[0].pid, left);
  const auto stopped = StopLeftRunning(*plan, dir_.string(), std::chrono::milliseconds(200));
  EXPECT_EQ(stopped, std::vector<std::string>{"slow (pid " + std::to_string(left) + ")"});
  int status = 0;
  ASSERT_EQ(::waitpid(left, &status, 0), left);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(::waitpid(elsewhere, &status, WNOHANG), 0);  // still running
  ::kill(-elsewhere, SIGKILL);
  ::waitpid(elsewhere, &status, 0);
}

// A crashed run's worker pool is stopped too; the pool of a run that stopped is not listed.
TEST_F(ResumeTest, StopsTheWorkerPoolOfACrashedRun) {
  const fs::path folder = dir_ / "worker-pool.1";
  fs::create_directories(folder);
  const pid_t pool = ::fork();
  if (pool == 0) {
    ::setpgid(0, 0);
    if (::chdir(folder.c_str()) != 0) ::_exit(2);
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pool, pool);
  for (int i = 0; i < 200; ++i) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(pool) + "/cwd", ec) == fs::canonical(folder)) {
      break;
    }
    ::usleep(10000);
  }
  auto workers = [](int pid, const fs::path& where) {
    return "{\"t\":2,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"workers\",\"detail\":\"2 "
           "workers up (mpirun pid " +
           std::to_string(pid) + ", " + where.string() + ")\"}\n";
  };
  std::ofstream(path_) << "{\"t\":1,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
                       << workers(1, dir_ / "worker-pool.0")
                       << "{\"t\":3,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"stop\"}\n"
                       << "{\"t\":4,\"task\":\"\",\"kind\":\"pilot\",\"value\":\"start\"}\n"
                       << workers(pool, folder);
  auto plan = PlanResume(path_, {Task("a")});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->left_running.size(), 1u);
  EXPECT_EQ(plan->left_running[0].folder, folder.string());
  const auto stopped = StopLeftRunning(*plan, dir_.string(), std::chrono::milliseconds(200));
  EXPECT_EQ(stopped, std::vector<std::string>{"worker pool (pid " + std::to_string(pool) + ")"});
  int status = 0;
  ASSERT_EQ(::waitpid(pool, &status, 0), pool);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
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

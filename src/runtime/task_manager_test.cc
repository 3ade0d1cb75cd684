#include "drc/runtime/task_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "drc/common/clock.h"
#include "test_support.h"

namespace drc::runtime {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

using test_support::Slurp;

class TaskManagerTest : public test_support::TempDirTest {
 protected:
  TaskManagerTest() : TempDirTest("tm") {}

  std::unique_ptr<TaskManager> Make(int cores = 4, int gpus = 0) {
    RuntimeOptions o;
    o.resources = UniformResources(1, cores, gpus, 0);
    o.resources.nodes[0].name = "localhost";
    o.workdir = dir_.string();
    o.kill_grace = milliseconds(300);
    auto tm = TaskManager::Make(std::move(o));
    EXPECT_TRUE(tm.ok()) << tm.status();
    return std::move(tm).ValueOrDie();
  }

  static TaskDescription Shell(const std::string& uid, const std::string& cmd) {
    TaskDescription t;
    t.uid = uid;
    t.executable = cmd;
    t.shell = true;
    return t;
  }
};

TEST_F(TaskManagerTest, RunsTasksThroughEveryStateInOrder) {
  auto tm = Make();
  std::vector<TaskDescription> tasks;
  for (int i = 0; i < 8; ++i)
    tasks.push_back(Shell("t" + std::to_string(i), "echo hello $DRC_TASK_ID"));
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  for (const auto& info : tm->QueryAll()) {
    EXPECT_EQ(info.state, TaskState::kDone) << info.uid << " " << info.reason;
    double last = 0;
    for (TaskState s : {TaskState::kNew, TaskState::kScheduling, TaskState::kStagingIn,
                        TaskState::kExecuting, TaskState::kStagingOut, TaskState::kDone}) {
      const double t = info.times[static_cast<size_t>(s)];
      EXPECT_GT(t, 0) << info.uid << " never entered " << TaskStateName(s);
      EXPECT_GE(t, last) << info.uid << " " << TaskStateName(s);
      last = t;
    }
    EXPECT_EQ(Slurp(info.stdout_path), "hello " + info.uid + "\n");
  }
  EXPECT_EQ(tm->Counts()[static_cast<size_t>(TaskState::kDone)], 8);
}

TEST_F(TaskManagerTest, MissingExecutableFailsOnlyThatTask) {
  auto tm = Make();
  TaskDescription missing;
  missing.uid = "missing";
  missing.executable = "/no/such/program";
  std::vector<TaskDescription> tasks{missing, Shell("fine", "true")};
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto m = tm->Query("missing");
  EXPECT_EQ(m->state, TaskState::kFailed);
  EXPECT_NE(m->reason.find("/no/such/program"), std::string::npos) << m->reason;
  EXPECT_EQ(tm->Query("fine")->state, TaskState::kDone);
}

TEST_F(TaskManagerTest, ImpossibleRequestsFailAtOnce) {
  auto tm = Make(/*cores=*/2, /*gpus=*/0);
  TaskDescription gpu = Shell("gpu", "true");
  gpu.gpus_per_rank = 1;
  TaskDescription huge = Shell("huge", "true");
  huge.cores_per_rank = 64;
  Stopwatch watch;
  std::vector<TaskDescription> tasks{gpu, huge};
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(5)).ok());
  EXPECT_LT(watch.Seconds(), 2.0);
  auto g = tm->Query("gpu");
  EXPECT_EQ(g->state, TaskState::kFailed);
  EXPECT_NE(g->reason.find("GPU"), std::string::npos) << g->reason;
  EXPECT_EQ(tm->Query("huge")->state, TaskState::kFailed);
}

TEST_F(TaskManagerTest, DependenciesOrderTasksAndFailuresCancelDependents) {
  auto tm = Make();
  TaskDescription a = Shell("a", "echo data > ../shared.txt");
  TaskDescription b = Shell("b", "cat ../shared.txt");
  b.depends_on = {"a"};
  TaskDescription bad = Shell("bad", "exit 3");
  TaskDescription after_bad = Shell("after_bad", "true");
  after_bad.depends_on = {"bad"};
  TaskDescription transitive = Shell("transitive", "true");
  transitive.depends_on = {"after_bad", "b"};
  std::vector<TaskDescription> tasks{b, a, bad, after_bad, transitive};
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto ib = tm->Query("b");
  EXPECT_EQ(ib->state, TaskState::kDone) << ib->reason;
  EXPECT_GE(ib->times[static_cast<size_t>(TaskState::kExecuting)],
            tm->Query("a")->times[static_cast<size_t>(TaskState::kDone)]);
  EXPECT_EQ(Slurp(ib->stdout_path), "data\n");
  EXPECT_EQ(tm->Query("bad")->state, TaskState::kFailed);
  EXPECT_NE(tm->Query("bad")->reason.find("exit code 3"), std::string::npos);
  auto ia = tm->Query("after_bad");
  EXPECT_EQ(ia->state, TaskState::kCanceled);
  EXPECT_NE(ia->reason.find("dependency 'bad' is FAILED"), std::string::npos) << ia->reason;
  EXPECT_EQ(tm->Query("transitive")->state, TaskState::kCanceled);
}

TEST_F(TaskManagerTest, CheckBatchChecksWhatSubmitChecksWithoutARun) {
  TaskDescription a = Shell("a", "true"), b = Shell("b", "true"), unnamed = Shell("", "true");
  b.depends_on = {"a"};
  EXPECT_TRUE(CheckBatch({a, b, unnamed, unnamed}).ok());
  // A dependency on a task submitted earlier, known through the predicate.
  TaskDescription c = Shell("c", "true");
  c.depends_on = {"old"};
  EXPECT_EQ(CheckBatch({c}).message(), "task 'c': depends_on names unknown task 'old'");
  EXPECT_TRUE(CheckBatch({c}, [](const std::string& uid) { return uid == "old"; }).ok());
  EXPECT_EQ(CheckBatch({a}, [](const std::string& uid) { return uid == "a"; }).code(),
            StatusCode::kAlreadyExists);
  a.depends_on = {"b"};
  EXPECT_NE(CheckBatch({a, b}).message().find("cycle"), std::string::npos);
  EXPECT_EQ(CheckBatch({Shell("x/y", "true")}).message(), "task uid 'x/y' must not contain '/'");
}

TEST_F(TaskManagerTest, BadBatchesAreRejectedWhole) {
  auto tm = Make();
  TaskDescription a = Shell("a", "true");
  a.depends_on = {"nope"};
  EXPECT_EQ(tm->Submit(a).status().code(), StatusCode::kInvalidArgument);
  TaskDescription x = Shell("x", "true"), y = Shell("y", "true");
  x.depends_on = {"y"};
  y.depends_on = {"x"};
  auto cyc = tm->Submit(std::vector<TaskDescription>{x, y});
  EXPECT_NE(cyc.status().message().find("cycle"), std::string::npos) << cyc.status();
  EXPECT_EQ(tm->Submit(std::vector<TaskDescription>{Shell("d", "true"), Shell("d", "true")})
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  TaskDescription zero = Shell("z", "true");
  zero.ranks = 0;
  EXPECT_EQ(tm->Submit(zero).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(tm->QueryAll().empty());
}

TEST_F(TaskManagerTest, TimeoutKillsTheTask) {
  auto tm = Make();
  TaskDescription t = Shell("slow", "sleep 30");
  t.timeout_s = 0.5;
  Stopwatch watch;
  ASSERT_TRUE(tm->Submit(t).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(20)).ok());
  EXPECT_LT(watch.Seconds(), 5.0);
  auto info = tm->Query("slow");
  EXPECT_EQ(info->state, TaskState::kFailed);
  EXPECT_NE(info->reason.find("timed out"), std::string::npos) << info->reason;
}

TEST_F(TaskManagerTest, CancelRunningAndQueuedTasks) {
  auto tm = Make(/*cores=*/1);
  ASSERT_TRUE(tm->Submit(Shell("running", "sleep 30")).ok());
  ASSERT_TRUE(tm->Submit(Shell("queued", "true")).ok());
  for (int i = 0; i < 200 && tm->Query("running")->state != TaskState::kExecuting; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(tm->Cancel("queued").ok());
  ASSERT_TRUE(tm->Cancel("running").ok());
  Stopwatch watch;
  ASSERT_TRUE(tm->WaitAll(seconds(20)).ok());
  EXPECT_LT(watch.Seconds(), 5.0);
  EXPECT_EQ(tm->Query("running")->state, TaskState::kCanceled);
  EXPECT_EQ(tm->Query("queued")->state, TaskState::kCanceled);
  EXPECT_EQ(tm->Cancel("ghost").code(), StatusCode::kNotFound);
}

TEST_F(TaskManagerTest, RetriesRerunAFailedAttempt) {
  auto tm = Make();
  // Fails on the first attempt, succeeds on the second.
  TaskDescription t =
      Shell("flaky", "if [ -e marker ]; then echo ok; else touch marker; exit 1; fi");
  t.retries = 2;
  ASSERT_TRUE(tm->Submit(t).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto info = tm->Query("flaky");
  EXPECT_EQ(info->state, TaskState::kDone) << info->reason;
  EXPECT_EQ(info->attempt, 1);
  TaskDescription never = Shell("never", "exit 1");
  never.retries = 1;
  ASSERT_TRUE(tm->Submit(never).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  EXPECT_EQ(tm->Query("never")->state, TaskState::kFailed);
  EXPECT_EQ(tm->Query("never")->attempt, 1);
}

TEST_F(TaskManagerTest, StagingInAndOut) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "input.txt") << "payload";
  auto tm = Make();
  TaskDescription t = Shell("stage", "cat in.txt > out.txt");
  t.input_staging.push_back({"input.txt", "in.txt", StagingAction::kCopy});
  t.output_staging.push_back({"out.txt", "results/out.txt", StagingAction::kMove});
  TaskDescription missing = Shell("missing_output", "true");
  missing.output_staging.push_back({"never_written.txt", "x.txt", StagingAction::kCopy});
  TaskDescription missing_in = Shell("missing_input", "true");
  missing_in.input_staging.push_back({"absent.txt", "a.txt", StagingAction::kCopy});
  ASSERT_TRUE(tm->Submit(std::vector<TaskDescription>{t, missing, missing_in}).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  EXPECT_EQ(tm->Query("stage")->state, TaskState::kDone) << tm->Query("stage")->reason;
  EXPECT_EQ(Slurp((dir_ / "results/out.txt").string()), "payload");
  auto m = tm->Query("missing_output");
  EXPECT_EQ(m->state, TaskState::kFailed);
  EXPECT_NE(m->reason.find("never_written.txt"), std::string::npos) << m->reason;
  auto mi = tm->Query("missing_input");
  EXPECT_EQ(mi->state, TaskState::kFailed);
  EXPECT_NE(mi->reason.find("absent.txt"), std::string::npos) << mi->reason;
}

TEST_F(TaskManagerTest, KilledBySignalIsReported) {
  auto tm = Make();
  ASSERT_TRUE(tm->Submit(Shell("sig", "kill -9 $$")).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto info = tm->Query("sig");
  EXPECT_EQ(info->state, TaskState::kFailed);
  EXPECT_NE(info->reason.find("signal 9"), std::string::npos) << info->reason;
}

TEST_F(TaskManagerTest, MpirunTaskWithTwoRanks) {
  auto tm = Make(/*cores=*/2);
  TaskDescription t;
  t.uid = "mpi";
  t.executable = "/bin/sh";
  t.arguments = {"-c", "echo rank $DRC_RANK of $DRC_RANKS"};
  t.ranks = 2;
  t.environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1";
  ASSERT_TRUE(tm->Submit(t).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  auto info = tm->Query("mpi");
  ASSERT_EQ(info->state, TaskState::kDone) << info->reason << "\n" << Slurp(info->stderr_path);
  const std::string out = Slurp(info->stdout_path);
  EXPECT_NE(out.find("rank 0 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 of 2"), std::string::npos) << out;
}

// 2,000 tasks with random failures: every task ends in exactly one final state, with a reason
// for every failure, and the event log agrees.
TEST_F(TaskManagerTest, TwoThousandTasksEachEndOnce) {
  auto tm = Make(/*cores=*/2);
  std::mt19937 rng(42);
  std::vector<TaskDescription> tasks;
  std::map<std::string, TaskState> expected;
  for (int i = 0; i < 2000; ++i) {
    TaskDescription t;
    t.uid = "t" + std::to_string(i);
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 7) {
      t.executable = "/bin/true";
      expected[t.uid] = TaskState::kDone;
    } else if (kind == 7) {
      t.executable = "/bin/false";
      expected[t.uid] = TaskState::kFailed;
    } else if (kind == 8) {
      t.executable = "/missing/exe";
      expected[t.uid] = TaskState::kFailed;
    } else {
      t.executable = "/bin/true";
      t.gpus_per_rank = 1;  // never fits: the pilot has no GPUs
      expected[t.uid] = TaskState::kFailed;
    }
    if (i > 0 && rng() % 5 == 0) {
      const std::string dep = "t" + std::to_string(rng() % i);
      t.depends_on = {dep};
      if (expected[dep] != TaskState::kDone) expected[t.uid] = TaskState::kCanceled;
    }
    tasks.push_back(std::move(t));
  }
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(240)).ok());
  for (const auto& info : tm->QueryAll()) {
    EXPECT_EQ(info.state, expected[info.uid]) << info.uid << ": " << info.reason;
    if (info.state != TaskState::kDone) {
      EXPECT_FALSE(info.reason.empty()) << info.uid;
    }
  }
  const std::string workdir = tm->workdir();
  tm.reset();  // flushes the event log
  std::map<std::string, int> finals;
  std::ifstream log(workdir + "/events.jsonl");
  std::string line;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["kind"] == "state") {
      const std::string v = j["value"];
      if (v == "DONE" || v == "FAILED" || v == "CANCELED") ++finals[j["task"]];
    }
  }
  EXPECT_EQ(finals.size(), 2000u);
  for (const auto& [uid, n] : finals) EXPECT_EQ(n, 1) << uid;
}

}  // namespace
}  // namespace drc::runtime

#include "drc/runtime/profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "drc/runtime/task_manager.h"
#include "test_support.h"

namespace drc::runtime {
namespace {
namespace fs = std::filesystem;

using test_support::Slurp;

class ProfileTest : public test_support::TempDirTest {
 protected:
  ProfileTest() : TempDirTest("profile") {}

  std::string Write(const std::string& text) {
    const std::string path = (dir_ / "events.jsonl").string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Runs `tasks` on a pilot of one node of `cores` cores and `gpus` GPUs in dir_ until all are
  // final, then stops it (which writes the pilot's stop and flushes the log).
  void Run(int cores, int gpus, std::vector<TaskDescription> tasks) {
    RuntimeOptions o;
    o.resources = UniformResources(1, cores, gpus, 0);
    o.resources.nodes[0].name = "localhost";
    o.workdir = dir_.string();
    auto tm = TaskManager::Make(std::move(o));
    ASSERT_TRUE(tm.ok()) << tm.status();
    ASSERT_TRUE((*tm)->Submit(std::move(tasks)).ok());
    ASSERT_TRUE((*tm)->WaitAll(std::chrono::seconds(60)).ok());
  }

  static TaskDescription Sleep(const std::string& uid) {
    TaskDescription t;
    t.uid = uid;
    t.executable = "sleep 0.2";
    t.shell = true;
    return t;
  }
};

// One event line at time 1000 + t.
std::string Ev(double t, const std::string& task, const std::string& kind, const std::string& value,
               int attempt = 0, const std::string& detail = "") {
  return "{\"t\":" + std::to_string(1000 + t) + ",\"task\":\"" + task + "\",\"kind\":\"" + kind +
         "\",\"value\":\"" + value + "\",\"attempt\":" + std::to_string(attempt) +
         ",\"detail\":\"" + detail + "\"}\n";
}

std::string Pilot(double t, int cores) {
  return Ev(t, "", "pilot", "start", 0, "1 node x " + std::to_string(cores) + " cores, 0 GPUs") +
         Ev(t, "", "pilot", "resources", 0,
            "nodes=1 cores=" + std::to_string(cores) + " gpus=0 mem_mb=0");
}

// A task's events from SCHEDULING to its exit, placed on `cores` cores.
std::string Attempt(const std::string& task, int attempt, double sched, double placed, double exec,
                    double launch, double exit, bool ok, int cores) {
  return Ev(sched, task, "state", "SCHEDULING", attempt) +
         Ev(placed, task, "state", "STAGING_IN", attempt,
            "ranks=1 cores=" + std::to_string(cores) + " gpus=0 mem_mb=0 nodes=localhost") +
         Ev(exec, task, "state", "EXECUTING", attempt) +
         Ev(launch, task, "launch", "start", attempt, "pid 1 fork") +
         Ev(exit, task, "exit", ok ? "ok" : "error", attempt, ok ? "exit code 0" : "exit code 1");
}

// A run on 2 cores, 10 s long: `a` (1 core) runs 0.5..4.5 s; `b` (2 cores) fails once (5..6 s)
// and runs again 6.5..8.5 s; `c` is canceled before it was ready.
std::string HandWrittenRun() {
  return Pilot(0, 2) + Ev(0, "a", "state", "NEW") + Ev(0, "b", "state", "NEW") +
         Ev(0, "c", "state", "NEW") + Attempt("a", 0, 0.1, 0.2, 0.3, 0.5, 4.5, true, 1) +
         Ev(4.6, "a", "state", "STAGING_OUT") + Ev(4.75, "a", "state", "DONE") +
         Attempt("b", 0, 4.5, 4.6, 4.7, 5.0, 6.0, false, 2) +
         Attempt("b", 1, 6.0, 6.1, 6.2, 6.5, 8.5, false, 2) +
         Ev(8.5, "b", "state", "FAILED", 1, "exit code 1") +
         Ev(8.6, "c", "state", "CANCELED", 0, "dependency 'b' is FAILED") +
         Ev(10, "", "pilot", "stop");
}

TEST_F(ProfileTest, HandWrittenRunGivesHandComputedNumbers) {
  auto log = ReadRunLog(Write(HandWrittenRun()));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->cores, 2);
  EXPECT_TRUE(log->stopped);
  EXPECT_DOUBLE_EQ(log->duration, 10);
  ASSERT_EQ(log->tasks.size(), 3u);
  EXPECT_EQ(log->tasks[0].uid, "a");
  EXPECT_EQ(log->tasks[1].attempts.size(), 2u);
  EXPECT_EQ(log->tasks[1].state, "FAILED");
  EXPECT_EQ(log->tasks[1].reason, "exit code 1");
  EXPECT_TRUE(log->tasks[2].attempts.empty());
  EXPECT_EQ(log->tasks[2].state, "CANCELED");

  const RunProfile p = Summarize(*log);
  EXPECT_EQ(p.tasks, 3);
  EXPECT_EQ(p.attempts, 3);
  EXPECT_EQ(p.states.at("DONE"), 1);
  EXPECT_EQ(p.states.at("FAILED"), 1);
  EXPECT_EQ(p.states.at("CANCELED"), 1);
  // Running: a 4 s x 1 core, b 1 s and 2 s x 2 cores = 10 core-seconds of 20.
  EXPECT_NEAR(p.core_seconds_running, 10, 1e-6);
  EXPECT_NEAR(p.core_utilization, 0.5, 1e-6);
  // Held (placement to exit): a 4.3 x 1, b (1.4 + 2.4) x 2 = 11.9.
  EXPECT_NEAR(p.core_seconds_held, 11.9, 1e-6);
  EXPECT_NEAR(p.first_launch, 0.5, 1e-6);
  EXPECT_NEAR(p.last_exit, 8.5, 1e-6);
  EXPECT_NEAR(p.tasks_per_s, 0.3, 1e-9);
  ASSERT_EQ(p.phases.size(), 6u);
  EXPECT_EQ(p.phases[4].name, "running");
  EXPECT_EQ(p.phases[4].count, 3);
  EXPECT_NEAR(p.phases[4].median, 2, 1e-6);  // of 4, 1, 2
  EXPECT_NEAR(p.phases[4].max, 4, 1e-6);
  EXPECT_NEAR(p.phases[4].total, 7, 1e-6);
  EXPECT_EQ(p.phases[3].name, "launch");
  EXPECT_NEAR(p.phases[3].median, 0.3, 1e-6);  // of 0.2, 0.3, 0.3
  EXPECT_EQ(p.phases[5].count, 1);             // staging out: a's exit to DONE
  EXPECT_NEAR(p.phases[5].median, 0.25, 1e-6);
  EXPECT_EQ(p.phases[0].count, 2);  // waiting for dependencies: a 0.1 s, b 4.5 s
  EXPECT_NEAR(p.phases[0].max, 4.5, 1e-6);
}

// A log written before placements and pilot totals were recorded still reads: no cores, so no
// utilization, but the phases.
TEST_F(ProfileTest, LogWithoutPlacementsHasPhasesButNoUtilization) {
  const std::string text =
      Ev(0, "", "pilot", "start", 0, "1 node x 2 cores, 0 GPUs") + Ev(0, "a", "state", "NEW") +
      Ev(0.1, "a", "state", "SCHEDULING") + Ev(0.2, "a", "state", "STAGING_IN") +
      Ev(0.3, "a", "state", "EXECUTING") + Ev(0.4, "a", "launch", "start", 0, "pid 1 fork") +
      Ev(1.4, "a", "exit", "ok", 0, "exit code 0") + Ev(1.5, "a", "state", "DONE") +
      Ev(2, "", "pilot", "stop");
  auto log = ReadRunLog(Write(text));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->cores, 0);
  const RunProfile p = Summarize(*log);
  EXPECT_TRUE(std::isnan(p.core_utilization));
  EXPECT_NEAR(p.phases[4].median, 1.0, 1e-6);
  EXPECT_NE(TimelineSvg(*log).find("a lane per attempt"), std::string::npos);
}

TEST_F(ProfileTest, LastRunOfAReusedWorkDirectory) {
  const std::string first = Pilot(-100, 4) + Ev(-100, "old", "state", "NEW") +
                            Attempt("old", 0, -99, -99, -99, -99, -98, true, 1) +
                            Ev(-98, "old", "state", "DONE") + Ev(-97, "", "pilot", "stop");
  auto log = ReadRunLog(Write(first + HandWrittenRun()));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->earlier_runs, 1);
  EXPECT_EQ(log->cores, 2);
  ASSERT_EQ(log->tasks.size(), 3u);
  EXPECT_EQ(log->tasks[0].uid, "a");
  EXPECT_DOUBLE_EQ(log->duration, 10);
}

TEST_F(ProfileTest, CrashedRunCutOffLastLineIsSkipped) {
  std::string text = Pilot(0, 2) + Ev(0, "a", "state", "NEW") +
                     Attempt("a", 0, 0.1, 0.2, 0.3, 0.5, 1.5, true, 1) +
                     Ev(2, "b", "state", "NEW") + "{\"t\":1003.0,\"task\":\"b\",\"ki";
  auto log = ReadRunLog(Write(text));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->cut_lines, 1);
  EXPECT_FALSE(log->stopped);
  EXPECT_DOUBLE_EQ(log->duration, 2);  // to the last whole event
  const RunProfile p = Summarize(*log);
  EXPECT_EQ(p.states.at("EXECUTING"), 1);  // `a` had not reached a final state
  EXPECT_EQ(p.states.at("NEW"), 1);
  EXPECT_EQ(p.tasks_per_s, 0);
}

TEST_F(ProfileTest, BadLogsNameTheLineAndWhatWasExpected) {
  auto message = [this](const std::string& text) {
    auto log = ReadRunLog(Write(text));
    EXPECT_FALSE(log.ok());
    return log.ok() ? std::string() : log.status().message();
  };
  const std::string head = Pilot(0, 2);  // lines 1 and 2
  EXPECT_NE(message(head + "not json\n" + Ev(1, "a", "state", "NEW"))
                .find("events.jsonl:3: "
                      "expected one JSON "
                      "object per line"),
            std::string::npos);
  EXPECT_NE(message(head + "{\"task\":\"a\",\"kind\":\"state\",\"value\":\"NEW\"}\n")
                .find("events.jsonl:3: field 't' expects a number"),
            std::string::npos);
  EXPECT_NE(message(head + Ev(1, "a", "state", "STAGING_IN", 0, "ranks=1 gpus=0"))
                .find("events.jsonl:3: expected 'cores=N'"),
            std::string::npos);
  EXPECT_NE(message(head + Ev(1, "", "state", "NEW")).find("a 'state' event without a task"),
            std::string::npos);
  EXPECT_NE(message("").find("no run in this log"), std::string::npos);
  EXPECT_NE(message(Ev(1, "a", "state", "NEW")).find("no 'pilot' 'start' event"),
            std::string::npos);
  auto missing = ReadRunLog((dir_ / "nope.jsonl").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIOError) << missing.status();
}

TEST_F(ProfileTest, OfARealRun) {
  std::vector<TaskDescription> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(Sleep("sleep" + std::to_string(i)));
  TaskDescription wide = Sleep("wide");
  wide.cores_per_rank = 2;
  wide.depends_on = {"sleep0"};
  tasks.push_back(wide);
  TaskDescription bad;
  bad.uid = "bad";
  bad.executable = "exit 3";
  bad.shell = true;
  bad.retries = 1;
  tasks.push_back(bad);
  ASSERT_NO_FATAL_FAILURE(Run(2, 0, std::move(tasks)));
  auto log = ReadRunLog((dir_ / "events.jsonl").string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->stopped);
  EXPECT_EQ(log->cores, 2);
  ASSERT_EQ(log->tasks.size(), 6u);
  const RunProfile p = Summarize(*log);
  EXPECT_EQ(p.states.at("DONE"), 5);
  EXPECT_EQ(p.states.at("FAILED"), 1);
  EXPECT_EQ(p.attempts, 7);  // bad's retry
  // Five sleeps of 0.2 s, one on 2 cores: at least 1.2 core-seconds, and never more than the
  // pilot's cores over the run.
  EXPECT_GE(p.core_seconds_running, 1.2);
  EXPECT_LE(p.core_utilization, 1.0 + 1e-9);
  EXPECT_LE(p.core_seconds_running, p.core_seconds_held + 1e-9);
  for (const auto& task : log->tasks) {
    for (const auto& a : task.attempts) {
      EXPECT_LE(a.scheduling, a.placed) << task.uid;
      EXPECT_LE(a.placed, a.executing) << task.uid;
      EXPECT_LE(a.executing, a.launched) << task.uid;
      EXPECT_LE(a.launched, a.exited) << task.uid;
      EXPECT_EQ(a.cores, task.uid == "wide" ? 2 : 1) << task.uid;
      EXPECT_EQ(a.nodes, "localhost");
    }
  }
  auto written = WriteProfileReport(*log, p, (dir_ / "profile").string());
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), 4u);
  const std::string html = Slurp((dir_ / "profile" / "report.html").string());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("bad</td><td>FAILED</td><td>2</td>"), std::string::npos);
  const std::string csv = Slurp((dir_ / "profile" / "attempts.csv").string());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 8);  // header + 7 attempts
  const std::string timeline = Slurp((dir_ / "profile" / "timeline.svg").string());
  EXPECT_NE(timeline.find("a lane per core"), std::string::npos);
  EXPECT_NE(timeline.find("<title>wide attempt 0"), std::string::npos);
}

// GPUs as the pilot describes them (no device is touched: the tasks only sleep).
TEST_F(ProfileTest, GpuTasksOnAPilotWithGpus) {
  std::vector<TaskDescription> tasks;
  for (int i = 0; i < 3; ++i) {
    tasks.push_back(Sleep("gpu" + std::to_string(i)));
    tasks.back().gpus_per_rank = i < 2 ? 1 : 0;
  }
  ASSERT_NO_FATAL_FAILURE(Run(2, 2, std::move(tasks)));
  auto log = ReadRunLog((dir_ / "events.jsonl").string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->gpus, 2);
  const RunProfile p = Summarize(*log);
  EXPECT_GE(p.gpu_seconds_running, 0.4);
  EXPECT_LE(p.gpu_seconds_running, p.gpu_seconds_held + 1e-9);
  EXPECT_GT(p.gpu_utilization, 0);
  EXPECT_LE(p.gpu_utilization, 1.0 + 1e-9);
  auto written = WriteProfileReport(*log, p, (dir_ / "profile").string());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->size(), 5u);
  EXPECT_NE(Slurp((dir_ / "profile" / "gpu_utilization.svg").string()).find("GPUs in use"),
            std::string::npos);
  EXPECT_NE(Slurp((dir_ / "profile" / "report.html").string()).find("GPU utilization"),
            std::string::npos);
}

TEST_F(ProfileTest, ReportOfATimelineTooLongToDrawSaysSo) {
  std::string text = Pilot(0, 2);
  for (int i = 0; i < 30; ++i) {
    const std::string uid = "t" + std::to_string(i);
    text += Ev(0, uid, "state", "NEW") +
            Attempt(uid, 0, 0.1 * i, 0.1 * i, 0.1 * i, 0.1 * i, 0.1 * i + 0.05, true, 1) +
            Ev(0.1 * i + 0.06, uid, "state", "DONE");
  }
  auto log = ReadRunLog(Write(text));
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string svg = TimelineSvg(*log, 10);
  EXPECT_NE(svg.find("30 attempts"), std::string::npos);
  EXPECT_NE(svg.find("(the first 10 drawn)"), std::string::npos);
  size_t groups = 0;
  for (size_t pos = 0; (pos = svg.find("<g>", pos)) != std::string::npos; ++pos) ++groups;
  EXPECT_EQ(groups, 10u);
}

}  // namespace
}  // namespace drc::runtime

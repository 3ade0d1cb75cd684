// Function tasks end to end: a TaskManager starts this very binary as its worker pool (run
// with "worker", main() below serves test functions) under the real mpirun.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "drc/runtime/task_file.h"
#include "drc/runtime/task_manager.h"
#include "drc/runtime/worker.h"
#include "test_support.h"

namespace drc::runtime {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Each rank adds rank+1 over the private communicator and says what it saw.
Status Ranks(FunctionCall& call) {
  int64_t value = call.comm->rank() + 1;
  DRC_RETURN_NOT_OK(
      comm::AllReduce(*call.comm, std::span<int64_t>(&value, 1), comm::ReduceOp::kSum));
  std::ostringstream line;
  line << "rank " << call.comm->rank() << " of " << call.comm->size() << " sum " << value
       << " threads " << call.threads << "\n";
  *call.out << line.str() << std::flush;
  return Status::OK();
}

Status Gpus(FunctionCall& call) {
  std::ostringstream line;
  line << "rank " << call.comm->rank() << " gpus";
  for (int g : call.gpus) line << " " << g;
  *call.out << line.str() + "\n" << std::flush;
  return Status::OK();
}

Status Pid(FunctionCall& call) {
  *call.out << ::getpid() << "\n";
  return Status::OK();
}

Status Fail(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(int64_t bad_rank, call.IntArg("rank", 0));
  if (call.comm->rank() == bad_rank) return Status::InvalidArgument("bad input 42");
  return Status::OK();
}

// Rank 0 fails at once; the others wait for it in an all-reduce that it never enters.
Status FailThenWait(FunctionCall& call) {
  if (call.comm->rank() == 0) return Status::InvalidArgument("bad input 7");
  int64_t value = 1;
  return comm::AllReduce(*call.comm, std::span<int64_t>(&value, 1), comm::ReduceOp::kSum);
}

Status Throw(FunctionCall&) { throw std::runtime_error("boom"); }

Status Crash(FunctionCall&) { std::abort(); }

Status Sleep(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(double s, call.DoubleArg("seconds", 1));
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
  return Status::OK();
}

// Writes args.text into the file args.file of the task's folder.
Status Write(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(std::string file, call.Arg("file"));
  std::ofstream(call.workdir + "/" + file) << call.Arg("text", "");
  return Status::OK();
}

Status RegisterTestFunctions(FunctionRegistry& r) {
  for (auto [name, f] : std::initializer_list<std::pair<const char*, Status (*)(FunctionCall&)>>{
           {"ranks", Ranks},
           {"gpus", Gpus},
           {"pid", Pid},
           {"fail", Fail},
           {"fail_then_wait", FailThenWait},
           {"throw", Throw},
           {"crash", Crash},
           {"sleep", Sleep},
           {"write", Write}}) {
    DRC_RETURN_NOT_OK(r.Register(name, f));
  }
  return Status::OK();
}

using test_support::Slurp;

class WorkerTest : public test_support::TempDirTest {
 protected:
  WorkerTest() : TempDirTest("worker") {}

  std::unique_ptr<TaskManager> Make(int cores = 4, bool with_workers = true, int gpus = 0) {
    RuntimeOptions o;
    o.resources = UniformResources(1, cores, gpus, 0);
    o.resources.nodes[0].name = "localhost";
    o.workdir = dir_.string();
    o.kill_grace = milliseconds(500);
    o.worker_failure_grace = milliseconds(1000);
    if (with_workers) o.worker_command = {fs::read_symlink("/proc/self/exe").string(), "worker"};
    auto tm = TaskManager::Make(std::move(o));
    EXPECT_TRUE(tm.ok()) << tm.status();
    return std::move(tm).ValueOrDie();
  }

  static TaskDescription Function(const std::string& uid, const std::string& function,
                                  int ranks = 1) {
    TaskDescription t;
    t.uid = uid;
    t.function = function;
    t.ranks = ranks;
    return t;
  }

  // The "workers" lines of the run's events.jsonl.
  std::vector<std::string> PoolEvents() const {
    std::vector<std::string> out;
    std::ifstream in(dir_ / "events.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto e = nlohmann::json::parse(line);
      if (e.value("kind", "") == "pilot" && e.value("value", "") == "workers") {
        out.push_back(e.value("detail", ""));
      }
    }
    return out;
  }
};

TEST_F(WorkerTest, FunctionTasksRunOnPersistentWorkers) {
  auto tm = Make(4);
  std::vector<TaskDescription> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(Function("p" + std::to_string(i), "pid"));
  ASSERT_TRUE(tm->Submit(std::move(tasks)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  std::set<std::string> pids;
  for (const auto& info : tm->QueryAll()) {
    ASSERT_EQ(info.state, TaskState::kDone) << info.uid << ": " << info.reason;
    std::string pid = Slurp(info.stdout_path);
    ASSERT_FALSE(pid.empty()) << info.uid;
    EXPECT_NE(pid, std::to_string(::getpid()) + "\n") << "the call ran in the client";
    pids.insert(pid);
  }
  // Ten calls on four long-lived workers: at most four processes served them.
  EXPECT_LE(pids.size(), 4u);
  tm.reset();
  const auto pool = PoolEvents();
  ASSERT_EQ(pool.size(), 1u);
  EXPECT_NE(pool[0].find("4 workers up"), std::string::npos) << pool[0];
}

TEST_F(WorkerTest, EachTaskGetsACommunicatorOfItsOwnRanks) {
  auto tm = Make(4);
  auto three = Function("three", "ranks", 3);
  three.cores_per_rank = 1;
  auto one = Function("one", "ranks", 1);
  auto two = Function("two", "ranks", 2);
  two.cores_per_rank = 2;  // two ranks of two cores: the whole pilot, after the others
  ASSERT_TRUE(tm->Submit({three, one, two}).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  auto lines = [](const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.insert(l);
    return out;
  };
  auto q3 = tm->Query("three").ValueOrDie();
  ASSERT_EQ(q3.state, TaskState::kDone) << q3.reason;
  EXPECT_EQ(
      lines(Slurp(q3.stdout_path)),
      (std::multiset<std::string>{"rank 0 of 3 sum 6 threads 1", "rank 1 of 3 sum 6 threads 1",
                                  "rank 2 of 3 sum 6 threads 1"}));
  auto q1 = tm->Query("one").ValueOrDie();
  ASSERT_EQ(q1.state, TaskState::kDone) << q1.reason;
  EXPECT_EQ(Slurp(q1.stdout_path), "rank 0 of 1 sum 1 threads 1\n");
  auto q2 = tm->Query("two").ValueOrDie();
  ASSERT_EQ(q2.state, TaskState::kDone) << q2.reason;
  EXPECT_EQ(
      lines(Slurp(q2.stdout_path)),
      (std::multiset<std::string>{"rank 0 of 2 sum 3 threads 2", "rank 1 of 2 sum 3 threads 2"}));
}

// The published prototype bound no GPU per rank in its function workers: here each rank is
// told the devices the scheduler gave it (ids within the pilot's CUDA_VISIBLE_DEVICES).
TEST_F(WorkerTest, EachRankIsToldItsGpus) {
  auto tm = Make(4, true, /*gpus=*/4);
  auto two = Function("two", "gpus", 2);
  two.gpus_per_rank = 2;
  ASSERT_TRUE(tm->Submit(two).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  auto info = tm->Query("two").ValueOrDie();
  ASSERT_EQ(info.state, TaskState::kDone) << info.reason;
  std::multiset<std::string> lines;
  std::istringstream in(Slurp(info.stdout_path));
  for (std::string l; std::getline(in, l);) lines.insert(l);
  EXPECT_EQ(lines, (std::multiset<std::string>{"rank 0 gpus 0 1", "rank 1 gpus 2 3"}));
}

TEST_F(WorkerTest, FailuresReachTheTaskWithTheirMessage) {
  auto tm = Make(4);
  auto fail = Function("fail", "fail", 2);
  fail.function_args["rank"] = "1";
  auto bad_arg = Function("bad_arg", "fail");
  bad_arg.function_args["rank"] = "one";
  ASSERT_TRUE(
      tm->Submit({fail, Function("throw", "throw"), Function("nope", "nope"), bad_arg}).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  auto reason = [&](const std::string& uid) {
    auto info = tm->Query(uid).ValueOrDie();
    EXPECT_EQ(info.state, TaskState::kFailed) << uid;
    return info.reason;
  };
  EXPECT_EQ(reason("fail"), "rank 1: bad input 42");
  EXPECT_EQ(reason("throw"), "rank 0: threw boom");
  EXPECT_EQ(reason("nope"),
            "rank 0: no function 'nope' is registered in the worker (registered: crash, fail, "
            "fail_then_wait, gpus, pid, ranks, sleep, throw, write)");
  EXPECT_EQ(reason("bad_arg"),
            "rank 0: task 'bad_arg' (function 'fail'): argument 'rank' must be an integer, got "
            "'one'");
  // The pool survived all of that.
  auto ok = tm->Submit(Function("after", "pid"));
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(tm->Wait("after", seconds(30)).ok());
  EXPECT_EQ(tm->Query("after").ValueOrDie().state, TaskState::kDone);
  EXPECT_EQ(PoolEvents().size(), 1u);
}

TEST_F(WorkerTest, ACrashedWorkerFailsItsTaskAndAFreshPoolRunsTheNext) {
  auto tm = Make(2);
  ASSERT_TRUE(tm->Submit(Function("crash", "crash")).ok());
  ASSERT_TRUE(tm->Wait("crash", seconds(60)).ok());
  auto crash = tm->Query("crash").ValueOrDie();
  EXPECT_EQ(crash.state, TaskState::kFailed);
  EXPECT_NE(crash.reason.find("the worker pool exited"), std::string::npos) << crash.reason;
  auto next = Function("next", "ranks", 2);
  ASSERT_TRUE(tm->Submit(next).ok());
  ASSERT_TRUE(tm->Wait("next", seconds(60)).ok());
  auto info = tm->Query("next").ValueOrDie();
  EXPECT_EQ(info.state, TaskState::kDone) << info.reason;
  tm.reset();
  EXPECT_EQ(PoolEvents().size(), 2u);
}

TEST_F(WorkerTest, ATimeoutStopsThePoolAndSaysSoToTheOtherCalls) {
  auto tm = Make(2);
  auto slow = Function("slow", "sleep");
  slow.function_args["seconds"] = "60";
  slow.timeout_s = 1;
  auto other = Function("other", "sleep");
  other.function_args["seconds"] = "60";
  ASSERT_TRUE(tm->Submit({slow, other}).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto s = tm->Query("slow").ValueOrDie();
  EXPECT_EQ(s.state, TaskState::kFailed);
  EXPECT_EQ(s.reason,
            "timed out after 1 s (a function cannot be interrupted, so its worker pool "
            "was stopped)");
  auto o = tm->Query("other").ValueOrDie();
  EXPECT_EQ(o.state, TaskState::kFailed);
  EXPECT_EQ(o.reason, "the worker pool was stopped because task 'slow' timed out");
}

TEST_F(WorkerTest, ARankThatFailsBeforeACollectiveDoesNotHangTheTask) {
  auto tm = Make(2);
  ASSERT_TRUE(tm->Submit(Function("f", "fail_then_wait", 2)).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(30)).ok());
  auto info = tm->Query("f").ValueOrDie();
  EXPECT_EQ(info.state, TaskState::kFailed);
  EXPECT_EQ(info.reason,
            "rank 0: bad input 7; its other ranks did not end within 1 s (waiting for it in a "
            "collective?), so the worker pool was stopped");
  // The next function task gets a fresh pool.
  ASSERT_TRUE(tm->Submit(Function("after", "ranks", 2)).ok());
  ASSERT_TRUE(tm->Wait("after", seconds(60)).ok());
  EXPECT_EQ(tm->Query("after").ValueOrDie().state, TaskState::kDone);
}

TEST_F(WorkerTest, CancelingARunningCallEndsIt) {
  auto tm = Make(2);
  auto slow = Function("slow", "sleep");
  slow.function_args["seconds"] = "60";
  ASSERT_TRUE(tm->Submit(slow).ok());
  for (int i = 0; i < 600 && tm->Query("slow").ValueOrDie().state != TaskState::kExecuting; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(tm->Cancel("slow").ok());
  ASSERT_TRUE(tm->Wait("slow", seconds(20)).ok());
  EXPECT_EQ(tm->Query("slow").ValueOrDie().state, TaskState::kCanceled);
}

TEST_F(WorkerTest, FunctionAndExecutableTasksShareDependenciesAndStaging) {
  auto tm = Make(2);
  auto write = Function("write", "write");
  write.function_args = {{"file", "greeting.txt"}, {"text", "hello from a worker"}};
  write.output_staging.push_back({"greeting.txt", "greeting.txt", StagingAction::kCopy});
  TaskDescription read;
  read.uid = "read";
  read.executable = "cat";
  read.arguments = {"greeting.txt"};
  read.input_staging.push_back({"greeting.txt", "greeting.txt", StagingAction::kCopy});
  read.depends_on = {"write"};
  ASSERT_TRUE(tm->Submit({write, read}).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(60)).ok());
  auto info = tm->Query("read").ValueOrDie();
  ASSERT_EQ(info.state, TaskState::kDone) << info.reason;
  EXPECT_EQ(Slurp(info.stdout_path), "hello from a worker");
}

TEST_F(WorkerTest, WithoutAWorkerProgramFunctionTasksFailSayingSo) {
  auto tm = Make(2, /*with_workers=*/false);
  ASSERT_TRUE(tm->Submit(Function("f", "pid")).ok());
  ASSERT_TRUE(tm->WaitAll(seconds(10)).ok());
  auto info = tm->Query("f").ValueOrDie();
  EXPECT_EQ(info.state, TaskState::kFailed);
  EXPECT_NE(info.reason.find("need a worker program"), std::string::npos) << info.reason;
}

TEST(FunctionTaskDescription, IsValidatedAndReadFromTheTaskFile) {
  TaskDescription both;
  both.uid = "x";
  both.function = "f";
  both.executable = "/bin/true";
  EXPECT_EQ(Validate(both).message(), "task 'x': has both executable and function; give one");
  TaskDescription env;
  env.uid = "y";
  env.function = "f";
  env.environment["A"] = "1";
  EXPECT_EQ(Validate(env).message(),
            "task 'y': a function task cannot have 'environment' (functions run in the shared "
            "worker processes; use an executable task)");
  auto file = ParseTaskFile(
      "tasks:\n  - uid: f\n    function: data.sort\n    args: {rows: 1000, key: k}\n"
      "    ranks: 2\n",
      "t.yaml");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tasks[0].function, "data.sort");
  EXPECT_EQ(file->tasks[0].function_args,
            (std::map<std::string, std::string>{{"key", "k"}, {"rows", "1000"}}));
  auto with_worker = ParseTaskFile(
      "worker: [bin/my_worker, --verbose]\ntasks:\n  - {uid: f, function: g}\n", "runs/t.yaml");
  ASSERT_TRUE(with_worker.ok()) << with_worker.status();
  EXPECT_EQ(with_worker->worker, (std::vector<std::string>{"runs/bin/my_worker", "--verbose"}));
  auto empty_worker = ParseTaskFile("worker: []\ntasks:\n  - {uid: f, function: g}\n", "t.yaml");
  EXPECT_EQ(empty_worker.status().message(),
            "t.yaml:1:9: 'worker' names the worker program: [program, args...]");
  auto stray =
      ParseTaskFile("tasks:\n  - uid: e\n    executable: ls\n    args: {a: 1}\n", "t.yaml");
  EXPECT_EQ(stray.status().message(), "t.yaml:4:11: field 'args' is for function tasks");
}

TEST(FunctionRegistryTest, NamesAreUnique) {
  FunctionRegistry r;
  ASSERT_TRUE(RegisterTestFunctions(r).ok());
  EXPECT_EQ(r.Register("pid", [](FunctionCall&) { return Status::OK(); }).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Find("missing"), nullptr);
  EXPECT_NE(r.Find("pid"), nullptr);
}

TEST(FunctionCallTest, TypedArguments) {
  const std::map<std::string, std::string> args = {
      {"n", "7"}, {"x", "2.5"}, {"on", "true"}, {"off", "false"}, {"bad", "yes"}};
  FunctionCall call;
  call.task_uid = "t";
  call.function = "f";
  call.args = &args;
  EXPECT_EQ(*call.IntArg("n", 0), 7);
  EXPECT_EQ(*call.DoubleArg("x", 0), 2.5);
  EXPECT_EQ(*call.BoolArg("on", false), true);
  EXPECT_EQ(*call.BoolArg("off", true), false);
  EXPECT_EQ(*call.BoolArg("absent", true), true);
  auto bad = call.BoolArg("bad", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "task 't' (function 'f'): argument 'bad' must be true or false, got 'yes'");
}

}  // namespace
}  // namespace drc::runtime

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "worker") {
    drc::runtime::FunctionRegistry registry;
    const drc::Status st = drc::runtime::RegisterTestFunctions(registry);
    if (!st.ok()) {
      std::fprintf(stderr, "worker: %s\n", st.ToString().c_str());
      return 1;
    }
    return drc::runtime::WorkerMain(registry, argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

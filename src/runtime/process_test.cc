// Tests of ProcessManager with real processes (no mocks).
#include "drc/runtime/process.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace drc::runtime {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Collects exit callbacks; counts every report per token.
class Exits {
 public:
  void Add(uint64_t token, const ProcessExit& exit) {
    std::lock_guard<std::mutex> lock(mu_);
    exits_[token].push_back(exit);
    ++total_;
    cv_.notify_all();
  }
  // Waits for the first report of `token`.
  bool Wait(uint64_t token, ProcessExit* out, std::chrono::milliseconds limit = seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    bool ok = cv_.wait_for(lock, limit, [&] { return exits_.count(token) != 0; });
    if (ok && out != nullptr) *out = exits_[token].front();
    return ok;
  }
  bool WaitTotal(size_t n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return total_ >= n; });
  }
  size_t Count(uint64_t token) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = exits_.find(token);
    return it == exits_.end() ? 0 : it->second.size();
  }
  size_t total() {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::vector<ProcessExit>> exits_;
  size_t total_ = 0;
};

std::vector<std::string> BaseEnv() {
  const char* path = getenv("PATH");
  return {std::string("PATH=") + (path != nullptr ? path : "/usr/bin:/bin")};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

class ProcessManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "drc_process_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ProcessManager> MakeManager(milliseconds grace = milliseconds(2000)) {
    ProcessManager::Options options;
    options.kill_grace = grace;
    auto pm = ProcessManager::Make(
        [this](uint64_t token, const ProcessExit& exit) { exits_.Add(token, exit); }, options);
    EXPECT_TRUE(pm.ok()) << pm.status();
    return std::move(pm).ValueOrDie();
  }

  ProcessSpec Spec(std::vector<std::string> argv) {
    ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.env = BaseEnv();
    spec.cwd = dir_;
    return spec;
  }

  std::string dir_;
  Exits exits_;
};

TEST_F(ProcessManagerTest, ExitCodes) {
  auto pm = MakeManager();
  ASSERT_TRUE(pm->Spawn(1, Spec({"/bin/true"})).ok());
  ASSERT_TRUE(pm->Spawn(2, Spec({"false"})).ok());  // found through PATH
  ASSERT_TRUE(pm->Spawn(3, Spec({"/bin/sh", "-c", "exit 3"})).ok());
  ProcessExit e1, e2, e3;
  ASSERT_TRUE(exits_.Wait(1, &e1));
  ASSERT_TRUE(exits_.Wait(2, &e2));
  ASSERT_TRUE(exits_.Wait(3, &e3));
  EXPECT_TRUE(e1.ok());
  EXPECT_EQ(e1.exit_code, 0);
  EXPECT_FALSE(e2.ok());
  EXPECT_EQ(e2.exit_code, 1);
  EXPECT_EQ(e3.exit_code, 3);
  EXPECT_EQ(e3.Describe(), "exit code 3");
  EXPECT_GT(e1.pid, 0);
  EXPECT_GE(e1.end_s, e1.start_s);
  EXPECT_GT(e1.start_s, 1e9);  // wall-clock seconds
}

TEST_F(ProcessManagerTest, StdoutAndStderrFiles) {
  auto pm = MakeManager();
  ProcessSpec spec = Spec({"/bin/sh", "-c", "echo to-out; echo to-err >&2; echo more"});
  spec.stdout_path = dir_ + "/t.out";
  spec.stderr_path = dir_ + "/t.err";
  // An old, longer file is truncated.
  std::ofstream(spec.stdout_path) << "stale stale stale stale stale stale\n";
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  EXPECT_TRUE(e.ok()) << e.Describe();
  EXPECT_EQ(ReadFile(spec.stdout_path), "to-out\nmore\n");
  EXPECT_EQ(ReadFile(spec.stderr_path), "to-err\n");
  struct stat st;
  ASSERT_EQ(stat(spec.stderr_path.c_str(), &st), 0);
  mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0644u & ~mask);

  // One file for both streams keeps both.
  spec.stderr_path = spec.stdout_path;
  ASSERT_TRUE(pm->Spawn(2, spec).ok());
  ASSERT_TRUE(exits_.Wait(2, &e));
  EXPECT_EQ(ReadFile(spec.stdout_path), "to-out\nto-err\nmore\n");
}

TEST_F(ProcessManagerTest, StdinIsDevNullAndNoDescriptorsLeak) {
  auto pm = MakeManager();
  ProcessSpec spec = Spec({"/bin/sh", "-c", "cat; ls /proc/self/fd | wc -l"});
  spec.stdout_path = dir_ + "/fd.out";
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  EXPECT_TRUE(e.ok());
  // ls sees 0, 1, 2 and the descriptor it opened for /proc/self/fd.
  EXPECT_EQ(ReadFile(spec.stdout_path), "4\n");
}

TEST_F(ProcessManagerTest, EnvAndCwdReachTheChild) {
  auto pm = MakeManager();
  fs::create_directory(dir_ + "/work dir");
  ProcessSpec spec = Spec({"/bin/sh", "-c", "echo \"$FOO|$BAR\"; pwd"});
  spec.env.push_back("FOO=hello world");
  spec.env.push_back("BAR=");
  spec.cwd = dir_ + "/work dir";
  spec.stdout_path = dir_ + "/env.out";
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(ReadFile(spec.stdout_path),
            "hello world|\n" + fs::canonical(dir_ + "/work dir").string() + "\n");
}

TEST_F(ProcessManagerTest, ExecutableIsResolvedInTheChildPath) {
  auto pm = MakeManager();
  fs::create_directory(dir_ + "/bin");
  std::ofstream(dir_ + "/bin/mytool") << "#!/bin/sh\necho mytool ran\n";
  fs::permissions(dir_ + "/bin/mytool", fs::perms::owner_all);
  ProcessSpec spec = Spec({"mytool"});
  spec.env = {"PATH=" + dir_ + "/bin:/usr/bin:/bin"};
  spec.stdout_path = dir_ + "/tool.out";
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(ReadFile(spec.stdout_path), "mytool ran\n");
}

TEST_F(ProcessManagerTest, MissingExecutableIsNotFoundAndNoCallback) {
  auto pm = MakeManager();
  auto r = pm->Spawn(1, Spec({"drc-no-such-program"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("executable 'drc-no-such-program' not found in PATH"),
            std::string::npos)
      << r.status();
  auto r2 = pm->Spawn(2, Spec({dir_ + "/missing"}));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r2.status().message().find(dir_ + "/missing"), std::string::npos);
  // A file that is not executable.
  std::ofstream(dir_ + "/data.txt") << "x";
  auto r3 = pm->Spawn(3, Spec({dir_ + "/data.txt"}));
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.status().message().find("not executable"), std::string::npos) << r3.status();
  // The manager still works and no callbacks came for the failures.
  ASSERT_TRUE(pm->Spawn(4, Spec({"/bin/true"})).ok());
  ASSERT_TRUE(exits_.Wait(4, nullptr));
  EXPECT_EQ(exits_.total(), 1u);
  EXPECT_EQ(pm->running(), 0u);
}

TEST_F(ProcessManagerTest, MissingCwdAndOutputDirectory) {
  auto pm = MakeManager();
  ProcessSpec spec = Spec({"/bin/true"});
  spec.cwd = dir_ + "/nope";
  auto r = pm->Spawn(1, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(dir_ + "/nope"), std::string::npos) << r.status();

  spec = Spec({"/bin/true"});
  spec.stdout_path = dir_ + "/missing-dir/t.out";
  r = pm->Spawn(2, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(spec.stdout_path), std::string::npos) << r.status();

  spec = Spec({"/bin/true"});
  spec.stderr_path = dir_;  // a directory
  r = pm->Spawn(3, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("is a directory"), std::string::npos) << r.status();
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(exits_.total(), 0u);
}

TEST_F(ProcessManagerTest, KilledBySignalIsReported) {
  auto pm = MakeManager();
  ASSERT_TRUE(pm->Spawn(1, Spec({"/bin/sh", "-c", "kill -9 $$"})).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.signal, SIGKILL);
  EXPECT_FALSE(e.killed);
  EXPECT_FALSE(e.timed_out);
  EXPECT_EQ(e.Describe(), "killed by signal 9 (SIGKILL)");
}

TEST_F(ProcessManagerTest, SignalsIgnoredByTheParentAreResetInTheChild) {
  auto pm = MakeManager();
  struct sigaction old_action;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGTERM, &ignore, &old_action);
  ASSERT_TRUE(pm->Spawn(1, Spec({"/bin/sh", "-c", "kill -TERM $$; exit 0"})).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  sigaction(SIGTERM, &old_action, nullptr);
  EXPECT_EQ(e.signal, SIGTERM) << e.Describe();
}

TEST_F(ProcessManagerTest, TimeoutKillsTheProcess) {
  auto pm = MakeManager(milliseconds(500));
  ProcessSpec spec = Spec({"sleep", "30"});
  spec.timeout_s = 0.5;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(e.timed_out);
  EXPECT_FALSE(e.killed);
  EXPECT_EQ(e.signal, SIGTERM);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 0.5 + 0.5 + 1.0);
  EXPECT_EQ(e.Describe().rfind("timed out after ", 0), 0u) << e.Describe();
  EXPECT_NE(e.Describe().find("(SIGTERM)"), std::string::npos) << e.Describe();
}

TEST_F(ProcessManagerTest, TimeoutEscalatesToSigkill) {
  auto pm = MakeManager(milliseconds(300));
  // The shell ignores TERM (and so does its sleep, which inherits the disposition).
  ProcessSpec spec = Spec({"/bin/sh", "-c", "trap '' TERM; sleep 30"});
  spec.timeout_s = 0.3;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.signal, SIGKILL) << e.Describe();
  EXPECT_GE(elapsed, 0.55);
  EXPECT_LT(elapsed, 3.0);
}

TEST_F(ProcessManagerTest, KillTerminatesTheWholeGroup) {
  auto pm = MakeManager(milliseconds(500));
  ProcessSpec spec = Spec({"/bin/sh", "-c", "sleep 30 & echo $! > grandchild.pid; sleep 30"});
  ASSERT_TRUE(pm->Spawn(7, spec).ok());
  std::string pid_file = dir_ + "/grandchild.pid";
  pid_t grandchild = -1;
  for (int i = 0; i < 500 && grandchild <= 0; ++i) {
    std::string text = ReadFile(pid_file);
    if (!text.empty() && text.back() == '\n') grandchild = std::stoi(text);
    if (grandchild <= 0) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(ProcessGone(grandchild));
  EXPECT_EQ(pm->running(), 1u);
  ASSERT_TRUE(pm->Kill(7).ok());
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(7, &e));
  EXPECT_TRUE(e.killed);
  EXPECT_FALSE(e.timed_out);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.Describe().rfind("killed on request", 0), 0u) << e.Describe();
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ProcessGone(grandchild);
    if (!gone) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
  EXPECT_EQ(pm->Kill(7).code(), StatusCode::kNotFound);
  EXPECT_EQ(pm->running(), 0u);
}

TEST_F(ProcessManagerTest, ManyShortTasksReportedExactlyOnce) {
  auto pm = MakeManager();
  constexpr int kTasks = 500;
  constexpr int kInFlight = 4;
  int started = 0;
  while (started < kTasks) {
    while (started < kTasks &&
           static_cast<size_t>(started) - exits_.total() < static_cast<size_t>(kInFlight)) {
      ASSERT_TRUE(pm->Spawn(1000 + started, Spec({"/bin/true"})).ok());
      ++started;
    }
    exits_.WaitTotal(started - kInFlight + 1, seconds(10));
  }
  ASSERT_TRUE(exits_.WaitTotal(kTasks, seconds(10)));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(exits_.total(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(exits_.Count(1000 + i), 1u) << i;
  }
  EXPECT_EQ(pm->running(), 0u);
}

TEST_F(ProcessManagerTest, CallbackMaySpawnAndKill) {
  std::atomic<int> chain{0};
  Exits exits;
  ProcessManager* raw = nullptr;
  auto made = ProcessManager::Make([&](uint64_t token, const ProcessExit& exit) {
    if (token < 20) {
      ProcessSpec spec;
      spec.argv = {"/bin/true"};
      spec.env = BaseEnv();
      EXPECT_TRUE(raw->Spawn(token + 1, spec).ok());
      EXPECT_EQ(raw->Kill(token).code(), StatusCode::kNotFound);
      ++chain;
    }
    exits.Add(token, exit);
  });
  ASSERT_TRUE(made.ok());
  auto pm = std::move(made).ValueOrDie();
  raw = pm.get();
  ASSERT_TRUE(pm->Spawn(0, Spec({"/bin/true"})).ok());
  ASSERT_TRUE(exits.Wait(20, nullptr));
  EXPECT_EQ(chain.load(), 20);
}

TEST_F(ProcessManagerTest, DuplicateRunningTokenIsRejected) {
  auto pm = MakeManager(milliseconds(200));
  ASSERT_TRUE(pm->Spawn(1, Spec({"sleep", "30"})).ok());
  auto r = pm->Spawn(1, Spec({"/bin/true"}));
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(pm->Kill(1).ok());
  ASSERT_TRUE(exits_.Wait(1, nullptr));
}

TEST_F(ProcessManagerTest, DestructorKillsWhatRunsAndReportsIt) {
  pid_t pid = -1;
  {
    auto pm = MakeManager(milliseconds(300));
    auto r = pm->Spawn(1, Spec({"/bin/sh", "-c", "trap '' TERM; sleep 30"}));
    ASSERT_TRUE(r.ok());
    pid = *r;
    ASSERT_TRUE(pm->Spawn(2, Spec({"sleep", "30"})).ok());
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(exits_.total(), 2u);
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e, milliseconds(0)));
  EXPECT_TRUE(e.killed);
  EXPECT_EQ(e.signal, SIGKILL);
  ASSERT_TRUE(exits_.Wait(2, &e, milliseconds(0)));
  EXPECT_EQ(e.signal, SIGTERM);
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(ProcessManagerTest, TimeoutsFollowTheInjectedClock) {
  FakeClock clock(seconds(1000), 1.7e9);
  ProcessManager::Options options;
  options.clock = &clock;
  options.kill_grace = milliseconds(200);
  auto made = ProcessManager::Make(
      [this](uint64_t token, const ProcessExit& exit) { exits_.Add(token, exit); }, options);
  ASSERT_TRUE(made.ok());
  auto pm = std::move(made).ValueOrDie();
  ProcessSpec spec = Spec({"sleep", "30"});
  spec.timeout_s = 60;
  ASSERT_TRUE(pm->Spawn(1, spec).ok());
  EXPECT_FALSE(exits_.Wait(1, nullptr, milliseconds(300)));  // the fake clock stands still
  clock.Advance(seconds(61));
  ProcessExit e;
  ASSERT_TRUE(exits_.Wait(1, &e, seconds(5)));
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.signal, SIGTERM);
  EXPECT_DOUBLE_EQ(e.start_s, 1.7e9 + 1000);
  EXPECT_EQ(e.Describe(), "timed out after 61 s (SIGTERM)");

  // Shutdown escalates to SIGKILL after the grace period in real time, even though the fake
  // clock never moves again.
  ASSERT_TRUE(pm->Spawn(2, Spec({"/bin/sh", "-c", "trap '' TERM; sleep 30"})).ok());
  std::this_thread::sleep_for(milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  pm.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(3));
  ASSERT_TRUE(exits_.Wait(2, &e, milliseconds(0)));
  EXPECT_EQ(e.signal, SIGKILL);
}

TEST_F(ProcessManagerTest, OtherChildrenAreNotStolen) {
  auto pm = MakeManager();
  pid_t own = fork();
  ASSERT_GE(own, 0);
  if (own == 0) _exit(5);
  ASSERT_TRUE(pm->Spawn(1, Spec({"/bin/true"})).ok());
  ASSERT_TRUE(exits_.Wait(1, nullptr));
  int status = 0;
  ASSERT_EQ(waitpid(own, &status, 0), own);
  EXPECT_EQ(WEXITSTATUS(status), 5);
}

// Regression: an exited pidfd that was closed but not removed from epoll kept waking the
// reaper in a busy loop while a child being spawned concurrently still held a copy of the
// descriptor (until that child exec'd).
TEST_F(ProcessManagerTest, ReaperDoesNotSpinBetweenTasks) {
  auto pm = MakeManager();
  constexpr int kTasks = 400;
  constexpr int kInFlight = 2;
  int started = 0;
  while (started < kTasks) {
    while (started < kTasks &&
           static_cast<size_t>(started) - exits_.total() < static_cast<size_t>(kInFlight)) {
      // A large environment makes each exec slower, widening the window in which the child
      // holds copies of the other children's pidfds.
      ProcessSpec spec = Spec({"/bin/true"});
      for (int i = 0; i < 2000; ++i) spec.env.push_back("DRC_PAD_" + std::to_string(i) + "=x");
      ASSERT_TRUE(pm->Spawn(5000 + started, spec).ok());
      ++started;
    }
    exits_.WaitTotal(static_cast<size_t>(started - kInFlight + 1), seconds(10));
  }
  ASSERT_TRUE(exits_.WaitTotal(kTasks, seconds(10)));
  // One wake-up per spawn (the wake event) and about one per exit.
  EXPECT_LT(pm->reaper_wakeups(), static_cast<uint64_t>(3 * kTasks));
}

TEST(ProcessExitTest, Describe) {
  ProcessExit e;
  e.exit_code = 0;
  EXPECT_EQ(e.Describe(), "exit code 0");
  e.exit_code = -1;
  e.signal = SIGSEGV;
  EXPECT_EQ(e.Describe(), "killed by signal 11 (SIGSEGV)");
  e.signal = SIGTERM;
  e.timed_out = true;
  e.start_s = 100;
  e.end_s = 102.01;
  EXPECT_EQ(e.Describe(), "timed out after 2 s (SIGTERM)");
  e.timed_out = false;
  e.killed = true;
  EXPECT_EQ(e.Describe(), "killed on request (SIGTERM)");
}

}  // namespace
}  // namespace drc::runtime
